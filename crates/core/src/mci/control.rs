//! Lifecycle actions on a whole MCI or one VM: check the transition, persist the intent on
//! the MCI and on every VM it applies to, then call the clouds in parallel (bounded per
//! connection). VMs converge to their target through status reads and the poller.

use tb_cloud::CloudError;
use tb_model::lifecycle::{self, STATUS_COMPLETE};
use tb_model::mci::{ControlAction, MciInfo, VmInfo};
use tb_model::{TargetAction, VmStatus};
use tokio::task::JoinSet;

use super::mci_not_found;
use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

/// Attempts of one control call when the cloud answers with a retryable error.
const CONTROL_ATTEMPTS: u32 = 4;

/// The outcome of preparing a control action.
pub enum ControlStart {
    /// Nothing left to do in the clouds; the message is the answer.
    Done(String),
    /// Intents are recorded; run the plan to call the clouds.
    Run(ControlPlan),
}

/// A control action whose MCI-level intent is persisted.
pub struct ControlPlan {
    tb: Tumblebug,
    ns: String,
    id: String,
    ids: Vec<String>,
    target: TargetAction,
    action: ControlAction,
    message: String,
}

impl ControlPlan {
    /// Calls the clouds for every selected VM, ends the MCI-level intent, and (for terminate)
    /// waits until the clouds report the VMs terminated.
    pub async fn run(self) -> CoreResult<String> {
        let ControlPlan { tb, ns, id, ids, target, action, message } = self;
        let errors = tb.fan_out_action(&ns, &id, &ids, target).await;
        // v0.12: the MCI-level intent ends when every call returned; VMs keep theirs until
        // the poller sees them reach it.
        let _ = repo::modify(tb.store.as_ref(), &keys::mci(&ns, &id), "MCI", |m: &mut MciInfo| {
            m.set_target(TargetAction::None, STATUS_COMPLETE);
            Ok(())
        })
        .await;
        if !errors.is_empty() && errors.len() == ids.len() {
            return Err(CoreError::Conflict(format!("{action} failed on every VM: {}", errors.join("; "))));
        }
        if target == TargetAction::Terminate {
            // Wait until the clouds say Terminated so the answer ("Terminated the MCI") is true.
            tb.wait_for(&ns, &id, &ids, VmStatus::Terminated).await?;
        }
        Ok(message)
    }
}

impl Tumblebug {
    /// `GET /control/mci/{id}?action=`. Returns the reference's result message.
    pub async fn control_mci(&self, ns: &str, id: &str, action: ControlAction, force: bool) -> CoreResult<String> {
        match self.prepare_control_mci(ns, id, action, force).await? {
            ControlStart::Done(msg) => Ok(msg),
            ControlStart::Run(plan) => plan.run().await,
        }
    }

    /// Checks the transition and persists the intent on the MCI; the cloud calls are left to
    /// the returned plan, so an asynchronous caller can answer with the intent recorded.
    pub async fn prepare_control_mci(
        &self,
        ns: &str,
        id: &str,
        action: ControlAction,
        force: bool,
    ) -> CoreResult<ControlStart> {
        let mci = self.get_mci(ns, id).await?;
        match action {
            ControlAction::Refine => {
                return self.refine_mci(ns, &mci).await.map(ControlStart::Done);
            }
            ControlAction::Continue | ControlAction::Withdraw => {
                return self.release_hold(ns, &mci, action).await.map(ControlStart::Done);
            }
            _ => {}
        }
        let Some(target) = action.target_action() else {
            return Err(CoreError::invalid(format!("action {action} has no intent")));
        };
        lifecycle::check_mci_transition(id, &mci.status, mci.target_action(), action.as_str(), force)
            .map_err(|e| CoreError::conflict(e.to_string()))?;
        let ids: Vec<String> = mci
            .vm
            .iter()
            .filter(|vm| force || lifecycle::check_vm_transition(vm.vm_status(), action.as_str()).is_ok())
            .map(|vm| vm.id.clone())
            .collect();
        let message = action.mci_result_message(mci.vm.len()).to_string();
        if ids.is_empty() {
            return Ok(ControlStart::Done(message));
        }
        let Some(intent) = lifecycle::action_intent(target) else {
            return Err(CoreError::invalid(format!("action {action} has no intent")));
        };
        // Intent first: the MCI now, each VM just before its own cloud call.
        repo::modify(self.store.as_ref(), &keys::mci(ns, id), &format!("The MCI {id}"), |m: &mut MciInfo| {
            if !force {
                lifecycle::check_mci_idle(id, m.target_action(), false)
                    .map_err(|e| CoreError::conflict(e.to_string()))?;
            }
            m.set_target(intent.target_action, intent.target_status.as_str());
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => mci_not_found(ns, id),
            other => other,
        })?;
        Ok(ControlStart::Run(ControlPlan {
            tb: self.clone(),
            ns: ns.to_string(),
            id: id.to_string(),
            ids,
            target,
            action,
            message,
        }))
    }

