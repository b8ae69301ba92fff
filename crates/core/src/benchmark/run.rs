//! The benchmark endpoints: one action on every VM at once, `benchmarkAll` (every workload,
//! folded per spec and fed to placement), and `benchmarkLatency` (RTTs between the VMs).

use std::collections::BTreeMap;

use tb_model::benchmark::{
    BENCHMARK_ACTIONS, BENCHMARK_ALL_ACTIONS, BenchmarkInfo, BenchmarkInfoArray, BenchmarkReq, HostSpec, MultiHostReq,
    SpecBenchmarkInfo,
};
use tb_model::mci::VmInfo;

use super::call::agent_get;
use crate::remote::{CommandTarget, each_vm};
use crate::{CoreError, CoreResult, Tumblebug, now_string};

/// Agent parameters that change how long or how often, not what one event measures: results
/// taken with them still compare with the references.
const SIZE_NEUTRAL: [&str; 6] = ["seconds", "events", "count", "intervalMs", "timeoutMs", "tcpPort"];

/// Query parameters passed on to the agents (workload sizes, e.g. `seconds=0.5`); `action`
/// is Tumblebug's own.
pub type AgentQuery = Vec<(String, String)>;

impl Tumblebug {
    /// `POST /ns/{ns}/benchmark/mci/{mci}?action=`: the action on every VM at once; one result
    /// per VM (its spec and region set; a failure is written into `result`).
    pub async fn benchmark(
        &self,
        ns: &str,
        mci: &str,
        action: &str,
        host: &str,
        query: &AgentQuery,
    ) -> CoreResult<BenchmarkInfoArray> {
        let action = BENCHMARK_ACTIONS.iter().find(|a| a.eq_ignore_ascii_case(action.trim())).ok_or_else(|| {
            CoreError::invalid(format!("action {action:?} is not one of {}", BENCHMARK_ACTIONS.join(", ")))
        })?;
        let vms = self.target_vms(ns, mci, &CommandTarget::default()).await?;
        Ok(BenchmarkInfoArray { resultarray: self.on_every_vm(&vms, action, host, query).await })
    }

    /// `init` or `clean` on every VM, failures only logged (the workloads' results say why).
    async fn housekeeping(&self, vms: &[VmInfo], action: &str, host: &str, query: &AgentQuery) {
        for r in self.on_every_vm(vms, action, host, query).await {
            // Milkyway's answers: "The init is complete", "The cleaning is complete".
            if !r.result.to_lowercase().contains("complete") {
                tracing::warn!(action, spec = %r.specid, result = %r.result, "agent housekeeping failed");
            }
        }
    }

    /// The action on each VM in parallel, results in VM order.
    async fn on_every_vm(&self, vms: &[VmInfo], action: &str, host: &str, query: &AgentQuery) -> Vec<BenchmarkInfo> {
        let targets: Vec<HostSpec> =
            vms.iter().map(|v| HostSpec { host: v.public_ip.clone(), spec: v.spec_id.clone() }).collect();
        each_vm(
            vms,
            |vm| {
                let (http, action, host, query, targets) =
                    (self.http.clone(), action.to_string(), host.to_string(), query.clone(), targets.clone());
                async move {
                    let path = format!("/milkyway/{action}");
                    let result = if action == "mrtt" {
                        // Every other VM of the MCI: the RTT matrix between them.
                        let others = targets.into_iter().filter(|t| t.host != vm.public_ip).collect();
                        let body = MultiHostReq { multihost: others };
                        agent_get::<_, BenchmarkInfoArray>(&http, &vm, &path, &query, &body)
                            .await
                            .map(|array| BenchmarkInfo { resultarray: array.resultarray, ..BenchmarkInfo::default() })
                    } else {
                        agent_get::<_, BenchmarkInfo>(&http, &vm, &path, &query, &BenchmarkReq { host }).await
                    };
                    let info =
                        result.unwrap_or_else(|error| BenchmarkInfo { result: error, ..BenchmarkInfo::default() });
                    BenchmarkInfo { specid: vm.spec_id.clone(), region_name: region_key(&vm), ..info }
                }
            },
            // A VM whose task died still gets its entry, with its spec and region.
            |vm| BenchmarkInfo {
                result: format!("the call to the agent of VM {} failed", vm.id),
                specid: vm.spec_id.clone(),
                region_name: region_key(vm),
                ..BenchmarkInfo::default()
            },
        )
        .await
    }

