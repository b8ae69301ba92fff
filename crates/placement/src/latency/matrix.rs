//! Measured round-trip times between regions, as loaded from CB-Tumblebug's
//! `cloudlatencymap.csv` or recorded one by one by the benchmark agent.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::LatencyError;

/// Where a measured cell came from. Recorded measurements are newer than any loaded file, so
/// they win: loading a matrix never overwrites a recorded cell, recording always overwrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Read from a latency matrix file.
    Loaded,
    /// Added by [`LatencyMatrix::record`] (e.g. an mrtt run of the benchmark agent).
    Recorded,
}

/// One measured RTT.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// Round-trip time in milliseconds.
    pub ms: f64,
    /// Where it came from.
    pub origin: Origin,
}

/// What a [`LatencyMatrix::load_csv`] call did with the cells it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSummary {
    /// Cells stored (new or replacing an earlier loaded value).
    pub loaded: usize,
    /// Non-blank cells that could not be used: non-numeric, negative, or under an empty column
    /// header. Blank cells are simply absent and not counted.
    pub missing: usize,
    /// Cells skipped because a recorded measurement already holds that pair.
    pub kept_recorded: usize,
}

/// A sparse, directed matrix of measured RTTs keyed by region id `{provider}-{region}`.
///
/// Ids are trimmed and compared in lower case. Both directions of a pair are kept as measured
/// (CB-Tumblebug's matrix is slightly asymmetric); a lookup of a direction that was never
/// measured falls back to the opposite direction.
#[derive(Debug, Clone, Default)]
pub struct LatencyMatrix {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    cells: HashMap<(u32, u32), Measurement>,
}

/// Trims and lower-cases a region id, allocating only when something changes.
pub(crate) fn normalise(id: &str) -> Cow<'_, str> {
    let trimmed = id.trim();
    if trimmed.chars().any(char::is_uppercase) { Cow::Owned(trimmed.to_lowercase()) } else { Cow::Borrowed(trimmed) }
}

/// A cell value if it is a usable RTT.
fn parse_cell(cell: &str) -> Option<f64> {
    let ms: f64 = cell.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then_some(ms)
}

impl LatencyMatrix {
    /// An empty matrix.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses CB-Tumblebug's `cloudlatencymap.csv` format: the first row lists column region
    /// ids after an ignored corner cell, every further row starts with its source region id and
    /// holds RTTs in ms. Blank, non-numeric and negative cells count as missing; rows and
    /// columns with an empty id are ignored (the shipped file pads to 300 columns).
    pub fn from_csv(text: &str) -> Result<Self, LatencyError> {
        let mut matrix = Self::new();
        matrix.load_csv(text)?;
        Ok(matrix)
    }

    /// Merges a matrix in the [`from_csv`](Self::from_csv) format into this one. Loaded cells
    /// replace earlier loaded cells but never a [`record`](Self::record)ed one. On error
    /// nothing is changed.
    pub fn load_csv(&mut self, text: &str) -> Result<LoadSummary, LatencyError> {
        let rows = parse_rows(text)?;
        let mut summary = LoadSummary::default();
        for row in rows {
            let from = self.intern(&row.source);
            for (column, cell) in row.cells {
                let Some(ms) = cell else {
                    summary.missing += 1;
                    continue;
                };
                let to = self.intern(&column);
                match self.cells.get(&(from, to)) {
                    Some(existing) if existing.origin == Origin::Recorded => {
                        summary.kept_recorded += 1;
                    }
                    _ => {
                        let measurement = Measurement { ms, origin: Origin::Loaded };
                        self.cells.insert((from, to), measurement);
                        summary.loaded += 1;
                    }
                }
            }
            summary.missing += row.unusable;
        }
        Ok(summary)
    }

