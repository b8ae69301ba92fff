//! Wire objects of the benchmark agent (reference §5, CB-Milkyway) and of Tumblebug's
//! benchmark endpoints (§2.8), plus the agent's utilisation metrics (§2.10, §7).
//!
//! Milkyway answers every number as a string (`"165.30"`, `"0.045"`) and `elapsed` as seconds
//! with six decimals; these types keep that. Milkyway's own answer has no `regionName` and no
//! nested `resultarray`, so both are skipped when empty: the agent's JSON is then exactly
//! Milkyway's, and Tumblebug fills them when it aggregates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The actions an agent and Tumblebug's `benchmark` endpoint accept, in Milkyway's order.
pub const BENCHMARK_ACTIONS: [&str; 13] =
    ["install", "init", "cpus", "cpum", "memR", "memW", "fioR", "fioW", "dbR", "dbW", "rtt", "mrtt", "clean"];

/// The actions `benchmarkAll` runs one after another.
pub const BENCHMARK_ALL_ACTIONS: [&str; 8] = ["cpus", "cpum", "memR", "memW", "fioR", "fioW", "dbR", "dbW"];

/// Prefix of every benchmark error message (Milkyway's spelling, kept for compatibility).
pub const BENCHMARK_ERROR_PREFIX: &str = "Error in excuting the benchmark: ";

/// One benchmark result (`benchInfo` in Milkyway, `BenchmarkInfo` in Tumblebug).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BenchmarkInfo {
    /// The measured number as a decimal string, a completion text, or an error text.
    pub result: String,
    /// e.g. `Executions/sec`, `MiB/sec`, `Transactions/s`, `ms`.
    pub unit: String,
    pub desc: String,
    /// Wall time of the action in seconds, six decimals.
    pub elapsed: String,
    /// The VM's spec id (set by Tumblebug, or by the agent for `mrtt` entries).
    pub specid: String,
    #[serde(rename = "regionName", skip_serializing_if = "String::is_empty")]
    pub region_name: String,
    /// Go writes an empty array as `null`; both read as empty.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    #[schema(no_recursion)]
    pub resultarray: Vec<BenchmarkInfo>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl BenchmarkInfo {
    /// A result with Milkyway's `elapsed` formatting.
    pub fn new(result: impl Into<String>, unit: &str, desc: impl Into<String>, elapsed_secs: f64) -> Self {
        BenchmarkInfo {
            result: result.into(),
            unit: unit.to_owned(),
            desc: desc.into(),
            elapsed: format_elapsed(elapsed_secs),
            ..BenchmarkInfo::default()
        }
    }
}

/// Seconds as Milkyway prints them (`strconv.FormatFloat(s, 'f', 6, 64)`).
pub fn format_elapsed(seconds: f64) -> String {
    format!("{seconds:.6}")
}

/// `{"resultarray": [...]}`: the `mrtt` answer and every Tumblebug benchmark answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BenchmarkInfoArray {
    #[serde(deserialize_with = "null_as_empty")]
    pub resultarray: Vec<BenchmarkInfo>,
}

/// Body of `rtt` (and of every other agent call, which ignore it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BenchmarkReq {
    /// Target of `rtt`: an IP or name, optionally `host:port` to measure TCP connect time.
    pub host: String,
}

/// One target of `mrtt`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct HostSpec {
    pub host: String,
    /// Copied into the result's `specid`.
    pub spec: String,
}

/// Body of `mrtt`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MultiHostReq {
    pub multihost: Vec<HostSpec>,
}

/// Results of `benchmarkAll` folded per spec (Tumblebug's `SpecBenchmarkInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SpecBenchmarkInfo {
    pub specid: String,
    pub cpus: String,
    pub cpum: String,
    #[serde(rename = "memR")]
    pub mem_r: String,
    #[serde(rename = "memW")]
    pub mem_w: String,
    #[serde(rename = "fioR")]
    pub fio_r: String,
    #[serde(rename = "fioW")]
    pub fio_w: String,
    #[serde(rename = "dbR")]
    pub db_r: String,
    #[serde(rename = "dbW")]
    pub db_w: String,
    pub rtt: String,
    #[serde(rename = "evaledTime")]
    pub evaled_time: String,
}

impl SpecBenchmarkInfo {
    /// Stores `result` under the column of `action`; false for an action without a column.
    pub fn set(&mut self, action: &str, result: String) -> bool {
        let slot = match action {
            "cpus" => &mut self.cpus,
            "cpum" => &mut self.cpum,
            "memR" => &mut self.mem_r,
            "memW" => &mut self.mem_w,
            "fioR" => &mut self.fio_r,
            "fioW" => &mut self.fio_w,
            "dbR" => &mut self.db_r,
            "dbW" => &mut self.db_w,
            "rtt" => &mut self.rtt,
            _ => return false,
        };
        *slot = result;
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Utilisation metrics (`GET /milkyway/metrics[/{cpu|mem|disk|net}]`)

/// CPU utilisation over the sample window, all cores together.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CpuUsage {
    /// Busy share in percent, 0–100.
    pub utilization: f64,
    /// Online cores.
    pub cores: u32,
}

/// Memory use from `/proc/meminfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MemUsage {
    /// `(total - available) / total` in percent.
    pub utilization: f64,
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
}

