//! CB-Tumblebug's `cloudspec.csv`: per-spec overrides of price, performance score,
//! accelerators and description. The file cannot create specs (it has no vCPU or memory), so
//! rows for specs the catalog lacks are skipped.

use super::currency::to_usd;
use super::{Applied, Columns, Row, import_csv};
use crate::types::{ALL_REGIONS, Gpu};
use crate::{Catalog, CatalogError, ImportReport};

struct Cols {
    provider: usize,
    region: usize,
    name: usize,
    cost: Option<usize>,
    currency: Option<usize>,
    score: Option<usize>,
    model: Option<usize>,
    count: Option<usize>,
    memory: Option<usize>,
    description: Option<usize>,
}

fn columns(c: &Columns) -> Result<Cols, CatalogError> {
    Ok(Cols {
        provider: c.require("providerName")?,
        region: c.require("regionName")?,
        name: c.require("cspSpecName")?,
        cost: c.find("costPerHour"),
        currency: c.find("currency"),
        score: c.find("evaluationScore01"),
        model: c.find("acceleratorModel"),
        count: c.find("acceleratorCount"),
        memory: c.find("acceleratorMemoryGB"),
        description: c.find("description"),
    })
}

/// The overrides of one row, parsed before anything is changed so that a bad field skips the
/// whole row.
struct Overrides<'a> {
    cost_usd: Option<f64>,
    score: Option<f64>,
    model: &'a str,
    count: Option<u32>,
    total_memory_gib: Option<f64>,
    description: &'a str,
}

pub(crate) fn import(catalog: &mut Catalog, text: &str) -> Result<ImportReport, CatalogError> {
    import_csv(text, columns, |c, row| apply(catalog, c, row))
}

fn apply(catalog: &mut Catalog, c: &Cols, row: &Row<'_>) -> Result<Applied, String> {
    let provider = row.required(c.provider, "providerName")?.to_lowercase();
    let region = row.required(c.region, "regionName")?;
    let name = row.required(c.name, "cspSpecName")?;
    let mut applied = Applied::default();

    let cost = row.number(c.cost, "costPerHour")?;
    let currency = row.get(c.currency);
    let cost_usd = match cost {
        // Negative means unknown in the file: it must not erase a known price.
        Some(v) if v >= 0.0 => match to_usd(v, currency) {
            Some(usd) => Some(usd),
            None => {
                applied
                    .warnings
                    .push(format!("costPerHour {v} is in unsupported currency {currency}; price left unchanged"));
                None
            }
        },
        _ => None,
    };
    let overrides = Overrides {
        cost_usd,
        // -1 (or 0) means not measured.
        score: row.number(c.score, "evaluationScore01")?.filter(|s| *s > 0.0),
        model: row.get(c.model),
        count: row.count(c.count, "acceleratorCount")?,
        total_memory_gib: row.number(c.memory, "acceleratorMemoryGB")?,
        description: row.get(c.description),
    };

    // `all` applies the row to the spec in every region of the provider that offers it.
    let regions: Vec<String> = if region.eq_ignore_ascii_case(ALL_REGIONS) {
        catalog.regions_of(&provider).iter().map(|r| r.id.clone()).collect()
    } else {
        vec![region.to_string()]
    };
    for region in &regions {
        if let Some(spec) = catalog.spec_mut(&provider, region, name) {
            if let Some(usd) = overrides.cost_usd {
                spec.cost_per_hour = usd;
            }
            if let Some(score) = overrides.score {
                spec.evaluation_score01 = score;
            }
            if !overrides.model.is_empty() {
                spec.gpu = Some(gpu(spec.gpu.as_ref(), &overrides));
            }
            if !overrides.description.is_empty() {
                spec.description = overrides.description.to_string();
            }
            applied.updated += 1;
        }
    }
    if applied.updated == 0 {
        return Err(format!("spec {provider}/{region}/{name} is not in the catalog, so its size is unknown"));
    }
    Ok(applied)
}

/// The accelerators after the override. `acceleratorMemoryGB` is the total over all
/// accelerators (the real file lists 8 x A100 with 320), the catalog keeps it per accelerator.
fn gpu(current: Option<&Gpu>, o: &Overrides<'_>) -> Gpu {
    let count = o.count.filter(|n| *n > 0).or(current.map(|g| g.count)).filter(|n| *n > 0).unwrap_or(1);
    let memory_gib = match o.total_memory_gib {
        Some(total) => total / f64::from(count),
        None => current.map_or(0.0, |g| g.memory_gib),
    };
    Gpu { model: o.model.to_string(), count, memory_gib }
}
