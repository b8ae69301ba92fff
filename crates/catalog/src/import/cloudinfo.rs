//! CB-Tumblebug's `cloudinfo.yaml`:
//! `cloud: {<csp>: {description, driver, link, region: {<id>: {description,
//! location: {display, latitude, longitude}, zone: [..]}}}}`.
//!
//! Lenient: unknown keys are ignored, `zone` may be absent, null or empty, zones and
//! coordinates may be numbers or strings, `display` falls back to `description` and then to
//! the id. A region without usable coordinates is skipped.

use serde_norway::{Mapping, Value};

use crate::types::Provider;
use crate::{Catalog, CatalogError, ImportReport, Region};

pub(crate) fn import(catalog: &mut Catalog, text: &str) -> Result<ImportReport, CatalogError> {
    let doc: Value = serde_norway::from_str(text)
        .map_err(|source| CatalogError::Yaml { line: source.location().map(|l| l.line()), source })?;
    let cloud = doc.get("cloud").and_then(Value::as_mapping).ok_or(CatalogError::MissingCloud)?;
    let keys = KeyLines::new(text);
    let mut report = ImportReport::default();
    for (csp_key, csp) in cloud {
        let Some(csp_id) = scalar(csp_key) else {
            report.skip(keys.locate(&["cloud"]), "a provider key is not a string".to_string());
            continue;
        };
        let csp_line = keys.locate(&["cloud", &csp_id]);
        let Some(csp) = csp.as_mapping() else {
            report.skip(csp_line, format!("provider {csp_id} is not a mapping"));
            continue;
        };
        let provider = csp_id.to_lowercase();
        if catalog.provider(&provider).is_none() {
            let display = text_of(csp, "description").unwrap_or_else(|| csp_id.clone());
            catalog.upsert_provider(Provider { name: provider.clone(), display });
        }
        let Some(regions) = csp.get("region").and_then(Value::as_mapping) else {
            continue;
        };
        for (region_key, entry) in regions {
            report.rows += 1;
            let id = scalar(region_key).unwrap_or_default();
            let line = keys.locate(&["cloud", &csp_id, "region", &id]);
            match region(&provider, &id, entry) {
                Ok(region) => report.count(catalog.upsert_region(region)),
                Err(message) => report.skip(line, format!("{provider}/{id}: {message}")),
            }
        }
    }
    Ok(report)
}

fn region(provider: &str, id: &str, entry: &Value) -> Result<Region, String> {
    if id.is_empty() {
        return Err("the region key is not a string".to_string());
    }
    let entry = entry.as_mapping().ok_or("the region is not a mapping")?;
    let location = entry.get("location").and_then(Value::as_mapping).ok_or("no location mapping")?;
    let latitude = coordinate(location, "latitude", 90.0)?;
    let longitude = coordinate(location, "longitude", 180.0)?;
    let display =
        text_of(location, "display").or_else(|| text_of(entry, "description")).unwrap_or_else(|| id.to_string());
    let zones = match entry.get("zone") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    };
    Ok(Region { provider: provider.to_string(), id: id.to_string(), display, latitude, longitude, zones })
}

fn coordinate(location: &Mapping, key: &str, limit: f64) -> Result<f64, String> {
    let value = location.get(key).ok_or_else(|| format!("no {key}"))?;
    let number = value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("{key} is not a number"))?;
    if !number.is_finite() || number.abs() > limit {
        return Err(format!("{key} {number} is out of range"));
    }
    Ok(number)
}

/// A string, number or boolean as text; `None` for null, sequences and mappings.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_of(map: &Mapping, key: &str) -> Option<String> {
    map.get(key).and_then(scalar)
}

/// Line numbers of the `key:` lines of a block-style YAML document, so that problems found
/// after parsing (which loses positions) can still be reported by line.
struct KeyLines {
    /// (1-based line, indentation, key)
    keys: Vec<(usize, usize, String)>,
}

impl KeyLines {
    fn new(text: &str) -> KeyLines {
        let keys = text
            .lines()
            .enumerate()
            .filter_map(|(i, line)| {
                let content = line.trim_start();
                if content.starts_with('#') || content.starts_with('-') {
                    return None;
                }
                let (key, _) = content.split_once(':')?;
                let key = key.trim().trim_matches(|c| c == '\'' || c == '"');
                Some((i + 1, line.len() - content.len(), key.to_string()))
            })
            .collect();
        KeyLines { keys }
    }

    /// The line of the nested key `path`, or of its deepest prefix found, or 1.
    fn locate(&self, path: &[&str]) -> usize {
        let mut found = 1;
        let mut start = 0;
        let mut parent_indent: Option<usize> = None;
        for part in path {
            let hit = self.keys[start..]
                .iter()
                .take_while(|(_, indent, _)| parent_indent.is_none_or(|p| *indent > p))
                .position(|(_, _, key)| key == part);
            let Some(offset) = hit else { break };
            let (line, indent, _) = &self.keys[start + offset];
            found = *line;
            parent_indent = Some(*indent);
            start += offset + 1;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::KeyLines;

    #[test]
    fn locates_nested_keys() {
        let text = "cloud:\n  a:\n    region:\n      r1:\n        x: 1\n  b:\n    region:\n      # r1:\n      r1:\n";
        let keys = KeyLines::new(text);
        assert_eq!(keys.locate(&["cloud", "a", "region", "r1"]), 4);
        assert_eq!(keys.locate(&["cloud", "b", "region", "r1"]), 9);
        // Missing deeper keys fall back to the deepest one found.
        assert_eq!(keys.locate(&["cloud", "b", "region", "zz"]), 7);
        assert_eq!(keys.locate(&["nothing"]), 1);
    }
}
