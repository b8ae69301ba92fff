//! The conformance suite on redb, plus what only an embedded file store has to prove:
//! persistence across reopen, file locking, readers beside the writer, group commit, watch
//! back-pressure.

use std::sync::Arc;
use std::time::Duration;

use tb_store::{Op, RedbOptions, RedbStore, Store, StoreError, TxnOutcome, WatchEvent, conformance};

fn fresh() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
    (dir, Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite_on_one_store() {
    let (_dir, store) = fresh();
    conformance::run_all(store.clone()).await;
    // Checks clear their own prefix first, so the suite reruns on a kept store.
    conformance::run_all(store).await;
}

/// One test per check on a fresh store, so a failure names the broken rule.
macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {
        mod each_check {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_dir, store) = super::fresh();
                    tb_store::conformance::$check(&store).await;
                }
            )*
        }
    };
}

conformance_tests!(
    get_missing,
    put_then_get,
    revisions_increase_across_keys,
    range_by_prefix,
    delete,
    cas_create_if_absent,
    cas_stale_revision_conflicts,
    cas_delete,
    txn_is_all_or_nothing,
    watch_prefix_events_in_order,
    concurrent_cas_increments_lose_no_update,
    empty_value,
    binary_values,
    large_value,
    range_many_keys,
);

#[tokio::test]
async fn reopen_keeps_data_and_revision_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let last = {
        let store = RedbStore::open(&path).unwrap();
        store.put("/k/a", b"a".to_vec()).await.unwrap();
        store.put("/k/b", b"b".to_vec()).await.unwrap();
        let created = store.put("/k/gone", b"x".to_vec()).await.unwrap();
        assert!(store.delete("/k/gone").await.unwrap());
        let last = store.put("/k/a", b"a2".to_vec()).await.unwrap();
        assert_eq!(last, created + 2, "the delete took one revision");
        last
    };

    let store = RedbStore::open(&path).unwrap();
    let a = store.get("/k/a").await.unwrap().unwrap();
    assert_eq!((a.value.as_slice(), a.revision), (b"a2".as_slice(), last));
    assert_eq!(store.get("/k/gone").await.unwrap(), None);
    let keys: Vec<String> = store.range("/k/").await.unwrap().into_iter().map(|kv| kv.key).collect();
    assert_eq!(keys, ["/k/a", "/k/b"]);

    let next = store.put("/k/c", b"c".to_vec()).await.unwrap();
    assert_eq!(next, last + 1, "the counter continues where it stopped");
    let outcome = store.cas("/k/a", last, b"a3".to_vec()).await.unwrap();
    assert_eq!(outcome, TxnOutcome::Committed(last + 2), "old revisions still compare");
}

#[tokio::test]
async fn open_creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/store.redb");
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.path(), path);
    store.put("/k", b"v".to_vec()).await.unwrap();
    assert!(path.is_file());
}

#[tokio::test]
async fn second_open_of_the_same_file_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let first = RedbStore::open(&path).unwrap();
    first.put("/k", b"v".to_vec()).await.unwrap();

    let err = match RedbStore::open(&path) {
        Ok(_) => panic!("a second open of a locked file must fail"),
        Err(err) => err,
    };
    assert!(matches!(err, StoreError::Unavailable(_)), "expected Unavailable, got {err:?}");
    let message = err.to_string();
    assert!(
        message.contains("already open") && message.contains("store.redb"),
        "the message must say which file is busy: {message}"
    );

    // The failed open did not disturb the first store, and dropping it releases the file.
    assert_eq!(first.get("/k").await.unwrap().unwrap().value, b"v");
    drop(first);
    let again = RedbStore::open(&path).unwrap();
    assert_eq!(again.get("/k").await.unwrap().unwrap().value, b"v");
}

