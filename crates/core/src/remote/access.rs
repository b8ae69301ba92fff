//! How a VM is reached over SSH: address and port, login user, private key, the host key
//! check (trust on first use, the first key kept in the VM's `sshHostKeyInfo`), and whether the
//! connection goes through the bastion of the VM's subnet.

use tb_model::VmStatus;
use tb_model::mci::{SshHostKeyInfo, VmInfo};
use tb_model::resource::{BastionNode, SshKeyInfo};
use tb_ssh::{Bastion, HostKeyCheck, KnownHostKey, SshTarget};

use crate::keys::{self, ResourceKind};
use crate::{CoreResult, Tumblebug, now_string, repo};

fn known_key(info: &Option<SshHostKeyInfo>) -> Option<KnownHostKey> {
    info.as_ref().filter(|k| !k.fingerprint.is_empty() || !k.host_key.is_empty()).map(|k| KnownHostKey {
        key_type: k.key_type.clone(),
        fingerprint: k.fingerprint.clone(),
        host_key: k.host_key.clone(),
    })
}

fn ssh_port(vm: &VmInfo) -> u16 {
    if vm.ssh_port == 0 { 22 } else { vm.ssh_port }
}

/// Everything needed to open an SSH connection to one VM.
pub(super) struct SshRoute {
    pub target: SshTarget,
    pub check: HostKeyCheck,
    /// The jump host when the VM is reached through its subnet's bastion.
    pub bastion: Option<Bastion>,
    /// Which VM that jump host is, so its host key can be remembered on its own record.
    pub bastion_vm: Option<BastionNode>,
}

/// The way to a VM.
#[derive(Debug, PartialEq)]
pub(super) enum Hop<'a> {
    /// Straight to the VM's public IP.
    Direct,
    /// To the bastion's public IP, then through a tunnel to the VM's private IP.
    Via(&'a BastionNode, &'a VmInfo),
}

/// Both records describe the same VM (uids are unique across MCIs; ids are not).
fn same_vm(a: &VmInfo, b: &VmInfo) -> bool {
    if !a.uid.is_empty() && !b.uid.is_empty() {
        a.uid == b.uid
    } else {
        a.id == b.id && a.csp_resource_id == b.csp_resource_id
    }
}

/// Decides how `vm` is reached from its subnet's bastion list (the first node is the one in
/// use) and `active`, the record of that first node (`None` when it no longer exists).
///
/// A bastion that exists is always used, even when the VM has a public IP of its own: a
/// bastion that is down or lost its public IP is an error naming it, never a silent bypass.
/// A listed bastion whose record is gone is ignored.
pub(super) fn choose_hop<'a>(
    vm: &VmInfo,
    bastions: &'a [BastionNode],
    active: Option<&'a VmInfo>,
) -> Result<Hop<'a>, String> {
    let place = format!("subnet {} of vNet {}", vm.subnet_id, vm.vnet_id);
    let direct = |why: String| if vm.public_ip.is_empty() { Err(why) } else { Ok(Hop::Direct) };
    let Some(node) = bastions.first() else {
        return direct(format!("VM {} has no public IP and {place} has no bastion", vm.id));
    };
    let Some(bastion) = active else {
        return direct(format!(
            "VM {} has no public IP and the bastion {} (MCI {}) of {place} no longer exists",
            vm.id, node.vm_id, node.mci_id
        ));
    };
    if same_vm(vm, bastion) {
        return direct(format!("VM {} is the bastion of {place} but has no public IP", vm.id));
    }
    let name = format!("bastion {} (MCI {}) of {place}", node.vm_id, node.mci_id);
    if bastion.vm_status() != VmStatus::Running {
        return Err(format!("VM {} is reached through the {name}, which is {}", vm.id, bastion.status));
    }
    if bastion.public_ip.is_empty() {
        return Err(format!("VM {} is reached through the {name}, which has no public IP", vm.id));
    }
    if vm.private_ip.is_empty() {
        return Err(format!("VM {} has no private IP to be reached through the {name}", vm.id));
    }
    Ok(Hop::Via(node, bastion))
}