    /// `POST /ns/{ns}/benchmarkAll/mci/{mci}`: every workload one after another (all VMs at
    /// once for each), folded per spec, stored, and applied to the recommender's performance
    /// score; then the RTTs between the VMs, recorded as measured latencies. One entry per
    /// action, each holding the per-VM results.
    pub async fn benchmark_all(
        &self,
        ns: &str,
        mci: &str,
        host: &str,
        query: &AgentQuery,
    ) -> CoreResult<BenchmarkInfoArray> {
        let vms = self.target_vms(ns, mci, &CommandTarget::default()).await?;
        let mut per_spec: BTreeMap<String, SpecBenchmarkInfo> = BTreeMap::new();
        let mut out = Vec::new();
        let mut actions: Vec<&str> = BENCHMARK_ALL_ACTIONS.to_vec();
        if !host.trim().is_empty() {
            actions.push("rtt");
        }
        // The file and database workloads need their data prepared first.
        self.housekeeping(&vms, "init", host, query).await;
        for action in actions {
            let results = self.on_every_vm(&vms, action, host, query).await;
            for r in &results {
                if measured_number(&r.result).is_some() {
                    let entry = per_spec.entry(r.specid.clone()).or_insert_with(|| SpecBenchmarkInfo {
                        specid: r.specid.clone(),
                        ..SpecBenchmarkInfo::default()
                    });
                    // Several VMs of one spec: the last one's number stands (they measure the same).
                    entry.set(action, r.result.clone());
                }
            }
            let unit = results.first().map(|r| r.unit.clone()).unwrap_or_default();
            out.push(BenchmarkInfo {
                desc: action.to_string(),
                unit,
                resultarray: results,
                ..BenchmarkInfo::default()
            });
        }
        let evaled = now_string();
        for info in per_spec.values_mut() {
            info.evaled_time.clone_from(&evaled);
        }
        // The data `init` prepared is removed again (best effort).
        self.housekeeping(&vms, "clean", host, query).await;
        // Scores compare with references taken at the default workload sizes: results of
        // other sizes (e.g. maxPrime=2000) are answered but not kept.
        match query.iter().find(|(k, _)| !SIZE_NEUTRAL.contains(&k.as_str())) {
            None => self.store_spec_benchmarks(per_spec.into_values().collect()).await?,
            Some((k, _)) => tracing::info!(parameter = %k, "benchmarkAll with non-default sizes: results not stored"),
        }
        if vms.len() > 1 {
            out.push(self.measure_latency(&vms, query).await?);
        }
        Ok(BenchmarkInfoArray { resultarray: out })
    }

    /// `GET /ns/{ns}/benchmarkLatency/mci/{mci}`: RTTs between every pair of VMs, recorded as
    /// measured latencies between their regions.
    pub async fn benchmark_latency(&self, ns: &str, mci: &str, query: &AgentQuery) -> CoreResult<BenchmarkInfoArray> {
        let vms = self.target_vms(ns, mci, &CommandTarget::default()).await?;
        Ok(BenchmarkInfoArray { resultarray: vec![self.measure_latency(&vms, query).await?] })
    }

    async fn measure_latency(&self, vms: &[VmInfo], query: &AgentQuery) -> CoreResult<BenchmarkInfo> {
        let results = self.on_every_vm(vms, "mrtt", "", query).await;
        let mut measured = Vec::new();
        for (vm, r) in vms.iter().zip(&results) {
            // The agent answers in the order of the hosts it was given: every other VM.
            let others = vms.iter().filter(|v| v.public_ip != vm.public_ip);
            for (to, entry) in others.zip(&r.resultarray) {
                if let Some(ms) = measured_number(&entry.result) {
                    measured.push((region_key(vm), region_key(to), ms));
                }
            }
        }
        self.record_measured_latencies(&measured).await?;
        Ok(BenchmarkInfo { desc: "mrtt".into(), unit: "ms".into(), resultarray: results, ..BenchmarkInfo::default() })
    }
}

/// A result that is a usable measurement: a finite, non-negative number (an agent's answer is
/// not trusted to be one).
fn measured_number(result: &str) -> Option<f64> {
    result.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// The latency model's region id of a VM (`{provider}-{region}`, its connection name).
pub(crate) fn region_key(vm: &VmInfo) -> String {
    vm.connection_name.to_lowercase()
}