#[tokio::test]
async fn a_file_that_is_not_redb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::write(&path, b"this is not a redb database, just some text").unwrap();
    let err = match RedbStore::open(&path) {
        Ok(_) => panic!("opening garbage must fail"),
        Err(err) => err,
    };
    assert!(matches!(err, StoreError::Corrupt(_) | StoreError::Io(_)), "got {err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_consistent_snapshots_during_writes() {
    const WRITES: u64 = 200;
    let (_dir, store) = fresh();
    store.put("/c/n", b"0".to_vec()).await.unwrap();

    // The writer bumps a counter and a mirror key in one txn each time.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 1..=WRITES {
                let value = n.to_string().into_bytes();
                let ops = vec![
                    Op::Put { key: "/c/n".into(), value: value.clone() },
                    Op::Put { key: "/c/mirror".into(), value },
                ];
                let outcome = store.txn(Vec::new(), ops).await.unwrap();
                assert!(outcome.is_committed());
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut last_seen = 0u64;
            let mut reads = 0u64;
            loop {
                let snapshot = store.range("/c/").await.unwrap();
                reads += 1;
                let n = snapshot.iter().find(|kv| kv.key == "/c/n").unwrap();
                let counter: u64 = std::str::from_utf8(&n.value).unwrap().parse().unwrap();
                assert!(counter >= last_seen, "a reader went back in time");
                if let Some(mirror) = snapshot.iter().find(|kv| kv.key == "/c/mirror") {
                    // Both keys come from one txn: a snapshot never shows half of it.
                    assert_eq!(mirror.value, n.value, "torn read");
                    assert_eq!(mirror.revision, n.revision, "torn read");
                }
                last_seen = counter;
                if counter == WRITES {
                    return reads;
                }
            }
        }));
    }
    writer.await.unwrap();
    for reader in readers {
        let reads = reader.await.unwrap();
        assert!(reads > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_commits() {
    const WRITERS: u64 = 256;
    let (_dir, store) = {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
        (dir, store)
    };
    let before = store.stats();
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.put(&format!("/g/{i}"), b"v".to_vec()).await.unwrap() }));
    }
    let mut revisions = Vec::new();
    for task in tasks {
        revisions.push(task.await.unwrap());
    }
    revisions.sort_unstable();
    let first = revisions[0];
    let expected: Vec<u64> = (first..first + WRITERS).collect();
    assert_eq!(revisions, expected, "each write has its own consecutive revision");

    let after = store.stats();
    let transactions = after.transactions - before.transactions;
    let commits = after.commits - before.commits;
    assert_eq!(transactions, WRITERS);
    // 256 writers queued at once cannot all have found the writer idle.
    assert!(commits < transactions, "group commit should batch: {commits} commits for {transactions} txns");
}

#[tokio::test]
async fn lagging_watcher_is_dropped_without_blocking_writers() {
    let dir = tempfile::tempdir().unwrap();
    let options = RedbOptions { watch_buffer: 4, ..RedbOptions::default() };
    let store = RedbStore::open_with(dir.path().join("store.redb"), options).unwrap();
    let mut slow = store.watch("/w/").await.unwrap();

    // One txn of ten puts overflows the four-event buffer at once.
    let ops = (0..10).map(|i| Op::Put { key: format!("/w/{i}"), value: vec![i] }).collect();
    let outcome = tokio::time::timeout(Duration::from_secs(10), store.txn(Vec::new(), ops))
        .await
        .expect("a full watcher must not block the writer")
        .unwrap();
    assert!(outcome.is_committed());

    let mut delivered = Vec::new();
    while let Some(event) = slow.next().await {
        delivered.push(event.key().to_string());
    }
    assert_eq!(delivered, ["/w/0", "/w/1", "/w/2", "/w/3"], "a dropped watcher keeps what was buffered, then ends");

    // Writes go on, and a new watcher works.
    let mut fresh = store.watch("/w/").await.unwrap();
    let rev = store.put("/w/after", b"x".to_vec()).await.unwrap();
    match fresh.next().await {
        Some(WatchEvent::Put(kv)) => assert_eq!((kv.key.as_str(), kv.revision), ("/w/after", rev)),
        other => panic!("expected the put of /w/after, got {other:?}"),
    }
}

#[tokio::test]
async fn dropped_watch_does_not_disturb_writers_or_other_watchers() {
    let (_dir, store) = fresh();
    let abandoned = store.watch("/d/").await.unwrap();
    let mut kept = store.watch("/d/").await.unwrap();
    drop(abandoned);
    let rev = store.put("/d/k", b"v".to_vec()).await.unwrap();
    match kept.next().await {
        Some(WatchEvent::Put(kv)) => assert_eq!(kv.revision, rev),
        other => panic!("expected the put of /d/k, got {other:?}"),
    }
}

#[tokio::test]
async fn watches_end_when_the_store_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
    let mut watch = store.watch("/").await.unwrap();
    store.put("/k", b"v".to_vec()).await.unwrap();
    drop(store);
    assert!(matches!(watch.next().await, Some(WatchEvent::Put(_))));
    assert_eq!(watch.next().await, None, "a closed store ends its watches");
}
