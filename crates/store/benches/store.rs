//! redb store latency: single-caller put/get/cas, and 16 concurrent callers with and without
//! group commit. Files live under cargo's target tmpdir, i.e. on the same disk as the build.
//!
//! Run: `cargo bench -p tb-store --bench store`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tb_store::{Op, RedbOptions, RedbStore, Store, TxnOutcome};
use tokio::runtime::Runtime;

const PRELOADED_KEYS: u64 = 10_000;
const TASKS: u64 = 16;

struct Bench {
    rt: Runtime,
    // Kept to delete the files when the bench ends.
    _dir: tempfile::TempDir,
    store: Arc<RedbStore>,
}

fn bench_store(options: RedbOptions) -> Bench {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = Arc::new(RedbStore::open_with(dir.path().join("bench.redb"), options).unwrap());
    Bench { rt, _dir: dir, store }
}

fn single_caller(c: &mut Criterion) {
    let Bench { rt, _dir, store } = bench_store(RedbOptions::default());
    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));

    let mut n = 0u64;
    group.bench_function("put_new_key", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(store.put(&format!("/put/{n}"), b"value".to_vec())).unwrap()
        })
    });

    rt.block_on(async {
        for chunk in (0..PRELOADED_KEYS).collect::<Vec<_>>().chunks(1000) {
            let ops = chunk.iter().map(|i| Op::Put { key: format!("/get/{i:05}"), value: vec![0u8; 256] }).collect();
            store.txn(Vec::new(), ops).await.unwrap();
        }
    });
    let mut i = 0u64;
    group.bench_function("get_among_10k", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOADED_KEYS;
            let found = rt.block_on(store.get(&format!("/get/{i:05}"))).unwrap();
            black_box(found.is_some())
        })
    });

    let mut revision = rt.block_on(store.put("/cas/counter", 0u64.to_le_bytes().to_vec())).unwrap();
    let mut value = 0u64;
    group.bench_function("cas_increment", |b| {
        b.iter(|| {
            value += 1;
            let outcome = rt.block_on(store.cas("/cas/counter", revision, value.to_le_bytes().to_vec())).unwrap();
            match outcome {
                TxnOutcome::Committed(rev) => revision = rev,
                TxnOutcome::Conflict => panic!("sole writer conflicted"),
            }
        })
    });
    group.finish();
}

/// `ops` writes split over [`TASKS`] tasks; returns the wall time for all of them.
fn concurrent(rt: &Runtime, store: &Arc<RedbStore>, ops: u64, cas: bool, round: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let share = ops / TASKS + u64::from(t < ops % TASKS);
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // Each task owns its key, so cas never conflicts: this measures throughput.
                let key = format!("/concurrent/{round}/{t}");
                let mut revision = 0;
                for i in 0..share {
                    let value = i.to_le_bytes().to_vec();
                    if cas {
                        match store.cas(&key, revision, value).await.unwrap() {
                            TxnOutcome::Committed(rev) => revision = rev,
                            TxnOutcome::Conflict => panic!("owner of {key} conflicted"),
                        }
                    } else {
                        store.put(&format!("{key}/{i}"), value).await.unwrap();
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    })
}

fn sixteen_callers(c: &mut Criterion) {
    let mut group = c.benchmark_group("16_tasks");
    group.throughput(Throughput::Elements(1));
    let variants = [
        ("group_commit", RedbOptions::default()),
        ("one_commit_per_txn", RedbOptions { max_batch: 1, ..RedbOptions::default() }),
    ];
    for (name, options) in variants {
        let Bench { rt, _dir, store } = bench_store(options);
        let mut round = 0u64;
        for (op, cas) in [("cas", true), ("put", false)] {
            group.bench_function(format!("{op}/{name}"), |b| {
                b.iter_custom(|iters| {
                    round += 1;
                    concurrent(&rt, &store, iters, cas, round)
                })
            });
        }
        let stats = store.stats();
        println!(
            "{name}: {} txns in {} commits ({:.1} txns per commit)",
            stats.transactions,
            stats.commits,
            stats.transactions as f64 / stats.commits.max(1) as f64
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = single_caller, sixteen_callers
}
criterion_main!(benches);
