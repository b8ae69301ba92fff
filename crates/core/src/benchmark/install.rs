//! `installBenchmarkAgent`: the agent binary uploaded over SSH to every VM and started there,
//! bound to the VM's private address on port 1324 (the public one may be a NAT address).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tb_model::agent::{AgentInstallContent, AgentInstallResult};
use tb_model::mci::VmInfo;
use tb_ssh::shell_quote;

use super::AGENT_PORT;
use super::call::agent_base;
use crate::remote::{CommandTarget, each_vm};
use crate::{CoreError, CoreResult, Tumblebug};

/// How long a started agent may take to answer.
const START_WAIT: Duration = Duration::from_secs(15);
/// Upper bound of the upload and start commands of one VM.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

impl Tumblebug {
    /// `POST /ns/{ns}/installBenchmarkAgent/mci/{mci}[?option=update]`: uploads and starts the
    /// agent on every VM; a VM whose agent already answers is left alone unless `update`.
    pub async fn install_benchmark_agent(
        &self,
        ns: &str,
        mci: &str,
        user: &str,
        update: bool,
    ) -> CoreResult<AgentInstallResult> {
        let vms = self.target_vms(ns, mci, &CommandTarget::default()).await?;
        let binary = self.agent_binary().ok_or_else(|| {
            CoreError::Unavailable(
                "the tumblebug-agent binary was not found: build it (cargo build --release -p tb-agent) and put it \
                 next to tumblebug, or set TB_AGENT_BINARY"
                    .into(),
            )
        })?;
        let bytes = tokio::fs::read(&binary)
            .await
            .map_err(|e| CoreError::Unavailable(format!("cannot read the agent binary {}: {e}", binary.display())))?;
        let bytes = Arc::new(bytes);
        let content = |vm: &VmInfo, result: String| AgentInstallContent {
            mci_id: mci.to_string(),
            vm_id: vm.id.clone(),
            vm_ip: vm.public_ip.clone(),
            result,
        };
        let results = each_vm(
            &vms,
            |vm| {
                let (tb, ns, mci, user, bytes) =
                    (self.clone(), ns.to_string(), mci.to_string(), user.to_string(), bytes.clone());
                async move {
                    match tb.install_on(&ns, &mci, &vm, &user, &bytes, update).await {
                        Ok(done) => done,
                        Err(error) => format!("failed: {error}"),
                    }
                }
            },
            |_| "failed: the install task died".to_string(),
        )
        .await;
        let result_array = vms.iter().zip(results).map(|(vm, result)| content(vm, result)).collect();
        Ok(AgentInstallResult { result_array })
    }

    async fn install_on(
        &self,
        ns: &str,
        mci: &str,
        vm: &VmInfo,
        user: &str,
        bytes: &[u8],
        update: bool,
    ) -> Result<String, String> {
        if !update && self.agent_answers(vm).await {
            return Ok("the agent is already running".into());
        }
        // Paths relative to the login's home; local VMs share one account, so every file
        // that is not the (identical) binary is per VM.
        let slot = format!("{mci}-{}", vm.id);
        let part = format!(".tumblebug/tumblebug-agent.{slot}.part");
        let bind = if vm.private_ip.is_empty() { vm.public_ip.clone() } else { vm.private_ip.clone() };
        // `--bin[d]` matches the agent's command line but not this shell's own.
        let stop = format!("pkill -f -- {} ; true", shell_quote(&format!("--bin[d] {bind} --port {AGENT_PORT}")));
        let install = format!(
            "mv -f {part} .tumblebug/tumblebug-agent && chmod +x .tumblebug/tumblebug-agent",
            part = shell_quote(&part)
        );
        let start = format!(
            "setsid nohup \"$HOME/.tumblebug/tumblebug-agent\" --bind {bind} --port {AGENT_PORT} \
             --work-dir \"$HOME/.tumblebug/work-{slot}\" > \"$HOME/.tumblebug/agent-{slot}.log\" 2>&1 < /dev/null &",
            bind = shell_quote(&bind),
        );
        self.upload_to_vm(ns, mci, vm, user, &part, bytes).await?;
        self.run_on_vm_plain(ns, mci, vm, user, &[stop, install, start], INSTALL_TIMEOUT).await?;
        let deadline = Instant::now() + START_WAIT;
        while Instant::now() < deadline {
            if self.agent_answers(vm).await {
                return Ok(format!("installed and started ({} bytes)", bytes.len()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Why, when the agent says so (wrong architecture, missing libraries, port in use).
        let log = format!("tail -c 400 \"$HOME/.tumblebug/agent-{slot}.log\"");
        let said = self.run_on_vm_plain(ns, mci, vm, user, &[log], INSTALL_TIMEOUT).await.unwrap_or_default();
        Err(format!("started, but {} does not answer within {START_WAIT:?}; its log: {}", agent_base(vm), said.trim()))
    }

    /// Whether the VM's agent answers at all.
    pub(super) async fn agent_answers(&self, vm: &VmInfo) -> bool {
        // The agent's greeting: no side effect (`install` would create its work directory).
        let url = format!("{}/", agent_base(vm));
        matches!(self.http.get(url).timeout(Duration::from_secs(2)).send().await, Ok(r) if r.status().is_success())
    }
}
