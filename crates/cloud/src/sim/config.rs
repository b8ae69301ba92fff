//! The sim's configuration: time factor, seed and fault knobs. Everything has a serde form with
//! defaults (time factor 1.0, every fault off) so it can come from a config file or the admin
//! endpoint.

use serde::{Deserialize, Serialize};

/// How the simulated cloud behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SimConfig {
    /// Multiplies every simulated duration (call latencies, boot, stop, ...). `1.0` is real
    /// time, `0.001` a thousand times faster, `0` instant: every transition has completed by
    /// the next observation.
    pub time_factor: f64,
    /// Drives every random choice (ids, addresses, durations, fault draws).
    pub seed: u64,
    pub faults: FaultConfig,
    /// Fixed durations replacing the per-CSP ranges (benchmarks use them to model a known
    /// latency); each is still multiplied by the time factor.
    pub durations: DurationOverrides,
}

/// Durations that replace the CSP profiles' ranges when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DurationOverrides {
    /// Seconds a create call takes before it answers.
    pub create_call_secs: Option<f64>,
    /// Seconds from the create's answer until the VM runs.
    pub boot_secs: Option<f64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { time_factor: 1.0, seed: 0, faults: FaultConfig::default(), durations: DurationOverrides::default() }
    }
}

impl SimConfig {
    /// Why the configuration cannot be used, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        check_time_factor(self.time_factor)?;
        self.faults.validate()
    }
}

pub(crate) fn check_time_factor(f: f64) -> Result<(), String> {
    if f.is_finite() && f >= 0.0 { Ok(()) } else { Err(format!("time factor must be a finite number >= 0, got {f}")) }
}

/// Which connections a fault applies to: a provider (`aws`), a connection
/// (`aws-ap-northeast-2`), or every connection (empty or `*`, the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scope(pub String);

impl Scope {
    /// Every connection.
    pub fn all() -> Scope {
        Scope(String::new())
    }

    /// One provider (`aws`) or one connection (`aws-us-east-1`).
    pub fn of(provider_or_connection: &str) -> Scope {
        Scope(provider_or_connection.to_string())
    }

    /// Whether a call to `connection` of `provider` is in scope.
    pub fn matches(&self, provider: &str, connection: &str) -> bool {
        let s = self.0.as_str();
        s.is_empty() || s == "*" || s == provider || s == connection
    }
}

/// Fault knobs. All default to off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FaultConfig {
    /// VM creates that match fail with `CloudError::Capacity`.
    pub capacity: Vec<CapacityFault>,
    /// vCPU limits per region: non-terminated VMs' vCPUs plus the request may not exceed them.
    pub vcpu_quota: Vec<VcpuQuota>,
    /// Token buckets per region; a call finding its bucket empty fails with `Throttled`.
    pub throttle: Vec<Throttle>,
    /// Every call fails with `Transient` with this probability.
    pub transient: Vec<TransientErrors>,
    /// VM create calls take this much longer (seconds, scaled by the time factor).
    pub slow_create: Vec<SlowCreate>,
    pub lost_response: LostResponse,
    pub fail_after_boot: FailAfterBoot,
}

impl FaultConfig {
    /// Why the faults cannot be applied, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.throttle {
            if !(t.requests_per_sec.is_finite() && t.requests_per_sec >= 0.0) {
                return Err(format!("throttle requests_per_sec must be >= 0, got {}", t.requests_per_sec));
            }
        }
        for t in &self.transient {
            check_probability("transient probability", t.probability)?;
        }
        for s in &self.slow_create {
            if !(s.extra_secs.is_finite() && s.extra_secs >= 0.0) {
                return Err(format!("slow_create extra_secs must be >= 0, got {}", s.extra_secs));
            }
        }
        check_probability("lost_response probability", self.lost_response.probability)?;
        check_probability("fail_after_boot probability", self.fail_after_boot.probability)?;
        let after = self.fail_after_boot.after_secs;
        if !(after.is_finite() && after >= 0.0) {
            return Err(format!("fail_after_boot after_secs must be >= 0, got {after}"));
        }
        Ok(())
    }
}

