//! Deleting MCIs and VMs. A record is removed only after its VM is terminated in the cloud
//! (or never reached it); `force` removes records of VMs still alive only after asking the
//! cloud to terminate them, and the reconciler's orphan sweep catches any left behind.

use tb_model::lifecycle::{self, DeleteOption};
use tb_model::mci::{SubGroupInfo, VmInfo};
use tb_model::{TargetAction, VmStatus};

use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

impl Tumblebug {
    /// `DELETE /mci/{id}?option=`: returns the deleted keys, each with ` [Done]`.
    pub async fn delete_mci(&self, ns: &str, id: &str, option: DeleteOption) -> CoreResult<Vec<String>> {
        let mut mci = self.get_mci(ns, id).await?;
        if lifecycle::terminate_before_delete(&mci.status, option) {
            let alive: Vec<String> = mci
                .vm
                .iter()
                .filter(|v| !matches!(v.vm_status(), VmStatus::Terminated))
                .map(|v| v.id.clone())
                .collect();
            // Failed VMs may still exist in the cloud (e.g. failed after boot): terminate them too.
            let errors = self.fan_out_action(ns, id, &alive, TargetAction::Terminate).await;
            if !errors.is_empty() {
                tracing::warn!(ns, mci = id, errors = ?errors, "terminate before delete had errors");
            }
            self.wait_for(ns, id, &alive, VmStatus::Terminated).await?;
            mci = self.get_mci(ns, id).await?;
        }
        lifecycle::check_mci_delete(id, &mci.status, option).map_err(|e| CoreError::conflict(e.to_string()))?;
        {
            // Never leave a VM running without a record: whatever the option, every VM the
            // cloud knows and that is not terminated (Failed ones may still run) is asked to go.
            let alive: Vec<String> = mci
                .vm
                .iter()
                .filter(|v| !v.csp_resource_id.is_empty() && v.vm_status() != VmStatus::Terminated)
                .map(|v| v.id.clone())
                .collect();
            let errors = self.fan_out_action(ns, id, &alive, TargetAction::Terminate).await;
            if !errors.is_empty() {
                tracing::warn!(ns, mci = id, errors = ?errors, "delete: some terminations failed; the orphan sweep retries");
            }
        }
        let mut deleted = Vec::new();
        self.release_associations_of(ns, id, &mci.vm).await;
        self.forget_bastions_logged(ns, id, mci.vm.iter().map(|v| v.id.clone()).collect()).await;
        for vm in &mci.vm {
            let key = keys::vm(ns, id, &vm.id);
            self.engine().forget(&key);
            self.store.delete(&key).await?;
            deleted.push(format!("{key} [Done]"));
        }
        for sg in repo::list_child_ids(self.store.as_ref(), &keys::subgroup_prefix(ns, id)).await? {
            let key = keys::subgroup(ns, id, &sg);
            self.store.delete(&key).await?;
            deleted.push(format!("{key} [Done]"));
        }
        // Anything else under the MCI (future children) goes too.
        for kv in self.store.range(&format!("{}/", keys::mci(ns, id))).await? {
            self.store.delete(&kv.key).await?;
        }
        self.drop_command_history(ns, id, None).await?;
        let key = keys::mci(ns, id);
        self.store.delete(&key).await?;
        deleted.push(format!("{key} [Done]"));
        tracing::info!(ns, mci = id, ?option, vms = mci.vm.len(), "MCI deleted");
        Ok(deleted)
    }

    /// `DELETE /mci?option=`: every MCI of the namespace.
    pub async fn delete_all_mci(&self, ns: &str, option: DeleteOption) -> CoreResult<usize> {
        let ids = self.list_mci_ids(ns).await?;
        for id in &ids {
            self.delete_mci(ns, id, option).await?;
        }
        Ok(ids.len())
    }

    /// `DELETE /mci/{id}/vm/{vmId}`: terminates the VM (unless `force`, which only asks) and
    /// removes its record.
    pub async fn delete_vm(&self, ns: &str, mci: &str, vm_id: &str, force: bool) -> CoreResult<()> {
        let vm = self.refresh_vm(ns, mci, vm_id, false).await?;
        if vm.vm_status() != VmStatus::Terminated && !vm.csp_resource_id.is_empty() {
            let errors = self.fan_out_action(ns, mci, &[vm_id.to_string()], TargetAction::Terminate).await;
            if let Some(e) = errors.first()
                && !force
            {
                return Err(CoreError::Conflict(e.clone()));
            }
            if !force {
                self.wait_for(ns, mci, &[vm_id.to_string()], VmStatus::Terminated).await?;
            }
        }
        self.delete_vm_record(ns, mci, vm_id).await
    }

    /// Removes a VM record, its associations and its place in the subgroup.
    pub(crate) async fn delete_vm_record(&self, ns: &str, mci: &str, vm_id: &str) -> CoreResult<()> {
        let vm: VmInfo = self.vm_doc(ns, mci, vm_id).await?.value;
        if !vm.csp_resource_id.is_empty() && vm.vm_status() != VmStatus::Terminated {
            // A Failed VM may still run (it failed after boot): do not leave it without a record.
            if let Ok((conn, driver)) = self.clouds.resolve(&vm.connection_name)
                && let Err(e) = driver.terminate_vm(&conn, &vm.csp_resource_id).await
                && !matches!(e, tb_cloud::CloudError::NotFound { .. })
            {
                tracing::warn!(ns, mci, vm = vm_id, error = %e, "terminate before record removal failed; the orphan sweep retries");
            }
        }
        self.release_associations(ns, mci, &vm).await;
        self.forget_bastions_logged(ns, mci, vec![vm_id.to_string()]).await;
        let sg_key = keys::subgroup(ns, mci, &vm.sub_group_id);
        match repo::modify(self.store.as_ref(), &sg_key, "subGroup", |sg: &mut SubGroupInfo| {
            sg.vm_id.retain(|v| v != vm_id);
            sg.sub_group_size = sg.vm_id.len() as u32;
            Ok(())
        })
        .await
        {
            Ok(sg) if sg.vm_id.is_empty() => {
                self.store.delete(&sg_key).await?;
            }
            Ok(_) | Err(CoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.store.delete(&keys::vm(ns, mci, vm_id)).await?;
        self.engine().forget(&keys::vm(ns, mci, vm_id));
        self.drop_command_history(ns, mci, Some(vm_id)).await?;
        self.recount(ns, mci).await;
        Ok(())
    }

    /// Sets the MCI's `countTotal` to the VMs it has (records were removed).
    pub(crate) async fn recount(&self, ns: &str, mci: &str) {
        let Ok(ids) = repo::list_child_ids(self.store.as_ref(), &keys::vm_prefix(ns, mci)).await else {
            return;
        };
        let _ = repo::modify(self.store.as_ref(), &keys::mci(ns, mci), "MCI", |m: &mut tb_model::mci::MciInfo| {
            m.status_count.count_total = ids.len();
            Ok(())
        })
        .await;
    }
}
