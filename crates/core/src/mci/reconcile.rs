//! Keeping records and clouds in agreement: recovery after a restart (adopt VMs created by
//! token, resume pending intents, terminate orphans) and the poller that converges VMs in
//! transition.

use std::collections::HashSet;
use std::time::Duration;

use tb_model::TargetAction;
use tb_model::mci::VmInfo;
use tokio::task::JoinSet;

use crate::{CoreResult, Tumblebug, repo};

/// How often the background loop looks for cloud VMs without a record.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// A VM record found by a scan: its namespace, MCI and document.
pub(crate) struct FoundVm {
    pub ns: String,
    pub mci: String,
    pub vm: VmInfo,
}

/// What a recovery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Creations resumed (found by token and adopted, or created now).
    pub creates_resumed: usize,
    /// Other pending actions re-issued.
    pub actions_resumed: usize,
    /// Cloud VMs of this installation without a record, terminated.
    pub orphans_terminated: usize,
}

impl Tumblebug {
    /// Every VM record of every namespace.
    pub(crate) async fn scan_vms(&self) -> CoreResult<Vec<FoundVm>> {
        let mut out = Vec::new();
        for kv in self.store.range(crate::keys::NS_PREFIX).await? {
            // /ns/{ns}/mci/{mci}/vm/{vm}
            let parts: Vec<&str> = kv.key.split('/').collect();
            if parts.len() == 7 && parts[3] == "mci" && parts[5] == "vm" {
                let vm: VmInfo = repo::decode(&kv.key, &kv.value)?;
                out.push(FoundVm { ns: parts[2].to_string(), mci: parts[4].to_string(), vm });
            }
        }
        Ok(out)
    }

