//! sysbench's pseudo-random numbers: xoroshiro128+ with its `[0, 1)` double, the uniform
//! integer and the `special` distribution sysbench uses by default for row ids. Workloads use
//! the same generator so their per-event cost and access pattern match sysbench's.

use std::time::{SystemTime, UNIX_EPOCH};

/// xoroshiro128+ (the generator sysbench 1.0 uses per thread).
#[derive(Debug, Clone)]
pub struct SbRng {
    s: [u64; 2],
}

impl SbRng {
    /// Seeded with splitmix64 of `seed`, so any seed (even 0) gives a non-zero state.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SbRng { s: [next(), next()] }
    }

    /// Seeded from the clock and `stream`, as sysbench seeds from the time by default.
    pub fn from_time(stream: u64) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        SbRng::new(nanos ^ stream.wrapping_mul(0xA076_1D64_78BD_642F))
    }

    pub fn next_u64(&mut self) -> u64 {
        let s0 = self.s[0];
        let mut s1 = self.s[1];
        let result = s0.wrapping_add(s1);
        s1 ^= s0;
        self.s[0] = s0.rotate_left(55) ^ s1 ^ (s1 << 14);
        self.s[1] = s1.rotate_left(36);
        result
    }

    /// Uniform in `[0, 1)` from the top 52 bits, built the way sysbench builds it.
    pub fn uniform_double(&mut self) -> f64 {
        f64::from_bits((0x3FF << 52) | (self.next_u64() >> 12)) - 1.0
    }

    /// Uniform integer in `[a, b]` (`sb_rand_uniform`).
    pub fn uniform(&mut self, a: u32, b: u32) -> u32 {
        a + (self.uniform_double() * f64::from(b - a + 1)) as u32
    }

    /// sysbench's default `special` distribution over `[a, b]` with its defaults
    /// (`rand-spec-iter=12`, `rand-spec-pct=1`, `rand-spec-res=75`): 75 % of the values fall
    /// uniformly in the middle 1 % of the range, the rest follow a sum of 12 uniforms.
    pub fn special(&mut self, a: u32, b: u32) -> u32 {
        const ITER: u32 = 12;
        const PCT: f64 = 1.0;
        const RES: f64 = 75.0;
        let t = f64::from(b - a);
        let range_size = t * (100.0 / (100.0 - RES));
        let rnd = self.uniform_double();
        if rnd * range_size < t {
            let sum: f64 = (0..ITER).map(|_| self.uniform_double()).sum();
            return a + (sum * t / f64::from(ITER)) as u32;
        }
        let d = t * PCT / 100.0;
        let res = rnd * (d + 1.0) + t / 2.0 - t * PCT / 200.0;
        a + res as u32
    }

    /// `sysbench.rand.string`: every `#` becomes a digit, every `@` a lower-case letter.
    pub fn fill_template(&mut self, template: &str, out: &mut String) {
        out.clear();
        for ch in template.chars() {
            match ch {
                '#' => out.push(char::from(b'0' + self.uniform(0, 9) as u8)),
                '@' => out.push(char::from(b'a' + self.uniform(0, 25) as u8)),
                other => out.push(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_double_stays_in_unit_interval() {
        let mut rng = SbRng::new(0);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = rng.uniform_double();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / 10_000.0;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
    }

    #[test]
    fn uniform_covers_both_ends() {
        let mut rng = SbRng::new(7);
        let values: Vec<u32> = (0..2_000).map(|_| rng.uniform(1, 4)).collect();
        assert!(values.iter().all(|v| (1..=4).contains(v)));
        assert!(values.contains(&1) && values.contains(&4));
    }

    #[test]
    fn special_puts_three_quarters_in_the_middle_percent() {
        let mut rng = SbRng::new(42);
        let n = 40_000;
        let (a, b) = (1, 100_000);
        let mut hot = 0;
        for _ in 0..n {
            let v = rng.special(a, b);
            assert!((a..=b).contains(&v));
            if (49_500..=50_501).contains(&v) {
                hot += 1;
            }
        }
        let share = f64::from(hot) / f64::from(n);
        // 75 % are drawn in the hot 1 %, plus the few gaussian draws that land there.
        assert!((0.74..0.80).contains(&share), "hot share {share}");
    }

    #[test]
    fn template_keeps_separators() {
        let mut rng = SbRng::new(1);
        let mut out = String::new();
        rng.fill_template("###-@@", &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(&out[3..4], "-");
        assert!(out[..3].bytes().all(|b| b.is_ascii_digit()));
        assert!(out[4..].bytes().all(|b| b.is_ascii_lowercase()));
    }
}
