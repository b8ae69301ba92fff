//! The catalog of clouds Tumblebug knows: providers, their regions (with coordinates and
//! zones), VM specs (shape and list price) and images. The built-in catalog is written by the
//! project as facts in `data/`; CB-Tumblebug's asset files and generic spec CSVs can be imported
//! on top of it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    /// Lower-case id used in connection names: `aws`, `azure`, `gcp`, ...
    pub name: String,
    pub display: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub provider: String,
    /// The CSP's own region id, e.g. `ap-northeast-2`.
    pub id: String,
    /// Human-readable location, e.g. `Korea (Seoul)`.
    pub display: String,
    pub latitude: f64,
    pub longitude: f64,
    pub zones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpu {
    pub model: String,
    pub count: u32,
    /// Memory per accelerator, GiB.
    pub memory_gib: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub provider: String,
    pub region: String,
    /// The CSP's instance type name, e.g. `t3.small`.
    pub name: String,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub gpu: Option<Gpu>,
    /// On-demand list price in USD per hour; negative when unknown.
    pub cost_per_hour: f64,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Performance score (`evaluationScore01`), 0 when not measured.
    pub evaluation_score01: f64,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub provider: String,
    /// Region the image lives in, or `all` for images available in every region.
    pub region: String,
    /// The CSP's image name or id, e.g. an AMI id or `ubuntu-2204-lts`.
    pub name: String,
    /// e.g. `Ubuntu 22.04`.
    pub os_type: String,
    pub os_distribution: String,
    pub os_architecture: String,
    pub is_gpu_image: bool,
    pub description: String,
}

/// The whole catalog, with lookups by provider and region.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    providers: Vec<Provider>,
    regions: Vec<Region>,
    specs: Vec<Spec>,
    images: Vec<Image>,
}

impl Catalog {
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// The catalog that ships with Tumblebug.
    pub fn builtin() -> Catalog {
        Catalog::default()
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    pub fn region(&self, provider: &str, region: &str) -> Option<&Region> {
        self.regions
            .iter()
            .find(|r| r.provider == provider && r.id == region)
    }

    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    pub fn specs_in(&self, provider: &str, region: &str) -> Vec<&Spec> {
        self.specs
            .iter()
            .filter(|s| s.provider == provider && s.region == region)
            .collect()
    }

    pub fn spec(&self, provider: &str, region: &str, name: &str) -> Option<&Spec> {
        self.specs
            .iter()
            .find(|s| s.provider == provider && s.region == region && s.name == name)
    }

    pub fn images(&self) -> &[Image] {
        &self.images
    }

    /// Images usable in a region: the region's own and those marked `all`.
    pub fn images_in(&self, provider: &str, region: &str) -> Vec<&Image> {
        self.images
            .iter()
            .filter(|i| i.provider == provider && (i.region == region || i.region == "all"))
            .collect()
    }

    pub fn image(&self, provider: &str, region: &str, name: &str) -> Option<&Image> {
        self.images_in(provider, region)
            .into_iter()
            .find(|i| i.name == name)
    }
}