    /// Recovery after a start: resumes every recorded intent and removes cloud VMs whose
    /// record is gone. Safe to run at any time.
    pub async fn recover(&self) -> CoreResult<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let vms = self.scan_vms().await?;
        let mut set = JoinSet::new();
        for f in vms {
            let action = f.vm.target_action();
            let pending_create = action == TargetAction::Create && f.vm.csp_resource_id.is_empty();
            let held = self.is_held(&f.ns, &f.mci).await;
            if pending_create && !held {
                report.creates_resumed += 1;
                let tb = self.clone();
                set.spawn(async move {
                    if let Err(e) = tb.provision_vm(&f.ns, &f.mci, &f.vm.id, true).await {
                        tracing::warn!(ns = %f.ns, mci = %f.mci, vm = %f.vm.id, error = %e, "resumed creation failed");
                    }
                    tb.settle_mci_intent(&f.ns, &f.mci).await;
                });
            } else if matches!(
                action,
                TargetAction::Suspend | TargetAction::Resume | TargetAction::Reboot | TargetAction::Terminate
            ) && !f.vm.csp_resource_id.is_empty()
            {
                // Re-issue: the cloud may never have received the call. A refusal because the
                // VM is already on its way is fine; the poller converges it.
                report.actions_resumed += 1;
                let tb = self.clone();
                set.spawn(async move {
                    let vm = match tb.refresh_vm(&f.ns, &f.mci, &f.vm.id, true).await {
                        Ok(vm) => vm,
                        Err(_) => return,
                    };
                    if vm.target_action() == action
                        && let Err(e) = tb.call_cloud(&f.ns, &f.mci, &vm, action).await
                    {
                        tracing::info!(vm = %vm.id, error = %e, "re-issued action refused; polling instead");
                    }
                    tb.settle_mci_intent(&f.ns, &f.mci).await;
                });
            }
        }
        report.orphans_terminated = self.sweep_orphans().await?;
        while set.join_next().await.is_some() {}
        tracing::info!(?report, "recovery done");
        Ok(report)
    }

    async fn is_held(&self, ns: &str, mci: &str) -> bool {
        match self.mci_doc(ns, mci).await {
            Ok(m) => m.value.system_message.iter().any(|s| s.starts_with("held:")),
            Err(_) => false,
        }
    }

    /// Clears an MCI's create intent when none of its VMs is still being created.
    pub(crate) async fn settle_mci_intent(&self, ns: &str, mci: &str) {
        let Ok(vms) = self.vm_docs(ns, mci).await else {
            return;
        };
        if vms.iter().any(|v| v.target_action() == TargetAction::Create) {
            return;
        }
        let _ =
            repo::modify(self.store.as_ref(), &crate::keys::mci(ns, mci), "MCI", |m: &mut tb_model::mci::MciInfo| {
                if m.target_action() == TargetAction::Create {
                    m.set_target(TargetAction::None, tb_model::lifecycle::STATUS_COMPLETE);
                }
                Ok(())
            })
            .await;
    }

    /// Terminates cloud VMs carrying this installation's token that have no record.
    ///
    /// The clouds are listed first and the records read afterwards: a VM's record is always
    /// committed before its create call, so a VM seen in the listing whose record is missing
    /// from the later read really lost its record. Reading records first would race with
    /// creates accepted in between and kill healthy VMs.
    pub(crate) async fn sweep_orphans(&self) -> CoreResult<usize> {
        let mut listed = Vec::new();
        for config in self.clouds.list() {
            let Ok((conn, driver)) = self.clouds.resolve(&config.config_name) else {
                continue;
            };
            let Ok(vms) = driver.list_vms(&conn).await else {
                continue;
            };
            for h in vms {
                if h.status != tb_model::VmStatus::Terminated && self.engine().uid_of_token(&h.token).is_some() {
                    listed.push((conn.clone(), driver.clone(), h));
                }
            }
        }
        if listed.is_empty() {
            return Ok(0);
        }
        let records = self.scan_vms().await?;
        let known_tokens: HashSet<String> =
            records.iter().flat_map(|f| [f.vm.csp_resource_name.clone(), self.engine().token(&f.vm.uid)]).collect();
        let known_ids: HashSet<(String, String)> =
            records.iter().map(|f| (f.vm.connection_name.clone(), f.vm.csp_resource_id.clone())).collect();
        let mut n = 0;
        for (conn, driver, h) in listed {
            if known_tokens.contains(&h.token) || known_ids.contains(&(conn.name.clone(), h.csp_id.clone())) {
                continue;
            }
            match driver.terminate_vm(&conn, &h.csp_id).await {
                Ok(()) => {
                    n += 1;
                    tracing::warn!(connection = %conn.name, csp_id = %h.csp_id, token = %h.token, "orphan VM terminated");
                }
                Err(e) => {
                    tracing::warn!(connection = %conn.name, csp_id = %h.csp_id, error = %e, "orphan VM not terminated")
                }
            }
        }
        Ok(n)
    }

    /// Clears MCI-level intents that no VM carries any more (a crash between the MCI intent
    /// and the VM intents, a create whose last VM settled, an action that ended in errors).
    pub(crate) async fn settle_mci_intents(&self) -> CoreResult<usize> {
        let mut n = 0;
        for kv in self.store.range(crate::keys::NS_PREFIX).await? {
            let parts: Vec<&str> = kv.key.split('/').collect();
            if parts.len() != 5 || parts[3] != "mci" {
                continue;
            }
            let mci: tb_model::mci::MciInfo = repo::decode(&kv.key, &kv.value)?;
            let action = mci.target_action();
            if action == TargetAction::None || mci.system_message.iter().any(|m| m.starts_with("held:")) {
                continue;
            }
            let vms = self.vm_docs(parts[2], parts[4]).await?;
            if vms.iter().any(|v| v.target_action() == action && v.vm_status() != tb_model::VmStatus::Terminated) {
                continue;
            }
            let cleared = repo::modify(self.store.as_ref(), &kv.key, "MCI", |m: &mut tb_model::mci::MciInfo| {
                if m.target_action() == action {
                    m.set_target(TargetAction::None, tb_model::lifecycle::STATUS_COMPLETE);
                }
                Ok(())
            })
            .await;
            if cleared.is_ok() {
                n += 1;
                tracing::info!(ns = parts[2], mci = parts[4], action = action.as_str(), "stale MCI intent cleared");
            }
        }
        Ok(n)
    }

    /// One pass of the poller: reads every VM with a pending intent from its cloud.
    pub async fn poll_once(&self) -> CoreResult<usize> {
        let pending: Vec<FoundVm> = self
            .scan_vms()
            .await?
            .into_iter()
            .filter(|f| f.vm.target_action() != TargetAction::None && !f.vm.csp_resource_id.is_empty())
            .collect();
        let n = pending.len();
        let mut mcis: HashSet<(String, String)> = HashSet::new();
        let mut set = JoinSet::new();
        for f in pending {
            mcis.insert((f.ns.clone(), f.mci.clone()));
            let tb = self.clone();
            set.spawn(async move {
                let _ = tb.refresh_vm(&f.ns, &f.mci, &f.vm.id, true).await;
            });
        }
        while set.join_next().await.is_some() {}
        for (ns, mci) in mcis {
            let _ = self.get_mci(&ns, &mci).await;
        }
        self.settle_mci_intents().await?;
        Ok(n)
    }

    /// Starts recovery, then the poller, in the background.
    pub fn start_background(&self) -> tokio::task::JoinHandle<()> {
        let tb = self.clone();
        tokio::spawn(async move {
            if let Err(e) = tb.recover().await {
                tracing::error!(error = %e, "recovery failed");
            }
            let every: Duration = tb.engine().config.poll_interval;
            let mut last_sweep = std::time::Instant::now();
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = tb.poll_once().await {
                    tracing::warn!(error = %e, "status poll failed");
                }
                // Records removed while their VM could not be terminated are caught here.
                if last_sweep.elapsed() >= SWEEP_EVERY {
                    last_sweep = std::time::Instant::now();
                    if let Err(e) = tb.sweep_orphans().await {
                        tracing::warn!(error = %e, "orphan sweep failed");
                    }
                }
            }
        })
    }
}
