//! Extending the catalog at run time with files in CB-Tumblebug's asset formats or the generic
//! specs CSV. Every accepted import is persisted (raw text) and replayed on start, so the
//! catalog survives restarts without a separate database.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tb_catalog::Catalog;

use crate::keys::CATALOG_IMPORT_PREFIX;
use crate::{CoreError, CoreResult, Tumblebug, new_uid, repo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// `cloudinfo.yaml`: providers and regions.
    CloudInfo,
    /// `cloudspec.csv`: price and score overrides of existing specs.
    CloudSpec,
    /// `cloudimage.csv`: images.
    CloudImage,
    /// Generic specs CSV (see `tb_catalog`).
    Specs,
    /// `cloudlatencymap.csv`: measured RTTs between regions.
    LatencyMap,
}

impl ImportFormat {
    pub fn parse(s: &str) -> Option<ImportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "cloudinfo" | "cloudinfo.yaml" => Some(ImportFormat::CloudInfo),
            "cloudspec" | "cloudspec.csv" => Some(ImportFormat::CloudSpec),
            "cloudimage" | "cloudimage.csv" => Some(ImportFormat::CloudImage),
            "specs" | "specs.csv" => Some(ImportFormat::Specs),
            "cloudlatencymap" | "cloudlatencymap.csv" | "latency" => Some(ImportFormat::LatencyMap),
            _ => None,
        }
    }

    /// The format of a file in an assets directory, by its name.
    fn of_file(name: &str) -> Option<ImportFormat> {
        match name {
            "cloudinfo.yaml" => Some(ImportFormat::CloudInfo),
            "cloudspec.csv" => Some(ImportFormat::CloudSpec),
            "cloudimage.csv" => Some(ImportFormat::CloudImage),
            "cloudlatencymap.csv" => Some(ImportFormat::LatencyMap),
            n if n.ends_with(".specs.csv") => Some(ImportFormat::Specs),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredImport {
    format: ImportFormat,
    text: String,
}

/// Applies one file to a catalog; returns a one-line summary.
fn apply(catalog: &mut Catalog, format: ImportFormat, text: &str) -> Result<String, String> {
    let report = match format {
        ImportFormat::CloudInfo => catalog.import_cloudinfo_yaml(text),
        ImportFormat::CloudSpec => catalog.import_cloudspec_csv(text),
        ImportFormat::CloudImage => catalog.import_cloudimage_csv(text),
        ImportFormat::Specs => catalog.import_specs_csv(text),
        // Applied to the latency model, not the catalog.
        ImportFormat::LatencyMap => return Ok(String::new()),
    };
    report.map(|r| summarize(&r)).map_err(|e| e.to_string())
}

/// `rows: added, updated, skipped` plus the first issues, for the caller to read.
fn summarize(r: &tb_catalog::ImportReport) -> String {
    let mut out = format!("{} rows: {} added, {} updated, {} skipped", r.rows, r.added, r.updated, r.skipped);
    const SHOWN: usize = 3;
    if !r.issues.is_empty() {
        let first: Vec<String> = r.issues.iter().take(SHOWN).map(|i| i.to_string()).collect();
        out.push_str(&format!(" ({}", first.join("; ")));
        if r.issues.len() > SHOWN {
            out.push_str(&format!("; and {} more", r.issues.len() - SHOWN));
        }
        out.push(')');
    }
    out
}

impl Tumblebug {
    /// Imports a file into the catalog, persists it, and adds connections for new regions.
    pub async fn import_catalog(&self, format: ImportFormat, text: &str) -> CoreResult<String> {
        if format == ImportFormat::LatencyMap {
            let parsed =
                tb_placement::latency::LatencyMatrix::from_csv(text).map_err(|e| CoreError::invalid(e.to_string()))?;
            if parsed.is_empty() {
                return Err(CoreError::invalid("the latency map holds no RTT value (expected a square CSV of ms)"));
            }
            let key = format!("{CATALOG_IMPORT_PREFIX}{}", new_uid());
            let stored = StoredImport { format, text: text.to_string() };
            repo::create(self.store.as_ref(), &key, &stored, "latency import").await?;
            return self.load_latency_csv(text).map_err(CoreError::InvalidInput);
        }
        // Validate on a scratch copy first so a bad file is refused before anything is stored.
        let mut scratch = self.catalog().catalog.clone();
        apply(&mut scratch, format, text).map_err(CoreError::InvalidInput)?;
        let key = format!("{CATALOG_IMPORT_PREFIX}{}", new_uid());
        let stored = StoredImport { format, text: text.to_string() };
        repo::create(self.store.as_ref(), &key, &stored, "catalog import").await?;
        let (summary, snap) = self.catalog.update(|c| apply(c, format, text));
        let summary = summary.map_err(CoreError::InvalidInput)?;
        let added = self.clouds.add_catalog_connections(&snap.catalog);
        self.rebuild_latency_model();
        // Imported specs carry the file's scores; measured ones win, as after a restart.
        self.reapply_benchmark_scores().await?;
        tracing::info!(?format, %summary, new_connections = added, "catalog import applied");
        Ok(format!("{summary}; {added} new connections"))
    }

    /// Re-applies every persisted import, in the order they were made.
    pub(crate) async fn replay_catalog_imports(&self) -> CoreResult<()> {
        let imports = self.store.range(CATALOG_IMPORT_PREFIX).await?;
        if imports.is_empty() {
            self.clouds.add_catalog_connections(&self.catalog().catalog);
            self.rebuild_latency_model();
            return Ok(());
        }
        let mut decoded = Vec::with_capacity(imports.len());
        for kv in &imports {
            decoded.push(repo::decode::<StoredImport>(&kv.key, &kv.value)?);
        }
        let (_, snap) = self.catalog.update(|c| {
            for imp in &decoded {
                if imp.format == ImportFormat::LatencyMap {
                    continue;
                }
                if let Err(e) = apply(c, imp.format, &imp.text) {
                    tracing::warn!(error = %e, "a stored catalog import no longer applies; skipped");
                }
            }
        });
        self.clouds.add_catalog_connections(&snap.catalog);
        for imp in decoded.iter().filter(|i| i.format == ImportFormat::LatencyMap) {
            if let Err(e) = self.load_latency_csv(&imp.text) {
                tracing::warn!(error = %e, "a stored latency import no longer applies; skipped");
            }
        }
        self.rebuild_latency_model();
        tracing::info!(imports = decoded.len(), "catalog imports replayed");
        Ok(())
    }

    /// Imports every known asset file of a directory (`cloudinfo.yaml` first, so that specs and
    /// images find their regions). Returns one line per file.
    pub async fn load_assets(&self, dir: &Path) -> CoreResult<Vec<String>> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| CoreError::invalid(format!("cannot read assets directory {}: {e}", dir.display())))?;
        let mut files: Vec<(ImportFormat, std::path::PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                ImportFormat::of_file(&name).map(|f| (f, e.path()))
            })
            .collect();
        files.sort_by_key(|(f, p)| (*f != ImportFormat::CloudInfo, *f == ImportFormat::CloudSpec, p.clone()));
        if files.is_empty() {
            return Err(CoreError::invalid(format!(
                "no asset files (cloudinfo.yaml, cloudspec.csv, cloudimage.csv, cloudlatencymap.csv, *.specs.csv) in {}",
                dir.display()
            )));
        }
        let mut out = Vec::new();
        for (format, path) in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CoreError::invalid(format!("cannot read {}: {e}", path.display())))?;
            let summary = self.import_catalog(format, &text).await?;
            out.push(format!("{}: {summary}", path.display()));
        }
        Ok(out)
    }
}
