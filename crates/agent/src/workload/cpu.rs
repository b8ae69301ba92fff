//! sysbench's `cpu` test: one event counts the primes below `max_prime` by trial division up
//! to the square root, in 64-bit arithmetic; the score is events per second.

use std::convert::Infallible;
use std::hint::black_box;

use super::events::{Limits, RunStats, Step, drive};

/// sysbench's default time limit, which Milkyway keeps.
pub const DEFAULT_SECONDS: f64 = 10.0;
/// The `--cpu-max-prime` Milkyway passes.
pub const DEFAULT_MAX_PRIME: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuParams {
    pub max_prime: u64,
    pub threads: usize,
    pub limits: Limits,
}

impl Default for CpuParams {
    fn default() -> Self {
        CpuParams { max_prime: DEFAULT_MAX_PRIME, threads: 1, limits: Limits::seconds(DEFAULT_SECONDS) }
    }
}

/// One sysbench cpu event: the number of primes `c` with `3 <= c < max_prime` (so the prime 2
/// is not counted: `count_primes(10_000)` is 1228, one less than π(10000)).
///
/// The loop is sysbench's, in the shape gcc compiles it to: even numbers are rejected by a bit
/// test (gcc strength-reduces the first `c % 2`), every other divisor costs a full 64-bit
/// division, and the bound is compared as a double.
pub fn count_primes(max_prime: u64) -> u64 {
    let mut n = 0;
    for c in 3..max_prime {
        let t = (c as f64).sqrt();
        if t >= 2.0 && c & 1 == 0 {
            continue;
        }
        let mut l: u64 = 3;
        let mut prime = true;
        if t >= 2.0 {
            while (l as f64) <= t {
                if rem_u64(c, l) == 0 {
                    prime = false;
                    break;
                }
                l += 1;
            }
        }
        if prime {
            n += 1;
        }
    }
    n
}

/// `a % b` with the 64-bit `div` instruction. LLVM would otherwise test whether both operands
/// fit in 32 bits and use the cheaper 32-bit divide, which gcc does not do; on CPUs where the
/// two differ (Intel before Ice Lake) the score would then drift away from sysbench's.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rem_u64(a: u64, b: u64) -> u64 {
    let rem: u64;
    // SAFETY: `div` reads rdx:rax and the divisor and writes rax and rdx only; the callers'
    // divisor is at least 3, and rdx = 0 keeps the quotient within 64 bits, so it cannot fault.
    unsafe {
        std::arch::asm!(
            "div {divisor}",
            divisor = in(reg) b,
            inout("rax") a => _,
            inout("rdx") 0u64 => rem,
            options(pure, nomem, nostack),
        );
    }
    rem
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rem_u64(a: u64, b: u64) -> u64 {
    a % b
}

/// Runs the cpu test; events per second is the score.
pub fn run_cpu(params: &CpuParams) -> RunStats {
    let max_prime = params.max_prime;
    let result = drive(params.threads, params.limits, |_| {
        Ok::<_, Infallible>(move || {
            black_box(count_primes(black_box(max_prime)));
            Ok(Step::Event)
        })
    });
    match result {
        Ok(stats) => stats,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// π(n) for primes below n, minus the prime 2 that sysbench's loop starts after.
    #[test]
    fn counts_match_known_prime_counts() {
        for (limit, pi) in [(10, 4), (100, 25), (1_000, 168), (10_000, 1229), (100_000, 9592)] {
            assert_eq!(count_primes(limit), pi - 1, "primes below {limit}");
        }
    }

    #[test]
    fn small_limits_count_only_from_three() {
        assert_eq!(count_primes(0), 0);
        assert_eq!(count_primes(3), 0);
        assert_eq!(count_primes(4), 1);
        assert_eq!(count_primes(5), 1);
        assert_eq!(count_primes(6), 2);
    }

    #[test]
    fn squares_of_primes_are_composite() {
        // 9, 25 and 49 are the first numbers whose only divisor sits exactly at the root.
        assert_eq!(count_primes(10), count_primes(9));
        assert_eq!(count_primes(26), count_primes(25));
        assert_eq!(count_primes(50), count_primes(49));
    }

    #[test]
    fn remainder_matches_the_operator() {
        for (a, b) in [(10, 3), (u64::MAX, 7), (1 << 40, 1_000_003), (5, 9)] {
            assert_eq!(rem_u64(a, b), a % b);
        }
    }

    #[test]
    fn run_counts_events() {
        let params =
            CpuParams { max_prime: 1_000, threads: 2, limits: Limits { max_events: 50, ..Limits::seconds(30.0) } };
        let stats = run_cpu(&params);
        assert_eq!(stats.events, 50);
        assert!(stats.events_per_sec() > 0.0);
    }
}
