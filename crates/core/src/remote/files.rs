//! File transfer over SSH: one file to every selected VM, one file from one VM.

use std::collections::BTreeMap;
use std::sync::Arc;

use tb_model::mci::{SshCmdResult, VmInfo};

use super::{CommandTarget, TRANSFER_TIMEOUT, each_vm};
use crate::{CoreError, CoreResult, Tumblebug};

impl Tumblebug {
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
        let vms = self.target_vms(ns, mci, &target).await?;
        let command = BTreeMap::from([(0, format!("upload {} bytes to {remote_path}", bytes.len()))]);
        let result_of = |vm: &VmInfo, err: Option<String>| SshCmdResult {
            mci_id: mci.to_string(),
            vm_id: vm.id.clone(),
            vm_ip: vm.public_ip.clone(),
            command: command.clone(),
            err,
            ..SshCmdResult::default()
        };
        let uploads = each_vm(
            &vms,
            |vm| {
                let (tb, ns, mci, user, path, bytes) = (
                    self.clone(),
                    ns.to_string(),
                    mci.to_string(),
                    user.to_string(),
                    remote_path.to_string(),
                    bytes.clone(),
                );
                async move { tb.upload_to_vm(&ns, &mci, &vm, &user, &path, &bytes).await.err() }
            },
            |_| Some("upload task failed".to_string()),
        )
        .await;
        let results = vms.iter().zip(uploads).map(|(vm, err)| result_of(vm, err)).collect();
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
        let r = self.ssh_route(ns, &vm, user).await.map_err(CoreError::Unavailable)?;
        match self.ssh.download(&r.target, r.bastion.as_ref(), &r.check, path, max_bytes, TRANSFER_TIMEOUT).await {
            Ok(d) => Ok(d.bytes),
            Err(tb_ssh::SshError::TooLarge { .. }) => {
                Err(CoreError::invalid(format!("{path} is larger than the limit of {max_bytes} bytes")))
            }
            Err(tb_ssh::SshError::RemoteCommand { stderr, .. }) if stderr.contains("No such file") => {
                Err(CoreError::not_found(format!("{path} on VM {vm_id}: {}", stderr.trim())))
            }
            Err(tb_ssh::SshError::RemoteCommand { stderr, .. }) => {
                Err(CoreError::invalid(format!("{path} on VM {vm_id} cannot be read: {}", stderr.trim())))
            }
            // The VM could not be reached or answered badly: not the caller's request.
            Err(e) => Err(CoreError::Unavailable(format!("VM {vm_id}: {}", e.full_message()))),
        }
    }

    /// Uploads `bytes` to `path` on one VM (internal uses such as the agent install).
    pub(crate) async fn upload_to_vm(
        &self,
        ns: &str,
        mci: &str,
        vm: &VmInfo,
        user: &str,
        path: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let r = self.ssh_route(ns, vm, user).await?;
        let key = self
            .ssh
            .upload(&r.target, r.bastion.as_ref(), &r.check, path, bytes, TRANSFER_TIMEOUT)
            .await
            .map_err(|e| e.full_message())?;
        if vm.ssh_host_key_info.is_none() {
            self.remember_host_key(ns, mci, &vm.id, &key).await;
        }
        Ok(())
    }
}
