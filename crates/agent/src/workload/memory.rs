//! sysbench's `memory` test with Milkyway's options (`--memory-block-size=1K
//! --memory-scope=global --memory-total-size=10G`, sequential access), as sysbench 1.0.20
//! (the version distributions ship) runs it: one event reads or writes the whole page-aligned
//! block a machine word at a time with volatile loads or stores, until the total is
//! transferred or the time is up; the score is MiB per second.

use std::ptr;

use super::events::{Limits, RunStats, Step, drive, per_second};

pub const DEFAULT_SECONDS: f64 = 10.0;
pub const DEFAULT_BLOCK_SIZE: usize = 1024;
pub const DEFAULT_TOTAL_SIZE: u64 = 10 << 30;

const WORD: usize = size_of::<usize>();
const PAGE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemOper {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryParams {
    pub oper: MemOper,
    /// Bytes per event; sysbench requires a power of two of at least a word.
    pub block_size: usize,
    /// Bytes to transfer before stopping.
    pub total_size: u64,
    pub limits: Limits,
}

impl MemoryParams {
    pub fn new(oper: MemOper) -> Self {
        MemoryParams {
            oper,
            block_size: DEFAULT_BLOCK_SIZE,
            total_size: DEFAULT_TOTAL_SIZE,
            limits: Limits::seconds(DEFAULT_SECONDS),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryReport {
    pub stats: RunStats,
    pub bytes: u64,
}

impl MemoryReport {
    pub fn mib_per_sec(&self) -> f64 {
        per_second(self.bytes as f64 / (1024.0 * 1024.0), self.stats.elapsed)
    }
}

/// Runs the memory test on one thread (Milkyway runs it with sysbench's default of one).
pub fn run_memory(params: &MemoryParams) -> MemoryReport {
    let words = (params.block_size / WORD).max(1);
    let block_bytes = (words * WORD) as u64;
    let blocks = params.total_size / block_bytes;
    let oper = params.oper;
    let result = drive(1, params.limits, |_| {
        // Over-allocate so the block can start on a page boundary, as sysbench's memalign.
        let mut storage = vec![0usize; words + PAGE / WORD];
        // Touch every page before timing, as sysbench's memset: a calloc'd buffer is the
        // kernel's shared zero page until written, which would flatter reads.
        for word in storage.iter_mut().step_by(PAGE / WORD) {
            // SAFETY: a valid, aligned, exclusive reference; volatile so the write stays.
            unsafe { ptr::write_volatile(word, 1) };
        }
        let misalignment = storage.as_ptr() as usize % PAGE;
        let offset = if misalignment == 0 { 0 } else { (PAGE - misalignment) / WORD };
        let mut left = blocks;
        Ok::<_, std::convert::Infallible>(move || {
            if left == 0 {
                return Ok(Step::Exhausted);
            }
            left -= 1;
            let block = &mut storage[offset..offset + words];
            match oper {
                MemOper::Read => read_block(block),
                MemOper::Write => write_block(block),
            }
            Ok(Step::Event)
        })
    });
    let stats = match result {
        Ok(stats) => stats,
        Err(never) => match never {},
    };
    let bytes = stats.events * block_bytes;
    MemoryReport { stats, bytes }
}

/// sysbench's `event_seq_read`: a volatile load of every word, the value unused.
#[inline(never)]
fn read_block(block: &[usize]) {
    for word in block {
        // SAFETY: `word` is a valid, aligned reference for the duration of the read.
        unsafe { ptr::read_volatile(word) };
    }
}

/// sysbench's `event_seq_write`: a volatile store into every word of its distance to the end.
#[inline(never)]
fn write_block(block: &mut [usize]) {
    let len = block.len();
    for (i, word) in block.iter_mut().enumerate() {
        // SAFETY: `word` is a valid, aligned, exclusive reference for the duration of the write.
        unsafe { ptr::write_volatile(word, len - i) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_total_size() {
        let params = MemoryParams { total_size: 1 << 20, ..MemoryParams::new(MemOper::Write) };
        let report = run_memory(&params);
        assert_eq!(report.bytes, 1 << 20);
        assert_eq!(report.stats.events, 1024);
        assert!(report.mib_per_sec() > 0.0);
    }

    #[test]
    fn read_runs_until_the_time_limit() {
        let params = MemoryParams { limits: Limits::seconds(0.05), ..MemoryParams::new(MemOper::Read) };
        let report = run_memory(&params);
        assert!(report.stats.events > 0);
        assert_eq!(report.bytes, report.stats.events * 1024);
    }

    #[test]
    fn write_block_writes_every_word() {
        let mut block = vec![0; 128];
        write_block(&mut block);
        assert_eq!(block[0], 128);
        assert_eq!(block[127], 1);
        assert!(block.windows(2).all(|w| w[0] == w[1] + 1));
    }
}
