//! The catalog snapshot arranged for fast filtering and ranking. Built once per catalog
//! version; every query reads it without locks or allocation proportional to the catalog.

use std::borrow::Cow;
use std::collections::HashMap;

use tb_model::resource::SpecInfo;

use super::geo::Coordinate;
use super::metrics::{FILTER_METRICS, Field};

/// Specs with one index per filter metric: numeric metrics sorted by value (a range is a
/// binary search away), string metrics dictionary-encoded with a posting list per distinct
/// lower-cased value. Regions and coordinates are encoded too, so that a location or latency
/// ranking computes one distance per distinct place instead of one per spec.
#[derive(Debug, Default)]
pub struct SpecIndex {
    specs: Vec<SpecInfo>,
    /// Parallel to [`FILTER_METRICS`].
    columns: Vec<Column>,
    /// Distinct coordinates; `None` for specs whose region has none (0/0 or out of range).
    places: Vec<Option<Coordinate>>,
    place_of: Vec<u32>,
    /// Distinct `{provider}-{region}` ids, lower-cased: the ids of the latency matrix.
    regions: Vec<String>,
    region_of: Vec<u32>,
    /// The tie-breaking cost of each spec: its price, or infinity when unknown.
    cost_key: Vec<f64>,
    /// A hash of each spec id, the per-spec input of the seeded random order.
    id_hash: Vec<u64>,
}

#[derive(Debug)]
pub(crate) enum Column {
    Number(NumberColumn),
    Text(TextColumn),
}

/// A numeric metric: its value per spec, and the specs sorted by value (NaN left out).
#[derive(Debug)]
pub(crate) struct NumberColumn {
    pub values: Vec<f64>,
    pub sorted_values: Vec<f64>,
    pub sorted_rows: Vec<u32>,
}

impl NumberColumn {
    fn build(values: Vec<f64>) -> NumberColumn {
        let mut order: Vec<u32> = (0..values.len()).filter(|&row| !values[row].is_nan()).map(row_id).collect();
        order.sort_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
        let sorted_values = order.iter().map(|&row| values[row as usize]).collect();
        NumberColumn { values, sorted_values, sorted_rows: order }
    }
}

/// A string metric: the code of each spec's lower-cased value, the distinct values, and the
/// specs holding each value.
#[derive(Debug)]
pub(crate) struct TextColumn {
    pub codes: Vec<u32>,
    pub dict: Vec<String>,
    pub by_value: HashMap<String, u32>,
    pub postings: Vec<Vec<u32>>,
}

impl TextColumn {
    fn build<'a>(values: impl Iterator<Item = &'a str>) -> TextColumn {
        let mut column =
            TextColumn { codes: Vec::new(), dict: Vec::new(), by_value: HashMap::new(), postings: Vec::new() };
        for (row, value) in values.enumerate() {
            // Catalog values are mostly lower case already: allocate only when they are not.
            let lower = if value.chars().any(char::is_uppercase) {
                Cow::Owned(value.to_lowercase())
            } else {
                Cow::Borrowed(value)
            };
            let code = match column.by_value.get(lower.as_ref()) {
                Some(&code) => code,
                None => {
                    let code = row_id(column.dict.len());
                    column.dict.push(lower.clone().into_owned());
                    column.by_value.insert(lower.into_owned(), code);
                    column.postings.push(Vec::new());
                    code
                }
            };
            column.codes.push(code);
            column.postings[code as usize].push(row_id(row));
        }
        column
    }
}

/// Row ids are `u32` to halve the memory of the posting lists; [`SpecIndex::new`] keeps the
/// catalog within that range, so the conversion cannot fail for rows of an index.
fn row_id(row: usize) -> u32 {
    u32::try_from(row).unwrap_or(u32::MAX)
}

