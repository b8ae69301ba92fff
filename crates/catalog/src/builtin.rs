//! The catalog shipped with the crate: the text files under `data/` (their headers document
//! the format), embedded at compile time and expanded here into one spec per offered region.

use std::collections::HashMap;

use crate::data_file::{Line, lines};
use crate::table::Upsert;
use crate::types::{ALL_REGIONS, Gpu, Image, Provider, Region, Spec, normalize_architecture};
use crate::{Catalog, CatalogError};

const REGIONS: &str = include_str!("../data/regions.txt");
const SPECS: &str = include_str!("../data/specs.txt");
const IMAGES: &str = include_str!("../data/images.txt");

/// A provider's regions in file order, each with its price factor.
type PriceFactors = HashMap<String, Vec<(String, f64)>>;

pub(crate) fn load() -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::empty();
    let factors = load_regions(&mut catalog)?;
    load_specs(&mut catalog, &factors)?;
    load_images(&mut catalog)?;
    Ok(catalog)
}

/// A line of a data file with its number and the `[provider]` section it belongs to.
struct Entry<'a> {
    number: usize,
    provider: &'a str,
    line: Line<'a>,
}

struct DataFile<'a> {
    name: &'static str,
    entries: Vec<Entry<'a>>,
}

impl<'a> DataFile<'a> {
    fn parse(name: &'static str, text: &'a str) -> Result<DataFile<'a>, CatalogError> {
        let mut provider: Option<&str> = None;
        let mut entries = Vec::new();
        for (number, parsed) in lines(text) {
            let line = parsed.map_err(|m| error(name, number, m))?;
            if let Line::Section { id, .. } = line {
                provider = Some(id);
            }
            let provider = provider.ok_or_else(|| error(name, number, "line outside a [provider] section"))?;
            entries.push(Entry { number, provider, line });
        }
        Ok(DataFile { name, entries })
    }

    fn error(&self, number: usize, message: impl Into<String>) -> CatalogError {
        error(self.name, number, message)
    }
}

fn error(file: &'static str, line: usize, message: impl Into<String>) -> CatalogError {
    CatalogError::Builtin { file, line, message: message.into() }
}

fn number<T: std::str::FromStr>(field: &str, what: &str) -> Result<T, String> {
    field.parse().map_err(|_| format!("{what} `{field}` is not a valid number"))
}

fn load_regions(catalog: &mut Catalog) -> Result<PriceFactors, CatalogError> {
    let file = DataFile::parse("regions.txt", REGIONS)?;
    let mut factors = PriceFactors::new();
    for Entry { number, provider, line } in &file.entries {
        let number = *number;
        match line {
            Line::Section { id, title } => {
                if factors.insert(id.to_string(), Vec::new()).is_some() {
                    return Err(file.error(number, format!("provider {id} appears twice")));
                }
                let display = if title.is_empty() { id } else { title };
                catalog.upsert_provider(Provider { name: id.to_string(), display: display.to_string() });
            }
            Line::Set { .. } => return Err(file.error(number, "sets are not used here")),
            Line::Row(fields) => {
                let (region, factor) = region_row(provider, fields).map_err(|m| file.error(number, m))?;
                factors.entry(provider.to_string()).or_default().push((region.id.clone(), factor));
                let what = format!("{provider}/{}", region.id);
                if catalog.upsert_region(region) == Upsert::Replaced {
                    return Err(file.error(number, format!("region {what} appears twice")));
                }
            }
        }
    }
    Ok(factors)
}

fn region_row(provider: &str, fields: &[&str]) -> Result<(Region, f64), String> {
    let [id, display, lat, lon, factor, zones] = fields[..] else {
        return Err(format!("expected 6 fields, found {}", fields.len()));
    };
    let latitude: f64 = number(lat, "latitude")?;
    let longitude: f64 = number(lon, "longitude")?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(format!("coordinates {latitude},{longitude} out of range"));
    }
    let factor: f64 = number(factor, "price factor")?;
    if !(factor.is_finite() && factor > 0.0) {
        return Err(format!("price factor {factor} must be positive"));
    }
    let zones = zones
        .split_whitespace()
        .map(|z| match z.strip_prefix('*') {
            Some(suffix) => format!("{id}{suffix}"),
            None => z.to_string(),
        })
        .collect();
    let region = Region {
        provider: provider.to_string(),
        id: id.to_string(),
        display: display.to_string(),
        latitude,
        longitude,
        zones,
    };
    Ok((region, factor))
}

