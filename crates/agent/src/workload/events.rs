//! The event loop every workload runs in, shaped like sysbench 1.0's `thread_run`: check the
//! time and event limits, time the event with a spin-locked per-thread timer, record its
//! latency in a slotted log-scale histogram, count it. Doing the same bookkeeping per event as
//! sysbench keeps short events (1 KiB memory blocks take ~100 ns) comparable, where the
//! loop's cost is a real share of the score.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::rand::SbRng;

/// When a run stops: whichever limit is reached first (0 events means no event limit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub time: Duration,
    pub max_events: u64,
}

impl Limits {
    pub fn seconds(seconds: f64) -> Self {
        Limits { time: Duration::from_secs_f64(seconds), max_events: 0 }
    }
}

/// What one worker step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An event ran; count it.
    Event,
    /// The workload has nothing left to do (e.g. the memory total is transferred).
    Exhausted,
}

/// Counts and timing of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStats {
    pub events: u64,
    /// From the start of the workers to the end of the last one (sysbench's "total time").
    pub elapsed: Duration,
    pub latency_min: Duration,
    pub latency_avg: Duration,
    pub latency_max: Duration,
    /// 95th percentile event latency (sysbench's default percentile).
    pub latency_p95: Duration,
}

impl RunStats {
    pub fn events_per_sec(&self) -> f64 {
        per_second(self.events as f64, self.elapsed)
    }
}

pub(crate) fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

