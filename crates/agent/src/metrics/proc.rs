//! Parsers for the kernel's text counters. Each takes the file's text so it can be tested on
//! fixed samples; `None` means the text is not in the expected shape.

/// Aggregate CPU time from the `cpu ` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq (guest time is already inside user
    /// and nice). Steal — time the hypervisor gave to others — is left out: it is not load of
    /// this VM, and counting it as busy would make an idle guest on a busy host look loaded.
    pub total: u64,
    /// idle + iowait: time the CPUs had nothing to run.
    pub idle: u64,
    /// Online CPUs (`cpuN` lines).
    pub cores: u32,
}

impl CpuTimes {
    /// Busy percentage between `earlier` and `self`; 0 when no time passed.
    pub fn busy_percent_since(&self, earlier: &CpuTimes) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        let idle = self.idle.saturating_sub(earlier.idle).min(total);
        if total == 0 { 0.0 } else { (total - idle) as f64 * 100.0 / total as f64 }
    }
}

pub fn parse_stat(text: &str) -> Option<CpuTimes> {
    let mut times = None;
    let mut cores = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        match fields.next() {
            Some("cpu") => {
                let values: Vec<u64> = fields.take(7).map(|f| f.parse().ok()).collect::<Option<_>>()?;
                if values.len() < 4 {
                    return None;
                }
                let idle = values[3] + values.get(4).copied().unwrap_or(0);
                times = Some((values.iter().sum(), idle));
            }
            Some(name)
                if name.len() > 3 && name.starts_with("cpu") && name[3..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                cores += 1;
            }
            _ => {}
        }
    }
    let (total, idle) = times?;
    Some(CpuTimes { total, idle, cores })
}

/// Memory from `/proc/meminfo`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemInfo {
    pub total: u64,
    pub available: u64,
}

pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let mut total = None;
    let mut available = None;
    let (mut free, mut buffers, mut cached) = (0, 0, 0);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        let Some(kib) = rest.split_ascii_whitespace().next().and_then(|v| v.parse::<u64>().ok()) else { continue };
        let bytes = kib * 1024;
        match key {
            "MemTotal" => total = Some(bytes),
            "MemAvailable" => available = Some(bytes),
            "MemFree" => free = bytes,
            "Buffers" => buffers = bytes,
            "Cached" => cached = bytes,
            _ => {}
        }
    }
    let total = total?;
    // Kernels before 3.14 have no MemAvailable; free + buffers + cache is the old estimate.
    let available = available.unwrap_or(free + buffers + cached).min(total);
    Some(MemInfo { total, available })
}

/// Byte counters summed over the interfaces `count` accepts, from `/proc/net/dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

pub fn parse_net_dev(text: &str, count: impl Fn(&str) -> bool) -> Option<NetCounters> {
    let mut counters = NetCounters::default();
    let mut seen_header = false;
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            seen_header |= line.contains('|');
            continue;
        };
        if !count(name.trim()) {
            continue;
        }
        let fields: Vec<u64> = rest.split_ascii_whitespace().map(|f| f.parse().ok()).collect::<Option<_>>()?;
        // 8 receive columns, then 8 transmit columns; bytes lead each group.
        if fields.len() < 16 {
            return None;
        }
        counters.rx_bytes += fields[0];
        counters.tx_bytes += fields[8];
    }
    seen_header.then_some(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  99461 0 12194 47797 447 0 99 163 0 0
cpu0 48631 0 5483 25735 109 0 11 74 0 0
cpu1 50829 0 6710 22061 337 0 88 88 0 0
intr 1234 0 0
ctxt 5678
cpus_allowed 3
";

    #[test]
    fn stat_sums_the_first_seven_columns_without_steal() {
        let times = parse_stat(STAT).unwrap();
        assert_eq!(times.total, 99461 + 12194 + 47797 + 447 + 99);
        assert_eq!(times.idle, 47797 + 447);
        assert_eq!(times.cores, 2);
    }

    #[test]
    fn busy_percent_between_two_samples() {
        let before = CpuTimes { total: 1000, idle: 800, cores: 2 };
        let after = CpuTimes { total: 1200, idle: 850, cores: 2 };
        assert_eq!(after.busy_percent_since(&before), 75.0);
        assert_eq!(before.busy_percent_since(&before), 0.0);
        // Counters never run backwards in practice; if they do, no nonsense comes out.
        assert_eq!(before.busy_percent_since(&after), 0.0);
    }

    #[test]
    fn stat_without_a_cpu_line_is_rejected() {
        assert_eq!(parse_stat("intr 1 2 3\n"), None);
        assert_eq!(parse_stat("cpu  1 2 x 4\n"), None);
    }

    #[test]
    fn old_kernels_have_only_four_cpu_columns() {
        let times = parse_stat("cpu 10 20 30 40\ncpu0 10 20 30 40\n").unwrap();
        assert_eq!((times.total, times.idle, times.cores), (100, 40, 1));
    }

    #[test]
    fn meminfo_reads_total_and_available() {
        let text = "MemTotal:       24684084 kB\nMemFree:        20327936 kB\nMemAvailable:   23674624 kB\nBuffers:            8564 kB\nCached:          3466060 kB\n";
        let mem = parse_meminfo(text).unwrap();
        assert_eq!(mem.total, 24684084 * 1024);
        assert_eq!(mem.available, 23674624 * 1024);
    }

    #[test]
    fn meminfo_without_available_estimates_it() {
        let mem = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n").unwrap();
        assert_eq!(mem.available, 420 * 1024);
        assert_eq!(parse_meminfo("MemFree: 100 kB\n"), None);
    }

    #[test]
    fn net_dev_counts_the_interfaces_asked_for() {
        let text = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1302585    6096    0    0    0     0          0         0  1302585    6096    0    0    0     0       0          0
  eth0: 105976401    5243    0    0    0     0          0         0   330057    3197    0    0    0     0       0          0
  eth1:1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0
";
        let counters = parse_net_dev(text, |name| name != "lo").unwrap();
        assert_eq!(counters.rx_bytes, 105976401 + 1000);
        assert_eq!(counters.tx_bytes, 330057 + 2000);
        let eth0 = parse_net_dev(text, |name| name == "eth0").unwrap();
        assert_eq!((eth0.rx_bytes, eth0.tx_bytes), (105976401, 330057));
    }

    #[test]
    fn net_dev_with_short_lines_is_rejected() {
        assert_eq!(parse_net_dev("Inter-|\n eth0: 1 2 3\n", |_| true), None);
        assert_eq!(parse_net_dev("", |_| true), None);
    }
}