/// Rounds a derived price to micro-dollars, so that `0.0208 x 1.23` reads `0.025584`.
fn round_price(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

fn parse_gpu(field: &str) -> Result<Option<Gpu>, String> {
    if field.is_empty() {
        return Ok(None);
    }
    let mut parts = field.rsplitn(3, ':');
    let (Some(memory), Some(count), Some(model)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("GPU `{field}` is not model:count:memory"));
    };
    let count: u32 = number(count, "GPU count")?;
    let memory_gib: f64 = number(memory, "GPU memory")?;
    let memory_ok = memory_gib.is_finite() && memory_gib >= 0.0;
    if count == 0 || model.trim().is_empty() || !memory_ok {
        return Err(format!("GPU `{field}` needs a model, a count >= 1 and memory >= 0"));
    }
    Ok(Some(Gpu { model: model.trim().to_string(), count, memory_gib }))
}

/// A spec row before it is expanded to its regions.
struct SpecRow<'a> {
    name: &'a str,
    vcpu: u32,
    memory_gib: f64,
    architecture: &'static str,
    base_price: f64,
    gpu: Option<Gpu>,
    regions: &'a str,
}

fn spec_row<'a>(fields: &[&'a str]) -> Result<SpecRow<'a>, String> {
    if !(5..=7).contains(&fields.len()) {
        return Err(format!("expected 5 to 7 fields, found {}", fields.len()));
    }
    let name = fields[0];
    let vcpu: u32 = number(fields[1], "vCPU")?;
    let memory_gib: f64 = number(fields[2], "memory")?;
    let memory_ok = memory_gib.is_finite() && memory_gib > 0.0;
    if vcpu == 0 || !memory_ok {
        return Err(format!("{name}: vCPU and memory must be positive"));
    }
    let architecture =
        normalize_architecture(fields[3]).ok_or_else(|| format!("architecture `{}` is unknown", fields[3]))?;
    let base_price: f64 = number(fields[4], "price")?;
    if !base_price.is_finite() {
        return Err(format!("price {base_price} is not finite"));
    }
    Ok(SpecRow {
        name,
        vcpu,
        memory_gib,
        architecture,
        base_price,
        gpu: parse_gpu(fields.get(5).copied().unwrap_or(""))?,
        regions: fields.get(6).copied().unwrap_or(""),
    })
}

