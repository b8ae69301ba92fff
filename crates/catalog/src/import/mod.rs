//! Importers of CB-Tumblebug's asset files and of the generic specs CSV.
//!
//! Every importer reads the whole input, applies the rows it can and reports the others with
//! their line numbers; only a file that cannot be read at all (not YAML, a CSV header without
//! a required column) is an error.

pub(crate) mod cloudimage;
pub(crate) mod cloudinfo;
pub(crate) mod cloudspec;
pub(crate) mod currency;
pub(crate) mod specs;

use std::collections::HashMap;

use csv::StringRecord;

use crate::{CatalogError, ImportReport};

/// The columns of a CSV header, matched by name (case-insensitive, trimmed), so that column
/// order does not matter and unknown columns are ignored.
pub(crate) struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(header: &StringRecord) -> Columns {
        let mut map = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            // The first of two equally named columns wins, as a reader scanning left would.
            map.entry(name.trim().to_ascii_lowercase()).or_insert(i);
        }
        Columns(map)
    }

    /// The position of an optional column.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.0.get(&name.to_ascii_lowercase()).copied()
    }

    /// The position of a required column.
    pub(crate) fn require(&self, name: &'static str) -> Result<usize, CatalogError> {
        self.find(name).ok_or(CatalogError::MissingColumn(name))
    }
}

/// One CSV record.
pub(crate) struct Row<'a> {
    record: &'a StringRecord,
}

impl Row<'_> {
    /// The trimmed field, empty when the column or the field is absent.
    pub(crate) fn get(&self, column: Option<usize>) -> &str {
        column.and_then(|c| self.record.get(c)).map_or("", str::trim)
    }

    /// A required field, with a message when it is empty.
    pub(crate) fn required(&self, column: usize, name: &str) -> Result<&str, String> {
        match self.get(Some(column)) {
            "" => Err(format!("{name} is empty")),
            value => Ok(value),
        }
    }

    /// An optional number: `None` when empty, an error message when not a finite number.
    pub(crate) fn number(&self, column: Option<usize>, name: &str) -> Result<Option<f64>, String> {
        match self.get(column) {
            "" => Ok(None),
            text => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(format!("{name} `{text}` is not a number")),
            },
        }
    }

    /// An optional non-negative integer.
    pub(crate) fn count(&self, column: Option<usize>, name: &str) -> Result<Option<u32>, String> {
        match self.get(column) {
            "" => Ok(None),
            text => text.parse::<u32>().map(Some).map_err(|_| format!("{name} `{text}` is not a whole number >= 0")),
        }
    }
}

/// What applying one row did.
#[derive(Default)]
pub(crate) struct Applied {
    pub(crate) added: usize,
    pub(crate) updated: usize,
    pub(crate) warnings: Vec<String>,
}

impl Applied {
    pub(crate) fn count(&mut self, outcome: crate::Upsert) {
        match outcome {
            crate::Upsert::Added => self.added += 1,
            crate::Upsert::Replaced => self.updated += 1,
        }
    }
}

/// Reads a CSV with a header row, resolves the columns with `columns`, and applies every
/// record with `apply`; a record whose `apply` fails is counted as skipped with its message.
pub(crate) fn import_csv<C>(
    text: &str,
    columns: impl FnOnce(&Columns) -> Result<C, CatalogError>,
    mut apply: impl FnMut(&C, &Row<'_>) -> Result<Applied, String>,
) -> Result<ImportReport, CatalogError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = reader.headers().map_err(CatalogError::CsvHeader)?;
    let resolved = columns(&Columns::new(header))?;
    let mut report = ImportReport::default();
    let mut lines = LineCounter::new(text);
    let mut record = StringRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                report.rows += 1;
                report.skip(lines.line_at(start), format!("unreadable CSV record: {e}"));
                continue;
            }
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let line = lines.line_at(record.position().map_or(start, |p| p.byte()));
        match apply(&resolved, &Row { record: &record }) {
            Ok(applied) => {
                report.added += applied.added;
                report.updated += applied.updated;
                for warning in applied.warnings {
                    report.warn(line, warning);
                }
            }
            Err(message) => report.skip(line, message),
        }
    }
    Ok(report)
}

/// 1-based line numbers of byte offsets, computed from the text itself: the csv crate counts
/// lines one short after a CRLF line end (CB-Tumblebug's `cloudspec.csv` uses CRLF).
struct LineCounter<'a> {
    text: &'a [u8],
    /// Offset up to which newlines are counted, and the line it is on.
    byte: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> LineCounter<'a> {
        LineCounter { text: text.as_bytes(), byte: 0, line: 1 }
    }

    /// The line of the first character at or after `byte` that is not a line break (a
    /// record's offset may point at the line break that ended the previous record).
    fn line_at(&mut self, byte: u64) -> usize {
        let len = self.text.len();
        let mut at = usize::try_from(byte).unwrap_or(len).min(len);
        while at < len && matches!(self.text[at], b'\r' | b'\n') {
            at += 1;
        }
        if at < self.byte {
            self.byte = 0;
            self.line = 1;
        }
        self.line += self.text[self.byte..at].iter().filter(|&&b| b == b'\n').count();
        self.byte = at;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::LineCounter;

    #[test]
    fn counts_lines_for_lf_and_crlf() {
        let text = "h\r\na\r\n\r\nb\nc";
        let mut lines = LineCounter::new(text);
        assert_eq!(lines.line_at(0), 1);
        // Offsets pointing at the break before a record count as the record's line.
        assert_eq!(lines.line_at(1), 2);
        assert_eq!(lines.line_at(3), 2);
        assert_eq!(lines.line_at(6), 4);
        assert_eq!(lines.line_at(10), 5);
        assert_eq!(lines.line_at(0), 1);
        assert_eq!(lines.line_at(999), 5);
    }
}
