//! The agent's workloads side by side with sysbench 1.0 at the same parameters (Milkyway's),
//! alternating runs, medians printed as a markdown table: measure | sysbench | agent | ratio.
//!
//! Environment: `VS_SYSBENCH_SECONDS` (per run, default 10), `VS_SYSBENCH_RUNS` (default 3),
//! `VS_SYSBENCH_ONLY` (comma-separated measures, e.g. `cpus,memR`), `VS_SYSBENCH_DIR` (where
//! both put their fileio files; e.g. a tmpfs to take the disk's fsync latency out).

use std::path::Path;
use std::process::{Command, ExitCode};

use tb_agent::workload::Limits;
use tb_agent::workload::cpu::{CpuParams, run_cpu};
use tb_agent::workload::fileio::{FileIoParams, FileMode, FileSet, run_fileio};
use tb_agent::workload::memory::{MemOper, MemoryParams, run_memory};

struct Measure {
    name: &'static str,
    unit: &'static str,
    sysbench_args: Vec<String>,
    /// The line prefix in sysbench's report that precedes the number.
    marker: &'static str,
    needs_files: bool,
}

fn main() -> ExitCode {
    if Command::new("sysbench").arg("--version").output().is_err() {
        eprintln!("sysbench not found on PATH: install sysbench (apt-get install sysbench)");
        return ExitCode::FAILURE;
    }
    let seconds: f64 = env_or("VS_SYSBENCH_SECONDS", 10.0);
    let runs: usize = env_or("VS_SYSBENCH_RUNS", 3);
    let only: Option<Vec<String>> =
        std::env::var("VS_SYSBENCH_ONLY").ok().map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let time = format!("--time={seconds}");
    let measures = [
        Measure {
            name: "cpus",
            unit: "events/s",
            sysbench_args: args(&["cpu", "--cpu-max-prime=100000", "--threads=1", &time, "run"]),
            marker: "events per second:",
            needs_files: false,
        },
        Measure {
            name: "cpum",
            unit: "events/s",
            sysbench_args: args(&["cpu", "--cpu-max-prime=100000", &format!("--threads={cores}"), &time, "run"]),
            marker: "events per second:",
            needs_files: false,
        },
        Measure {
            name: "memR",
            unit: "MiB/s",
            sysbench_args: memory_args("read", &time),
            marker: "MiB transferred (",
            needs_files: false,
        },
        Measure {
            name: "memW",
            unit: "MiB/s",
            sysbench_args: memory_args("write", &time),
            marker: "MiB transferred (",
            needs_files: false,
        },
        Measure {
            name: "fioR",
            unit: "MiB/s",
            sysbench_args: fileio_args("rndrd", &time),
            marker: "read, MiB/s:",
            needs_files: true,
        },
        Measure {
            name: "fioW",
            unit: "MiB/s",
            sysbench_args: fileio_args("rndwr", &time),
            marker: "written, MiB/s:",
            needs_files: true,
        },
    ];

    let base = std::env::var_os("VS_SYSBENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let sysbench_dir = tempfile::tempdir_in(&base).expect("temp dir");
    let agent_dir = tempfile::tempdir_in(&base).expect("temp dir");
    let mut files_ready = false;
    let mut rows = Vec::new();
    for measure in &measures {
        if only.as_ref().is_some_and(|only| !only.iter().any(|m| m == measure.name)) {
            continue;
        }
        if measure.needs_files && !files_ready {
            sysbench(sysbench_dir.path(), &args(&["fileio", "--file-total-size=50M", "prepare"]));
            FileSet::prepare(agent_dir.path(), 50 << 20, 128).expect("prepare agent files");
            files_ready = true;
        }
        let mut theirs = Vec::new();
        let mut ours = Vec::new();
        for run in 0..runs {
            // Alternate who goes first, so a drifting machine (disk throttling, neighbours)
            // does not always favour the same side.
            let (theirs_value, ours_value) = if run % 2 == 0 {
                let t = run_sysbench(sysbench_dir.path(), measure);
                (t, agent(measure.name, seconds, cores, agent_dir.path()))
            } else {
                let o = agent(measure.name, seconds, cores, agent_dir.path());
                (run_sysbench(sysbench_dir.path(), measure), o)
            };
            eprintln!("{} run {}: sysbench {theirs_value:.2}, agent {ours_value:.2}", measure.name, run + 1);
            theirs.push(theirs_value);
            ours.push(ours_value);
        }
        let mut ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(o, t)| o / t).collect();
        rows.push(Row {
            name: measure.name,
            unit: measure.unit,
            spread_theirs: spread(&theirs),
            spread_ours: spread(&ours),
            theirs: median(&mut theirs),
            ours: median(&mut ours),
            pair_ratio: median(&mut ratios),
        });
    }
    if files_ready {
        sysbench(sysbench_dir.path(), &args(&["fileio", "--file-total-size=50M", "cleanup"]));
    }

    println!("\nsysbench vs tumblebug-agent, {runs} runs of {seconds} s each, medians (spread = (max-min)/median)\n");
    println!("| measure | unit | sysbench | agent | ratio | median per-run ratio | spread sysbench | spread agent |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} % | {:.1} % |",
            row.name,
            row.unit,
            row.theirs,
            row.ours,
            row.ours / row.theirs,
            row.pair_ratio,
            row.spread_theirs * 100.0,
            row.spread_ours * 100.0
        );
    }
    ExitCode::SUCCESS
}

