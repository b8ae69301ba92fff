//! Specs registered in a namespace (the system namespace also lists the catalog's).

use tb_model::check_name;
use tb_model::resource::SpecInfo;
use tb_model::resource::SpecReq;

use crate::catalog_view::spec_info;
use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, new_uid, repo};

impl Tumblebug {
    /// `action=registerWithCspResourceId`: asks the cloud for the spec's shape and takes the
    /// price from the catalog.
    pub async fn register_spec_by_csp_id(&self, ns: &str, req: SpecReq, update: bool) -> CoreResult<SpecInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        if req.csp_spec_name.is_empty() {
            return Err(CoreError::invalid("cspSpecName is required"));
        }
        let (conn, driver) = self.clouds.resolve(&req.connection_name)?;
        let found = driver.lookup_spec(&conn, &req.csp_spec_name).await?;
        let snap = self.catalog();
        let mut info = match snap.catalog.spec(&conn.provider, &conn.region, &found.name) {
            Some(s) => spec_info(&snap.catalog, s),
            None => SpecInfo {
                connection_name: conn.name.clone(),
                provider_name: conn.provider.clone(),
                region_name: conn.region.clone(),
                csp_spec_name: found.name.clone(),
                vcpu: found.vcpu,
                memory_gib: found.memory_gib,
                accelerator_model: found.gpu_model.clone(),
                accelerator_count: found.gpu_count,
                architecture: found.architecture.clone(),
                cost_per_hour: -1.0,
                infra_type: "vm".into(),
                ..SpecInfo::default()
            },
        };
        info.namespace = ns.into();
        info.id = req.name.clone();
        info.name = req.name.clone();
        info.uid = new_uid();
        info.description = req.description.clone();
        info.system_label = String::new();
        info.resource_type = "spec".into();
        self.put_registered(ns, &info, update).await?;
        Ok(info)
    }

    /// `action=registerWithInfo`: records the given object as it is.
    pub async fn register_spec_with_info(&self, ns: &str, mut info: SpecInfo, update: bool) -> CoreResult<SpecInfo> {
        self.require_ns(ns).await?;
        check_name(&info.name)?;
        if !info.connection_name.is_empty() {
            self.clouds.config(&info.connection_name)?;
        }
        info.resource_type = "spec".into();
        info.namespace = ns.into();
        info.id = info.name.clone();
        if info.uid.is_empty() {
            info.uid = new_uid();
        }
        self.put_registered(ns, &info, update).await?;
        Ok(info)
    }

    /// Updates the descriptive and scoring fields of a registered spec.
    pub async fn update_spec(&self, ns: &str, id: &str, req: SpecInfo) -> CoreResult<SpecInfo> {
        self.require_ns(ns).await?;
        let key = keys::resource(ns, ResourceKind::Spec, id);
        repo::modify(self.store.as_ref(), &key, &format!("The spec {id}"), |s: &mut SpecInfo| {
            if !req.description.is_empty() {
                s.description = req.description.clone();
            }
            if req.cost_per_hour != 0.0 {
                s.cost_per_hour = req.cost_per_hour;
            }
            if req.evaluation_score01 != 0.0 {
                s.evaluation_score01 = req.evaluation_score01;
            }
            if !req.evaluation_status.is_empty() {
                s.evaluation_status = req.evaluation_status.clone();
            }
            if !req.system_label.is_empty() {
                s.system_label = req.system_label.clone();
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => super::not_found(ResourceKind::Spec, ns, id),
            other => other,
        })
    }
}
