//! sysbench's `oltp_read_only` and `oltp_write_only` transactions on an embedded SQLite
//! database instead of MySQL. The table is sysbench's `sbtest1` (id, k, c CHAR(120),
//! pad CHAR(60), a secondary index on k), filled as `oltp_common.lua` fills it; row ids are
//! drawn from sysbench's default `special` distribution.
//!
//! Read-only transaction: BEGIN, 10 point selects, one each of simple range, SUM range,
//! ORDER BY range and DISTINCT range over 100 ids, COMMIT. Write-only transaction: BEGIN,
//! index update, non-index update, delete + insert of one row, COMMIT. The database runs in
//! WAL mode with `synchronous=FULL`, so every write commit is flushed to disk, as InnoDB does
//! with its default `innodb_flush_log_at_trx_commit=1`. The score is transactions per second.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::events::{Limits, RunStats, Step, drive};
use super::rand::SbRng;

pub const DEFAULT_SECONDS: f64 = 10.0;
/// The `--table-size` Milkyway prepares.
pub const DEFAULT_TABLE_SIZE: u32 = 100_000;
pub const DB_FILE: &str = "sbtest.db";

const POINT_SELECTS: usize = 10;
const RANGE_SIZE: u32 = 100;
const C_TEMPLATE: &str = "###########-###########-###########-###########-###########-###########-###########-###########-###########-###########";
const PAD_TEMPLATE: &str = "###########-###########-###########-###########-###########";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OltpMode {
    ReadOnly,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OltpParams {
    pub mode: OltpMode,
    pub limits: Limits,
}

impl OltpParams {
    pub fn new(mode: OltpMode) -> Self {
        OltpParams { mode, limits: Limits::seconds(DEFAULT_SECONDS) }
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Creates and fills `sbtest1` (`oltp_read_write.lua prepare`), replacing an earlier one.
pub fn prepare(path: &Path, table_size: u32) -> rusqlite::Result<()> {
    let mut conn = open(path)?;
    conn.execute_batch(
        "DROP TABLE IF EXISTS sbtest1;
         DROP TABLE IF EXISTS sbmeta;
         CREATE TABLE sbtest1(
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           k INTEGER DEFAULT 0 NOT NULL,
           c CHAR(120) DEFAULT '' NOT NULL,
           pad CHAR(60) DEFAULT '' NOT NULL);
         CREATE TABLE sbmeta(table_size INTEGER NOT NULL);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO sbtest1(k, c, pad) VALUES (?1, ?2, ?3)")?;
        let mut rng = SbRng::from_time(0);
        let (mut c, mut pad) = (String::new(), String::new());
        for _ in 0..table_size {
            rng.fill_template(C_TEMPLATE, &mut c);
            rng.fill_template(PAD_TEMPLATE, &mut pad);
            insert.execute(params![rng.special(1, table_size.max(1)), c, pad])?;
        }
        tx.execute("INSERT INTO sbmeta(table_size) VALUES (?1)", [table_size])?;
    }
    tx.commit()?;
    conn.execute_batch("CREATE INDEX k_1 ON sbtest1(k); ANALYZE;")?;
    Ok(())
}

/// The table size a finished `prepare` recorded; `None` when there is no prepared database.
pub fn prepared_table_size(path: &Path) -> rusqlite::Result<Option<u32>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open(path)?;
    let has_meta: bool =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sbmeta'", [], |r| {
            r.get(0)
        })?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row("SELECT table_size FROM sbmeta", [], |r| r.get(0)).optional()
}

/// Removes the database and its WAL files (`oltp cleanup`); true if it existed.
pub fn remove(path: &Path) -> std::io::Result<bool> {
    let mut removed = false;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => removed = true,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(removed)
}

/// Runs read-only or write-only transactions on one connection (sysbench's default of one
/// thread; SQLite serialises writers anyway).
pub fn run_oltp(path: &Path, table_size: u32, params: &OltpParams) -> rusqlite::Result<RunStats> {
    let mode = params.mode;
    let size = table_size.max(1);
    drive(1, params.limits, |_| {
        let conn = open(path)?;
        let mut rng = SbRng::from_time(0);
        let mut text = String::new();
        let mut pad = String::new();
        Ok(move || {
            match mode {
                OltpMode::ReadOnly => read_only_transaction(&conn, &mut rng, size)?,
                OltpMode::WriteOnly => write_only_transaction(&conn, &mut rng, size, &mut text, &mut pad)?,
            }
            Ok(Step::Event)
        })
    })
}

