//! Reading VMs and MCIs with live status: stable VMs are served from the record (re-read from
//! the cloud at most every `status_cache`), VMs in transition are read from the cloud, and
//! the result is interpreted by the lifecycle rules and written back.

use tb_cloud::CloudError;
use tb_model::lifecycle::{self, StatusContext};
use tb_model::mci::{
    MciAccessInfo, MciInfo, MciStatusInfo, MciSubGroupAccessInfo, MciVmAccessInfo, VmInfo, VmStatusInfo,
};
use tb_model::resource::SshKeyInfo;
use tb_model::{TargetAction, VmStatus};
use tokio::task::JoinSet;

use super::provision::apply_handle;
use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, repo};

/// Reads of VMs of one MCI running at once.
const STATUS_FANOUT: usize = 64;

impl Tumblebug {
    /// The VM with a fresh status. `force` always asks the cloud.
    pub(crate) async fn refresh_vm(&self, ns: &str, mci: &str, vm_id: &str, force: bool) -> CoreResult<VmInfo> {
        let key = keys::vm(ns, mci, vm_id);
        let current = self.vm_doc(ns, mci, vm_id).await?;
        let vm = current.value;
        let status = vm.vm_status();
        if vm.csp_resource_id.is_empty() || (!force && !self.needs_cloud_read(&key, &vm)) {
            return Ok(vm);
        }
        if status == VmStatus::Terminated {
            return Ok(vm);
        }
        let (conn, driver) = self.clouds.resolve(&vm.connection_name)?;
        let timeout = self.engine().config.status_timeout;
        let permit = self.engine().status_limiter.acquire(&conn.name).await;
        let read = tokio::time::timeout(timeout, driver.get_vm(&conn, &vm.csp_resource_id)).await;
        drop(permit);
        let (fetched, handle) = match read {
            Ok(Ok(h)) => (h.status, Some(h)),
            Ok(Err(CloudError::NotFound { .. })) => (VmStatus::Undefined, None),
            Ok(Err(e)) => {
                // The cloud could not answer: keep what we know rather than flap to Undefined.
                tracing::debug!(ns, mci, vm = vm_id, error = %e, "status read failed");
                return Ok(vm);
            }
            Err(_) => return Ok(vm),
        };
        self.engine().mark_read(&key);
        let mut next = vm.clone();
        let corrected = lifecycle::correct_vm_status(fetched, status, vm.target_action());
        next.set_status(corrected);
        match &handle {
            Some(h) if corrected != VmStatus::Terminated => apply_handle(&mut next, h),
            Some(h) => super::provision::set_native_status(&mut next, &h.native_status),
            None => super::provision::set_native_status(&mut next, "NotExist"),
        }
        if let Some(done) = lifecycle::completion(corrected, &next.target_status) {
            done.apply_to(&mut next);
        }
        if next == vm {
            return Ok(vm);
        }
        let stored = next.clone();
        match repo::replace(self.store.as_ref(), &key, current.revision, &stored).await {
            Ok(_) => {
                if next.vm_status() == VmStatus::Terminated && vm.vm_status() != VmStatus::Terminated {
                    self.release_associations(ns, mci, &next).await;
                }
                Ok(next)
            }
            // Someone else wrote meanwhile (e.g. a control action): theirs is newer.
            Err(CoreError::ConcurrentUpdate(_)) => Ok(self.vm_doc(ns, mci, vm_id).await?.value),
            Err(CoreError::NotFound(_)) => Err(super::vm_not_found(mci, vm_id)),
            Err(e) => Err(e),
        }
    }

    /// §3.3 step 1: a VM never sent to the cloud has nothing to read; final states without a
    /// pending action need no cloud call; a stable VM read within `status_cache` is fresh.
    fn needs_cloud_read(&self, key: &str, vm: &VmInfo) -> bool {
        // A terminated VM is final whatever its (sticky) Terminate intent says (§3.3 step 2).
        if vm.csp_resource_id.is_empty() || vm.vm_status() == VmStatus::Terminated {
            return false;
        }
        if vm.target_action() != TargetAction::None {
            return true;
        }
        !(matches!(vm.vm_status(), VmStatus::Terminated | VmStatus::Failed | VmStatus::Suspended)
            || self.engine().recently_read(key))
    }