impl Tumblebug {
    /// How to reach a VM over SSH: through its subnet's bastion (see [`choose_hop`]) or
    /// directly, each hop with its own address, port, user, private key and host key check.
    /// An error names why the VM cannot be reached.
    pub(super) async fn ssh_route(&self, ns: &str, vm: &VmInfo, user: &str) -> Result<SshRoute, String> {
        let (user, private_key) = self.login(ns, vm, user).await?;
        self.check_reachable(vm)?;
        let bastions = self.subnet_bastions(ns, vm).await.map_err(|e| e.to_string())?;
        let active = match bastions.first() {
            Some(node) => repo::get::<VmInfo>(self.store.as_ref(), &keys::vm(ns, &node.mci_id, &node.vm_id))
                .await
                .map_err(|e| e.to_string())?
                .map(|doc| doc.value),
            None => None,
        };
        let check = HostKeyCheck::TrustOnFirstUse { known: known_key(&vm.ssh_host_key_info) };
        match choose_hop(vm, &bastions, active.as_ref())? {
            Hop::Direct => {
                let target = SshTarget { host: vm.public_ip.clone(), port: ssh_port(vm), user, private_key };
                Ok(SshRoute { target, check, bastion: None, bastion_vm: None })
            }
            Hop::Via(node, hop) => {
                self.check_reachable(hop)?;
                // The bastion logs in as its own account with its own key pair.
                let (hop_user, hop_key) = self.login(ns, hop, "").await?;
                let bastion = Bastion {
                    target: SshTarget {
                        host: hop.public_ip.clone(),
                        port: ssh_port(hop),
                        user: hop_user,
                        private_key: hop_key,
                    },
                    check: HostKeyCheck::TrustOnFirstUse { known: known_key(&hop.ssh_host_key_info) },
                };
                let target = SshTarget { host: vm.private_ip.clone(), port: ssh_port(vm), user, private_key };
                Ok(SshRoute { target, check, bastion: Some(bastion), bastion_vm: Some(node.clone()) })
            }
        }
    }

