//! Namespaces (reference §1.2, §2.3): the top-level grouping of every other object.

use tb_model::check_name;
use tb_model::resource::{NsInfo, NsReq};

use crate::{CoreError, CoreResult, SYSTEM_NS, Tumblebug, keys, new_uid, repo};

impl Tumblebug {
    pub(crate) async fn ensure_system_ns(&self) -> CoreResult<()> {
        if repo::get::<NsInfo>(self.store.as_ref(), &keys::ns(SYSTEM_NS)).await?.is_some() {
            return Ok(());
        }
        let req = NsReq { name: SYSTEM_NS.into(), description: "System namespace for the shared catalog".into() };
        match self.create_ns(req).await {
            Ok(_) | Err(CoreError::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn create_ns(&self, req: NsReq) -> CoreResult<NsInfo> {
        check_name(&req.name)?;
        let info = NsInfo {
            resource_type: "ns".into(),
            id: req.name.clone(),
            uid: new_uid(),
            name: req.name.clone(),
            description: req.description,
        };
        repo::create(self.store.as_ref(), &keys::ns(&info.id), &info, &format!("The namespace {}", info.id)).await?;
        tracing::info!(ns = %info.id, "namespace created");
        Ok(info)
    }

    pub async fn get_ns(&self, ns_id: &str) -> CoreResult<NsInfo> {
        repo::get::<NsInfo>(self.store.as_ref(), &keys::ns(ns_id))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| CoreError::not_found(format!("The namespace {ns_id} does not exist")))
    }

    pub async fn ns_exists(&self, ns_id: &str) -> CoreResult<bool> {
        Ok(self.store.get(&keys::ns(ns_id)).await?.is_some())
    }

    pub async fn list_ns(&self) -> CoreResult<Vec<NsInfo>> {
        repo::list_children(self.store.as_ref(), keys::NS_PREFIX).await
    }

    pub async fn list_ns_ids(&self) -> CoreResult<Vec<String>> {
        repo::list_child_ids(self.store.as_ref(), keys::NS_PREFIX).await
    }

    /// Updates the description; the id cannot change.
    pub async fn update_ns(&self, ns_id: &str, req: NsReq) -> CoreResult<NsInfo> {
        if !req.name.is_empty() && req.name != ns_id {
            return Err(CoreError::invalid(format!(
                "the namespace id cannot be changed (path {ns_id}, body name {})",
                req.name
            )));
        }
        repo::modify(self.store.as_ref(), &keys::ns(ns_id), &format!("The namespace {ns_id}"), |ns: &mut NsInfo| {
            ns.description = req.description.clone();
            Ok(())
        })
        .await
    }

    /// Deletes an empty namespace.
    pub async fn delete_ns(&self, ns_id: &str) -> CoreResult<()> {
        if ns_id == SYSTEM_NS {
            return Err(CoreError::conflict("The system namespace cannot be deleted"));
        }
        let Some(current) = repo::get::<NsInfo>(self.store.as_ref(), &keys::ns(ns_id)).await? else {
            return Err(CoreError::not_found(format!("The namespace {ns_id} does not exist")));
        };
        let children = self.store.range(&keys::ns_children(ns_id)).await?;
        if let Some(first) = children.first() {
            return Err(CoreError::conflict(format!(
                "Cannot delete namespace {ns_id}: it is not empty ({} objects, e.g. {})",
                children.len(),
                first.key
            )));
        }
        repo::delete_at(self.store.as_ref(), &keys::ns(ns_id), current.revision).await?;
        tracing::info!(ns = %ns_id, "namespace deleted");
        Ok(())
    }

    /// Deletes every empty namespace except `system`; fails listing those that are not empty.
    pub async fn delete_all_ns(&self) -> CoreResult<Vec<String>> {
        let mut deleted = Vec::new();
        let mut refused = Vec::new();
        for id in self.list_ns_ids().await? {
            if id == SYSTEM_NS {
                continue;
            }
            match self.delete_ns(&id).await {
                Ok(()) => deleted.push(id),
                Err(CoreError::Conflict(msg)) => refused.push(msg),
                Err(e) => return Err(e),
            }
        }
        if refused.is_empty() {
            Ok(deleted)
        } else {
            Err(CoreError::conflict(format!(
                "Deleted {} namespaces; not deleted: {}",
                deleted.len(),
                refused.join("; ")
            )))
        }
    }
}
