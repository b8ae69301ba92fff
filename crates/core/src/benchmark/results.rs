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
    /// Stores each spec's latest results (a measured column replaces the stored one; columns
    /// this run did not measure keep their earlier value) and applies the scores.
    pub(super) async fn store_spec_benchmarks(&self, infos: Vec<SpecBenchmarkInfo>) -> CoreResult<()> {
        let mut stored = Vec::with_capacity(infos.len());
        for info in &infos {
            let key = format!("{SPEC_PREFIX}{}", info.specid.to_lowercase());
            let mut merged = None;
            for _ in 0..repo::MAX_CAS_RETRIES {
                let current = repo::get::<SpecBenchmarkInfo>(self.store.as_ref(), &key).await?;
                let (mut value, revision) = match current {
                    Some(doc) => (doc.value, doc.revision),
                    None => (SpecBenchmarkInfo { specid: info.specid.clone(), ..Default::default() }, 0),
                };
                merge(&mut value, info);
                if self.store.cas(&key, revision, repo::encode(&key, &value)?).await?.is_committed() {
                    merged = Some(value);
                    break;
                }
            }
            stored.push(merged.ok_or_else(|| crate::CoreError::ConcurrentUpdate(key.clone()))?);
        }
        self.apply_spec_scores(&stored);
        Ok(())
    }

    /// Every spec's latest stored results (unreadable records are skipped with a warning, so
    /// that one bad record cannot keep the server from starting).
    pub async fn spec_benchmarks(&self) -> CoreResult<Vec<SpecBenchmarkInfo>> {
        Ok(self.store.range(SPEC_PREFIX).await?.iter().filter_map(|kv| readable(&kv.key, &kv.value)).collect())
    }

    /// The stored results applied again (after a catalog import replaced specs).
    pub(crate) async fn reapply_benchmark_scores(&self) -> CoreResult<()> {
        let specs = self.spec_benchmarks().await?;
        self.apply_spec_scores(&specs);
        Ok(())
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
        for (from, to, ms) in measured.iter().filter(|(_, _, ms)| ms.is_finite() && *ms >= 0.0) {
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
            rtts.extend(readable::<MeasuredRtt>(&kv.key, &kv.value));
        }
        if !rtts.is_empty() {
            self.apply_latencies(rtts.iter().map(|r| (r.from.as_str(), r.to.as_str(), r.ms)));
        }
        Ok(())
    }
}

fn readable<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<T> {
    repo::decode(key, bytes).map_err(|error| tracing::warn!(key, %error, "unreadable benchmark record skipped")).ok()
}

/// The measured (non-empty) columns of `new` over `stored`.
fn merge(stored: &mut SpecBenchmarkInfo, new: &SpecBenchmarkInfo) {
    let columns = [
        (&mut stored.cpus, &new.cpus),
        (&mut stored.cpum, &new.cpum),
        (&mut stored.mem_r, &new.mem_r),
        (&mut stored.mem_w, &new.mem_w),
        (&mut stored.fio_r, &new.fio_r),
        (&mut stored.fio_w, &new.fio_w),
        (&mut stored.db_r, &new.db_r),
        (&mut stored.db_w, &new.db_w),
        (&mut stored.rtt, &new.rtt),
        (&mut stored.evaled_time, &new.evaled_time),
    ];
    for (slot, value) in columns {
        if !value.is_empty() {
            slot.clone_from(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_columns_it_did_not_measure() {
        let mut stored =
            SpecBenchmarkInfo { specid: "s".into(), cpus: "100".into(), db_r: "900".into(), ..Default::default() };
        let new = SpecBenchmarkInfo { specid: "s".into(), cpus: "120".into(), ..Default::default() };
        merge(&mut stored, &new);
        assert_eq!((stored.cpus.as_str(), stored.db_r.as_str()), ("120", "900"));
    }
}
