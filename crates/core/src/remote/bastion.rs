//! Bastions per subnet (reference §6): the VMs through which the other VMs of a subnet are
//! reached over SSH. The list is kept in the subnet, inside its vNet document, so every change
//! is one compare-and-swap of that document. The first node of the list is the one in use.

use tb_model::VmStatus;
use tb_model::mci::VmInfo;
use tb_model::resource::{BastionNode, SubnetInfo, VNetInfo};
use tb_store::Store;

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, repo};

/// Applies `change` to a vNet document by compare-and-swap, retried on conflict. `change`
/// returns whether it changed the document (nothing is written otherwise) and a result; it may
/// run several times, so it must not have side effects.
async fn update_vnet<R>(
    store: &dyn Store,
    ns: &str,
    vnet_id: &str,
    mut change: impl FnMut(&mut VNetInfo) -> CoreResult<(bool, R)>,
) -> CoreResult<R> {
    let key = keys::resource(ns, ResourceKind::VNet, vnet_id);
    for _ in 0..repo::MAX_CAS_RETRIES {
        let Some(doc) = repo::get::<VNetInfo>(store, &key).await? else {
            return Err(CoreError::not_found(format!("vNet {vnet_id} does not exist")));
        };
        let mut vnet = doc.value;
        let (changed, out) = change(&mut vnet)?;
        if !changed {
            return Ok(out);
        }
        match repo::replace(store, &key, doc.revision, &vnet).await {
            Ok(_) => return Ok(out),
            Err(CoreError::ConcurrentUpdate(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CoreError::ConcurrentUpdate(format!("vNet {vnet_id}")))
}

fn subnet_mut<'a>(vnet: &'a mut VNetInfo, subnet_id: &str) -> Option<&'a mut SubnetInfo> {
    vnet.subnet_info_list.iter_mut().find(|s| s.id == subnet_id)
}

/// Makes `node` the bastion in use (first in the list). Returns whether the list changed.
fn put_first(list: &mut Vec<BastionNode>, node: &BastionNode) -> bool {
    match list.iter().position(|n| n == node) {
        Some(0) => false,
        Some(i) => {
            let moved = list.remove(i);
            list.insert(0, moved);
            true
        }
        None => {
            list.insert(0, node.clone());
            true
        }
    }
}

/// Removes every node of MCI `mci` whose VM is in `vm_ids`; returns how many went.
fn remove_nodes(list: &mut Vec<BastionNode>, mci: &str, vm_ids: &[String]) -> usize {
    let before = list.len();
    list.retain(|n| !(n.mci_id == mci && vm_ids.contains(&n.vm_id)));
    before - list.len()
}

/// The VM a subnet without a bastion gets: the VM itself when it has a public IP, else the
/// first running VM of the same subnet (id order) that has one.
fn default_candidate<'a>(vm: &'a VmInfo, peers: &'a [VmInfo]) -> Option<&'a VmInfo> {
    if !vm.public_ip.is_empty() {
        return Some(vm);
    }
    peers.iter().find(|p| {
        p.vnet_id == vm.vnet_id
            && p.subnet_id == vm.subnet_id
            && !p.public_ip.is_empty()
            && p.vm_status() == VmStatus::Running
    })
}

impl Tumblebug {
    /// `PUT /mci/{id}/vm/{targetVmId}/bastion/{bastionVmId}`: makes `bastion_vm_id` the bastion
    /// in use for the subnet of `target_vm_id` (first in the subnet's list; other nodes stay
    /// listed). The bastion must have a public IP.
    pub async fn set_bastion(
        &self,
        ns: &str,
        mci: &str,
        target_vm_id: &str,
        bastion_vm_id: &str,
    ) -> CoreResult<String> {
        self.mci_doc(ns, mci).await?;
        let target = self.vm_doc(ns, mci, target_vm_id).await?.value;
        let bastion = self.vm_doc(ns, mci, bastion_vm_id).await?.value;
        if bastion.public_ip.is_empty() {
            return Err(CoreError::invalid(format!(
                "bastion VM (ID: {bastion_vm_id}) does not have a public IP address (status {})",
                bastion.status
            )));
        }
        if target.vnet_id.is_empty() || target.subnet_id.is_empty() {
            return Err(CoreError::invalid(format!("VM (ID: {target_vm_id}) is not attached to a vNet subnet")));
        }
        let node = BastionNode { mci_id: mci.to_string(), vm_id: bastion_vm_id.to_string() };
        let (vnet_id, subnet_id) = (target.vnet_id.as_str(), target.subnet_id.as_str());
        let changed = update_vnet(self.store.as_ref(), ns, vnet_id, |vnet| {
            let subnet = subnet_mut(vnet, subnet_id).ok_or_else(|| {
                CoreError::not_found(format!(
                    "failed to set bastion. Subnet (ID: {subnet_id}) not found in VNet (ID: {vnet_id}) for VM (ID: {target_vm_id}) in MCI (ID: {mci}) under namespace (ID: {ns})"
                ))
            })?;
            let changed = put_first(&mut subnet.bastion_nodes, &node);
            Ok((changed, changed))
        })
        .await?;
        if !changed {
            return Ok(format!(
                "Bastion (ID: {bastion_vm_id}) already exists in subnet (ID: {subnet_id}) in VNet (ID: {vnet_id})."
            ));
        }
        tracing::info!(
            ns,
            mci,
            target = target_vm_id,
            bastion = bastion_vm_id,
            vnet = vnet_id,
            subnet = subnet_id,
            "bastion set"
        );
        Ok(format!(
            "Successfully set the bastion (ID: {bastion_vm_id}) for subnet (ID: {subnet_id}) in vNet (ID: {vnet_id}) for VM (ID: {target_vm_id}) in MCI (ID: {mci})."
        ))
    }

    /// `GET /mci/{id}/vm/{targetVmId}/bastion`: the bastion nodes of the VM's subnet, the one
    /// in use first.
    pub async fn get_bastions(&self, ns: &str, mci: &str, target_vm_id: &str) -> CoreResult<Vec<BastionNode>> {
        self.mci_doc(ns, mci).await?;
        let vm = self.vm_doc(ns, mci, target_vm_id).await?.value;
        self.subnet_bastions(ns, &vm).await
    }

    /// The bastion list of a VM's subnet; empty for a VM attached to no vNet.
    pub(crate) async fn subnet_bastions(&self, ns: &str, vm: &VmInfo) -> CoreResult<Vec<BastionNode>> {
        if vm.vnet_id.is_empty() {
            return Ok(Vec::new());
        }
        let key = keys::resource(ns, ResourceKind::VNet, &vm.vnet_id);
        let vnet = repo::get::<VNetInfo>(self.store.as_ref(), &key)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("vNet {} of VM {} does not exist", vm.vnet_id, vm.id)))?
            .value;
        vnet.subnet_info_list.into_iter().find(|s| s.id == vm.subnet_id).map(|s| s.bastion_nodes).ok_or_else(|| {
            CoreError::not_found(format!(
                "failed to get bastion in Subnet (ID: {}) of VNet (ID: {}) for VM (ID: {})",
                vm.subnet_id, vm.vnet_id, vm.id
            ))
        })
    }

    /// `DELETE /mci/{id}/bastion/{bastionVmId}`: removes the VM from the bastion list of every
    /// subnet of the namespace.
    pub async fn remove_bastion(&self, ns: &str, mci: &str, bastion_vm_id: &str) -> CoreResult<String> {
        self.mci_doc(ns, mci).await?;
        let removed = self.forget_bastions(ns, mci, &[bastion_vm_id.to_string()]).await?;
        // Entries of a VM that is already gone can still be removed; otherwise the VM must exist.
        if removed == 0 {
            self.vm_doc(ns, mci, bastion_vm_id).await?;
        }
        Ok(format!("Successfully removed the bastion (ID: {bastion_vm_id}) in MCI (ID: {mci}) from all subnets"))
    }

    /// Removes the VMs `vm_ids` of MCI `mci` from every subnet's bastion list of the namespace
    /// (a bastion may serve subnets of other vNets); returns how many entries went.
    pub(crate) async fn forget_bastions(&self, ns: &str, mci: &str, vm_ids: &[String]) -> CoreResult<usize> {
        let vnets: Vec<VNetInfo> =
            repo::list_children(self.store.as_ref(), &keys::resource_prefix(ns, ResourceKind::VNet)).await?;
        let mut removed = 0;
        for vnet in vnets {
            let listed = vnet.subnet_info_list.iter().flat_map(|s| &s.bastion_nodes);
            if !listed.into_iter().any(|n| n.mci_id == mci && vm_ids.contains(&n.vm_id)) {
                continue;
            }
            let res = update_vnet(self.store.as_ref(), ns, &vnet.id, |doc| {
                let n: usize =
                    doc.subnet_info_list.iter_mut().map(|s| remove_nodes(&mut s.bastion_nodes, mci, vm_ids)).sum();
                Ok((n > 0, n))
            })
            .await;
            match res {
                Ok(n) => removed += n,
                // Deleted meanwhile: nothing left to clean.
                Err(CoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// [`Tumblebug::forget_bastions`] for deletions: a failure is logged, never raised (a
    /// listed bastion whose record is gone is ignored when routing).
    pub(crate) async fn forget_bastions_logged(&self, ns: &str, mci: &str, vm_ids: Vec<String>) {
        if let Err(e) = self.forget_bastions(ns, mci, &vm_ids).await {
            tracing::warn!(ns, mci, vms = ?vm_ids, error = %e, "could not remove deleted VMs from bastion lists");
        }
    }

    /// When the VM's subnet has no bastion, registers the VM itself if it has a public IP, else
    /// the first running VM of the MCI in that subnet with one. Returns the node registered.
    pub(crate) async fn register_default_bastion(
        &self,
        ns: &str,
        mci: &str,
        vm: &VmInfo,
    ) -> CoreResult<Option<BastionNode>> {
        if vm.vnet_id.is_empty() || vm.subnet_id.is_empty() || !self.subnet_bastions(ns, vm).await?.is_empty() {
            return Ok(None);
        }
        let peers = if vm.public_ip.is_empty() { self.vm_docs(ns, mci).await? } else { Vec::new() };
        let Some(candidate) = default_candidate(vm, &peers) else {
            return Ok(None);
        };
        let node = BastionNode { mci_id: mci.to_string(), vm_id: candidate.id.clone() };
        let subnet_id = vm.subnet_id.as_str();
        update_vnet(self.store.as_ref(), ns, &vm.vnet_id, |vnet| match subnet_mut(vnet, subnet_id) {
            // Another VM of the subnet may have registered itself since the check above.
            Some(s) if s.bastion_nodes.is_empty() => {
                s.bastion_nodes.push(node.clone());
                Ok((true, Some(node.clone())))
            }
            _ => Ok((false, None)),
        })
        .await
    }

    /// Called once a VM is running after its creation: gives its subnet a default bastion if
    /// it has none. Never fails the caller; problems are logged.
    pub(crate) async fn auto_register_bastion(&self, ns: &str, mci: &str, vm_id: &str) {
        let res = match self.vm_doc(ns, mci, vm_id).await {
            Ok(vm) => self.register_default_bastion(ns, mci, &vm.value).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(Some(node)) => tracing::info!(ns, mci, vm = vm_id, bastion = %node.vm_id, "default bastion registered"),
            Ok(None) => {}
            Err(e) => tracing::warn!(ns, mci, vm = vm_id, error = %e, "could not register a default bastion"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(mci: &str, vm: &str) -> BastionNode {
        BastionNode { mci_id: mci.into(), vm_id: vm.into() }
    }

    fn vm(id: &str, subnet: &str, public_ip: &str, status: &str) -> VmInfo {
        VmInfo {
            id: id.into(),
            vnet_id: "v1".into(),
            subnet_id: subnet.into(),
            public_ip: public_ip.into(),
            status: status.into(),
            ..VmInfo::default()
        }
    }

    #[test]
    fn put_first_inserts_moves_or_keeps() {
        let (a, b, c) = (node("m", "a"), node("m", "b"), node("m", "c"));
        // List before, node put, whether the list changed, list after.
        type Case<'a> = (&'a [&'a BastionNode], &'a BastionNode, bool, &'a [&'a BastionNode]);
        let cases: &[Case] = &[
            (&[], &a, true, &[&a]),
            (&[&a], &a, false, &[&a]),
            (&[&a, &b], &b, true, &[&b, &a]),
            (&[&a, &b], &c, true, &[&c, &a, &b]),
        ];
        for (before, put, changed, after) in cases {
            let mut list: Vec<BastionNode> = before.iter().map(|n| (*n).clone()).collect();
            assert_eq!(put_first(&mut list, put), *changed, "{before:?} + {put:?}");
            let want: Vec<BastionNode> = after.iter().map(|n| (*n).clone()).collect();
            assert_eq!(list, want, "{before:?} + {put:?}");
        }
    }

    #[test]
    fn remove_nodes_matches_mci_and_vm() {
        let mut list = vec![node("m1", "g1-1"), node("m2", "g1-1"), node("m1", "g1-2"), node("m1", "g1-1")];
        assert_eq!(remove_nodes(&mut list, "m1", &["g1-1".into()]), 2);
        assert_eq!(list, vec![node("m2", "g1-1"), node("m1", "g1-2")]);
        assert_eq!(remove_nodes(&mut list, "m3", &["g1-2".into()]), 0);
        assert_eq!(remove_nodes(&mut list, "m1", &["g1-2".into(), "g1-9".into()]), 1);
        assert_eq!(list, vec![node("m2", "g1-1")]);
    }

    #[test]
    fn default_candidate_prefers_the_vm_then_a_running_peer_of_its_subnet() {
        let public = vm("g1-2", "s1", "1.2.3.4", "Creating");
        let private = vm("g1-3", "s1", "", "Running");
        let peers = vec![
            vm("g1-1", "s2", "5.5.5.5", "Running"),   // other subnet
            vm("g1-2", "s1", "1.2.3.4", "Suspended"), // not running
            vm("g1-4", "s1", "", "Running"),          // no public IP
            vm("g1-5", "s1", "6.6.6.6", "Running"),
            vm("g1-6", "s1", "7.7.7.7", "Running"),
        ];
        assert_eq!(default_candidate(&public, &peers).map(|v| v.id.as_str()), Some("g1-2"));
        assert_eq!(default_candidate(&private, &peers).map(|v| v.id.as_str()), Some("g1-5"));
        assert_eq!(default_candidate(&private, &peers[..3]).map(|v| v.id.as_str()), None);
    }
}
