//! The generic specs CSV (format in the crate documentation): adds or replaces specs.

use super::{Applied, Columns, Row, import_csv};
use crate::types::{ALL_REGIONS, Gpu, Spec, normalize_architecture};
use crate::{Catalog, CatalogError, ImportReport};

struct Cols {
    provider: usize,
    region: usize,
    name: usize,
    vcpu: usize,
    memory: usize,
    cost: Option<usize>,
    architecture: Option<usize>,
    gpu_model: Option<usize>,
    gpu_count: Option<usize>,
    gpu_memory: Option<usize>,
    description: Option<usize>,
}

fn columns(c: &Columns) -> Result<Cols, CatalogError> {
    Ok(Cols {
        provider: c.require("provider")?,
        region: c.require("region")?,
        name: c.require("name")?,
        vcpu: c.require("vcpu")?,
        memory: c.require("memory_gib")?,
        cost: c.find("cost_per_hour"),
        architecture: c.find("architecture"),
        gpu_model: c.find("gpu_model"),
        gpu_count: c.find("gpu_count"),
        gpu_memory: c.find("gpu_memory_gib"),
        description: c.find("description"),
    })
}

pub(crate) fn import(catalog: &mut Catalog, text: &str) -> Result<ImportReport, CatalogError> {
    import_csv(text, columns, |c, row| apply(catalog, c, row))
}

fn apply(catalog: &mut Catalog, c: &Cols, row: &Row<'_>) -> Result<Applied, String> {
    let provider = row.required(c.provider, "provider")?.to_lowercase();
    let region = row.required(c.region, "region")?;
    let name = row.required(c.name, "name")?;
    let vcpu = match row.count(Some(c.vcpu), "vcpu")? {
        Some(n) if n > 0 => n,
        _ => return Err("vcpu must be a whole number >= 1".to_string()),
    };
    let memory_gib = match row.number(Some(c.memory), "memory_gib")? {
        Some(m) if m > 0.0 => m,
        _ => return Err("memory_gib must be a number > 0".to_string()),
    };
    let cost_per_hour = match row.number(c.cost, "cost_per_hour")? {
        Some(v) if v >= 0.0 => v,
        _ => -1.0,
    };
    let architecture = match row.get(c.architecture) {
        "" => "x86_64",
        text => {
            normalize_architecture(text).ok_or_else(|| format!("architecture `{text}` is neither x86_64 nor arm64"))?
        }
    };
    let gpu = gpu(row, c)?;
    let description = row.get(c.description);

    if catalog.provider(&provider).is_none() {
        return Err(format!("provider {provider} is not in the catalog"));
    }
    let regions: Vec<String> = if region.eq_ignore_ascii_case(ALL_REGIONS) {
        catalog.regions_of(&provider).iter().map(|r| r.id.clone()).collect()
    } else {
        let known = catalog
            .region(&provider, region)
            .ok_or_else(|| format!("region {provider}/{region} is not in the catalog"))?;
        vec![known.id.clone()]
    };
    if regions.is_empty() {
        return Err(format!("provider {provider} has no regions"));
    }

    let mut applied = Applied::default();
    for region in regions {
        let previous = catalog.spec(&provider, &region, name);
        // A measured score and a curated description outlive a change of shape or price.
        let evaluation_score01 = previous.map_or(0.0, |s| s.evaluation_score01);
        let description = match (description, previous) {
            ("", Some(p)) => p.description.clone(),
            (d, _) => d.to_string(),
        };
        let spec = Spec {
            provider: provider.clone(),
            region,
            name: name.to_string(),
            vcpu,
            memory_gib,
            gpu: gpu.clone(),
            cost_per_hour,
            architecture: architecture.to_string(),
            evaluation_score01,
            description,
        };
        applied.count(catalog.upsert_spec(spec));
    }
    Ok(applied)
}

fn gpu(row: &Row<'_>, c: &Cols) -> Result<Option<Gpu>, String> {
    let model = row.get(c.gpu_model);
    let count = row.count(c.gpu_count, "gpu_count")?;
    let memory = row.number(c.gpu_memory, "gpu_memory_gib")?;
    if model.is_empty() {
        return match count {
            Some(n) if n > 0 => Err("gpu_count is set but gpu_model is empty".to_string()),
            _ => Ok(None),
        };
    }
    let count = match count {
        None => 1,
        Some(0) => return Err("gpu_model is set but gpu_count is 0".to_string()),
        Some(n) => n,
    };
    let memory_gib = match memory {
        None => 0.0,
        Some(m) if m >= 0.0 => m,
        Some(m) => return Err(format!("gpu_memory_gib {m} is negative")),
    };
    Ok(Some(Gpu { model: model.to_string(), count, memory_gib }))
}
