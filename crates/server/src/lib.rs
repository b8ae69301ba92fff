//! The HTTP layer of Tumblebug: routing, Go-like lenient request parsing, authentication,
//! request ids, error mapping and the OpenAPI document. It holds no business rules: every
//! handler parses, calls `tb_core`, and shapes the answer.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod auth;
pub mod error;
pub mod extract;
pub mod lenient;
pub mod routes;

pub use auth::AuthConfig;

/// Prefix of every route, as in CB-Tumblebug.
pub const PREFIX: &str = "/tumblebug";

#[derive(Clone)]
pub struct AppState {
    pub tb: tb_core::Tumblebug,
    /// Knobs of the simulated clouds, when they are in use.
    pub sim: Option<Arc<dyn tb_cloud::sim::SimAdmin>>,
    /// Directory `GET /loadAssets` imports from.
    pub assets_dir: Option<PathBuf>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tumblebug REST API",
        description = "Multi-cloud infrastructure orchestration, wire-compatible with CB-Tumblebug's MCI API.",
        license(name = "Apache-2.0")
    ),
    servers((url = "/tumblebug")),
    components(schemas(tb_model::resource::SimpleMsg)),
    modifiers(&BasicAuth)
)]
struct ApiDoc;

struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "BasicAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new("BasicAuth", Vec::<String>::new())]);
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    use routes::{
        bastion, benchmark as bench, cmd, cmd_history as hist, mci, namespace as ns, recommend as rec, request as req,
        resource as r, sim, system as sys,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sys::readyz))
        .routes(routes!(sys::livez))
        .routes(routes!(sys::http_version))
        .routes(routes!(sys::list_conn_config))
        .routes(routes!(sys::get_conn_config))
        .routes(routes!(sys::list_providers))
        .routes(routes!(sys::list_regions))
        .routes(routes!(sys::get_region))
        .routes(routes!(sys::lookup_spec))
        .routes(routes!(sys::lookup_specs))
        .routes(routes!(sys::lookup_image))
        .routes(routes!(sys::lookup_images))
        .routes(routes!(sys::load_assets))
        .routes(routes!(sys::import_catalog))
        .routes(routes!(req::get_request, req::delete_request))
        .routes(routes!(req::list_requests, req::delete_requests))
        .routes(routes!(sim::get_config))
        .routes(routes!(sim::set_faults))
        .routes(routes!(sim::set_time_factor))
        .routes(routes!(ns::create_ns, ns::list_ns, ns::delete_all_ns))
        .routes(routes!(ns::get_ns, ns::update_ns, ns::delete_ns))
        .routes(routes!(ns::check_ns))
        .routes(routes!(r::create_vnet, r::list_vnets, r::delete_all_vnets))
        .routes(routes!(r::get_vnet, r::delete_vnet))
        .routes(routes!(r::list_subnets, r::add_subnet))
        .routes(routes!(r::get_subnet, r::delete_subnet))
        .routes(routes!(r::create_security_group, r::list_security_groups, r::delete_all_security_groups))
        .routes(routes!(r::get_security_group, r::update_security_group, r::delete_security_group))
        .routes(routes!(r::add_rules, r::remove_rules))
        .routes(routes!(r::create_ssh_key, r::list_ssh_keys, r::delete_all_ssh_keys))
        .routes(routes!(r::get_ssh_key, r::update_ssh_key, r::delete_ssh_key))
        .routes(routes!(r::register_image, r::list_images, r::delete_all_images))
        .routes(routes!(r::get_image, r::update_image, r::delete_image))
        .routes(routes!(r::register_spec, r::list_specs, r::delete_all_specs))
        .routes(routes!(r::get_spec, r::update_spec, r::delete_spec))
        .routes(routes!(mci::create_mci, mci::list_mci, mci::delete_all_mci))
        .routes(routes!(mci::create_mci_dynamic))
        .routes(routes!(mci::review_mci_dynamic))
        .routes(routes!(mci::register_csp_vm))
        .routes(routes!(mci::get_mci, mci::delete_mci))
        .routes(routes!(mci::add_subgroup))
        .routes(routes!(mci::add_subgroup_dynamic))
        .routes(routes!(mci::list_subgroups))
        .routes(routes!(mci::get_subgroup, mci::scale_out))
        .routes(routes!(mci::get_vm, mci::delete_vm))
        .routes(routes!(mci::control_mci))
        .routes(routes!(mci::control_vm))
        .routes(routes!(mci::check_mci))
        .routes(routes!(mci::check_vm))
        .routes(routes!(mci::associated_resources))
        .routes(routes!(cmd::run_command))
        .routes(routes!(cmd::reset_host_key))
        .routes(routes!(bastion::set_bastion))
        .routes(routes!(bastion::get_bastions))
        .routes(routes!(bastion::remove_bastion))
        .routes(routes!(cmd::transfer_file))
        .routes(routes!(cmd::download_file))
        .routes(routes!(hist::list_command_status))
        .routes(routes!(hist::get_command_status, hist::delete_command_status))
        .routes(routes!(hist::delete_all_command_status))
        .routes(routes!(hist::vm_handling_count))
        .routes(routes!(hist::mci_handling_count))
        .routes(routes!(hist::stream_command))
        .routes(routes!(hist::list_tasks))
        .routes(routes!(hist::get_task))
        .routes(routes!(hist::cancel_task))
        .routes(routes!(bench::install_agent))
        .routes(routes!(bench::benchmark))
        .routes(routes!(bench::benchmark_all))
        .routes(routes!(bench::benchmark_latency))
        .routes(routes!(bench::monitoring))
        .routes(routes!(rec::recommend_spec))
        .routes(routes!(rec::recommend_spec_options))
        .routes(routes!(rec::region_rtt))
        .routes(routes!(rec::place_mci))
        .routes(routes!(r::check_resource))
        .routes(routes!(r::test_add_association))
        .routes(routes!(r::test_delete_association))
        .routes(routes!(r::test_association_count))
}

/// The OpenAPI document generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = api_routes().split_for_parts();
    api
}

/// Request ids as CB-Tumblebug makes them: unix time in nanoseconds, unique per process.
#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _req: &Request<B>) -> Option<RequestId> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let id = LAST.fetch_max(now, Ordering::Relaxed).max(now);
        let id = if id == now { now } else { LAST.fetch_add(1, Ordering::Relaxed) + 1 };
        axum::http::HeaderValue::from_str(&id.to_string()).ok().map(RequestId::new)
    }
}

/// The whole application: API under `/tumblebug`, OpenAPI JSON and Swagger UI under
/// `/tumblebug/api`, Basic auth (except probes), and `X-Request-Id` on every response.
pub fn router(state: AppState, auth: AuthConfig) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/tumblebug/api").url("/tumblebug/api/openapi.json", doc);
    let authenticator = auth::Authenticator::new(auth);
    let x_request_id = HeaderName::from_static("x-request-id");
    let api = api
        .merge(routes::mci::legacy_routes())
        .merge(routes::recommend::legacy_routes())
        .merge(routes::bastion::legacy_routes())
        .merge(routes::benchmark::legacy_routes());
    Router::new()
        .nest(PREFIX, api.with_state(state))
        .merge(swagger)
        // Room for `transferFile` uploads (10 MB plus multipart framing).
        .layer(axum::extract::DefaultBodyLimit::max(routes::cmd::MAX_UPLOAD + 1024 * 1024))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(authenticator, auth::require_auth))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeId))
}

async fn route_not_found(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::not_found(format!("route {} not found", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed on {}", uri.path()),
    )
}