    /// Records a measurement of the RTT from `from` to `to`, replacing whatever was known for
    /// that direction.
    pub fn record(&mut self, from: &str, to: &str, ms: f64) -> Result<(), LatencyError> {
        let (from_id, to_id) = (normalise(from), normalise(to));
        if from_id.is_empty() || to_id.is_empty() {
            return Err(LatencyError::EmptyRegion);
        }
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(LatencyError::InvalidRtt { from: from_id.into_owned(), to: to_id.into_owned(), ms });
        }
        let (from_index, to_index) = (self.intern(&from_id), self.intern(&to_id));
        let measurement = Measurement { ms, origin: Origin::Recorded };
        self.cells.insert((from_index, to_index), measurement);
        Ok(())
    }

    /// The measured RTT from `from` to `to`, or the opposite direction when only that one was
    /// measured.
    pub fn rtt(&self, from: &str, to: &str) -> Option<f64> {
        self.measurement(from, to).map(|m| m.ms)
    }

    /// Like [`rtt`](Self::rtt), with where the value came from.
    pub fn measurement(&self, from: &str, to: &str) -> Option<Measurement> {
        let from = self.index_of(from)?;
        let to = self.index_of(to)?;
        self.measurement_by_index(from, to)
    }

    /// The measurement for exactly this direction, without falling back to the other one.
    pub fn directed(&self, from: &str, to: &str) -> Option<Measurement> {
        let key = (self.index_of(from)?, self.index_of(to)?);
        self.cells.get(&key).copied()
    }

    /// Every region id that appears in the matrix, in lower case, in first-seen order.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }

    /// Whether the region appears in the matrix (possibly without any usable cell).
    pub fn contains_region(&self, region: &str) -> bool {
        self.index_of(region).is_some()
    }

    /// Every measured directed cell as `(from, to, measurement)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Measurement)> {
        self.cells.iter().map(|(&(from, to), &m)| (self.ids[from as usize].as_str(), self.ids[to as usize].as_str(), m))
    }

    /// Number of measured directed cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether nothing was measured.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub(crate) fn index_of(&self, region: &str) -> Option<u32> {
        self.index.get(normalise(region).as_ref()).copied()
    }

    pub(crate) fn measurement_by_index(&self, from: u32, to: u32) -> Option<Measurement> {
        self.cells.get(&(from, to)).or_else(|| self.cells.get(&(to, from))).copied()
    }

    pub(crate) fn directed_by_index(&self, from: u32, to: u32) -> Option<Measurement> {
        self.cells.get(&(from, to)).copied()
    }

    fn intern(&mut self, normalised: &str) -> u32 {
        if let Some(&index) = self.index.get(normalised) {
            return index;
        }
        let index = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.push(normalised.to_owned());
        self.index.insert(normalised.to_owned(), index);
        index
    }
}

/// One source row: its id, the usable cells under non-empty column ids, and how many cells
/// could not be used.
struct Row {
    source: String,
    cells: Vec<(String, Option<f64>)>,
    unusable: usize,
}

/// Reads the whole file before anything is merged, so a malformed file changes nothing.
fn parse_rows(text: &str) -> Result<Vec<Row>, LatencyError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = records.next().ok_or(LatencyError::MissingHeader)??;
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    for (position, id) in header.iter().enumerate() {
        let id = normalise(id.trim_start_matches('\u{feff}')).into_owned();
        if position > 0 && !id.is_empty() && columns.contains(&id) {
            return Err(LatencyError::DuplicateColumn { region: id });
        }
        columns.push(id);
    }
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let record = record?;
        let source = match record.get(0) {
            Some(id) => normalise(id).into_owned(),
            None => continue,
        };
        if source.is_empty() {
            continue;
        }
        if !seen.insert(source.clone()) {
            return Err(LatencyError::DuplicateRow { region: source });
        }
        let mut row = Row { source, cells: Vec::new(), unusable: 0 };
        for (position, cell) in record.iter().enumerate().skip(1) {
            let column = columns.get(position).map(String::as_str).unwrap_or("");
            if cell.trim().is_empty() {
                // Padding, not a failed measurement: the shipped file is mostly blank cells.
                continue;
            }
            if column.is_empty() {
                row.unusable += 1;
                continue;
            }
            row.cells.push((column.to_owned(), parse_cell(cell)));
        }
        rows.push(row);
    }
    Ok(rows)
}