fn read_only_transaction(conn: &Connection, rng: &mut SbRng, size: u32) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    {
        let mut point = conn.prepare_cached("SELECT c FROM sbtest1 WHERE id = ?1")?;
        for _ in 0..POINT_SELECTS {
            drain(point.query([rng.special(1, size)])?)?;
        }
    }
    for sql in [
        "SELECT c FROM sbtest1 WHERE id BETWEEN ?1 AND ?2",
        "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ?1 AND ?2",
        "SELECT c FROM sbtest1 WHERE id BETWEEN ?1 AND ?2 ORDER BY c",
        "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ?1 AND ?2 ORDER BY c",
    ] {
        let id = rng.special(1, size);
        drain(conn.prepare_cached(sql)?.query([id, id + RANGE_SIZE - 1])?)?;
    }
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(())
}

fn write_only_transaction(
    conn: &Connection,
    rng: &mut SbRng,
    size: u32,
    text: &mut String,
    pad: &mut String,
) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    conn.prepare_cached("UPDATE sbtest1 SET k = k + 1 WHERE id = ?1")?.execute([rng.special(1, size)])?;
    rng.fill_template(C_TEMPLATE, text);
    conn.prepare_cached("UPDATE sbtest1 SET c = ?1 WHERE id = ?2")?
        .execute(params![text.as_str(), rng.special(1, size)])?;
    let id = rng.special(1, size);
    let k = rng.special(1, size);
    conn.prepare_cached("DELETE FROM sbtest1 WHERE id = ?1")?.execute([id])?;
    rng.fill_template(C_TEMPLATE, text);
    rng.fill_template(PAD_TEMPLATE, pad);
    conn.prepare_cached("INSERT INTO sbtest1(id, k, c, pad) VALUES (?1, ?2, ?3, ?4)")?.execute(params![
        id,
        k,
        text.as_str(),
        pad.as_str()
    ])?;
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(())
}

/// Reads every row, as the MySQL client in sysbench fetches every result set.
fn drain(mut rows: rusqlite::Rows<'_>) -> rusqlite::Result<()> {
    while let Some(row) = rows.next()? {
        std::hint::black_box(row.get_ref(0)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_records_the_table_and_remove_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        assert_eq!(prepared_table_size(&path).unwrap(), None);
        prepare(&path, 500).unwrap();
        assert_eq!(prepared_table_size(&path).unwrap(), Some(500));
        let conn = Connection::open(&path).unwrap();
        let (rows, max_id, c_len, pad_len): (u32, u32, u32, u32) = conn
            .query_row("SELECT count(*), max(id), max(length(c)), max(length(pad)) FROM sbtest1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!((rows, max_id, c_len, pad_len), (500, 500, 119, 59));
        drop(conn);
        assert!(remove(&path).unwrap());
        assert!(!path.exists());
        assert!(!remove(&path).unwrap());
    }

    #[test]
    fn read_only_transactions_leave_the_table_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        prepare(&path, 1_000).unwrap();
        let sum = |p: &Path| -> i64 {
            Connection::open(p).unwrap().query_row("SELECT sum(k) FROM sbtest1", [], |r| r.get(0)).unwrap()
        };
        let before = sum(&path);
        let params = OltpParams {
            limits: Limits { max_events: 50, ..Limits::seconds(30.0) },
            ..OltpParams::new(OltpMode::ReadOnly)
        };
        let stats = run_oltp(&path, 1_000, &params).unwrap();
        assert_eq!(stats.events, 50);
        assert_eq!(sum(&path), before);
    }

    #[test]
    fn write_only_transactions_keep_the_row_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        prepare(&path, 1_000).unwrap();
        Connection::open(&path).unwrap().execute("UPDATE sbtest1 SET c = ''", []).unwrap();
        let params = OltpParams {
            limits: Limits { max_events: 20, ..Limits::seconds(30.0) },
            ..OltpParams::new(OltpMode::WriteOnly)
        };
        let stats = run_oltp(&path, 1_000, &params).unwrap();
        assert_eq!(stats.events, 20);
        let conn = Connection::open(&path).unwrap();
        let rows: u32 = conn.query_row("SELECT count(*) FROM sbtest1", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1_000);
        // Each transaction writes a new `c` into two rows (the non-index update and the
        // re-inserted row), which may coincide.
        let rewritten: u32 = conn.query_row("SELECT count(*) FROM sbtest1 WHERE c != ''", [], |r| r.get(0)).unwrap();
        assert!((1..=40).contains(&rewritten), "{rewritten} rows rewritten");
    }
}
