//! `/ns/{nsId}/resources/...`: vNets and subnets, security groups and rules, ssh keys, images,
//! specs, and the association helpers.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tb_core::keys::ResourceKind;
use tb_core::resource::ListFilter;
use tb_model::resource::*;
use utoipa::IntoParams;

use super::{DeleteQuery, ListQuery, is_true, json};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::LenientJson;

fn kind(s: &str) -> ApiResult<ResourceKind> {
    ResourceKind::parse(s).ok_or_else(|| {
        ApiError::bad_request(format!("resourceType {s:?} is not one of vNet, securityGroup, sshKey, image, spec"))
    })
}

/// Generates list, get, delete and delete-all handlers of one resource kind.
macro_rules! common_handlers {
    ($info:ty, $list:ident, $envelope:expr, $tag:literal, $coll:literal, $one:literal,
     $list_fn:ident, $get_fn:ident, $del_fn:ident, $del_all_fn:ident) => {
        #[utoipa::path(get, path = $coll, tag = $tag, params(("nsId" = String, Path), ListQuery),
            responses((status = 200, description = "list envelope, or `{\"output\": [ids]}` with option=id", body = $list),
                      (status = 404, body = SimpleMsg)))]
        pub async fn $list_fn(State(s): State<AppState>, Path(ns): Path<String>, Query(q): Query<ListQuery>) -> ApiResult<Response> {
            let kind = <$info as tb_core::resource::Resource>::KIND;
            if q.ids_only() {
                return Ok(json(IdList { output: s.tb.list_resource_ids(&ns, kind).await? }));
            }
            let filter = ListFilter::new(q.filter_key, q.filter_val);
            let items = s.tb.list_resources::<$info>(&ns, filter.as_ref()).await?;
            Ok(json(($envelope)(items)))
        }

        #[utoipa::path(get, path = $one, tag = $tag, params(("nsId" = String, Path), ("resourceId" = String, Path)),
            responses((status = 200, body = $info), (status = 404, body = SimpleMsg)))]
        pub async fn $get_fn(State(s): State<AppState>, Path((ns, id)): Path<(String, String)>) -> ApiResult<Response> {
            Ok(json(s.tb.get_resource::<$info>(&ns, &id).await?))
        }

        #[utoipa::path(delete, path = $one, tag = $tag, params(("nsId" = String, Path), ("resourceId" = String, Path), DeleteQuery),
            responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg),
                      (status = 409, description = "in use; retry with force=true", body = SimpleMsg)))]
        pub async fn $del_fn(State(s): State<AppState>, Path((ns, id)): Path<(String, String)>, Query(q): Query<DeleteQuery>) -> ApiResult<Response> {
            let kind = <$info as tb_core::resource::Resource>::KIND;
            s.tb.delete_resource(&ns, kind, &id, q.force()).await?;
            Ok(json(SimpleMsg::new(format!("The {kind} {id} has been deleted"))))
        }

        #[utoipa::path(delete, path = $coll, tag = $tag, params(("nsId" = String, Path), DeleteQuery),
            responses((status = 200, description = "deleted ids", body = IdList), (status = 409, body = SimpleMsg)))]
        pub async fn $del_all_fn(State(s): State<AppState>, Path(ns): Path<String>, Query(q): Query<DeleteQuery>) -> ApiResult<Response> {
            let kind = <$info as tb_core::resource::Resource>::KIND;
            let deleted = s.tb.delete_resources(&ns, kind, q.matching.as_deref().unwrap_or("")).await?;
            Ok(json(IdList { output: deleted }))
        }
    };
}

