//! CB-Tumblebug's `cloudimage.csv`: VM images, region `all` allowed. Rows for Kubernetes node
//! images (`infraType` without `vm`) are skipped: the catalog's images are VM images.

use super::{Applied, Columns, Row, import_csv};
use crate::types::{ALL_REGIONS, Image, normalize_architecture};
use crate::{Catalog, CatalogError, ImportReport};

struct Cols {
    provider: usize,
    region: usize,
    name: usize,
    os_type: Option<usize>,
    description: Option<usize>,
    infra_type: Option<usize>,
    architecture: Option<usize>,
    distribution: Option<usize>,
}

fn columns(c: &Columns) -> Result<Cols, CatalogError> {
    Ok(Cols {
        provider: c.require("providerName")?,
        region: c.require("regionName")?,
        name: c.require("cspImageName")?,
        os_type: c.find("osType"),
        description: c.find("description"),
        infra_type: c.find("infraType"),
        architecture: c.find("osArchitecture"),
        distribution: c.find("osDistribution"),
    })
}

pub(crate) fn import(catalog: &mut Catalog, text: &str) -> Result<ImportReport, CatalogError> {
    import_csv(text, columns, |c, row| apply(catalog, c, row))
}

fn apply(catalog: &mut Catalog, c: &Cols, row: &Row<'_>) -> Result<Applied, String> {
    let provider = row.required(c.provider, "providerName")?.to_lowercase();
    let region = row.required(c.region, "regionName")?;
    let name = row.required(c.name, "cspImageName")?;
    let infra_type = row.get(c.infra_type);
    let for_vms = infra_type.is_empty() || infra_type.split(['|', ',']).any(|t| t.trim().eq_ignore_ascii_case("vm"));
    if !for_vms {
        return Err(format!("infraType `{infra_type}`: a Kubernetes node image, not a VM image"));
    }
    if catalog.provider(&provider).is_none() {
        return Err(format!("provider {provider} is not in the catalog"));
    }
    let region = if region.eq_ignore_ascii_case(ALL_REGIONS) {
        ALL_REGIONS.to_string()
    } else {
        catalog
            .region(&provider, region)
            .map(|r| r.id.clone())
            .ok_or_else(|| format!("region {provider}/{region} is not in the catalog"))?
    };
    let os_type = row.get(c.os_type);
    let description = row.get(c.description);
    let os_architecture = match row.get(c.architecture) {
        "" => guess_architecture(&[os_type, name, description]),
        text => normalize_architecture(text)
            .ok_or_else(|| format!("osArchitecture `{text}` is neither x86_64 nor arm64"))?,
    };
    let os_distribution = match row.get(c.distribution) {
        "" => os_type,
        d => d,
    };
    let image = Image {
        provider,
        region,
        name: name.to_string(),
        os_type: os_type.to_string(),
        os_distribution: os_distribution.to_string(),
        os_architecture: os_architecture.to_string(),
        is_gpu_image: mentions(&[os_type, name, description], &["gpu", "nvidia", "cuda"]),
        description: description.to_string(),
    };
    let mut applied = Applied::default();
    applied.count(catalog.upsert_image(image));
    Ok(applied)
}

/// The file leaves `osArchitecture` empty for most rows but says `(ARM64)` in `osType` or
/// `arm64` in the image name.
fn guess_architecture(texts: &[&str]) -> &'static str {
    if mentions(texts, &["arm64", "aarch64"]) { "arm64" } else { "x86_64" }
}

fn mentions(texts: &[&str], words: &[&str]) -> bool {
    texts.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        words.iter().any(|w| t.contains(w))
    })
}
