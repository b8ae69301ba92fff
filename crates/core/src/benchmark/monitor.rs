//! `GET /ns/{ns}/monitoring/mci/{mci}/metric/{metric}`: the current utilisation of every VM,
//! read from its agent (the CB-Dragonfly role; auto-control policies read the same).

use tb_model::agent::{MonitoringResult, VmMonitoring};
use tb_model::benchmark::AgentMetrics;

use super::call::agent_get;
use crate::remote::{CommandTarget, each_vm};
use crate::{CoreError, CoreResult, Tumblebug};

/// Metrics the agent serves; `all` is every one.
const METRICS: [&str; 5] = ["cpu", "mem", "disk", "net", "all"];

impl Tumblebug {
    pub async fn monitor_mci(&self, ns: &str, mci: &str, metric: &str) -> CoreResult<MonitoringResult> {
        let metric = metric.trim().to_lowercase();
        let metric = match metric.as_str() {
            "memory" => "mem".to_string(),
            "network" => "net".to_string(),
            _ => metric,
        };
        if !METRICS.contains(&metric.as_str()) {
            return Err(CoreError::invalid(format!(
                "metric {metric:?} is not served by the agent; use one of {}",
                METRICS.join(", ")
            )));
        }
        let vms = self.target_vms(ns, mci, &CommandTarget::default()).await?;
        let path =
            if metric == "all" { "/milkyway/metrics".to_string() } else { format!("/milkyway/metrics/{metric}") };
        let mci_monitoring = each_vm(
            &vms,
            |vm| {
                let (http, path, metric) = (self.http.clone(), path.clone(), metric.clone());
                async move {
                    let mut out = VmMonitoring {
                        vm_id: vm.id.clone(),
                        vm_ip: vm.public_ip.clone(),
                        metric: metric.clone(),
                        ..Default::default()
                    };
                    match agent_get::<_, AgentMetrics>(&http, &vm, &path, &[], &serde_json::json!({})).await {
                        Ok(m) => {
                            out.value = m.value(&metric).map(|v| format!("{v:.2}")).unwrap_or_default();
                            out.metrics = Some(m);
                        }
                        Err(e) => out.err = e,
                    }
                    out
                }
            },
            |vm| VmMonitoring {
                vm_id: vm.id.clone(),
                vm_ip: vm.public_ip.clone(),
                metric: metric.clone(),
                err: "the call to the agent failed".into(),
                ..Default::default()
            },
        )
        .await;
        Ok(MonitoringResult { ns_id: ns.to_string(), mci_id: mci.to_string(), mci_monitoring })
    }
}