common_handlers!(
    VNetInfo,
    VNetList,
    |v| VNetList { vnet: v },
    "[Infra Resource] Network",
    "/ns/{nsId}/resources/vNet",
    "/ns/{nsId}/resources/vNet/{resourceId}",
    list_vnets,
    get_vnet,
    delete_vnet,
    delete_all_vnets
);
common_handlers!(
    SecurityGroupInfo,
    SecurityGroupList,
    |v| SecurityGroupList { security_group: v },
    "[Infra Resource] Security Group",
    "/ns/{nsId}/resources/securityGroup",
    "/ns/{nsId}/resources/securityGroup/{resourceId}",
    list_security_groups,
    get_security_group,
    delete_security_group,
    delete_all_security_groups
);
common_handlers!(
    SshKeyInfo,
    SshKeyList,
    |v| SshKeyList { ssh_key: v },
    "[Infra Resource] Access Key",
    "/ns/{nsId}/resources/sshKey",
    "/ns/{nsId}/resources/sshKey/{resourceId}",
    list_ssh_keys,
    get_ssh_key,
    delete_ssh_key,
    delete_all_ssh_keys
);
common_handlers!(
    ImageInfo,
    ImageList,
    |v| ImageList { image: v },
    "[Infra Resource] Image",
    "/ns/{nsId}/resources/image",
    "/ns/{nsId}/resources/image/{resourceId}",
    list_images,
    get_image,
    delete_image,
    delete_all_images
);
common_handlers!(
    SpecInfo,
    SpecList,
    |v| SpecList { spec: v },
    "[Infra Resource] Spec",
    "/ns/{nsId}/resources/spec",
    "/ns/{nsId}/resources/spec/{resourceId}",
    list_specs,
    get_spec,
    delete_spec,
    delete_all_specs
);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `register` registers an existing CSP resource given by `cspResourceId`.
    pub option: Option<String>,
}

impl CreateQuery {
    fn register(&self) -> bool {
        self.option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("register"))
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    /// image: `registerWithInfo` | `registerWithId`; spec: `registerWithInfo` | `registerWithCspResourceId`.
    pub action: Option<String>,
    /// `true` overwrites an existing object of the same id.
    pub update: Option<String>,
}

// ------------------------------------------------------------------------------------------
// vNet and subnets

#[utoipa::path(post, path = "/ns/{nsId}/resources/vNet", tag = "[Infra Resource] Network",
    params(("nsId" = String, Path), CreateQuery), request_body = VNetReq,
    responses((status = 201, body = VNetInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_vnet(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<CreateQuery>,
    LenientJson(body): LenientJson<RegisterVNetBody>,
) -> ApiResult<Response> {
    let info = if q.register() {
        s.tb.register_vnet(&ns, &body.name, &body.connection_name, &body.csp_resource_id, &body.description).await?
    } else {
        let req = VNetReq {
            name: body.name,
            connection_name: body.connection_name,
            cidr_block: body.cidr_block,
            subnet_info_list: body.subnet_info_list,
            description: body.description,
        };
        s.tb.create_vnet(&ns, req).await?
    };
    Ok((StatusCode::CREATED, axum::Json(info)).into_response())
}

/// VNetReq plus `cspResourceId` for registration.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterVNetBody {
    pub name: String,
    pub connection_name: String,
    pub cidr_block: String,
    pub subnet_info_list: Vec<SubnetReq>,
    pub description: String,
    pub csp_resource_id: String,
}

#[utoipa::path(get, path = "/ns/{nsId}/resources/vNet/{vNetId}/subnet", tag = "[Infra Resource] Network",
    params(("nsId" = String, Path), ("vNetId" = String, Path)),
    responses((status = 200, body = SubnetList), (status = 404, body = SimpleMsg)))]
pub async fn list_subnets(State(s): State<AppState>, Path((ns, vnet)): Path<(String, String)>) -> ApiResult<Response> {
    Ok(json(SubnetList { subnet_info_list: s.tb.list_subnets(&ns, &vnet).await? }))
}

#[utoipa::path(post, path = "/ns/{nsId}/resources/vNet/{vNetId}/subnet", tag = "[Infra Resource] Network",
    params(("nsId" = String, Path), ("vNetId" = String, Path)), request_body = SubnetReq,
    responses((status = 200, body = SubnetInfo), (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn add_subnet(
    State(s): State<AppState>,
    Path((ns, vnet)): Path<(String, String)>,
    LenientJson(req): LenientJson<SubnetReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.add_subnet(&ns, &vnet, req).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/resources/vNet/{vNetId}/subnet/{subnetId}", tag = "[Infra Resource] Network",
    params(("nsId" = String, Path), ("vNetId" = String, Path), ("subnetId" = String, Path)),
    responses((status = 200, body = SubnetInfo), (status = 404, body = SimpleMsg)))]
pub async fn get_subnet(
    State(s): State<AppState>,
    Path((ns, vnet, subnet)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.get_subnet(&ns, &vnet, &subnet).await?))
}

#[utoipa::path(delete, path = "/ns/{nsId}/resources/vNet/{vNetId}/subnet/{subnetId}", tag = "[Infra Resource] Network",
    params(("nsId" = String, Path), ("vNetId" = String, Path), ("subnetId" = String, Path), DeleteQuery),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn delete_subnet(
    State(s): State<AppState>,
    Path((ns, vnet, subnet)): Path<(String, String, String)>,
    Query(q): Query<DeleteQuery>,
) -> ApiResult<Response> {
    s.tb.delete_subnet(&ns, &vnet, &subnet, q.force()).await?;
    Ok(json(SimpleMsg::new(format!("The subnet {subnet} has been deleted"))))
}