impl SpecIndex {
    /// Indexes a catalog snapshot. At most `u32::MAX` specs are kept (far beyond any catalog).
    pub fn new(mut specs: Vec<SpecInfo>) -> SpecIndex {
        specs.truncate(u32::MAX as usize);
        let columns = FILTER_METRICS
            .iter()
            .map(|metric| match metric.field {
                Field::Number { get, .. } => Column::Number(NumberColumn::build(specs.iter().map(get).collect())),
                Field::Text { get, .. } => Column::Text(TextColumn::build(specs.iter().map(get))),
            })
            .collect();
        let mut places_by_bits: HashMap<Option<(u64, u64)>, u32> = HashMap::new();
        let mut places = Vec::new();
        let mut place_of = Vec::with_capacity(specs.len());
        for spec in &specs {
            let at = place(spec);
            let bits = at.map(|c| (c.latitude.to_bits(), c.longitude.to_bits()));
            let code = *places_by_bits.entry(bits).or_insert_with(|| {
                places.push(at);
                row_id(places.len() - 1)
            });
            place_of.push(code);
        }
        let mut regions_by_id: HashMap<String, u32> = HashMap::new();
        let mut regions = Vec::new();
        let mut region_of = Vec::with_capacity(specs.len());
        for spec in &specs {
            let id = region_id(spec);
            let code = *regions_by_id.entry(id.clone()).or_insert_with(|| {
                regions.push(id);
                row_id(regions.len() - 1)
            });
            region_of.push(code);
        }
        let cost_key = specs.iter().map(|s| cost_key(s.cost_per_hour)).collect();
        let id_hash = specs.iter().map(|s| fnv1a(s.id.as_bytes())).collect();
        SpecIndex { specs, columns, places, place_of, regions, region_of, cost_key, id_hash }
    }

    /// The indexed specs, in the order given to [`SpecIndex::new`].
    pub fn specs(&self) -> &[SpecInfo] {
        &self.specs
    }

    /// Number of specs.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether the index holds no spec.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The distinct lower-cased values of a string filter metric, sorted; `None` for numeric
    /// or unknown metrics.
    pub fn distinct_values(&self, metric: &str) -> Option<Vec<String>> {
        let (i, _) = super::metrics::filter_metric(metric)?;
        match self.columns.get(i)? {
            Column::Text(t) => {
                let mut values = t.dict.clone();
                values.sort();
                Some(values)
            }
            Column::Number(_) => None,
        }
    }

    pub(crate) fn column(&self, metric: usize) -> Option<&Column> {
        self.columns.get(metric)
    }

    pub(crate) fn spec(&self, row: u32) -> &SpecInfo {
        &self.specs[row as usize]
    }

    pub(crate) fn places(&self) -> &[Option<Coordinate>] {
        &self.places
    }

    pub(crate) fn place_of(&self, row: u32) -> usize {
        self.place_of[row as usize] as usize
    }

    pub(crate) fn regions(&self) -> &[String] {
        &self.regions
    }

    pub(crate) fn region_of(&self, row: u32) -> usize {
        self.region_of[row as usize] as usize
    }

    pub(crate) fn cost_key(&self, row: u32) -> f64 {
        self.cost_key[row as usize]
    }

    pub(crate) fn id_hash(&self, row: u32) -> u64 {
        self.id_hash[row as usize]
    }
}

/// A spec's region coordinates; 0/0 is how a spec without them reads (Go zero values).
fn place(spec: &SpecInfo) -> Option<Coordinate> {
    if spec.region_latitude == 0.0 && spec.region_longitude == 0.0 {
        return None;
    }
    Coordinate::new(spec.region_latitude, spec.region_longitude)
}

/// `{provider}-{region}`, lower-cased: how the latency matrix names a spec's region.
pub(crate) fn region_id(spec: &SpecInfo) -> String {
    format!("{}-{}", spec.provider_name, spec.region_name).to_lowercase()
}

/// Ordering key of a price: cheaper first, unknown (negative) after every known price.
pub(crate) fn cost_key(cost: f64) -> f64 {
    if cost >= 0.0 { cost } else { f64::INFINITY }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
