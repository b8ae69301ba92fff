//! sysbench's `fileio` test with Milkyway's options (`--file-total-size=50M`, random reads or
//! random writes, 30 s): 128 files (`test_file.N`), 16 KiB blocks at uniformly random
//! block-aligned offsets over all files, ordinary buffered I/O (no `O_DIRECT`, like
//! sysbench's default, so reads are mostly served by the page cache). In write mode, after
//! every 100 requests each file is fsynced in turn, each fsync being one event, as sysbench
//! does by default. The score is MiB per second read or written over the whole run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::events::{Limits, RunStats, Step, drive, per_second};
use super::rand::SbRng;

pub const DEFAULT_SECONDS: f64 = 30.0;
pub const DEFAULT_TOTAL_SIZE: u64 = 50 << 20;
pub const DEFAULT_NUM_FILES: usize = 128;
pub const DEFAULT_BLOCK_SIZE: usize = 16 << 10;
pub const DEFAULT_FSYNC_FREQ: u64 = 100;

const FILE_PREFIX: &str = "test_file.";
const PAGE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// `rndrd`
    RandomRead,
    /// `rndwr`
    RandomWrite,
}

/// The prepared files: `num_files` files of `file_size` bytes in `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSet {
    pub dir: PathBuf,
    pub num_files: usize,
    pub file_size: u64,
}

impl FileSet {
    pub fn total_size(&self) -> u64 {
        self.file_size * self.num_files as u64
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("{FILE_PREFIX}{index}"))
    }

    /// Creates the files (`sysbench fileio prepare`): zero-filled, fsynced. Existing files
    /// from an earlier preparation are replaced.
    pub fn prepare(dir: &Path, total_size: u64, num_files: usize) -> io::Result<FileSet> {
        let num_files = num_files.max(1);
        fs::create_dir_all(dir)?;
        remove_files(dir)?;
        let set = FileSet { dir: dir.to_path_buf(), num_files, file_size: total_size / num_files as u64 };
        let chunk = vec![0u8; DEFAULT_BLOCK_SIZE];
        for index in 0..num_files {
            let mut file = File::create(set.path(index))?;
            let mut left = set.file_size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            file.sync_all()?;
        }
        Ok(set)
    }

    /// Finds the files an earlier `prepare` left in `dir`; `None` when there are none, or
    /// when they are incomplete (a number missing, sizes differing).
    pub fn discover(dir: &Path) -> io::Result<Option<FileSet>> {
        let mut sizes = Vec::new();
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(index) =
                name.to_str().and_then(|n| n.strip_prefix(FILE_PREFIX)).and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            sizes.push((index, entry.metadata()?.len()));
        }
        sizes.sort_unstable();
        let complete = sizes.iter().enumerate().all(|(i, &(index, size))| i == index && size == sizes[0].1);
        match sizes.first() {
            Some(&(_, file_size)) if complete && file_size > 0 => {
                Ok(Some(FileSet { dir: dir.to_path_buf(), num_files: sizes.len(), file_size }))
            }
            _ => Ok(None),
        }
    }
}

