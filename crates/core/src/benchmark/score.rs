//! The performance score the recommender's `performance` priority ranks by
//! (`evaluationScore01`), derived from a spec's benchmark results.
//!
//! score = 100 × geometric mean over the measured workloads of (result / reference)
//!
//! The references are the agent's results on a 2-vCPU cloud VM (see [`REFERENCE`]), so a
//! score of 100 means "like that machine", 200 "twice as fast" on average. The geometric mean keeps one huge number (page-cache file reads) from dominating,
//! and a missing workload simply does not count. Specs without results keep their catalog
//! score.

use tb_model::benchmark::SpecBenchmarkInfo;

/// Reference result per workload (agent units: events/s, MiB/s, transactions/s): the agent's
/// results at its default sizes on a 2-vCPU KVM VM (AMD EPYC), the development machine.
pub const REFERENCE: [(&str, f64); 8] = [
    ("cpus", 190.0),
    ("cpum", 380.0),
    ("memR", 7_500.0),
    ("memW", 6_400.0),
    ("fioR", 7_000.0),
    ("fioW", 20.0),
    ("dbR", 17_000.0),
    ("dbW", 5_600.0),
];

fn column<'a>(info: &'a SpecBenchmarkInfo, name: &str) -> &'a str {
    match name {
        "cpus" => &info.cpus,
        "cpum" => &info.cpum,
        "memR" => &info.mem_r,
        "memW" => &info.mem_w,
        "fioR" => &info.fio_r,
        "fioW" => &info.fio_w,
        "dbR" => &info.db_r,
        "dbW" => &info.db_w,
        _ => "",
    }
}

/// The score, or `None` when no workload has a usable (positive) result.
pub fn performance_score(info: &SpecBenchmarkInfo) -> Option<f64> {
    let ratios: Vec<f64> = REFERENCE
        .iter()
        .filter_map(|(name, reference)| {
            let v: f64 = column(info, name).trim().parse().ok()?;
            (v.is_finite() && v > 0.0).then(|| v / reference)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let mean_log = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64;
    Some((100.0 * mean_log.exp() * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pairs: &[(&str, &str)]) -> SpecBenchmarkInfo {
        let mut i = SpecBenchmarkInfo::default();
        for (k, v) in pairs {
            i.set(k, v.to_string());
        }
        i
    }

    #[test]
    fn reference_results_score_100_and_scale_geometrically() {
        let all: Vec<(&str, String)> = REFERENCE.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(performance_score(&info(&pairs)), Some(100.0));
        // Twice the reference in every workload: 200; twice in one of two: 100·√2.
        let (cpus, cpum) = (REFERENCE[0].1, REFERENCE[1].1);
        let twice = [("cpus", (2.0 * cpus).to_string()), ("cpum", (2.0 * cpum).to_string())];
        assert_eq!(performance_score(&info(&[("cpus", &twice[0].1), ("cpum", &twice[1].1)])), Some(200.0));
        assert_eq!(performance_score(&info(&[("cpus", &twice[0].1), ("cpum", &cpum.to_string())])), Some(141.42));
    }

    #[test]
    fn missing_and_failed_results_do_not_count() {
        assert_eq!(performance_score(&info(&[])), None);
        assert_eq!(performance_score(&info(&[("cpus", "agent unreachable"), ("memR", "0")])), None);
        let half = (REFERENCE[0].1 / 2.0).to_string();
        assert_eq!(performance_score(&info(&[("cpus", &half), ("dbR", "oops")])), Some(50.0));
    }
}
