//! Images registered in a namespace (the system namespace also lists the catalog's).

use tb_model::check_name;
use tb_model::naming::connection_name;
use tb_model::resource::{ImageInfo, ImageReq, KeyValue};

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, new_uid, now_string, repo};

impl Tumblebug {
    /// `action=registerWithId`: asks the cloud for the image and records it.
    pub async fn register_image_by_id(&self, ns: &str, req: ImageReq, update: bool) -> CoreResult<ImageInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        let csp_name = if req.csp_image_name.is_empty() { &req.csp_image_id } else { &req.csp_image_name };
        if csp_name.is_empty() {
            return Err(CoreError::invalid("cspImageName is required"));
        }
        let (conn, driver) = self.clouds.resolve(&req.connection_name)?;
        let found = driver.lookup_image(&conn, csp_name).await?;
        let catalog = self.catalog();
        let hint = catalog.catalog.image(&conn.provider, &conn.region, csp_name);
        let info = ImageInfo {
            resource_type: "image".into(),
            namespace: ns.into(),
            id: req.name.clone(),
            uid: new_uid(),
            name: req.name.clone(),
            provider_name: conn.provider.clone(),
            region_list: vec![conn.region.clone()],
            connection_name: connection_name(&conn.provider, &conn.region),
            csp_image_id: found.name.clone(),
            csp_image_name: found.name.clone(),
            infra_type: "vm".into(),
            fetched_time: now_string(),
            os_type: found.os_type.clone(),
            os_architecture: found.os_architecture.clone(),
            os_platform: if found.os_type.to_lowercase().contains("windows") {
                "Windows".into()
            } else {
                "Linux/UNIX".into()
            },
            os_distribution: hint.map(|h| h.os_distribution.clone()).unwrap_or_else(|| found.os_type.clone()),
            is_gpu_image: hint.is_some_and(|h| h.is_gpu_image),
            image_status: "Available".into(),
            description: req.description.clone(),
            details: vec![KeyValue { key: "registeredWith".into(), value: "cspImageName".into() }],
            ..ImageInfo::default()
        };
        self.put_registered(ns, &info, update).await?;
        Ok(info)
    }

    /// `action=registerWithInfo`: records the given object as it is.
    pub async fn register_image_with_info(&self, ns: &str, mut info: ImageInfo, update: bool) -> CoreResult<ImageInfo> {
        self.require_ns(ns).await?;
        check_name(&info.name)?;
        if !info.connection_name.is_empty() {
            self.clouds.config(&info.connection_name)?;
        }
        info.resource_type = "image".into();
        info.namespace = ns.into();
        info.id = info.name.clone();
        if info.uid.is_empty() {
            info.uid = new_uid();
        }
        if info.image_status.is_empty() {
            info.image_status = "Available".into();
        }
        self.put_registered(ns, &info, update).await?;
        Ok(info)
    }

    pub async fn update_image(&self, ns: &str, id: &str, req: ImageInfo) -> CoreResult<ImageInfo> {
        self.require_ns(ns).await?;
        let key = keys::resource(ns, ResourceKind::Image, id);
        repo::modify(self.store.as_ref(), &key, &format!("The image {id}"), |i: &mut ImageInfo| {
            if !req.description.is_empty() {
                i.description = req.description.clone();
            }
            if !req.os_type.is_empty() {
                i.os_type = req.os_type.clone();
            }
            if !req.os_distribution.is_empty() {
                i.os_distribution = req.os_distribution.clone();
            }
            if !req.image_status.is_empty() {
                i.image_status = req.image_status.clone();
            }
            if !req.system_label.is_empty() {
                i.system_label = req.system_label.clone();
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => super::not_found(ResourceKind::Image, ns, id),
            other => other,
        })
    }
}
