//! Current CPU, memory, disk and network utilisation of the machine the agent runs on, for
//! Tumblebug's monitoring endpoint and auto-control policies.
//!
//! CPU and network are rates, so they need two readings: the previous call's reading is used
//! when it is between [`MIN_WINDOW`] and [`MAX_WINDOW`] old (a poller every few seconds then
//! gets the average since its last poll), otherwise the call samples for a short window.

pub mod proc;

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tb_model::benchmark::{AgentMetrics, CpuUsage, DiskUsage, MemUsage, NetUsage};

use proc::{CpuTimes, NetCounters, parse_meminfo, parse_net_dev, parse_stat};

pub const MIN_WINDOW: Duration = Duration::from_millis(100);
pub const MAX_WINDOW: Duration = Duration::from_secs(60);
pub const DEFAULT_SAMPLE: Duration = Duration::from_millis(250);

/// Which part of [`AgentMetrics`] to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    All,
    Cpu,
    Mem,
    Disk,
    Net,
}

impl Section {
    pub fn parse(name: &str) -> Option<Section> {
        match name {
            "all" => Some(Section::All),
            "cpu" => Some(Section::Cpu),
            "mem" => Some(Section::Mem),
            "disk" => Some(Section::Disk),
            "net" => Some(Section::Net),
            _ => None,
        }
    }

    fn wants(self, other: Section) -> bool {
        self == Section::All || self == other
    }

    fn needs_rates(self) -> bool {
        self.wants(Section::Cpu) || self.wants(Section::Net)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("unexpected contents in {0}")]
    Parse(&'static str),
    #[error("metrics task failed: {0}")]
    Task(String),
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    cpu: CpuTimes,
    net: NetCounters,
}

/// Keeps the previous reading between calls.
#[derive(Debug)]
pub struct Sampler {
    disk_path: PathBuf,
    last: Mutex<Option<Reading>>,
}

impl Sampler {
    /// `disk_path`: a path on the filesystem whose use is reported.
    pub fn new(disk_path: PathBuf) -> Self {
        Sampler { disk_path, last: Mutex::new(None) }
    }

    pub async fn collect(&self, section: Section, sample: Duration) -> Result<AgentMetrics, MetricsError> {
        let mut metrics = AgentMetrics::default();
        if section.needs_rates() {
            let now = blocking(read_rates).await?;
            let previous = self.swap_last(now);
            let (from, to) = match previous {
                Some(prev) if (MIN_WINDOW..=MAX_WINDOW).contains(&now.at.duration_since(prev.at)) => (prev, now),
                _ => {
                    tokio::time::sleep(sample.max(Duration::from_millis(10))).await;
                    let later = blocking(read_rates).await?;
                    self.swap_last(later);
                    (now, later)
                }
            };
            let window = to.at.duration_since(from.at);
            metrics.sample_seconds = window.as_secs_f64();
            if section.wants(Section::Cpu) {
                let utilization = to.cpu.busy_percent_since(&from.cpu);
                metrics.cpu = Some(CpuUsage { utilization, cores: to.cpu.cores });
            }
            if section.wants(Section::Net) {
                let secs = window.as_secs_f64().max(f64::EPSILON);
                metrics.net = Some(NetUsage {
                    bytes_in_per_sec: to.net.rx_bytes.saturating_sub(from.net.rx_bytes) as f64 / secs,
                    bytes_out_per_sec: to.net.tx_bytes.saturating_sub(from.net.tx_bytes) as f64 / secs,
                    bytes_in_total: to.net.rx_bytes,
                    bytes_out_total: to.net.tx_bytes,
                });
            }
        }
        if section.wants(Section::Mem) {
            metrics.mem = Some(blocking(read_mem).await?);
        }
        if section.wants(Section::Disk) {
            let path = self.disk_path.clone();
            metrics.disk = Some(blocking(move || disk_usage(&path)).await?);
        }
        Ok(metrics)
    }