// ------------------------------------------------------------------------------------------
// Security groups

#[utoipa::path(post, path = "/ns/{nsId}/resources/securityGroup", tag = "[Infra Resource] Security Group",
    params(("nsId" = String, Path), CreateQuery), request_body = SecurityGroupReq,
    responses((status = 200, body = SecurityGroupInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_security_group(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<CreateQuery>,
    LenientJson(req): LenientJson<SecurityGroupReq>,
) -> ApiResult<Response> {
    if q.register() {
        return Ok(json(s.tb.register_security_group(&ns, req).await?));
    }
    Ok(json(s.tb.create_security_group(&ns, req).await?))
}

#[utoipa::path(put, path = "/ns/{nsId}/resources/securityGroup/{resourceId}", tag = "[Infra Resource] Security Group",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = SecurityGroupUpdateReq,
    responses((status = 200, description = "rules replaced", body = SecurityGroupUpdateResponse), (status = 404, body = SimpleMsg)))]
pub async fn update_security_group(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<SecurityGroupUpdateReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.replace_firewall_rules(&ns, &id, &req.firewall_rules).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/resources/securityGroup/{resourceId}/rules", tag = "[Infra Resource] Security Group",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = SecurityGroupUpdateReq,
    responses((status = 200, body = SecurityGroupUpdateResponse), (status = 404, body = SimpleMsg)))]
pub async fn add_rules(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<SecurityGroupUpdateReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.add_firewall_rules(&ns, &id, &req.firewall_rules).await?))
}

#[utoipa::path(delete, path = "/ns/{nsId}/resources/securityGroup/{resourceId}/rules", tag = "[Infra Resource] Security Group",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = SecurityGroupUpdateReq,
    responses((status = 200, body = SecurityGroupUpdateResponse), (status = 404, body = SimpleMsg)))]
pub async fn remove_rules(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<SecurityGroupUpdateReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.remove_firewall_rules(&ns, &id, &req.firewall_rules).await?))
}

// ------------------------------------------------------------------------------------------
// ssh keys

#[utoipa::path(post, path = "/ns/{nsId}/resources/sshKey", tag = "[Infra Resource] Access Key",
    params(("nsId" = String, Path), CreateQuery), request_body = SshKeyReq,
    responses((status = 200, description = "the key pair; privateKey is kept for SSH", body = SshKeyInfo),
              (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_ssh_key(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<CreateQuery>,
    LenientJson(req): LenientJson<SshKeyReq>,
) -> ApiResult<Response> {
    if q.register() {
        return Ok(json(s.tb.register_ssh_key(&ns, req).await?));
    }
    Ok(json(s.tb.create_ssh_key(&ns, req).await?))
}

#[utoipa::path(put, path = "/ns/{nsId}/resources/sshKey/{resourceId}", tag = "[Infra Resource] Access Key",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = SshKeyInfo,
    responses((status = 200, body = SshKeyInfo), (status = 404, body = SimpleMsg)))]
pub async fn update_ssh_key(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<SshKeyInfo>,
) -> ApiResult<Response> {
    Ok(json(s.tb.update_ssh_key(&ns, &id, req).await?))
}

// ------------------------------------------------------------------------------------------
// images and specs

#[utoipa::path(post, path = "/ns/{nsId}/resources/image", tag = "[Infra Resource] Image",
    params(("nsId" = String, Path), RegisterQuery), request_body(content = ImageReq, description = "ImageReq for registerWithId, ImageInfo for registerWithInfo"),
    responses((status = 200, body = ImageInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn register_image(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<RegisterQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let update = is_true(q.update.as_deref());
    let info = match q.action.as_deref().unwrap_or("") {
        a if a.eq_ignore_ascii_case("registerWithInfo") => {
            s.tb.register_image_with_info(&ns, parse(&body)?, update).await?
        }
        a if a.eq_ignore_ascii_case("registerWithId") => s.tb.register_image_by_id(&ns, parse(&body)?, update).await?,
        other => {
            return Err(ApiError::bad_request(format!(
                "action {other:?} is not supported: use registerWithInfo or registerWithId"
            )));
        }
    };
    Ok(json(info))
}

#[utoipa::path(put, path = "/ns/{nsId}/resources/image/{resourceId}", tag = "[Infra Resource] Image",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = ImageInfo,
    responses((status = 200, body = ImageInfo), (status = 404, body = SimpleMsg)))]
