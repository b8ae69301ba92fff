//! Commands on the selected VMs: all in parallel (bounded), each VM's commands in order,
//! stopping at the first failure. Every VM's part is recorded in its command history
//! (`Queued` → `Handling` → `Completed`/`Failed`/`Timeout`) and, when the request has an id,
//! published as live events (status changes, output lines, a final summary).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tb_model::command::{
    CommandDoneSummary, CommandExecutionStatus, CommandLogEntry, CommandStatusInfo, CommandStreamEvent,
    CommandStreamEventType,
};
use tb_model::mci::{MciCmdReq, SshCmdResult, VmInfo};
use tb_model::placeholder;
use tb_ssh::{OutputLine, OutputStream, RunOutcome, SshError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::history::tail;
use super::{CommandTarget, DEFAULT_TIMEOUT_MIN, FANOUT};
use crate::{CoreError, CoreResult, Tumblebug, now_string};

/// One VM's share of a request: the commands it runs (placeholders expanded).
struct VmJob {
    vm: VmInfo,
    commands: Vec<String>,
}

/// What every VM's task of one request shares.
struct RequestCtx {
    ns: String,
    mci: String,
    request_id: String,
    user: String,
    requested: String,
    timeout: Duration,
}

impl Tumblebug {
    /// `POST /ns/{ns}/cmd/mci/{mci}`: runs the commands on every selected VM. `request_id`
    /// (the request's `X-Request-Id`) names the history records and the live event stream.
    pub async fn run_mci_command(
        &self,
        ns: &str,
        mci: &str,
        req: MciCmdReq,
        target: CommandTarget,
        request_id: &str,
    ) -> CoreResult<Vec<SshCmdResult>> {
        self.streams.open(request_id, ns, mci).map_err(CoreError::Conflict)?;
        let commands: Vec<String> = req.command.iter().filter(|c| !c.trim().is_empty()).cloned().collect();
        let jobs = match self.plan_jobs(ns, mci, &commands, &target).await {
            Ok(jobs) => jobs,
            Err(error) => {
                // A subscriber must learn that nothing will run.
                let summary = CommandDoneSummary { error: error.to_string(), ..Default::default() };
                self.publish(request_id, "", 0, |e| e.summary = Some(summary), CommandStreamEventType::CommandDone);
                return Err(error);
            }
        };
        let minutes = if req.timeout_minutes == 0 { DEFAULT_TIMEOUT_MIN } else { req.timeout_minutes.clamp(1, 120) };
        let ctx = Arc::new(RequestCtx {
            ns: ns.to_string(),
            mci: mci.to_string(),
            request_id: request_id.to_string(),
            user: req.user_name.clone(),
            requested: commands.join("\n"),
            timeout: Duration::from_secs(u64::from(minutes) * 60),
        });
        let started = Instant::now();
        let total = jobs.len();
        let sem = Arc::new(tokio::sync::Semaphore::new(FANOUT));
        let cancel = self.streams.cancel_signal(request_id);
        let mut set = JoinSet::new();
        for job in jobs {
            let (tb, ctx, sem, cancel) = (self.clone(), ctx.clone(), sem.clone(), cancel.clone());
            set.spawn(async move { tb.run_job(&ctx, job, &sem, cancel).await });
        }
        let mut results = Vec::with_capacity(total);
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
        let failed = results.iter().filter(|r| r.err.is_some()).count();
        let summary = CommandDoneSummary {
            total_vms: total,
            completed_vms: total - failed,
            failed_vms: failed,
            elapsed_seconds: started.elapsed().as_secs(),
            error: String::new(),
        };
        self.publish(&ctx.request_id, "", 0, |e| e.summary = Some(summary), CommandStreamEventType::CommandDone);
        Ok(results)
    }

    /// Runs commands on one VM for Tumblebug's own purposes (no history, no events): the last
    /// command's output, or an error naming the failing command.
    pub(crate) async fn run_on_vm_plain(
        &self,
        ns: &str,
        mci: &str,
        vm: &VmInfo,
        user: &str,
        commands: &[String],
        timeout: Duration,
    ) -> Result<String, String> {
        let ctx = RequestCtx {
            ns: ns.to_string(),
            mci: mci.to_string(),
            request_id: String::new(),
            user: user.to_string(),
            requested: String::new(),
            timeout,
        };
        let (out, _) = self.run_on_vm(&ctx, vm, commands, 0).await;
        match out.err {
            // The last command's output.
            None => Ok(out.stdout.into_values().next_back().unwrap_or_default()),
            Some(e) => Err(e),
        }
    }

    /// `POST /cmd/mci/{mci}/task/{taskId}/cancel`.
    pub fn cancel_command_task(&self, ns: &str, mci: &str, task_id: &str) -> CoreResult<()> {
        self.streams.cancel(ns, mci, task_id)
    }

    /// `GET /cmd/mci/{mci}/task`: the command requests of the MCI this server runs or ran
    /// recently.
    pub async fn command_tasks(&self, ns: &str, mci: &str) -> CoreResult<Vec<tb_model::command::CommandTaskInfo>> {
        self.mci_doc(ns, mci).await?;
        Ok(self.streams.tasks(ns, mci))
    }

    /// `GET /cmd/mci/{mci}/task/{taskId}`.
    pub async fn command_task(
        &self,
        ns: &str,
        mci: &str,
        task_id: &str,
    ) -> CoreResult<tb_model::command::CommandTaskInfo> {
        self.command_tasks(ns, mci)
            .await?
            .into_iter()
            .find(|t| t.task_id == task_id)
            .ok_or_else(|| CoreError::not_found(format!("no command task {task_id} on MCI {mci}")))
    }

    /// Opens the live event stream of a request about to start, so that a client told the
    /// request id can subscribe before the work reaches the VMs.
    pub fn open_command_stream(&self, ns: &str, mci: &str, request_id: &str) -> CoreResult<()> {
        self.streams.open(request_id, ns, mci).map(|_| ()).map_err(CoreError::Conflict)
    }

    /// The VMs to run on, each with its commands (placeholders expanded).
    async fn plan_jobs(
        &self,
        ns: &str,
        mci: &str,
        commands: &[String],
        target: &CommandTarget,
    ) -> CoreResult<Vec<VmJob>> {
        if commands.is_empty() {
            return Err(CoreError::invalid("command must hold at least one command"));
        }
        let (all_vms, mut vms) = self.mci_vms_and_targets(ns, mci, target).await?;
        // Placeholders number the targeted VMs in id order (AssignTask).
        vms.sort_by(|a, b| a.id.cmp(&b.id));
        if !commands.iter().any(|c| placeholder::has_placeholders(c)) {
            return Ok(vms.into_iter().map(|vm| VmJob { vm, commands: commands.to_vec() }).collect());
        }
        let mut others = BTreeMap::new();
        for other in commands.iter().flat_map(|c| placeholder::referenced_mcis(c, mci)) {
            // One that does not exist is reported by the expansion, naming the placeholder.
            if let Ok(other_vms) = self.vm_docs(ns, &other).await
                && !other_vms.is_empty()
            {
                others.insert(other, other_vms);
            }
        }
        let mut jobs = Vec::with_capacity(vms.len());
        for (i, vm) in vms.iter().enumerate() {
            let ctx = placeholder::FuncContext::new(ns, mci, vm, i, &all_vms).with_other_mcis(&others);
            let expanded = commands
                .iter()
                .map(|c| placeholder::expand(c, &ctx))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| CoreError::invalid(format!("command for VM {}: {e}", vm.id)))?;
            jobs.push(expanded);
        }
        Ok(vms.into_iter().zip(jobs).map(|(vm, commands)| VmJob { vm, commands }).collect())
    }

    /// One VM: queue its record, wait for a slot, run, record the outcome.
    async fn run_job(
        &self,
        ctx: &RequestCtx,
        job: VmJob,
        sem: &tokio::sync::Semaphore,
        cancel: Option<watch::Receiver<bool>>,
    ) -> SshCmdResult {
        let VmJob { vm, commands } = job;
        let queued = CommandStatusInfo {
            x_request_id: ctx.request_id.clone(),
            command_requested: ctx.requested.clone(),
            command_executed: commands.join("\n"),
            started_time: now_string(),
            ..Default::default()
        };
        let index = match self.queue_command(&ctx.ns, &ctx.mci, &vm.id, queued).await {
            Ok(record) => {
                let index = record.index;
                self.publish_status(ctx, &vm.id, record);
                Some(index)
            }
            Err(error) => {
                tracing::warn!(vm = %vm.id, %error, "cannot record the command in the VM's history");
                None
            }
        };
        let run_started = Instant::now();
        // Cancelling stops a VM that waits for a slot, and drops a running SSH run (its
        // command is killed and its channel closed).
        let work = async {
            let _permit = sem.acquire().await;
            if let Some(index) = index {
                self.record(ctx, &vm.id, index, |r| {
                    r.status = CommandExecutionStatus::Handling;
                    r.started_time = now_string();
                })
                .await;
            }
            self.run_on_vm(ctx, &vm, &commands, index.unwrap_or(0)).await
        };
        let (out, timed_out, cancelled) = tokio::select! {
            (out, timed_out) = work => (out, timed_out, false),
            () = cancelled(cancel) => {
                let out = SshCmdResult {
                    mci_id: ctx.mci.clone(),
                    vm_id: vm.id.clone(),
                    vm_ip: vm.public_ip.clone(),
                    command: commands.iter().enumerate().map(|(i, c)| (i as u32, c.clone())).collect(),
                    err: Some("cancelled".into()),
                    ..SshCmdResult::default()
                };
                (out, false, true)
            }
        };
        if let Some(index) = index {
            let status = match (&out.err, timed_out, cancelled) {
                (_, _, true) => CommandExecutionStatus::Cancelled,
                (None, _, _) => CommandExecutionStatus::Completed,
                (Some(_), true, _) => CommandExecutionStatus::Timeout,
                (Some(_), false, _) => CommandExecutionStatus::Failed,
            };
            let ran = out.stdout.len();
            self.record(ctx, &vm.id, index, |r| {
                r.status = status;
                r.completed_time = now_string();
                r.elapsed_time = u64::try_from(run_started.elapsed().as_millis()).unwrap_or(u64::MAX);
                r.stdout = tail(&out.stdout.values().map(String::as_str).collect::<String>());
                r.stderr = tail(&out.stderr.values().map(String::as_str).collect::<String>());
                r.error_message = out.err.clone().unwrap_or_default();
                r.result_summary = match status {
                    CommandExecutionStatus::Completed => format!("{} of {} commands succeeded", ran, commands.len()),
                    _ => format!("stopped after {ran} of {} commands", commands.len()),
                };
            })
            .await;
            self.command_ended(&ctx.ns, &ctx.mci, &vm.id, index).await;
        }
        out
    }

    /// Runs the commands on one VM; every failure is reported in the result, never raised.
    /// Also says whether the run ran out of time.
    async fn run_on_vm(&self, ctx: &RequestCtx, vm: &VmInfo, commands: &[String], index: u64) -> (SshCmdResult, bool) {
        let mut out = SshCmdResult {
            mci_id: ctx.mci.clone(),
            vm_id: vm.id.clone(),
            vm_ip: vm.public_ip.clone(),
            command: commands.iter().enumerate().map(|(i, c)| (i as u32, c.clone())).collect(),
            ..SshCmdResult::default()
        };
        let route = match self.ssh_route(&ctx.ns, vm, &ctx.user).await {
            Ok(r) => r,
            Err(e) => {
                out.err = Some(e);
                return (out, false);
            }
        };
        let (target, bastion, check) = (&route.target, route.bastion.as_ref(), &route.check);
        let outcome: Result<RunOutcome, SshError> = if ctx.request_id.is_empty() {
            self.ssh.run_commands(target, bastion, check, commands, ctx.timeout).await
        } else {
            let (tx, rx) = mpsc::unbounded_channel();
            let forward = tokio::spawn(self.clone().forward_lines(ctx.request_id.clone(), vm.id.clone(), index, rx));
            let outcome = self.ssh.run_commands_live(target, bastion, check, commands, ctx.timeout, tx).await;
            // The sender is gone once the run returns: the forwarder drains and ends.
            let _ = forward.await;
            outcome
        };
        let timed_out;
        match outcome {
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
                timed_out = run.timed_out;
                if vm.ssh_host_key_info.is_none() {
                    self.remember_host_key(&ctx.ns, &ctx.mci, &vm.id, &run.host_key).await;
                }
                let bastion_unknown = route
                    .bastion
                    .as_ref()
                    .is_some_and(|b| matches!(b.check, tb_ssh::HostKeyCheck::TrustOnFirstUse { known: None }));
                if let Some(key) = &run.bastion_host_key
                    && bastion_unknown
                {
                    self.remember_bastion_host_key(&ctx.ns, &route, key).await;
                }
            }
            Err(e) => {
                timed_out = matches!(e, SshError::Timeout { .. });
                out.err = Some(e.full_message());
            }
        }
        (out, timed_out)
    }

    /// Turns a VM's output lines into `CommandLog` events, numbering lines per stream.
    async fn forward_lines(
        self,
        request_id: String,
        vm: String,
        index: u64,
        mut rx: mpsc::UnboundedReceiver<OutputLine>,
    ) {
        let (mut out_lines, mut err_lines) = (0u64, 0u64);
        while let Some(line) = rx.recv().await {
            let (stream, number) = match line.stream {
                OutputStream::Stdout => {
                    out_lines += 1;
                    ("stdout", out_lines)
                }
                OutputStream::Stderr => {
                    err_lines += 1;
                    ("stderr", err_lines)
                }
            };
            let log = CommandLogEntry { stream: stream.into(), line: line.line, line_number: number };
            self.publish(&request_id, &vm, index, |e| e.log = Some(log), CommandStreamEventType::CommandLog);
        }
    }

    /// Updates a VM's record and publishes its new status; failures are logged (the command
    /// result still reaches the caller).
    async fn record(&self, ctx: &RequestCtx, vm: &str, index: u64, mut change: impl FnMut(&mut CommandStatusInfo)) {
        let updated = self
            .update_command(&ctx.ns, &ctx.mci, vm, index, |r| {
                change(r);
                Ok(())
            })
            .await;
        match updated {
            Ok(record) => self.publish_status(ctx, vm, record),
            Err(error) => tracing::warn!(vm, index, %error, "cannot update the VM's command record"),
        }
    }

    fn publish_status(&self, ctx: &RequestCtx, vm: &str, record: CommandStatusInfo) {
        let index = record.index;
        self.publish(&ctx.request_id, vm, index, |e| e.status = Some(record), CommandStreamEventType::CommandStatus);
    }

    fn publish(
        &self,
        request_id: &str,
        vm: &str,
        index: u64,
        fill: impl FnOnce(&mut CommandStreamEvent),
        kind: CommandStreamEventType,
    ) {
        if request_id.is_empty() {
            return;
        }
        let mut event = CommandStreamEvent {
            kind,
            vm_id: vm.to_string(),
            command_index: index,
            timestamp: rfc3339_now(),
            status: None,
            log: None,
            summary: None,
        };
        fill(&mut event);
        self.streams.publish(request_id, event);
    }
}

/// Resolves once the request is cancelled; never without a signal.
async fn cancelled(signal: Option<watch::Receiver<bool>>) {
    match signal {
        Some(mut rx) => {
            // An error means the stream is gone: nothing can cancel any more.
            if rx.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// `2026-12-01T10:00:00Z`.
fn rfc3339_now() -> String {
    now_string().replacen(' ', "T", 1) + "Z"
}