fn check_probability(what: &str, p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) { Ok(()) } else { Err(format!("{what} must be within 0..=1, got {p}")) }
}

/// No capacity for the matching VM creates. `zone`/`spec` narrow the match when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CapacityFault {
    pub scope: Scope,
    pub zone: Option<String>,
    pub spec: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VcpuQuota {
    pub scope: Scope,
    /// vCPUs allowed per region.
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Throttle {
    pub scope: Scope,
    /// Sustained rate per region (tokens added per second of sim time; not scaled).
    pub requests_per_sec: f64,
    /// Bucket size: calls allowed at once after a quiet period.
    pub burst: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TransientErrors {
    pub scope: Scope,
    pub probability: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SlowCreate {
    pub scope: Scope,
    pub extra_secs: f64,
}

/// The error a create returns when its response is lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostError {
    #[default]
    Timeout,
    Unreachable,
}

/// A VM create succeeds in the cloud but the caller gets an error: the VM exists and can be
/// found by its token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LostResponse {
    pub scope: Scope,
    pub probability: f64,
    /// The next `next_n` matching creates lose their response, whatever the probability;
    /// counts down as they happen.
    pub next_n: u32,
    pub error: LostError,
}

/// A VM reaches running, stays up `after_secs` (scaled), then goes to its CSP's failure
/// state (see the module documentation for each CSP's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FailAfterBoot {
    pub scope: Scope,
    pub probability: f64,
    /// The next `next_n` matching creates fail after boot; counts down as they happen.
    pub next_n: u32,
    pub after_secs: f64,
}

impl Default for FailAfterBoot {
    fn default() -> Self {
        FailAfterBoot { scope: Scope::all(), probability: 0.0, next_n: 0, after_secs: 30.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_real_time_and_fault_free() {
        let c: SimConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, SimConfig::default());
        assert_eq!(c.time_factor, 1.0);
        assert!(c.faults.capacity.is_empty());
        assert_eq!(c.faults.lost_response.next_n, 0);
        assert_eq!(c.faults.fail_after_boot.after_secs, 30.0);
    }

    #[test]
    fn reads_a_config_file_shape() {
        let c: SimConfig = serde_json::from_str(
            r#"{"timeFactor": 0.01, "seed": 7, "faults": {
                "capacity": [{"scope": "aws", "zone": "us-east-1a"}],
                "vcpuQuota": [{"scope": "gcp-us-east1", "limit": 32}],
                "lostResponse": {"nextN": 2, "error": "unreachable"}}}"#,
        )
        .unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.faults.capacity[0].scope, Scope::of("aws"));
        assert_eq!(c.faults.capacity[0].spec, None);
        assert_eq!(c.faults.vcpu_quota[0].limit, 32);
        assert_eq!(c.faults.lost_response.error, LostError::Unreachable);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn scope_matching() {
        assert!(Scope::all().matches("aws", "aws-us-east-1"));
        assert!(Scope::of("*").matches("gcp", "gcp-us-east1"));
        assert!(Scope::of("aws").matches("aws", "aws-us-east-1"));
        assert!(Scope::of("aws-us-east-1").matches("aws", "aws-us-east-1"));
        assert!(!Scope::of("aws-us-west-2").matches("aws", "aws-us-east-1"));
        assert!(!Scope::of("gcp").matches("aws", "aws-us-east-1"));
    }

    #[test]
    fn rejects_nonsense() {
        let mut c = SimConfig { time_factor: -1.0, ..SimConfig::default() };
        assert!(c.validate().is_err());
        c.time_factor = f64::NAN;
        assert!(c.validate().is_err());
        c.time_factor = 0.0;
        c.faults.transient.push(TransientErrors { scope: Scope::all(), probability: 1.5 });
        assert!(c.validate().unwrap_err().contains("transient"));
    }
}