fn load_specs(catalog: &mut Catalog, factors: &PriceFactors) -> Result<(), CatalogError> {
    let file = DataFile::parse("specs.txt", SPECS)?;
    let mut sets: HashMap<(&str, &str), Vec<(String, f64)>> = HashMap::new();
    for Entry { number, provider, line } in &file.entries {
        let number = *number;
        let all =
            factors.get(*provider).ok_or_else(|| file.error(number, format!("{provider} is not in regions.txt")))?;
        let region_list = |ids: &[&str]| {
            ids.iter()
                .map(|id| {
                    all.iter()
                        .find(|(r, _)| r == id)
                        .cloned()
                        .ok_or_else(|| file.error(number, format!("{provider} has no region {id}")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        match line {
            Line::Section { .. } => {}
            Line::Set { name, members } => {
                sets.insert((provider, name), region_list(members)?);
            }
            Line::Row(fields) => {
                let row = spec_row(fields).map_err(|m| file.error(number, m))?;
                let regions = match row.regions.strip_prefix('@') {
                    _ if row.regions.is_empty() => all.clone(),
                    Some(set) => sets
                        .get(&(*provider, set))
                        .cloned()
                        .ok_or_else(|| file.error(number, format!("unknown region set @{set}")))?,
                    None => region_list(&row.regions.split_whitespace().collect::<Vec<_>>())?,
                };
                for (region, factor) in regions {
                    let cost_per_hour = if row.base_price < 0.0 { -1.0 } else { round_price(row.base_price * factor) };
                    let spec = Spec {
                        provider: provider.to_string(),
                        region,
                        name: row.name.to_string(),
                        vcpu: row.vcpu,
                        memory_gib: row.memory_gib,
                        gpu: row.gpu.clone(),
                        cost_per_hour,
                        architecture: row.architecture.to_string(),
                        evaluation_score01: 0.0,
                        description: String::new(),
                    };
                    if catalog.upsert_spec(spec) == Upsert::Replaced {
                        let what = format!("spec {provider}/{} appears twice", row.name);
                        return Err(file.error(number, what));
                    }
                }
            }
        }
    }
    Ok(())
}

fn load_images(catalog: &mut Catalog) -> Result<(), CatalogError> {
    let file = DataFile::parse("images.txt", IMAGES)?;
    for Entry { number, provider, line } in &file.entries {
        let number = *number;
        match line {
            Line::Section { id, .. } if catalog.provider(id).is_none() => {
                return Err(file.error(number, format!("provider {id} is not in regions.txt")));
            }
            Line::Section { .. } => {}
            Line::Set { .. } => return Err(file.error(number, "sets are not used here")),
            Line::Row(fields) => {
                let image = image_row(catalog, provider, fields).map_err(|m| file.error(number, m))?;
                let what = image.id();
                if catalog.upsert_image(image) == Upsert::Replaced {
                    return Err(file.error(number, format!("image {what} appears twice")));
                }
            }
        }
    }
    Ok(())
}

fn image_row(catalog: &Catalog, provider: &str, fields: &[&str]) -> Result<Image, String> {
    let [region, name, os_type, distribution, arch, gpu, description] = fields[..] else {
        return Err(format!("expected 7 fields, found {}", fields.len()));
    };
    if region != ALL_REGIONS && catalog.region(provider, region).is_none() {
        return Err(format!("{provider} has no region {region}"));
    }
    let os_architecture = normalize_architecture(arch).ok_or_else(|| format!("architecture `{arch}` is unknown"))?;
    let is_gpu_image = match gpu {
        "" => false,
        "gpu" => true,
        other => return Err(format!("gpu field `{other}` is neither empty nor `gpu`")),
    };
    Ok(Image {
        provider: provider.to_string(),
        region: region.to_string(),
        name: name.to_string(),
        os_type: os_type.to_string(),
        os_distribution: distribution.to_string(),
        os_architecture: os_architecture.to_string(),
        is_gpu_image,
        description: description.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_field() {
        assert_eq!(parse_gpu(""), Ok(None));
        assert_eq!(
            parse_gpu("NVIDIA T4:4:16"),
            Ok(Some(Gpu { model: "NVIDIA T4".into(), count: 4, memory_gib: 16.0 }))
        );
        assert!(parse_gpu("NVIDIA T4:x:16").is_err());
        assert!(parse_gpu("T4:16").is_err());
        assert!(parse_gpu("T4:0:16").is_err());
    }

    #[test]
    fn spec_rows_are_checked() {
        assert!(spec_row(&["t3.small", "2", "2", "x86_64", "0.0208"]).is_ok());
        assert!(spec_row(&["t3.small", "0", "2", "x86_64", "0.0208"]).is_err());
        assert!(spec_row(&["t3.small", "2", "2", "sparc", "0.0208"]).is_err());
        assert!(spec_row(&["t3.small", "2", "2", "x86_64"]).is_err());
        assert!(spec_row(&["t3.small", "2", "2", "x86_64", "NaN"]).is_err());
    }

    #[test]
    fn region_zone_shorthand() {
        let (region, factor) =
            region_row("gcp", &["us-central1", "Iowa", "41.26", "-95.86", "1.00", "*-a *-b z"]).unwrap();
        assert_eq!(region.zones, ["us-central1-a", "us-central1-b", "z"]);
        assert_eq!(factor, 1.0);
        assert!(region_row("gcp", &["x", "X", "91", "0", "1", ""]).is_err());
        assert!(region_row("gcp", &["x", "X", "0", "0", "0", ""]).is_err());
    }

    #[test]
    fn derived_prices_are_rounded() {
        assert_eq!(round_price(0.0208 * 1.23), 0.025584);
        assert_eq!(round_price(0.0208), 0.0208);
    }
}