/// Use of the filesystem holding the agent's work directory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DiskUsage {
    /// Used share in percent of the space available to ordinary users (as `df` counts it).
    pub utilization: f64,
    pub path: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
}

/// Network throughput over the sample window, all interfaces except loopback.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NetUsage {
    pub bytes_in_per_sec: f64,
    pub bytes_out_per_sec: f64,
    /// Counters since boot, for callers that keep their own windows.
    pub bytes_in_total: u64,
    pub bytes_out_total: u64,
}

/// The agent's current utilisation; a per-metric endpoint fills only its own section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<MemUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<NetUsage>,
    /// Length of the window the rates (CPU, network) were measured over.
    pub sample_seconds: f64,
}

impl AgentMetrics {
    /// The value an auto-control condition compares for `metric` (`cpu`, `mem`, `disk`:
    /// percent; `net`: bytes out per second, as CB-Dragonfly's `bytes_out`).
    pub fn value(&self, metric: &str) -> Option<f64> {
        match metric {
            "cpu" => self.cpu.as_ref().map(|c| c.utilization),
            "mem" => self.mem.as_ref().map(|m| m.utilization),
            "disk" => self.disk.as_ref().map(|d| d.utilization),
            "net" => self.net.as_ref().map(|n| n.bytes_out_per_sec),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agent_result_has_exactly_milkyways_fields() {
        let info = BenchmarkInfo::new("165.30", "Executions/sec", "d", 10.0000004);
        let value = serde_json::to_value(&info).unwrap();
        assert_eq!(
            value,
            json!({"result": "165.30", "unit": "Executions/sec", "desc": "d", "elapsed": "10.000000", "specid": ""})
        );
    }

    #[test]
    fn tumblebug_result_reads_with_null_array_and_region() {
        let text = r#"{"result":"1","unit":"ms","desc":"","elapsed":"0.1","specid":"s","regionName":"r",
            "resultarray":[{"result":"2","unit":"ms","desc":"","elapsed":"0.2","specid":"t"}]}"#;
        let info: BenchmarkInfo = serde_json::from_str(text).unwrap();
        assert_eq!(info.region_name, "r");
        assert_eq!(info.resultarray[0].specid, "t");
        let value = serde_json::to_value(&info).unwrap();
        assert_eq!(value["regionName"], "r");
        assert_eq!(value["resultarray"][0]["result"], "2");
    }

    #[test]
    fn null_result_arrays_read_as_empty() {
        let info: BenchmarkInfo = serde_json::from_str(r#"{"result":"1","resultarray":null}"#).unwrap();
        assert!(info.resultarray.is_empty());
        let all: BenchmarkInfoArray = serde_json::from_str(r#"{"resultarray":null}"#).unwrap();
        assert!(all.resultarray.is_empty());
    }

    #[test]
    fn spec_benchmark_uses_milkyway_column_names() {
        let mut row = SpecBenchmarkInfo { specid: "aws-t3".into(), ..Default::default() };
        assert!(row.set("memR", "6000.00".into()));
        assert!(row.set("dbW", "120.00".into()));
        assert!(!row.set("install", "x".into()));
        let value = serde_json::to_value(&row).unwrap();
        assert_eq!(value["memR"], "6000.00");
        assert_eq!(value["dbW"], "120.00");
        assert_eq!(value["evaledTime"], "");
    }

    #[test]
    fn multihost_request_shape() {
        let req: MultiHostReq =
            serde_json::from_value(json!({"multihost": [{"host": "10.0.0.1", "spec": "s1"}]})).unwrap();
        assert_eq!(req.multihost, vec![HostSpec { host: "10.0.0.1".into(), spec: "s1".into() }]);
    }

    #[test]
    fn metrics_value_picks_the_policy_metric() {
        let metrics = AgentMetrics {
            cpu: Some(CpuUsage { utilization: 42.0, cores: 2 }),
            net: Some(NetUsage { bytes_out_per_sec: 7.0, ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(metrics.value("cpu"), Some(42.0));
        assert_eq!(metrics.value("net"), Some(7.0));
        assert_eq!(metrics.value("mem"), None);
        assert_eq!(metrics.value("swap"), None);
        let value = serde_json::to_value(&metrics).unwrap();
        assert!(value.get("mem").is_none());
        assert_eq!(value["cpu"]["utilization"], 42.0);
    }
}