/// Removes every `test_file.N` in `dir` (`sysbench fileio cleanup`); true if any existed.
pub fn remove_files(dir: &Path) -> io::Result<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let mut removed = false;
    for entry in entries {
        let entry = entry?;
        let is_ours = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix(FILE_PREFIX))
            .is_some_and(|n| n.parse::<u64>().is_ok());
        if is_ours {
            fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    Ok(removed)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileIoParams {
    pub mode: FileMode,
    pub block_size: usize,
    /// fsync all files after this many requests (writes only); 0 disables.
    pub fsync_freq: u64,
    pub threads: usize,
    pub limits: Limits,
}

impl FileIoParams {
    pub fn new(mode: FileMode) -> Self {
        FileIoParams {
            mode,
            block_size: DEFAULT_BLOCK_SIZE,
            fsync_freq: DEFAULT_FSYNC_FREQ,
            threads: 1,
            limits: Limits::seconds(DEFAULT_SECONDS),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileIoReport {
    pub stats: RunStats,
    pub reads: u64,
    pub writes: u64,
    pub fsyncs: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl FileIoReport {
    pub fn read_mib_per_sec(&self) -> f64 {
        per_second(self.bytes_read as f64 / (1024.0 * 1024.0), self.stats.elapsed)
    }

    pub fn written_mib_per_sec(&self) -> f64 {
        per_second(self.bytes_written as f64 / (1024.0 * 1024.0), self.stats.elapsed)
    }
}

enum Request {
    Read { file: usize, pos: u64, len: usize },
    Write { file: usize, pos: u64, len: usize },
    Fsync { file: usize },
}

/// sysbench's random request generator, shared by all threads under one lock.
struct Generator {
    rng: SbRng,
    performed: u64,
    dirty: bool,
    next_fsync: usize,
    reads: u64,
    writes: u64,
    fsyncs: u64,
    bytes_read: u64,
    bytes_written: u64,
}

impl Generator {
    fn next(&mut self, set: &FileSet, params: &FileIoParams) -> Request {
        if params.fsync_freq != 0 && self.dirty && self.performed.is_multiple_of(params.fsync_freq) {
            let file = self.next_fsync;
            self.next_fsync += 1;
            if self.next_fsync == set.num_files {
                self.next_fsync = 0;
                self.dirty = false;
            }
            return Request::Fsync { file };
        }
        let total = set.total_size();
        let block = params.block_size as u64;
        let mut pos = (self.rng.uniform_double() * total as f64) as u64;
        pos -= pos % block;
        let file = ((pos / set.file_size) as usize).min(set.num_files - 1);
        let pos = pos % set.file_size;
        let len = block.min(set.file_size - pos) as usize;
        self.performed += 1;
        match params.mode {
            FileMode::RandomRead => Request::Read { file, pos, len },
            FileMode::RandomWrite => {
                self.dirty = true;
                Request::Write { file, pos, len }
            }
        }
    }
}

/// Runs random reads or writes over a prepared file set.
pub fn run_fileio(set: &FileSet, params: &FileIoParams) -> io::Result<FileIoReport> {
    let writing = params.mode == FileMode::RandomWrite;
    let files: Vec<File> = (0..set.num_files)
        // Read-write even for reads, as sysbench opens them.
        .map(|i| OpenOptions::new().read(true).write(true).open(set.path(i)))
        .collect::<io::Result<_>>()?;
    let generator = Mutex::new(Generator {
        rng: SbRng::from_time(0),
        performed: 0,
        dirty: false,
        next_fsync: 0,
        reads: 0,
        writes: 0,
        fsyncs: 0,
        bytes_read: 0,
        bytes_written: 0,
    });
    let stats = drive(params.threads, params.limits, |thread| {
        // Page-aligned like sysbench's memalign'ed buffer: the kernel copies faster to and
        // from aligned memory, and the score should not depend on where malloc put it.
        let mut storage = vec![0u8; params.block_size + PAGE];
        let offset = (PAGE - storage.as_ptr() as usize % PAGE) % PAGE;
        let block = offset..offset + params.block_size;
        let mut fill = SbRng::from_time(thread as u64 + 1);
        storage[block.clone()].iter_mut().for_each(|b| *b = fill.next_u64() as u8);
        let (files, generator) = (&files, &generator);
        Ok(move || {
            let buffer = &mut storage[block.clone()];
            let request = lock(generator).next(set, params);
            match request {
                Request::Read { file, pos, len } => {
                    files[file].read_exact_at(&mut buffer[..len], pos)?;
                    let mut g = lock(generator);
                    g.reads += 1;
                    g.bytes_read += len as u64;
                }
                Request::Write { file, pos, len } => {
                    files[file].write_all_at(&buffer[..len], pos)?;
                    let mut g = lock(generator);
                    g.writes += 1;
                    g.bytes_written += len as u64;
                }
                Request::Fsync { file } => {
                    files[file].sync_all()?;
                    lock(generator).fsyncs += 1;
                }
            }
            Ok::<_, io::Error>(Step::Event)
        })
    })?;
    if writing {
        // sysbench's `--file-fsync-end`: after the clock stopped.
        for file in &files {
            file.sync_all()?;
        }
    }
    let g = generator.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(FileIoReport {
        stats,
        reads: g.reads,
        writes: g.writes,
        fsyncs: g.fsyncs,
        bytes_read: g.bytes_read,
        bytes_written: g.bytes_written,
    })
}

fn lock(generator: &Mutex<Generator>) -> std::sync::MutexGuard<'_, Generator> {
    generator.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_discover_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(FileSet::discover(dir.path()).unwrap(), None);
        let set = FileSet::prepare(dir.path(), 1 << 20, 8).unwrap();
        assert_eq!(set.file_size, 128 << 10);
        assert_eq!(FileSet::discover(dir.path()).unwrap(), Some(set));
        fs::write(dir.path().join("other"), b"x").unwrap();
        assert!(remove_files(dir.path()).unwrap());
        assert_eq!(FileSet::discover(dir.path()).unwrap(), None);
        assert!(dir.path().join("other").exists());
        assert!(!remove_files(dir.path()).unwrap());
    }

    #[test]
    fn discover_rejects_an_incomplete_set() {
        let dir = tempfile::tempdir().unwrap();
        FileSet::prepare(dir.path(), 64 << 10, 4).unwrap();
        fs::remove_file(dir.path().join("test_file.1")).unwrap();
        assert_eq!(FileSet::discover(dir.path()).unwrap(), None);
    }

    #[test]
    fn random_reads_stay_in_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let set = FileSet::prepare(dir.path(), 1 << 20, 4).unwrap();
        let params = FileIoParams {
            limits: Limits { max_events: 2_000, ..Limits::seconds(30.0) },
            ..FileIoParams::new(FileMode::RandomRead)
        };
        let report = run_fileio(&set, &params).unwrap();
        assert_eq!(report.reads, 2_000);
        assert_eq!(report.bytes_read, 2_000 * 16 * 1024);
        assert_eq!(report.writes + report.fsyncs, 0);
        assert!(report.read_mib_per_sec() > 0.0);
    }

    #[test]
    fn writes_fsync_every_file_after_each_hundred_requests() {
        let dir = tempfile::tempdir().unwrap();
        let set = FileSet::prepare(dir.path(), 256 << 10, 4).unwrap();
        // 100 writes, then 4 fsync events, then 96 more writes.
        let params = FileIoParams {
            limits: Limits { max_events: 200, ..Limits::seconds(30.0) },
            ..FileIoParams::new(FileMode::RandomWrite)
        };
        let report = run_fileio(&set, &params).unwrap();
        assert_eq!(report.fsyncs, 4);
        assert_eq!(report.writes, 196);
        assert_eq!(report.bytes_written, 196 * 16 * 1024);
        // The files keep their size: writes land inside them.
        assert_eq!(FileSet::discover(dir.path()).unwrap(), Some(set));
    }
}