/// Runs `threads` workers until a limit is reached, a worker is exhausted, or one fails.
/// `make_worker(i)` builds worker `i` on its own thread; the clocks start when all are built,
/// and the run lasts from the first thread's start to the last one's end.
pub(crate) fn drive<W, E, M>(threads: usize, limits: Limits, make_worker: M) -> Result<RunStats, E>
where
    M: Fn(usize) -> Result<W, E> + Sync,
    W: FnMut() -> Result<Step, E>,
    E: Send,
{
    let threads = threads.max(1);
    let epoch = Instant::now();
    let histogram = LatencyHistogram::new();
    let timers: Vec<EventTimer> = (0..threads).map(|_| EventTimer::default()).collect();
    let counters: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let issued = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(threads);
    let results: Vec<Result<(Instant, Instant), E>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (histogram, timer, counter) = (&histogram, &timers[i], &counters[i]);
                let (issued, stop, ready, make_worker) = (&issued, &stop, &ready, &make_worker);
                scope.spawn(move || {
                    let worker = make_worker(i);
                    let mut slot_rng = SbRng::from_time(i as u64);
                    ready.wait();
                    let started = Instant::now();
                    let deadline = started + limits.time;
                    let mut worker = worker.inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        if limits.max_events > 0 && issued.fetch_add(1, Ordering::Relaxed) >= limits.max_events {
                            break;
                        }
                        timer.start(epoch);
                        let step = worker();
                        let latency = timer.stop(epoch);
                        match step {
                            Ok(Step::Event) => {
                                histogram.record(&mut slot_rng, latency);
                                // A plain load and store, as sysbench's per-thread counter.
                                counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                            }
                            Ok(Step::Exhausted) => break,
                            Err(err) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(err);
                            }
                        }
                    }
                    Ok((started, Instant::now()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut span: Option<(Instant, Instant)> = None;
    for result in results {
        let (started, finished) = result?;
        span = Some(match span {
            Some((first, last)) => (first.min(started), last.max(finished)),
            None => (started, finished),
        });
    }
    let elapsed = span.map(|(first, last)| last.duration_since(first)).unwrap_or_default();
    let events: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    let timed: u64 = timers.iter().map(|t| t.events.load(Ordering::Relaxed)).sum();
    let sum: u64 = timers.iter().map(|t| t.sum_ns.load(Ordering::Relaxed)).sum();
    let min = timers.iter().map(|t| t.min_ns.load(Ordering::Relaxed)).min().filter(|&m| m != u64::MAX).unwrap_or(0);
    let max = timers.iter().map(|t| t.max_ns.load(Ordering::Relaxed)).max().unwrap_or(0);
    Ok(RunStats {
        events,
        elapsed,
        latency_min: Duration::from_nanos(min),
        latency_avg: Duration::from_nanos(sum.checked_div(timed).unwrap_or(0)),
        latency_max: Duration::from_nanos(max),
        latency_p95: histogram.percentile(95.0),
    })
}

/// sysbench's `sb_timer_t`: start and stop under a spin lock (its reporter thread may read
/// the timer), keeping count, sum, min and max.
#[derive(Debug)]
struct EventTimer {
    lock: AtomicBool,
    start_ns: AtomicU64,
    events: AtomicU64,
    sum_ns: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Default for EventTimer {
    fn default() -> Self {
        EventTimer {
            lock: AtomicBool::new(false),
            start_ns: AtomicU64::new(0),
            events: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
        }
    }
}

impl EventTimer {
    fn acquire(&self) {
        while self.lock.swap(true, Ordering::Acquire) {
            std::hint::spin_loop();
        }
    }

    fn release(&self) {
        self.lock.store(false, Ordering::Release);
    }

    fn start(&self, epoch: Instant) {
        self.acquire();
        self.start_ns.store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.release();
    }

    fn stop(&self, epoch: Instant) -> Duration {
        self.acquire();
        let now = epoch.elapsed().as_nanos() as u64;
        let elapsed = now.saturating_sub(self.start_ns.load(Ordering::Relaxed));
        self.events.store(self.events.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        self.sum_ns.store(self.sum_ns.load(Ordering::Relaxed) + elapsed, Ordering::Relaxed);
        if elapsed < self.min_ns.load(Ordering::Relaxed) {
            self.min_ns.store(elapsed, Ordering::Relaxed);
        }
        if elapsed > self.max_ns.load(Ordering::Relaxed) {
            self.max_ns.store(elapsed, Ordering::Relaxed);
        }
        self.release();
        Duration::from_nanos(elapsed)
    }
}

/// sysbench's latency histogram: 1024 log-scale buckets from 1 µs to 100 s, spread over 128
/// slots picked at random per update so that threads rarely touch the same cache line.
pub(crate) struct LatencyHistogram {
    slots: Vec<AtomicU64>,
}

const BUCKETS: usize = 1024;
const SLOTS: usize = 128;
const MIN_MS: f64 = 0.001;
const MAX_MS: f64 = 100_000.0;

impl LatencyHistogram {
    pub(crate) fn new() -> Self {
        LatencyHistogram { slots: (0..BUCKETS * SLOTS).map(|_| AtomicU64::new(0)).collect() }
    }

    fn scale() -> (f64, f64) {
        let deduct = MIN_MS.ln();
        let mult = (BUCKETS - 1) as f64 / (MAX_MS.ln() - deduct);
        (deduct, mult)
    }

    pub(crate) fn record(&self, rng: &mut SbRng, latency: Duration) {
        let slot = (rng.next_u64() % SLOTS as u64) as usize;
        let ms = latency.as_nanos() as f64 / 1e6;
        let (deduct, mult) = Self::scale();
        let index = ((ms.ln() - deduct) * mult + 0.5).floor();
        // NaN and negative (a zero latency's ln is -inf) both land in the first bucket.
        let index = if index >= 0.0 { (index as usize).min(BUCKETS - 1) } else { 0 };
        self.slots[slot * BUCKETS + index].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn percentile(&self, pct: f64) -> Duration {
        let mut counts = vec![0u64; BUCKETS];
        for (i, count) in self.slots.iter().enumerate() {
            counts[i % BUCKETS] += count.load(Ordering::Relaxed);
        }
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let wanted = ((total as f64) * pct / 100.0).ceil().max(1.0) as u64;
        let (deduct, mult) = Self::scale();
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                let ms = ((index as f64) / mult + deduct).exp();
                return Duration::from_secs_f64(ms / 1000.0);
            }
        }
        Duration::from_secs_f64(MAX_MS / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn event_limit_is_shared_by_all_threads() {
        let stats = drive(2, Limits { time: Duration::from_secs(30), max_events: 100 }, |_| {
            Ok::<_, Infallible>(|| Ok(Step::Event))
        })
        .unwrap();
        assert_eq!(stats.events, 100);
    }

    #[test]
    fn time_limit_stops_the_run() {
        let stats = drive(1, Limits::seconds(0.05), |_| Ok::<_, Infallible>(|| Ok(Step::Event))).unwrap();
        assert!(stats.elapsed >= Duration::from_millis(50));
        assert!(stats.elapsed < Duration::from_secs(5));
        assert!(stats.events > 0);
    }

    #[test]
    fn latency_statistics_follow_the_events() {
        let limits = Limits { max_events: 5, ..Limits::seconds(30.0) };
        let stats = drive(1, limits, |_| {
            Ok::<_, Infallible>(|| {
                std::thread::sleep(Duration::from_millis(3));
                Ok(Step::Event)
            })
        })
        .unwrap();
        assert_eq!(stats.events, 5);
        assert!(stats.latency_min >= Duration::from_millis(3));
        assert!(stats.latency_min <= stats.latency_avg && stats.latency_avg <= stats.latency_max);
        assert!(stats.latency_p95 >= Duration::from_micros(2900), "{:?}", stats.latency_p95);
        assert!(stats.elapsed >= stats.latency_avg * 5);
    }

    #[test]
    fn exhausted_worker_ends_its_thread() {
        let stats = drive(1, Limits::seconds(30.0), |_| {
            let mut left = 5;
            Ok::<_, Infallible>(move || {
                if left == 0 {
                    return Ok(Step::Exhausted);
                }
                left -= 1;
                Ok(Step::Event)
            })
        })
        .unwrap();
        assert_eq!(stats.events, 5);
    }

    #[test]
    fn first_error_is_returned() {
        let err = drive(2, Limits::seconds(30.0), |i| {
            Ok::<_, String>(move || if i == 1 { Err(format!("worker {i} failed")) } else { Ok(Step::Event) })
        })
        .unwrap_err();
        assert_eq!(err, "worker 1 failed");
    }

    #[test]
    fn failed_worker_setup_is_returned() {
        let err = drive(1, Limits::seconds(30.0), |_| Err::<fn() -> Result<Step, String>, _>("no file".to_string()))
            .unwrap_err();
        assert_eq!(err, "no file");
    }

    #[test]
    fn histogram_percentile_lands_in_the_right_decade() {
        let histogram = LatencyHistogram::new();
        let mut rng = SbRng::new(3);
        for _ in 0..90 {
            histogram.record(&mut rng, Duration::from_micros(10));
        }
        for _ in 0..10 {
            histogram.record(&mut rng, Duration::from_millis(20));
        }
        histogram.record(&mut rng, Duration::ZERO);
        assert!(histogram.percentile(0.5) < Duration::from_micros(2), "a zero latency sits in the first bucket");
        let p50 = histogram.percentile(50.0);
        let p95 = histogram.percentile(95.0);
        assert!(p50 > Duration::from_micros(9) && p50 < Duration::from_micros(11), "{p50:?}");
        assert!(p95 > Duration::from_millis(19) && p95 < Duration::from_millis(21), "{p95:?}");
    }
}
