//! What an import did.

use std::fmt;

use serde::Serialize;

/// The outcome of one import.
///
/// `added` and `updated` count catalog entries (a row with region `all` may update one entry
/// per region); `rows` and `skipped` count data rows of the input. Every skipped row has an
/// issue with its line number; some applied rows also carry a warning issue (for instance a
/// price in an unknown currency that was left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Data rows (CSV records, or region entries of a YAML file) read.
    pub rows: usize,
    /// Entries added to the catalog.
    pub added: usize,
    /// Entries that existed and were replaced or updated.
    pub updated: usize,
    /// Rows that changed nothing because of an issue.
    pub skipped: usize,
    /// Line-numbered problems, in input order.
    pub issues: Vec<RowIssue>,
}

/// A problem with one row of an imported file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowIssue {
    /// 1-based line of the input where the row starts (the CSV header is line 1).
    pub line: usize,
    /// Whether the whole row was skipped (otherwise it is a warning on an applied row).
    pub skipped: bool,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.skipped { "skipped" } else { "warning" };
        write!(f, "line {}: {what}: {}", self.line, self.message)
    }
}

impl ImportReport {
    pub(crate) fn skip(&mut self, line: usize, message: String) {
        self.skipped += 1;
        self.issues.push(RowIssue { line, skipped: true, message });
    }

    pub(crate) fn warn(&mut self, line: usize, message: String) {
        self.issues.push(RowIssue { line, skipped: false, message });
    }

    pub(crate) fn count(&mut self, outcome: crate::Upsert) {
        match outcome {
            crate::Upsert::Added => self.added += 1,
            crate::Upsert::Replaced => self.updated += 1,
        }
    }
}