    /// Removes a VM's key from the association lists of the resources it used.
    pub(crate) async fn release_associations(&self, ns: &str, mci: &str, vm: &VmInfo) {
        let key = keys::vm(ns, mci, &vm.id);
        let mut uses: Vec<(ResourceKind, String)> =
            vec![(ResourceKind::VNet, vm.vnet_id.clone()), (ResourceKind::SshKey, vm.ssh_key_id.clone())];
        uses.extend(vm.security_group_ids.iter().map(|s| (ResourceKind::SecurityGroup, s.clone())));
        uses.push((ResourceKind::Spec, vm.spec_id.clone()));
        uses.push((ResourceKind::Image, vm.image_id.clone()));
        for (kind, id) in uses {
            if id.is_empty() {
                continue;
            }
            match self.remove_association(ns, kind, &id, &key).await {
                Ok(_) | Err(CoreError::NotFound(_)) => {}
                Err(e) => {
                    tracing::warn!(ns, vm = %vm.id, kind = %kind, id, error = %e, "could not release association")
                }
            }
        }
    }

    /// Removes many VMs' keys from the association lists with one write per resource document
    /// (per-VM releases would rewrite each shared list once per VM).
    pub(crate) async fn release_associations_of(&self, ns: &str, mci: &str, vms: &[VmInfo]) {
        use std::collections::BTreeMap;
        let mut by_resource: BTreeMap<(ResourceKind, String), Vec<String>> = BTreeMap::new();
        for vm in vms {
            let key = keys::vm(ns, mci, &vm.id);
            let mut uses = vec![
                (ResourceKind::VNet, vm.vnet_id.clone()),
                (ResourceKind::SshKey, vm.ssh_key_id.clone()),
                (ResourceKind::Spec, vm.spec_id.clone()),
                (ResourceKind::Image, vm.image_id.clone()),
            ];
            uses.extend(vm.security_group_ids.iter().map(|s| (ResourceKind::SecurityGroup, s.clone())));
            for u in uses.into_iter().filter(|(_, id)| !id.is_empty()) {
                by_resource.entry(u).or_default().push(key.clone());
            }
        }
        for ((kind, id), vm_keys) in by_resource {
            let doc_key = keys::resource(ns, kind, &id);
            let res = repo::modify(self.store.as_ref(), &doc_key, &id, |doc: &mut serde_json::Value| {
                if let Some(list) = doc.get_mut("associatedObjectList").and_then(|l| l.as_array_mut()) {
                    list.retain(|v| v.as_str().is_none_or(|s| !vm_keys.iter().any(|k| k == s)));
                }
                Ok(())
            })
            .await;
            match res {
                Ok(_) | Err(CoreError::NotFound(_)) => {}
                Err(e) => {
                    tracing::warn!(ns, kind = %kind, id, error = %e, "could not release associations")
                }
            }
        }
    }