    /// `GET /control/mci/{id}/vm/{vmId}?action=`.
    pub async fn control_vm(
        &self,
        ns: &str,
        id: &str,
        vm_id: &str,
        action: ControlAction,
        force: bool,
    ) -> CoreResult<String> {
        let mci = self.mci_doc(ns, id).await?.value;
        let Some(target) = action.target_action().filter(|t| *t != TargetAction::Refine) else {
            return Err(CoreError::invalid(format!("action {action} is not available for a single VM")));
        };
        if !force {
            lifecycle::check_mci_idle(id, mci.target_action(), false)
                .map_err(|e| CoreError::conflict(e.to_string()))?;
        }
        let vm = self.refresh_vm(ns, id, vm_id, false).await?;
        if !force {
            lifecycle::check_vm_transition(vm.vm_status(), action.as_str())
                .map_err(|e| CoreError::conflict(e.to_string()))?;
        }
        let errors = self.fan_out_action(ns, id, &[vm_id.to_string()], target).await;
        if let Some(e) = errors.first() {
            return Err(CoreError::Conflict(e.clone()));
        }
        if target == TargetAction::Terminate {
            self.wait_for(ns, id, &[vm_id.to_string()], VmStatus::Terminated).await?;
        }
        Ok(action.vm_result_message())
    }