    fn swap_last(&self, reading: Reading) -> Option<Reading> {
        self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).replace(reading)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MetricsError> + Send + 'static,
) -> Result<T, MetricsError> {
    tokio::task::spawn_blocking(f).await.map_err(|err| MetricsError::Task(err.to_string()))?
}

fn read(path: &str) -> Result<String, MetricsError> {
    std::fs::read_to_string(path).map_err(|source| MetricsError::Read { path: path.to_owned(), source })
}

fn read_rates() -> Result<Reading, MetricsError> {
    let cpu = parse_stat(&read("/proc/stat")?).ok_or(MetricsError::Parse("/proc/stat"))?;
    let net =
        parse_net_dev(&read("/proc/net/dev")?, counted_interface()).ok_or(MetricsError::Parse("/proc/net/dev"))?;
    Ok(Reading { at: Instant::now(), cpu, net })
}

/// Which interfaces carry the VM's traffic: those backed by a device (virtio, ENA, ...).
/// Virtual ones (veth, bridges, ifb mirrors) would count the same bytes again. Where no
/// interface has a device (a container), every one but loopback counts.
fn counted_interface() -> impl Fn(&str) -> bool {
    let physical: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("device").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    move |name: &str| if physical.is_empty() { name != "lo" } else { physical.iter().any(|p| p == name) }
}

fn read_mem() -> Result<MemUsage, MetricsError> {
    let mem = parse_meminfo(&read("/proc/meminfo")?).ok_or(MetricsError::Parse("/proc/meminfo"))?;
    let used = mem.total - mem.available;
    Ok(MemUsage {
        utilization: percent(used, mem.total),
        total_bytes: mem.total,
        available_bytes: mem.available,
        used_bytes: used,
    })
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// Use of the filesystem holding `path` (or its nearest existing ancestor), counted as `df`
/// does: used / (used + available to unprivileged users).
pub fn disk_usage(path: &Path) -> Result<DiskUsage, MetricsError> {
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let read_err = |source| MetricsError::Read { path: existing.display().to_string(), source };
    let c_path = CString::new(existing.as_os_str().as_bytes())
        .map_err(|_| read_err(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let mut stat = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string and `stat` points to writable memory of the
    // right type; statvfs writes the whole struct when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(read_err(io::Error::last_os_error()));
    }
    // SAFETY: initialised by the successful call above.
    let stat = unsafe { stat.assume_init() };
    // The field types are narrower on 32-bit targets, hence the casts.
    #[allow(clippy::unnecessary_cast)]
    let (fragment, blocks, bfree, bavail) =
        (stat.f_frsize as u64, stat.f_blocks as u64, stat.f_bfree as u64, stat.f_bavail as u64);
    let total = blocks * fragment;
    let free = bfree * fragment;
    let available = bavail * fragment;
    let used = total.saturating_sub(free);
    Ok(DiskUsage {
        utilization: percent(used, used + available),
        path: existing.display().to_string(),
        total_bytes: total,
        available_bytes: available,
        used_bytes: used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn all_sections_are_in_range() {
        let sampler = Sampler::new(std::env::temp_dir());
        let metrics = sampler.collect(Section::All, Duration::from_millis(50)).await.unwrap();
        let cpu = metrics.cpu.unwrap();
        assert!((0.0..=100.0).contains(&cpu.utilization));
        assert!(cpu.cores >= 1);
        let mem = metrics.mem.unwrap();
        assert!(mem.total_bytes > 0 && mem.used_bytes <= mem.total_bytes);
        assert!((0.0..=100.0).contains(&mem.utilization));
        let disk = metrics.disk.unwrap();
        assert!(disk.total_bytes > 0 && (0.0..=100.0).contains(&disk.utilization));
        let net = metrics.net.unwrap();
        assert!(net.bytes_in_per_sec >= 0.0 && net.bytes_out_per_sec >= 0.0);
        assert!(metrics.sample_seconds >= 0.05);
    }

    #[tokio::test]
    async fn a_recent_reading_is_reused_as_the_window_start() {
        let sampler = Sampler::new(std::env::temp_dir());
        sampler.collect(Section::Cpu, Duration::from_millis(10)).await.unwrap();
        tokio::time::sleep(MIN_WINDOW + Duration::from_millis(50)).await;
        let began = Instant::now();
        let metrics = sampler.collect(Section::Cpu, Duration::from_secs(5)).await.unwrap();
        // No 5 s sample was taken: the window runs from the previous call.
        assert!(began.elapsed() < Duration::from_secs(2));
        assert!(metrics.sample_seconds >= MIN_WINDOW.as_secs_f64());
    }

    #[tokio::test]
    async fn memory_alone_needs_no_sample() {
        let sampler = Sampler::new(std::env::temp_dir());
        let metrics = sampler.collect(Section::Mem, Duration::from_secs(5)).await.unwrap();
        assert!(metrics.mem.is_some());
        assert!(metrics.cpu.is_none() && metrics.disk.is_none() && metrics.net.is_none());
        assert_eq!(metrics.sample_seconds, 0.0);
    }

    #[test]
    fn disk_usage_of_a_missing_path_uses_its_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let usage = disk_usage(&dir.path().join("not/yet/created")).unwrap();
        assert_eq!(usage.path, dir.path().display().to_string());
        assert!(usage.total_bytes >= usage.used_bytes);
    }
}