struct Row {
    name: &'static str,
    unit: &'static str,
    theirs: f64,
    ours: f64,
    pair_ratio: f64,
    spread_theirs: f64,
    spread_ours: f64,
}

fn run_sysbench(dir: &Path, measure: &Measure) -> f64 {
    let output = sysbench(dir, &measure.sysbench_args);
    number_after(&output, measure.marker)
        .unwrap_or_else(|| panic!("no '{}' in sysbench output:\n{output}", measure.marker))
}

fn agent(name: &str, seconds: f64, cores: usize, dir: &Path) -> f64 {
    let limits = Limits::seconds(seconds);
    match name {
        "cpus" | "cpum" => {
            let threads = if name == "cpus" { 1 } else { cores };
            run_cpu(&CpuParams { max_prime: 100_000, threads, limits }).events_per_sec()
        }
        "memR" | "memW" => {
            let oper = if name == "memR" { MemOper::Read } else { MemOper::Write };
            run_memory(&MemoryParams { limits, ..MemoryParams::new(oper) }).mib_per_sec()
        }
        "fioR" | "fioW" => {
            let set = FileSet::discover(dir).expect("read dir").expect("prepared files");
            let mode = if name == "fioR" { FileMode::RandomRead } else { FileMode::RandomWrite };
            let report = run_fileio(&set, &FileIoParams { limits, ..FileIoParams::new(mode) }).expect("fileio run");
            if name == "fioR" { report.read_mib_per_sec() } else { report.written_mib_per_sec() }
        }
        other => unreachable!("unknown measure {other}"),
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn memory_args(oper: &str, time: &str) -> Vec<String> {
    args(&[
        "memory",
        "--memory-block-size=1K",
        "--memory-scope=global",
        "--memory-total-size=10G",
        &format!("--memory-oper={oper}"),
        time,
        "run",
    ])
}

fn fileio_args(mode: &str, time: &str) -> Vec<String> {
    args(&["fileio", "--file-total-size=50M", &format!("--file-test-mode={mode}"), time, "--max-requests=0", "run"])
}

fn sysbench(dir: &Path, args: &[String]) -> String {
    let output = Command::new("sysbench").args(args).current_dir(dir).output().expect("run sysbench");
    assert!(output.status.success(), "sysbench {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn number_after(text: &str, marker: &str) -> Option<f64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn spread(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    let mid = median(&mut sorted);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    if mid > 0.0 { (max - min) / mid } else { 0.0 }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