    /// Persists each VM's intent, then calls the cloud for each, bounded per connection.
    /// Returns one message per VM whose call failed.
    pub(crate) async fn fan_out_action(
        &self,
        ns: &str,
        mci: &str,
        vm_ids: &[String],
        action: TargetAction,
    ) -> Vec<String> {
        let mut set = JoinSet::new();
        for vm_id in vm_ids {
            let (tb, ns, mci, vm_id) = (self.clone(), ns.to_string(), mci.to_string(), vm_id.clone());
            set.spawn(async move {
                let r = tb.act_on_vm(&ns, &mci, &vm_id, action).await;
                r.map_err(|e| format!("{vm_id}: {e}"))
            });
        }
        let mut errors = Vec::new();
        while let Some(j) = set.join_next().await {
            match j {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("task failed: {e}")),
            }
        }
        errors.sort();
        errors
    }

    /// Intent, then the cloud call for one VM.
    pub(crate) async fn act_on_vm(&self, ns: &str, mci: &str, vm_id: &str, action: TargetAction) -> CoreResult<()> {
        let Some(intent) = lifecycle::action_intent(action) else {
            return Err(CoreError::invalid(format!("{action:?} is not a VM action")));
        };
        let key = keys::vm(ns, mci, vm_id);
        let vm = repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
            intent.apply_to(v);
            Ok(())
        })
        .await?;
        self.call_cloud(ns, mci, &vm, action).await
    }

    /// The cloud call of an action whose intent is already persisted.
    pub(crate) async fn call_cloud(&self, ns: &str, mci: &str, vm: &VmInfo, action: TargetAction) -> CoreResult<()> {
        if vm.csp_resource_id.is_empty() {
            // No cloud id recorded: the create failed, or is still in flight. A VM the cloud
            // made with this token is terminated; one that lands later is terminated by the
            // create path when it finds the record terminated.
            if action == TargetAction::Terminate {
                if let Ok((conn, driver)) = self.clouds.resolve(&vm.connection_name)
                    && let Ok(Some(h)) = driver.find_vm_by_token(&conn, &vm.csp_resource_name).await
                    && h.status != VmStatus::Terminated
                {
                    driver.terminate_vm(&conn, &h.csp_id).await?;
                }
                let key = keys::vm(ns, mci, &vm.id);
                repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                    v.set_status(VmStatus::Terminated);
                    if let Some(done) = lifecycle::completion(VmStatus::Terminated, VmStatus::Terminated.as_str()) {
                        done.apply_to(v);
                    }
                    Ok(())
                })
                .await?;
                self.release_associations(ns, mci, vm).await;
            }
            return Ok(());
        }
        let (conn, driver) = self.clouds.resolve(&vm.connection_name)?;
        let timeout = self.engine().config.control_timeout;
        let mut attempt = 0u32;
        let result = loop {
            attempt += 1;
            let permit = self.engine().limiter.acquire(&conn.name).await;
            let call = async {
                match action {
                    TargetAction::Suspend => driver.suspend_vm(&conn, &vm.csp_resource_id).await,
                    TargetAction::Resume => driver.resume_vm(&conn, &vm.csp_resource_id).await,
                    TargetAction::Reboot => driver.reboot_vm(&conn, &vm.csp_resource_id).await,
                    TargetAction::Terminate => driver.terminate_vm(&conn, &vm.csp_resource_id).await,
                    _ => Ok(()),
                }
            };
            let r = match tokio::time::timeout(timeout, call).await {
                Ok(r) => r,
                Err(_) => Err(CloudError::Timeout(timeout.as_secs())),
            };
            drop(permit);
            match r {
                // Throttling and hiccups are retried with a growing pause; the actions are
                // idempotent for a VM already on its way.
                Err(e) if e.retryable() && attempt < CONTROL_ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(200 * (1 << attempt.min(5)))).await;
                }
                other => break other,
            }
        };
        match result {
            Ok(()) => {}
            // Already gone is what terminate wanted.
            Err(CloudError::NotFound { .. }) if action == TargetAction::Terminate => {}
            Err(e) => {
                let msg = e.to_string();
                let key = keys::vm(ns, mci, &vm.id);
                let _ = repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                    v.system_message.clone_from(&msg);
                    v.set_target(TargetAction::None, STATUS_COMPLETE);
                    Ok(())
                })
                .await;
                let _ = self.refresh_vm(ns, mci, &vm.id, true).await;
                return Err(e.into());
            }
        }
        self.refresh_vm(ns, mci, &vm.id, true).await.map(|_| ())
    }

    /// Polls the given VMs (in parallel) until each is in `status`, Failed, or no longer
    /// carries an intent (its call failed), within the control timeout.
    pub(crate) async fn wait_for(&self, ns: &str, mci: &str, vm_ids: &[String], status: VmStatus) -> CoreResult<()> {
        let cfg = &self.engine().config;
        let started = std::time::Instant::now();
        let mut pending: Vec<String> = vm_ids.to_vec();
        while !pending.is_empty() {
            let mut set = tokio::task::JoinSet::new();
            for id in pending {
                let (tb, ns, mci) = (self.clone(), ns.to_string(), mci.to_string());
                set.spawn(async move {
                    let r = tb.refresh_vm(&ns, &mci, &id, true).await;
                    (id, r)
                });
            }
            let mut still = Vec::new();
            while let Some(joined) = set.join_next().await {
                let Ok((id, r)) = joined else { continue };
                match r {
                    Ok(vm) if vm.vm_status() == status || vm.vm_status() == VmStatus::Failed => {}
                    Ok(vm) if vm.target_action() == TargetAction::None => {}
                    Ok(_) => still.push(id),
                    Err(CoreError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if started.elapsed() > cfg.control_timeout {
                return Err(CoreError::Cloud(CloudError::Timeout(cfg.control_timeout.as_secs())));
            }
            tokio::time::sleep(cfg.poll_interval).await;
        }
        Ok(())
    }

    /// `refine`: drops the records of Failed and Undefined VMs (no cloud call, as upstream).
    async fn refine_mci(&self, ns: &str, mci: &MciInfo) -> CoreResult<String> {
        let bad: Vec<&VmInfo> =
            mci.vm.iter().filter(|v| matches!(v.vm_status(), VmStatus::Failed | VmStatus::Undefined)).collect();
        for vm in &bad {
            self.delete_vm_record(ns, &mci.id, &vm.id).await?;
        }
        Ok(ControlAction::Refine.mci_result_message(bad.len()).to_string())
    }

    /// `continue` provisions a held MCI; `withdraw` deletes it.
    async fn release_hold(&self, ns: &str, mci: &MciInfo, action: ControlAction) -> CoreResult<String> {
        // Leaving the hold is a compare-and-swap on the marker: of two concurrent continue or
        // withdraw requests, exactly one proceeds.
        let id = mci.id.clone();
        repo::modify(self.store.as_ref(), &keys::mci(ns, &id), &format!("The MCI {id}"), |m: &mut MciInfo| {
            if !m.system_message.iter().any(|s| s.starts_with("held:")) {
                return Err(CoreError::conflict(format!("MCI {id} is not on hold")));
            }
            m.system_message.retain(|s| !s.starts_with("held:"));
            Ok(())
        })
        .await?;
        match action {
            ControlAction::Withdraw => {
                self.delete_mci(ns, &mci.id, lifecycle::DeleteOption::Force).await?;
            }
            _ => {
                let ids: Vec<String> =
                    mci.vm.iter().filter(|v| v.csp_resource_id.is_empty()).map(|v| v.id.clone()).collect();
                let tb = self.clone();
                let (ns, id) = (ns.to_string(), mci.id.clone());
                tokio::spawn(async move {
                    if let Err(e) =
                        tb.provision_and_settle(&ns, &id, &ids, super::create::FailurePolicy::Continue).await
                    {
                        tracing::warn!(ns, mci = %id, error = %e, "held MCI provisioning failed");
                    }
                });
            }
        }
        Ok(action.mci_result_message(mci.vm.len()).to_string())
    }
}
