//! The records the catalog holds. Plain data: every field is public so that callers (and
//! tests) can build them with struct literals.

use serde::{Deserialize, Serialize};

use crate::key::key;

/// A cloud service provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    /// Lower-case id used in connection names: `aws`, `azure`, `gcp`, ...
    pub name: String,
    /// Human-readable name, e.g. `Amazon Web Services`.
    pub display: String,
}

/// A region of a provider, with its location and availability zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Lower-case provider id.
    pub provider: String,
    /// The CSP's own region id, e.g. `ap-northeast-2`.
    pub id: String,
    /// Human-readable location, e.g. `Korea (Seoul)`.
    pub display: String,
    /// Degrees north, -90..=90.
    pub latitude: f64,
    /// Degrees east, -180..=180.
    pub longitude: f64,
    /// Availability zones; empty for regions without zones.
    pub zones: Vec<String>,
}

/// The accelerators of a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpu {
    /// e.g. `NVIDIA T4`.
    pub model: String,
    /// Number of accelerators in the spec.
    pub count: u32,
    /// Memory per accelerator, GiB.
    pub memory_gib: f64,
}

/// A VM spec (instance type) offered in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Lower-case provider id.
    pub provider: String,
    /// Region id as the CSP writes it.
    pub region: String,
    /// The CSP's instance type name, e.g. `t3.small`.
    pub name: String,
    /// Number of virtual CPUs.
    pub vcpu: u32,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// Accelerators, if any.
    pub gpu: Option<Gpu>,
    /// On-demand list price in USD per hour; negative when unknown.
    pub cost_per_hour: f64,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Performance score (`evaluationScore01`), 0 when not measured.
    pub evaluation_score01: f64,
    /// Free text, e.g. from an imported `cloudspec.csv`.
    pub description: String,
}

impl Spec {
    /// Tumblebug's catalog id of the spec: `{provider}+{region}+{name}` lower-cased, e.g.
    /// `aws+ap-northeast-2+t3.nano`.
    pub fn id(&self) -> String {
        key(&[&self.provider, &self.region, &self.name])
    }
}

/// An OS image, usable in one region or (region `all`) in every region of its provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Lower-case provider id.
    pub provider: String,
    /// Region the image lives in, or `all` for images available in every region.
    pub region: String,
    /// The CSP's image name or id, e.g. an AMI id or `ubuntu-2204-lts`.
    pub name: String,
    /// e.g. `Ubuntu 22.04`.
    pub os_type: String,
    /// e.g. `Ubuntu 22.04 LTS (Jammy Jellyfish)`.
    pub os_distribution: String,
    /// `x86_64` or `arm64`.
    pub os_architecture: String,
    /// Whether GPU drivers come preinstalled.
    pub is_gpu_image: bool,
    /// Free text.
    pub description: String,
}

impl Image {
    /// Tumblebug's catalog id of the image: `{provider}+{region}+{name}` lower-cased.
    pub fn id(&self) -> String {
        key(&[&self.provider, &self.region, &self.name])
    }
}

/// The region name that marks an image as available in every region of its provider.
pub const ALL_REGIONS: &str = "all";

/// Maps the spellings found in CSP data to the catalog's two architectures, `x86_64` and
/// `arm64`; `None` for anything else.
pub fn normalize_architecture(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" | "amd64" | "x64" => Some("x86_64"),
        "arm64" | "aarch64" | "arm" => Some("arm64"),
        _ => None,
    }
}