pub async fn update_image(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<ImageInfo>,
) -> ApiResult<Response> {
    Ok(json(s.tb.update_image(&ns, &id, req).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/resources/spec", tag = "[Infra Resource] Spec",
    params(("nsId" = String, Path), RegisterQuery), request_body(content = SpecReq, description = "SpecReq for registerWithCspResourceId, SpecInfo for registerWithInfo"),
    responses((status = 200, body = SpecInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn register_spec(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<RegisterQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let update = is_true(q.update.as_deref());
    let info = match q.action.as_deref().unwrap_or("") {
        a if a.eq_ignore_ascii_case("registerWithInfo") => {
            s.tb.register_spec_with_info(&ns, parse(&body)?, update).await?
        }
        a if a.eq_ignore_ascii_case("registerWithCspResourceId") || a.eq_ignore_ascii_case("registerWithId") => {
            s.tb.register_spec_by_csp_id(&ns, parse(&body)?, update).await?
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "action {other:?} is not supported: use registerWithInfo or registerWithCspResourceId"
            )));
        }
    };
    Ok(json(info))
}

#[utoipa::path(put, path = "/ns/{nsId}/resources/spec/{resourceId}", tag = "[Infra Resource] Spec",
    params(("nsId" = String, Path), ("resourceId" = String, Path)), request_body = SpecInfo,
    responses((status = 200, body = SpecInfo), (status = 404, body = SimpleMsg)))]
pub async fn update_spec(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<SpecInfo>,
) -> ApiResult<Response> {
    Ok(json(s.tb.update_spec(&ns, &id, req).await?))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    crate::lenient::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))
}

// ------------------------------------------------------------------------------------------
// existence and association helpers

#[utoipa::path(get, path = "/ns/{nsId}/checkResource/{resourceType}/{resourceId}", tag = "[Infra Resource] Common",
    params(("nsId" = String, Path), ("resourceType" = String, Path), ("resourceId" = String, Path)),
    responses((status = 200, body = Exists), (status = 400, body = SimpleMsg)))]
pub async fn check_resource(
    State(s): State<AppState>,
    Path((ns, ty, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(Exists { exists: s.tb.resource_exists(&ns, kind(&ty)?, &id).await? }))
}

/// The object key the association test helpers attach.
const TEST_OBJECT_KEY: &str = "/test/vm/key";

#[utoipa::path(put, path = "/ns/{nsId}/testAddObjectAssociation/{resourceType}/{resourceId}", tag = "[Infra Resource] Common",
    params(("nsId" = String, Path), ("resourceType" = String, Path), ("resourceId" = String, Path)),
    responses((status = 200, body = AssociatedObjectCount), (status = 404, body = SimpleMsg)))]
pub async fn test_add_association(
    State(s): State<AppState>,
    Path((ns, ty, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let n = s.tb.add_association(&ns, kind(&ty)?, &id, TEST_OBJECT_KEY).await?;
    Ok(json(AssociatedObjectCount { associated_object_count: n }))
}

#[utoipa::path(put, path = "/ns/{nsId}/testDeleteObjectAssociation/{resourceType}/{resourceId}", tag = "[Infra Resource] Common",
    params(("nsId" = String, Path), ("resourceType" = String, Path), ("resourceId" = String, Path)),
    responses((status = 200, body = AssociatedObjectCount), (status = 404, body = SimpleMsg)))]
pub async fn test_delete_association(
    State(s): State<AppState>,
    Path((ns, ty, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let n = s.tb.remove_association(&ns, kind(&ty)?, &id, TEST_OBJECT_KEY).await?;
    Ok(json(AssociatedObjectCount { associated_object_count: n }))
}

#[utoipa::path(get, path = "/ns/{nsId}/testGetAssociatedObjectCount/{resourceType}/{resourceId}", tag = "[Infra Resource] Common",
    params(("nsId" = String, Path), ("resourceType" = String, Path), ("resourceId" = String, Path)),
    responses((status = 200, body = AssociatedObjectCount), (status = 404, body = SimpleMsg)))]
pub async fn test_association_count(
    State(s): State<AppState>,
    Path((ns, ty, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let n = s.tb.association_count(&ns, kind(&ty)?, &id).await?;
    Ok(json(AssociatedObjectCount { associated_object_count: n }))
}
