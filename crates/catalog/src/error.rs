//! Whole-file failures. Problems with single rows are not errors: they are reported in the
//! [`ImportReport`](crate::ImportReport) and the rest of the file is still imported.

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The text is not YAML.
    #[error("the YAML document could not be parsed{}", at_line(*.line))]
    Yaml {
        /// 1-based line of the syntax error, when known.
        line: Option<usize>,
        #[source]
        source: serde_norway::Error,
    },
    /// The YAML document is not `cloud: {<csp>: ...}`.
    #[error("the YAML document has no top-level `cloud` mapping")]
    MissingCloud,
    /// The first CSV record could not be read.
    #[error("the CSV header could not be read")]
    CsvHeader(#[source] csv::Error),
    /// A column the format requires is absent from the CSV header.
    #[error("the CSV header lacks the required column `{0}`")]
    MissingColumn(&'static str),
    /// The data shipped with the crate is inconsistent (caught by the crate's tests).
    #[error("built-in data file {file}, line {line}: {message}")]
    Builtin {
        /// File under `data/`.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}
