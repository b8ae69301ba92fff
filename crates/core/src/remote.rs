//! Remote commands on the VMs of an MCI (reference §6): every target VM in parallel (bounded),
//! each command in order, stopping at the first failure, with the VM's key pair; host keys are
//! trusted on first use and kept in the VM's `sshHostKeyInfo`, and a changed key is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tb_model::mci::{MciCmdReq, SshCmdResult, SshHostKeyInfo, VmInfo};
use tb_model::resource::SshKeyInfo;
use tb_ssh::{HostKeyCheck, KnownHostKey, SshTarget};
use tokio::task::JoinSet;

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, now_string, repo};

/// VMs reached at once by one request.
const FANOUT: usize = 64;
/// Upper bound of one file transfer.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);
/// Default and bounds of `timeoutMinutes` (reference: default 30, clamp 1..120).
const DEFAULT_TIMEOUT_MIN: u32 = 30;

/// Which VMs of the MCI a command targets.
#[derive(Debug, Clone, Default)]
pub struct CommandTarget {
    pub sub_group_id: Option<String>,
    pub vm_id: Option<String>,
    /// `key=value,key2=value2`: every pair must match the VM's label.
    pub label_selector: Option<String>,
}

impl CommandTarget {
    fn selects(&self, vm: &VmInfo) -> CoreResult<bool> {
        if self.sub_group_id.as_deref().is_some_and(|s| !s.is_empty() && s != vm.sub_group_id) {
            return Ok(false);
        }
        if self.vm_id.as_deref().is_some_and(|v| !v.is_empty() && v != vm.id) {
            return Ok(false);
        }
        if let Some(sel) = self.label_selector.as_deref().filter(|s| !s.is_empty()) {
            for pair in sel.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| CoreError::invalid(format!("labelSelector {pair:?} is not key=value")))?;
                if vm.label.get(k.trim()).map(String::as_str) != Some(v.trim()) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

fn known_key(info: &Option<SshHostKeyInfo>) -> Option<KnownHostKey> {
    info.as_ref().filter(|k| !k.fingerprint.is_empty() || !k.host_key.is_empty()).map(|k| KnownHostKey {
        key_type: k.key_type.clone(),
        fingerprint: k.fingerprint.clone(),
        host_key: k.host_key.clone(),
    })
}

impl Tumblebug {
    /// `POST /ns/{ns}/cmd/mci/{mci}`: runs the commands on every selected VM.
    pub async fn run_mci_command(
        &self,
        ns: &str,
        mci: &str,
        req: MciCmdReq,
        target: CommandTarget,
    ) -> CoreResult<Vec<SshCmdResult>> {
        if req.command.iter().all(|c| c.trim().is_empty()) {
            return Err(CoreError::invalid("command must hold at least one command"));
        }
        self.mci_doc(ns, mci).await?;
        let mut vms = Vec::new();
        for vm in self.vm_docs(ns, mci).await? {
            if target.selects(&vm)? {
                vms.push(vm);
            }
        }
        if vms.is_empty() {
            return Err(CoreError::not_found(format!("no VM of MCI {mci} matches the target")));
        }
        let minutes = if req.timeout_minutes == 0 { DEFAULT_TIMEOUT_MIN } else { req.timeout_minutes.clamp(1, 120) };
        let timeout = Duration::from_secs(u64::from(minutes) * 60);
        let commands: Arc<Vec<String>> =
            Arc::new(req.command.iter().filter(|c| !c.trim().is_empty()).cloned().collect());
        let sem = Arc::new(tokio::sync::Semaphore::new(FANOUT));
        let mut set = JoinSet::new();
        for vm in vms {
            let (tb, ns, mci, user, commands, sem) =
                (self.clone(), ns.to_string(), mci.to_string(), req.user_name.clone(), commands.clone(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                tb.run_on_vm(&ns, &mci, &vm, &user, &commands, timeout).await
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => results.push(r),
                Err(e) => results.push(SshCmdResult {
                    mci_id: mci.to_string(),
                    err: Some(format!("task failed: {e}")),
                    ..SshCmdResult::default()
                }),
            }
        }
        results.sort_by(|a, b| a.vm_id.cmp(&b.vm_id));
        Ok(results)
    }

    /// Runs the commands on one VM; every failure is reported in the result, never raised.
    async fn run_on_vm(
        &self,
        ns: &str,
        mci: &str,
        vm: &VmInfo,
        user: &str,
        commands: &[String],
        timeout: Duration,
    ) -> SshCmdResult {
        let mut out = SshCmdResult {
            mci_id: mci.to_string(),
            vm_id: vm.id.clone(),
            vm_ip: vm.public_ip.clone(),
            command: commands.iter().enumerate().map(|(i, c)| (i as u32, c.clone())).collect(),
            ..SshCmdResult::default()
        };
        let (target, check) = match self.ssh_target(ns, vm, user).await {
            Ok(t) => t,
            Err(e) => {
                out.err = Some(e);
                return out;
            }
        };
        match tb_ssh::run_commands(&target, None, &check, commands, timeout).await {
            Ok(run) => {
                let mut stdout = BTreeMap::new();
                let mut stderr = BTreeMap::new();
                for (i, r) in run.results.iter().enumerate() {
                    stdout.insert(i as u32, r.stdout.clone());
                    stderr.insert(i as u32, r.stderr.clone());
                }
                out.stdout = stdout;
                out.stderr = stderr;
                out.err = run.error.clone();
                if vm.ssh_host_key_info.is_none() {
                    self.remember_host_key(ns, mci, &vm.id, &run.host_key).await;
                }
            }
            Err(e) => out.err = Some(e.to_string()),
        }
        out
    }

    /// How to reach a VM over SSH: address, port, user (explicit > verified > the key's >
    /// cb-user) and private key, with its host key check. An error names why it cannot be
    /// reached.
    async fn ssh_target(&self, ns: &str, vm: &VmInfo, user: &str) -> Result<(SshTarget, HostKeyCheck), String> {
        let doc =
            repo::get::<SshKeyInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::SshKey, &vm.ssh_key_id))
                .await;
        let key = match doc {
            Ok(Some(k)) => k.value,
            Ok(None) => return Err(format!("sshKey {} of VM {} no longer exists", vm.ssh_key_id, vm.id)),
            Err(e) => return Err(e.to_string()),
        };
        let user = [user, key.verified_username.as_str(), key.username.as_str()]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or("cb-user")
            .to_string();
        // A simulated VM's addresses are made up (and must never be contacted).
        if self.clouds.resolve(&vm.connection_name).is_ok_and(|(_, driver)| !driver.vms_reachable()) {
            return Err(format!("VM {} is simulated: it has no SSH endpoint", vm.id));
        }
        if vm.public_ip.is_empty() {
            return Err(format!("VM {} has no public IP (status {})", vm.id, vm.status));
        }
        let target = SshTarget {
            host: vm.public_ip.clone(),
            port: if vm.ssh_port == 0 { 22 } else { vm.ssh_port },
            user,
            private_key: key.private_key.clone(),
        };
        Ok((target, HostKeyCheck::TrustOnFirstUse { known: known_key(&vm.ssh_host_key_info) }))
    }

    /// Uploads one file to every selected VM; one result per VM (`err` set on failure).
    pub async fn upload_file(
        &self,
        ns: &str,
        mci: &str,
        target: CommandTarget,
        user: &str,
        remote_path: &str,
        bytes: Arc<Vec<u8>>,
    ) -> CoreResult<Vec<SshCmdResult>> {
        if remote_path.trim().is_empty() {
            return Err(CoreError::invalid("path (the destination on the VMs) is required"));
        }
        self.mci_doc(ns, mci).await?;
        let mut vms = Vec::new();
        for vm in self.vm_docs(ns, mci).await? {
            if target.selects(&vm)? {
                vms.push(vm);
            }
        }
        if vms.is_empty() {
            return Err(CoreError::not_found(format!("no VM of MCI {mci} matches the target")));
        }
        let mut set = JoinSet::new();
        for vm in vms {
            let (tb, ns, mci, user, path, bytes) = (
                self.clone(),
                ns.to_string(),
                mci.to_string(),
                user.to_string(),
                remote_path.to_string(),
                bytes.clone(),
            );
            set.spawn(async move {
                let mut out = SshCmdResult {
                    mci_id: mci.clone(),
                    vm_id: vm.id.clone(),
                    vm_ip: vm.public_ip.clone(),
                    command: BTreeMap::from([(0, format!("upload {} bytes to {path}", bytes.len()))]),
                    ..SshCmdResult::default()
                };
                match tb.ssh_target(&ns, &vm, &user).await {
                    Ok((t, check)) => match tb_ssh::upload(&t, None, &check, &path, &bytes, TRANSFER_TIMEOUT).await {
                        Ok(key) => {
                            if vm.ssh_host_key_info.is_none() {
                                tb.remember_host_key(&ns, &mci, &vm.id, &key).await;
                            }
                        }
                        Err(e) => out.err = Some(e.to_string()),
                    },
                    Err(e) => out.err = Some(e),
                }
                out
            });
        }
        let mut results = Vec::new();
        while let Some(j) = set.join_next().await {
            if let Ok(r) = j {
                results.push(r);
            }
        }
        results.sort_by(|a, b| a.vm_id.cmp(&b.vm_id));
        Ok(results)
    }

    /// Downloads one file from one VM (at most `max_bytes`).
    pub async fn download_file(
        &self,
        ns: &str,
        mci: &str,
        vm_id: &str,
        user: &str,
        path: &str,
        max_bytes: usize,
    ) -> CoreResult<Vec<u8>> {
        if path.trim().is_empty() {
            return Err(CoreError::invalid("sourcePath is required"));
        }
        let vm = self.vm_doc(ns, mci, vm_id).await?.value;
        let (t, check) = self.ssh_target(ns, &vm, user).await.map_err(CoreError::Conflict)?;
        match tb_ssh::download(&t, None, &check, path, max_bytes, TRANSFER_TIMEOUT).await {
            Ok(d) => Ok(d.bytes),
            Err(tb_ssh::SshError::TooLarge { .. }) => {
                Err(CoreError::invalid(format!("{path} is larger than the limit of {max_bytes} bytes")))
            }
            Err(tb_ssh::SshError::RemoteCommand { stderr, .. }) => {
                Err(CoreError::not_found(format!("{path} on VM {vm_id}: {}", stderr.trim())))
            }
            Err(e) => Err(CoreError::Conflict(e.to_string())),
        }
    }

    /// Trust on first use: the first host key seen is stored on the VM record.
    async fn remember_host_key(&self, ns: &str, mci: &str, vm_id: &str, key: &KnownHostKey) {
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