    /// Login user (explicit > the VM's account > the key's verified > the key's > cb-user) and
    /// private key of a VM.
    async fn login(&self, ns: &str, vm: &VmInfo, user: &str) -> Result<(String, String), String> {
        let doc =
            repo::get::<SshKeyInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::SshKey, &vm.ssh_key_id))
                .await;
        let key = match doc {
            Ok(Some(k)) => k.value,
            Ok(None) => return Err(format!("sshKey {} of VM {} no longer exists", vm.ssh_key_id, vm.id)),
            Err(e) => return Err(e.to_string()),
        };
        let user = [user, vm.vm_user_name.as_str(), key.verified_username.as_str(), key.username.as_str()]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or("cb-user")
            .to_string();
        Ok((user, key.private_key))
    }

    /// A simulated VM's addresses are made up (and must never be contacted).
    fn check_reachable(&self, vm: &VmInfo) -> Result<(), String> {
        if self.clouds.resolve(&vm.connection_name).is_ok_and(|(_, driver)| !driver.vms_reachable()) {
            return Err(format!("VM {} is simulated: it has no SSH endpoint", vm.id));
        }
        Ok(())
    }

    /// Trust on first use for the bastion of a route: its host key, seen while connecting, is
    /// stored on the bastion's own VM record (nothing happens for a direct route).
    pub(super) async fn remember_bastion_host_key(&self, ns: &str, route: &SshRoute, key: &KnownHostKey) {
        if let Some(node) = &route.bastion_vm {
            self.remember_host_key(ns, &node.mci_id, &node.vm_id, key).await;
        }
    }

    /// Trust on first use: the first host key seen is stored on the VM record.
    pub(super) async fn remember_host_key(&self, ns: &str, mci: &str, vm_id: &str, key: &KnownHostKey) {
        let info = SshHostKeyInfo {
            host_key: key.host_key.clone(),
            key_type: key.key_type.clone(),
            fingerprint: key.fingerprint.clone(),
            first_used_at: now_string(),
        };
        let res = repo::modify(self.store.as_ref(), &keys::vm(ns, mci, vm_id), "VM", |v: &mut VmInfo| {
            if v.ssh_host_key_info.is_none() {
                v.ssh_host_key_info = Some(info.clone());
            }
            Ok(())
        })
        .await;
        if let Err(e) = res {
            tracing::warn!(ns, mci, vm = vm_id, error = %e, "could not store the VM's host key");
        }
    }

    /// `DELETE /mci/{id}/vm/{vmId}/sshHostKey`: forget the stored host key (the next
    /// connection trusts whatever the VM presents).
    pub async fn reset_host_key(&self, ns: &str, mci: &str, vm_id: &str) -> CoreResult<()> {
        self.vm_doc(ns, mci, vm_id).await?;
        repo::modify(self.store.as_ref(), &keys::vm(ns, mci, vm_id), "VM", |v: &mut VmInfo| {
            v.ssh_host_key_info = None;
            Ok(())
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(id: &str, uid: &str, public_ip: &str, private_ip: &str, status: &str) -> VmInfo {
        VmInfo {
            id: id.into(),
            uid: uid.into(),
            vnet_id: "v1".into(),
            subnet_id: "s1".into(),
            public_ip: public_ip.into(),
            private_ip: private_ip.into(),
            status: status.into(),
            ..VmInfo::default()
        }
    }

    fn node(vm: &str) -> BastionNode {
        BastionNode { mci_id: "m1".into(), vm_id: vm.into() }
    }

    /// `Ok(None)` = direct, `Ok(Some(id))` = through that bastion, `Err(needle)` = an error
    /// containing the needle.
    type Want = Result<Option<&'static str>, &'static str>;
    /// Name, target VM, its subnet's bastion list, the first bastion's record, expectation.
    type Case<'a> = (&'a str, &'a VmInfo, &'a [BastionNode], Option<&'a VmInfo>, Want);

    #[test]
    fn choose_hop_table() {
        let public = vm("g1-2", "u2", "10.0.0.2", "192.168.0.2", "Running");
        let private_only = vm("g1-2", "u2", "", "192.168.0.2", "Running");
        let no_address = vm("g1-2", "u2", "", "", "Running");
        let bastion = vm("g1-1", "u1", "10.0.0.1", "192.168.0.1", "Running");
        let suspended = vm("g1-1", "u1", "10.0.0.1", "192.168.0.1", "Suspended");
        let bastion_no_ip = vm("g1-1", "u1", "", "192.168.0.1", "Running");
        // Same id in another MCI: a different VM.
        let namesake = vm("g1-2", "u9", "10.0.9.2", "192.168.9.2", "Running");
        let b = [node("g1-1")];
        let own = [node("g1-2")];
        let cases: Vec<Case> = vec![
            ("no bastion, public IP", &public, &[], None, Ok(None)),
            (
                "no bastion, no public IP",
                &private_only,
                &[],
                None,
                Err("VM g1-2 has no public IP and subnet s1 of vNet v1 has no bastion"),
            ),
            ("bastion is the VM itself", &public, &own, Some(&public), Ok(None)),
            (
                "VM is its own bastion without public IP",
                &private_only,
                &own,
                Some(&private_only),
                Err("is the bastion"),
            ),
            ("another bastion, VM with public IP", &public, &b, Some(&bastion), Ok(Some("g1-1"))),
            ("another bastion, private-only VM", &private_only, &b, Some(&bastion), Ok(Some("g1-1"))),
            ("namesake from another MCI is not the VM", &public, &own, Some(&namesake), Ok(Some("g1-2"))),
            (
                "bastion suspended",
                &public,
                &b,
                Some(&suspended),
                Err("bastion g1-1 (MCI m1) of subnet s1 of vNet v1, which is Suspended"),
            ),
            ("bastion without public IP", &private_only, &b, Some(&bastion_no_ip), Err("which has no public IP")),
            ("VM without private IP", &no_address, &b, Some(&bastion), Err("has no private IP")),
            ("stale bastion, VM with public IP", &public, &b, None, Ok(None)),
            (
                "stale bastion, private-only VM",
                &private_only,
                &b,
                None,
                Err("bastion g1-1 (MCI m1) of subnet s1 of vNet v1 no longer exists"),
            ),
        ];
        for (name, target, list, active, want) in cases {
            let got = choose_hop(target, list, active);
            match (&got, want) {
                (Ok(Hop::Direct), Ok(None)) => {}
                (Ok(Hop::Via(n, rec)), Ok(Some(id))) => {
                    assert_eq!(n.vm_id, id, "{name}");
                    assert_eq!(rec.id, id, "{name}");
                }
                (Err(msg), Err(needle)) => assert!(msg.contains(needle), "{name}: {msg:?} lacks {needle:?}"),
                _ => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn only_the_first_bastion_is_used() {
        let target = vm("g1-3", "u3", "", "192.168.0.3", "Running");
        let first = vm("g1-1", "u1", "10.0.0.1", "192.168.0.1", "Suspended");
        let list = [node("g1-1"), node("g1-2")];
        // The second node is a standby: a down first bastion is reported, not skipped.
        let err = choose_hop(&target, &list, Some(&first)).unwrap_err();
        assert!(err.contains("g1-1") && err.contains("Suspended"), "{err}");
    }
}