    /// Every VM of an MCI with fresh statuses, read in parallel.
    pub(crate) async fn refreshed_vms(&self, ns: &str, mci: &str, force: bool) -> CoreResult<Vec<VmInfo>> {
        let docs: Vec<VmInfo> = self.vm_docs(ns, mci).await?;
        let mut out = Vec::with_capacity(docs.len());
        let mut ids = Vec::new();
        for vm in docs {
            if force || self.needs_cloud_read(&keys::vm(ns, mci, &vm.id), &vm) {
                ids.push(vm.id);
            } else {
                out.push(vm);
            }
        }
        let mut set = JoinSet::new();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(STATUS_FANOUT));
        for id in ids {
            let (tb, ns, mci, sem) = (self.clone(), ns.to_string(), mci.to_string(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                tb.refresh_vm(&ns, &mci, &id, force).await
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(vm)) => out.push(vm),
                Ok(Err(CoreError::NotFound(_))) => {} // deleted meanwhile
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(CoreError::Corrupt { key: mci.into(), reason: format!("status task failed: {e}") });
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The MCI with live status and its VMs. Clears the MCI's intent once reached.
    pub async fn get_mci(&self, ns: &str, id: &str) -> CoreResult<MciInfo> {
        let doc = self.mci_doc(ns, id).await?;
        let vms = self.refreshed_vms(ns, id, false).await?;
        let mut mci = doc.value;
        let statuses: Vec<VmStatus> = vms.iter().map(VmInfo::vm_status).collect();
        let ctx = StatusContext {
            stored_status: &mci.status,
            target_action: &mci.target_action,
            target_status: &mci.target_status,
            previous_count_total: mci.status_count.count_total,
            vm_key_count: vms.len(),
            embedded_vm_count: 0,
        };
        let (status, count) = lifecycle::mci_status(&statuses, &ctx);
        let reached = mci.target_action() != TargetAction::None
            && mci.target_action() != TargetAction::Create
            && lifecycle::mci_intent_reached(mci.target_action(), &statuses);
        let changed = status != mci.status || count != mci.status_count || reached;
        mci.status = status;
        mci.status_count = count;
        if reached {
            mci.set_target(TargetAction::None, lifecycle::STATUS_COMPLETE);
        }
        if changed {
            // Best effort: a concurrent writer's version wins and is recomputed next read.
            let _ = repo::replace(self.store.as_ref(), &keys::mci(ns, id), doc.revision, &mci).await;
        }
        mci.vm = vms;
        Ok(mci)
    }

    pub async fn list_mci(&self, ns: &str) -> CoreResult<Vec<MciInfo>> {
        let mut out = Vec::new();
        for id in self.list_mci_ids(ns).await? {
            match self.get_mci(ns, &id).await {
                Ok(m) => out.push(m),
                Err(CoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `option=simple`: stored objects without live status.
    pub async fn list_mci_simple(&self, ns: &str) -> CoreResult<Vec<MciInfo>> {
        self.require_ns(ns).await?;
        let mut out: Vec<MciInfo> = repo::list_children(self.store.as_ref(), &keys::mci_prefix(ns)).await?;
        for m in &mut out {
            m.vm = self.vm_docs(ns, &m.id).await?;
        }
        Ok(out)
    }

    pub async fn mci_status(&self, ns: &str, id: &str) -> CoreResult<MciStatusInfo> {
        let mci = self.get_mci(ns, id).await?;
        Ok(status_info(&mci))
    }

    pub async fn list_mci_status(&self, ns: &str) -> CoreResult<Vec<MciStatusInfo>> {
        Ok(self.list_mci(ns).await?.iter().map(status_info).collect())
    }

    pub async fn get_vm(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<VmInfo> {
        self.mci_doc(ns, mci).await?;
        self.refresh_vm(ns, mci, vm, false).await
    }

    pub async fn vm_status(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<VmStatusInfo> {
        let v = self.get_vm(ns, mci, vm).await?;
        let mut info = VmStatusInfo::from_vm(&v);
        info.native_status = super::provision::native_status(&v);
        Ok(info)
    }

    /// `option=accessinfo`: how to reach every VM, grouped by subgroup.
    pub async fn mci_access_info(&self, ns: &str, id: &str, show_ssh_key: bool) -> CoreResult<MciAccessInfo> {
        let mci = self.get_mci(ns, id).await?;
        let mut groups: Vec<MciSubGroupAccessInfo> = Vec::new();
        for vm in &mci.vm {
            let private_key = if show_ssh_key {
                repo::get::<SshKeyInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::SshKey, &vm.ssh_key_id))
                    .await?
                    .map(|k| k.value.private_key)
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let access = MciVmAccessInfo {
                vm_id: vm.id.clone(),
                public_ip: vm.public_ip.clone(),
                private_ip: vm.private_ip.clone(),
                ssh_port: vm.ssh_port,
                private_key,
                vm_user_name: vm.vm_user_name.clone(),
                vm_user_password: vm.vm_user_password.clone(),
                connection_config: vm.connection_config.clone(),
            };
            match groups.iter_mut().find(|g| g.sub_group_id == vm.sub_group_id) {
                Some(g) => g.mci_vm_access_info.push(access),
                None => {
                    // The bastion of the subgroup's (first VM's) subnet, when one is registered.
                    let bastion = self.subnet_bastions(ns, vm).await.ok().and_then(|b| b.into_iter().next());
                    groups.push(MciSubGroupAccessInfo {
                        sub_group_id: vm.sub_group_id.clone(),
                        bastion_vm_id: bastion.map(|b| b.vm_id).unwrap_or_default(),
                        mci_vm_access_info: vec![access],
                        ..MciSubGroupAccessInfo::default()
                    })
                }
            }
        }
        Ok(MciAccessInfo { mci_id: id.to_string(), mci_sub_group_access_info: groups, ..MciAccessInfo::default() })
    }

    /// Ids of everything the MCI's VMs use, each list sorted and without duplicates.
    pub async fn mci_associated_resources(
        &self,
        ns: &str,
        id: &str,
    ) -> CoreResult<tb_model::mci::MciAssociatedResourceList> {
        use std::collections::BTreeSet;
        self.mci_doc(ns, id).await?;
        let vms = self.vm_docs(ns, id).await?;
        let set = |f: &dyn Fn(&VmInfo) -> Vec<String>| -> Vec<String> {
            vms.iter().flat_map(f).filter(|s| !s.is_empty()).collect::<BTreeSet<_>>().into_iter().collect()
        };
        Ok(tb_model::mci::MciAssociatedResourceList {
            connection_names: set(&|v| vec![v.connection_name.clone()]),
            provider_names: set(&|v| vec![v.connection_config.provider_name.clone()]),
            sub_group_ids: set(&|v| vec![v.sub_group_id.clone()]),
            vm_ids: set(&|v| vec![v.id.clone()]),
            csp_vm_names: set(&|v| vec![v.csp_resource_name.clone()]),
            csp_vm_ids: set(&|v| vec![v.csp_resource_id.clone()]),
            image_ids: set(&|v| vec![v.image_id.clone()]),
            spec_ids: set(&|v| vec![v.spec_id.clone()]),
            vnet_ids: set(&|v| vec![v.vnet_id.clone()]),
            csp_vnet_ids: set(&|v| vec![v.csp_vnet_id.clone()]),
            subnet_ids: set(&|v| vec![v.subnet_id.clone()]),
            csp_subnet_ids: set(&|v| vec![v.csp_subnet_id.clone()]),
            security_group_ids: set(&|v| v.security_group_ids.clone()),
            data_disk_ids: set(&|v| v.data_disk_ids.clone()),
            ssh_key_ids: set(&|v| vec![v.ssh_key_id.clone()]),
        })
    }

    /// `checkMci`: whether the MCI exists (namespace checked).
    pub async fn check_mci(&self, ns: &str, id: &str) -> CoreResult<bool> {
        self.require_ns(ns).await?;
        self.mci_exists(ns, id).await
    }
}

/// `MciStatusInfo` of an MCI read with live status.
pub fn status_info(mci: &MciInfo) -> MciStatusInfo {
    let mut s = MciStatusInfo {
        id: mci.id.clone(),
        name: mci.name.clone(),
        status: mci.status.clone(),
        status_count: mci.status_count.clone(),
        target_status: mci.target_status.clone(),
        target_action: mci.target_action.clone(),
        install_mon_agent: mci.install_mon_agent.clone(),
        label: mci.label.clone(),
        system_label: mci.system_label.clone(),
        vm: mci
            .vm
            .iter()
            .map(|v| VmStatusInfo { native_status: super::provision::native_status(v), ..VmStatusInfo::from_vm(v) })
            .collect(),
        ..MciStatusInfo::default()
    };
    s.set_master();
    s
}
