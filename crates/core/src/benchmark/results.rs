//! What benchmarks measured, kept in the store and applied: each spec's results become its
//! performance score in the catalog the recommender reads (a new catalog snapshot, so the
//! next recommendation sees it), and RTTs between regions become measured latencies that the
//! latency model prefers over its estimates. Both are replayed on start.

use serde::{Deserialize, Serialize};
use tb_model::benchmark::SpecBenchmarkInfo;

use super::score::performance_score;
use crate::{CoreResult, Tumblebug, repo};

const SPEC_PREFIX: &str = "/benchmark/spec/";
const LATENCY_PREFIX: &str = "/benchmark/latency/";

/// One measured RTT between regions (`from` → `to`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MeasuredRtt {
    from: String,
    to: String,
    ms: f64,
}

impl Tumblebug {
    /// Stores each spec's latest results and applies their scores.
    pub(super) async fn store_spec_benchmarks(&self, infos: Vec<SpecBenchmarkInfo>) -> CoreResult<()> {
        for info in &infos {
            let value = repo::encode(SPEC_PREFIX, info)?;
            self.store.put(&format!("{SPEC_PREFIX}{}", info.specid.to_lowercase()), value).await?;
        }
        self.apply_spec_scores(&infos);
        Ok(())
    }

    /// Every spec's latest stored results.
    pub async fn spec_benchmarks(&self) -> CoreResult<Vec<SpecBenchmarkInfo>> {
        self.store.range(SPEC_PREFIX).await?.iter().map(|kv| repo::decode(&kv.key, &kv.value)).collect()
    }

    fn apply_spec_scores(&self, infos: &[SpecBenchmarkInfo]) {
        let scored: Vec<(String, f64)> =
            infos.iter().filter_map(|i| performance_score(i).map(|s| (i.specid.to_lowercase(), s))).collect();
        if scored.is_empty() {
            return;
        }
        let (applied, _) = self.catalog.update(|catalog| {
            let mut applied = 0;
            for (id, score) in &scored {
                if let Some(spec) = catalog.spec_by_id(id).cloned() {
                    catalog.upsert_spec(tb_catalog::Spec { evaluation_score01: *score, ..spec });
                    applied += 1;
                }
            }
            applied
        });
        tracing::info!(specs = applied, "benchmark scores applied to the catalog");
    }

    /// Records RTTs measured between regions, stored and fed to the latency model.
    pub(super) async fn record_measured_latencies(&self, measured: &[(String, String, f64)]) -> CoreResult<()> {
        for (from, to, ms) in measured {
            let rtt = MeasuredRtt { from: from.clone(), to: to.clone(), ms: *ms };
            let key = format!("{LATENCY_PREFIX}{from}|{to}");
            self.store.put(&key, repo::encode(&key, &rtt)?).await?;
        }
        self.apply_latencies(measured.iter().map(|(f, t, ms)| (f.as_str(), t.as_str(), *ms)));
        Ok(())
    }

    /// On start: the stored results applied again.
    pub(crate) async fn replay_benchmarks(&self) -> CoreResult<()> {
        let specs = self.spec_benchmarks().await?;
        self.apply_spec_scores(&specs);
        let mut rtts = Vec::new();
        for kv in self.store.range(LATENCY_PREFIX).await? {
            rtts.push(repo::decode::<MeasuredRtt>(&kv.key, &kv.value)?);
        }
        if !rtts.is_empty() {
            self.apply_latencies(rtts.iter().map(|r| (r.from.as_str(), r.to.as_str(), r.ms)));
        }
        Ok(())
    }
}
