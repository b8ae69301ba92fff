//! Conformance suite every backend must pass.
//!
//! Each check is a public async function taking the store under test; [`run_all`] runs them in
//! sequence. A check first clears, then writes only under, its own prefix (`/conformance/<name>/`),
//! so checks can share one store, run again on a kept store (an etcd cluster), or run beside
//! other data. They panic with a descriptive message on the first violation: call them from
//! tests.
//!
//! Always compiled (it needs only tokio and the trait), so any crate's tests can prove a new
//! backend: `tb_store::conformance::run_all(Arc::new(my_store)).await`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::{Compare, KeyValue, Op, Revision, Store, TxnOutcome, Watch, WatchEvent};

/// How long a watch may take to deliver an event that must come.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check on `store`.
pub async fn run_all(store: Arc<dyn Store>) {
    get_missing(&store).await;
    put_then_get(&store).await;
    revisions_increase_across_keys(&store).await;
    range_by_prefix(&store).await;
    delete(&store).await;
    cas_create_if_absent(&store).await;
    cas_stale_revision_conflicts(&store).await;
    cas_delete(&store).await;
    txn_is_all_or_nothing(&store).await;
    watch_prefix_events_in_order(&store).await;
    concurrent_cas_increments_lose_no_update(&store).await;
    empty_value(&store).await;
    binary_values(&store).await;
    large_value(&store).await;
    range_many_keys(&store).await;
}

/// `get` of a key never written is `None`, even when keys with it as a prefix exist.
pub async fn get_missing(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/get_missing/").await;
    let store = store.as_ref();
    assert_eq!(get(store, "/conformance/get_missing/none").await, None);
    store.put("/conformance/get_missing/none-but-longer", b"x".to_vec()).await.expect("put");
    assert_eq!(get(store, "/conformance/get_missing/none").await, None, "get must match the exact key, not a prefix");
}

/// A put is read back with its value and the revision the put returned; overwriting replaces both.
pub async fn put_then_get(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/put_then_get/").await;
    let store = store.as_ref();
    let key = "/conformance/put_then_get/k";
    let rev = store.put(key, b"one".to_vec()).await.expect("put");
    assert!(rev > 0, "a committed write has a non-zero revision, got {rev}");
    assert_eq!(
        get(store, key).await,
        Some(kv(key, b"one", rev)),
        "get must return what put wrote, at the revision put returned"
    );
    let rev2 = store.put(key, b"two".to_vec()).await.expect("overwrite");
    assert!(rev2 > rev, "overwrite revision {rev2} must exceed {rev}");
    assert_eq!(get(store, key).await, Some(kv(key, b"two", rev2)));
}

/// The revision counter is store-wide: writes to different keys get increasing revisions, and
/// each key keeps the revision of its own last write.
pub async fn revisions_increase_across_keys(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/revisions/").await;
    let store = store.as_ref();
    let a = "/conformance/revisions/a";
    let b = "/conformance/revisions/b";
    let r1 = store.put(a, b"1".to_vec()).await.expect("put a");
    let r2 = store.put(b, b"2".to_vec()).await.expect("put b");
    let r3 = store.put(a, b"3".to_vec()).await.expect("put a again");
    assert!(r1 < r2 && r2 < r3, "revisions must increase across keys: {r1}, {r2}, {r3}");
    assert_eq!(revision_of(store, a).await, r3, "a was last written at {r3}");
    assert_eq!(revision_of(store, b).await, r2, "b keeps the revision of its write");
}

/// `range` returns exactly the keys starting with the prefix, sorted bytewise.
pub async fn range_by_prefix(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/range/").await;
    let store = store.as_ref();
    let base = "/conformance/range";
    // Written out of order on purpose.
    for key in ["/a/2", "/b", "/ab", "/a/1", "/a", "/a/10", "/a0"] {
        store.put(&format!("{base}{key}"), key.as_bytes().to_vec()).await.expect("put");
    }
    let check = |prefix: &'static str, expected: &'static [&'static str]| async move {
        let found = store.range(&format!("{base}{prefix}")).await.expect("range");
        let keys: Vec<&str> = found.iter().map(|kv| kv.key.strip_prefix(base).unwrap_or(&kv.key)).collect();
        assert_eq!(keys, expected, "range({base}{prefix})");
        for found in &found {
            let suffix = found.key.strip_prefix(base).unwrap_or(&found.key);
            assert_eq!(found.value, suffix.as_bytes(), "range must return each key's own value");
            assert!(found.revision > 0, "range entries carry their revision");
        }
    };
    check("/a/", &["/a/1", "/a/10", "/a/2"]).await;
    check("/a", &["/a", "/a/1", "/a/10", "/a/2", "/a0", "/ab"]).await;
    check("/ab", &["/ab"]).await;
    check("/", &["/a", "/a/1", "/a/10", "/a/2", "/a0", "/ab", "/b"]).await;
    check("/c", &[]).await;
    check("/a/1", &["/a/1", "/a/10"]).await;
}

/// `delete` removes the key and reports whether it existed; a deleted key can be created again
/// with create-if-absent.
pub async fn delete(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/delete/").await;
    let store = store.as_ref();
    let key = "/conformance/delete/k";
    let sibling = "/conformance/delete/k2";
    store.put(key, b"v".to_vec()).await.expect("put");
    store.put(sibling, b"v".to_vec()).await.expect("put sibling");
    assert!(store.delete(key).await.expect("delete"), "deleting an existing key reports true");
    assert_eq!(get(store, key).await, None, "deleted key must be gone");
    assert!(!store.delete(key).await.expect("delete again"), "deleting an absent key reports false");
    let left = keys(store, "/conformance/delete/").await;
    assert_eq!(left, vec![sibling.to_string()], "only the sibling remains");
    let outcome = store.cas(key, 0, b"again".to_vec()).await.expect("cas");
    assert!(outcome.is_committed(), "a deleted key is absent (revision 0) again, got {outcome:?}");
}

/// `cas(key, 0, v)` creates the key once; a second create conflicts and leaves the first value.
pub async fn cas_create_if_absent(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/cas_create/").await;
    let store = store.as_ref();
    let key = "/conformance/cas_create/k";
    let first = store.cas(key, 0, b"first".to_vec()).await.expect("cas");
    let TxnOutcome::Committed(rev) = first else {
        panic!("create-if-absent of a new key must commit, got {first:?}");
    };
    assert_eq!(get(store, key).await, Some(kv(key, b"first", rev)));
    let second = store.cas(key, 0, b"second".to_vec()).await.expect("cas");
    assert_eq!(second, TxnOutcome::Conflict, "create-if-absent of an existing key must conflict");
    assert_eq!(get(store, key).await, Some(kv(key, b"first", rev)), "a conflict writes nothing");
}

/// A cas with the key's current revision commits; with an older one it conflicts and writes
/// nothing.
pub async fn cas_stale_revision_conflicts(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/cas_stale/").await;
    let store = store.as_ref();
    let key = "/conformance/cas_stale/k";
    let r1 = store.put(key, b"v1".to_vec()).await.expect("put");
    let r2 = match store.cas(key, r1, b"v2".to_vec()).await.expect("cas") {
        TxnOutcome::Committed(rev) => rev,
        other => panic!("cas at the current revision must commit, got {other:?}"),
    };
    assert!(r2 > r1, "cas revision {r2} must exceed {r1}");
    let stale = store.cas(key, r1, b"v3".to_vec()).await.expect("stale cas");
    assert_eq!(stale, TxnOutcome::Conflict, "cas at a stale revision must conflict");
    let future = store.cas(key, r2 + 1_000_000, b"v3".to_vec()).await;
    assert_eq!(future.expect("cas"), TxnOutcome::Conflict, "cas at a revision the key never had must conflict");
    assert_eq!(get(store, key).await, Some(kv(key, b"v2", r2)), "failed cas must leave the value and revision");
}

/// `cas_delete` removes the key only at its current revision.
pub async fn cas_delete(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/cas_delete/").await;
    let store = store.as_ref();
    let key = "/conformance/cas_delete/k";
    let r1 = store.put(key, b"v1".to_vec()).await.expect("put");
    let r2 = store.put(key, b"v2".to_vec()).await.expect("put");
    let stale = store.cas_delete(key, r1).await.expect("cas_delete");
    assert_eq!(stale, TxnOutcome::Conflict, "cas_delete at a stale revision must conflict");
    assert_eq!(get(store, key).await, Some(kv(key, b"v2", r2)), "conflicting cas_delete keeps the key");
    let done = store.cas_delete(key, r2).await.expect("cas_delete");
    assert!(done.is_committed(), "cas_delete at the current revision must commit, got {done:?}");
    assert_eq!(get(store, key).await, None, "cas_delete removed the key");
}

/// A transaction with several comparisons applies all its ops at one revision, or none of them.
pub async fn txn_is_all_or_nothing(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/txn/").await;
    let store = store.as_ref();
    let a = "/conformance/txn/a";
    let b = "/conformance/txn/b";
    let c = "/conformance/txn/c";
    let ra = store.put(a, b"a1".to_vec()).await.expect("put a");
    let rb = store.put(b, b"b1".to_vec()).await.expect("put b");
    let ops = || {
        vec![
            Op::Put { key: a.into(), value: b"a2".to_vec() },
            Op::Delete { key: b.into() },
            Op::Put { key: c.into(), value: b"c1".to_vec() },
        ]
    };
    let compares = |b_revision| {
        vec![
            compare(a, ra),
            compare(b, b_revision),
            compare(c, 0), // c must be absent
        ]
    };

    // One comparison out of three fails: nothing may change.
    let outcome = store.txn(compares(ra), ops()).await.expect("txn with a failing compare");
    assert_eq!(outcome, TxnOutcome::Conflict, "one failed compare fails the txn");
    assert_eq!(get(store, a).await, Some(kv(a, b"a1", ra)), "a untouched");
    assert_eq!(get(store, b).await, Some(kv(b, b"b1", rb)), "b untouched");
    assert_eq!(get(store, c).await, None, "c not created");

    let outcome = store.txn(compares(rb), ops()).await.expect("txn");
    let TxnOutcome::Committed(rev) = outcome else {
        panic!("all compares hold, txn must commit, got {outcome:?}");
    };
    assert!(rev > rb, "txn revision {rev} must exceed {rb}");
    assert_eq!(get(store, a).await, Some(kv(a, b"a2", rev)), "a rewritten at txn revision");
    assert_eq!(get(store, b).await, None, "b deleted");
    assert_eq!(get(store, c).await, Some(kv(c, b"c1", rev)), "c created at txn revision");

    // Ops only, no compares: an unconditional multi-key write.
    let outcome = store
        .txn(Vec::new(), vec![Op::Put { key: b.into(), value: b"b2".to_vec() }, Op::Delete { key: c.into() }])
        .await
        .expect("unconditional txn");
    let TxnOutcome::Committed(rev2) = outcome else {
        panic!("txn without compares must commit, got {outcome:?}");
    };
    assert!(rev2 > rev, "revision {rev2} must exceed {rev}");
    assert_eq!(get(store, b).await, Some(kv(b, b"b2", rev2)));
    assert_eq!(get(store, c).await, None);
}

/// A watch sees puts and deletes under its prefix only, in revision order, with the writers'
/// revisions, and nothing written before it was created.
pub async fn watch_prefix_events_in_order(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/watch/").await;
    let store = store.as_ref();
    let prefix = "/conformance/watch/in/";
    store.put("/conformance/watch/in/before", b"old".to_vec()).await.expect("put before watch");
    let mut watch = store.watch(prefix).await.expect("watch");

    let r1 = store.put("/conformance/watch/in/a", b"1".to_vec()).await.expect("put a");
    store.put("/conformance/watch/inside-not", b"x".to_vec()).await.expect("put outside (prefix without slash)");
    store.put("/conformance/watch/out/a", b"x".to_vec()).await.expect("put outside");
    let r2 = store.put("/conformance/watch/in/b", b"2".to_vec()).await.expect("put b");
    assert!(store.delete("/conformance/watch/in/a").await.expect("delete a"), "a existed");
    assert!(!store.delete("/conformance/watch/in/never").await.expect("delete absent"), "never-written key is absent");
    let r4 = store.put("/conformance/watch/in/a", b"3".to_vec()).await.expect("put a again");
    // The last event proves nothing else was queued before it.
    let done = store.put("/conformance/watch/in/done", b"".to_vec()).await.expect("put sentinel");

    let mut seen = Vec::new();
    loop {
        let event = next_event(&mut watch).await;
        let last = event.key() == "/conformance/watch/in/done";
        seen.push(event);
        if last {
            break;
        }
    }
    let [put_a, put_b, delete_a, put_a_again, sentinel] = seen.as_slice() else {
        panic!("expected exactly 5 events under {prefix}, got {seen:#?}");
    };
    assert_eq!(*put_a, WatchEvent::Put(kv("/conformance/watch/in/a", b"1", r1)));
    assert_eq!(*put_b, WatchEvent::Put(kv("/conformance/watch/in/b", b"2", r2)));
    let WatchEvent::Delete { key, revision: r3 } = delete_a else {
        panic!("third event must be the delete of a, got {delete_a:?}");
    };
    assert_eq!(key, "/conformance/watch/in/a");
    assert!(r2 < *r3 && *r3 < r4, "delete revision {r3} must lie between {r2} and {r4}");
    assert_eq!(*put_a_again, WatchEvent::Put(kv("/conformance/watch/in/a", b"3", r4)));
    assert_eq!(*sentinel, WatchEvent::Put(kv("/conformance/watch/in/done", b"", done)));
}

/// Many tasks incrementing one counter with get + cas: every successful cas counts exactly once
/// (no lost update), and each success has its own revision.
pub async fn concurrent_cas_increments_lose_no_update(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/concurrent_cas/").await;
    const TASKS: usize = 32;
    const ATTEMPTS: usize = 50;
    let key = "/conformance/concurrent_cas/counter";
    store.put(key, b"0".to_vec()).await.expect("init counter");

    let mut tasks = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..ATTEMPTS {
                let current = store.get(key).await.expect("get counter").expect("counter exists");
                let next = parse_counter(&current.value) + 1;
                let outcome =
                    store.cas(key, current.revision, next.to_string().into_bytes()).await.expect("cas counter");
                if let TxnOutcome::Committed(rev) = outcome {
                    won.push(rev);
                }
            }
            won
        }));
    }
    let mut revisions = Vec::new();
    for task in tasks {
        revisions.extend(task.await.expect("increment task panicked"));
    }
    let successes = revisions.len() as u64;
    assert!(successes > 0, "at least one increment must succeed");
    let unique: HashSet<Revision> = revisions.iter().copied().collect();
    assert_eq!(unique.len(), revisions.len(), "two successful cas calls reported the same revision");
    let last = get(store.as_ref(), key).await.expect("counter exists");
    assert_eq!(
        parse_counter(&last.value),
        successes,
        "counter must equal the number of successful increments (lost update?)"
    );
    assert_eq!(
        Some(last.revision),
        revisions.iter().copied().max(),
        "the counter's revision is that of the last successful cas"
    );
}

/// An empty value is stored and is distinct from an absent key.
pub async fn empty_value(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/empty_value/").await;
    let store = store.as_ref();
    let key = "/conformance/empty_value/k";
    let rev = store.put(key, Vec::new()).await.expect("put empty");
    assert_eq!(get(store, key).await, Some(kv(key, b"", rev)), "an empty value must read back as present and empty");
    let outcome = store.cas(key, 0, b"x".to_vec()).await.expect("cas");
    assert_eq!(outcome, TxnOutcome::Conflict, "a key with an empty value exists");
}

/// Values are bytes, not text: every byte value round-trips.
pub async fn binary_values(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/binary/").await;
    let store = store.as_ref();
    let all_bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let not_utf8 = vec![0xff, 0xfe, 0x00, 0xc3, 0x28, 0x00];
    for (name, value) in [("all", all_bytes), ("not_utf8", not_utf8)] {
        let key = format!("/conformance/binary/{name}");
        let rev = store.put(&key, value.clone()).await.expect("put binary");
        assert_eq!(get(store, &key).await, Some(kv(&key, &value, rev)), "binary value {name} must round-trip");
    }
}

/// A 1 MiB value round-trips through get and range.
pub async fn large_value(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/large/").await;
    let store = store.as_ref();
    let key = "/conformance/large/k";
    let value: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let rev = store.put(key, value.clone()).await.expect("put 1 MiB");
    let read = get(store, key).await.expect("large value present");
    assert_eq!(read.revision, rev);
    assert!(read.value == value, "1 MiB value must round-trip byte for byte");
    let listed = store.range("/conformance/large/").await.expect("range");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].value == value, "range must return the whole 1 MiB value");
}

/// 10 000 keys written in shuffled order come back complete and sorted, and a sub-prefix
/// selects exactly its share.
pub async fn range_many_keys(store: &Arc<dyn Store>) {
    clear(store.as_ref(), "/conformance/many/").await;
    const KEYS: u64 = 10_000;
    const PER_TXN: u64 = 500;
    let store = store.as_ref();
    let prefix = "/conformance/many/";
    // 7919 is prime and coprime with KEYS, so this visits every index once, out of order.
    let shuffled: Vec<u64> = (0..KEYS).map(|i| (i * 7919) % KEYS).collect();
    for chunk in shuffled.chunks(PER_TXN as usize) {
        let ops =
            chunk.iter().map(|i| Op::Put { key: format!("{prefix}{i:05}"), value: i.to_le_bytes().to_vec() }).collect();
        let outcome = store.txn(Vec::new(), ops).await.expect("bulk txn");
        assert!(outcome.is_committed(), "bulk write must commit, got {outcome:?}");
    }
    let all = store.range(prefix).await.expect("range all");
    assert_eq!(all.len() as u64, KEYS, "range must return every key");
    for (i, found) in (0..KEYS).zip(&all) {
        assert_eq!(found.key, format!("{prefix}{i:05}"), "range must be sorted");
        assert_eq!(found.value, i.to_le_bytes(), "value of {}", found.key);
    }
    let batch_revisions: HashSet<Revision> = all.iter().map(|kv| kv.revision).collect();
    assert_eq!(batch_revisions.len() as u64, KEYS / PER_TXN, "keys written by one txn share its revision");
    let tens = store.range(&format!("{prefix}012")).await.expect("range sub-prefix");
    let expected: Vec<String> = (1200..1300).map(|i| format!("{prefix}{i:05}")).collect();
    let got: Vec<String> = tens.into_iter().map(|kv| kv.key).collect();
    assert_eq!(got, expected, "sub-prefix range");
}

/// Removes whatever an earlier run left under `prefix`, so checks can rerun on a kept store.
async fn clear(store: &dyn Store, prefix: &str) {
    let ops: Vec<Op> = keys(store, prefix).await.into_iter().map(|key| Op::Delete { key }).collect();
    if !ops.is_empty() {
        store.txn(Vec::new(), ops).await.unwrap_or_else(|e| panic!("clearing {prefix} failed: {e}"));
    }
}

async fn get(store: &dyn Store, key: &str) -> Option<KeyValue> {
    store.get(key).await.unwrap_or_else(|e| panic!("get {key} failed: {e}"))
}

async fn revision_of(store: &dyn Store, key: &str) -> Revision {
    get(store, key).await.unwrap_or_else(|| panic!("{key} must exist")).revision
}

async fn keys(store: &dyn Store, prefix: &str) -> Vec<String> {
    store
        .range(prefix)
        .await
        .unwrap_or_else(|e| panic!("range {prefix} failed: {e}"))
        .into_iter()
        .map(|kv| kv.key)
        .collect()
}

async fn next_event(watch: &mut Watch) -> WatchEvent {
    match tokio::time::timeout(EVENT_TIMEOUT, watch.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("watch ended while events were expected"),
        Err(_) => panic!("no watch event within {EVENT_TIMEOUT:?}"),
    }
}

fn kv(key: &str, value: &[u8], revision: Revision) -> KeyValue {
    KeyValue { key: key.to_string(), value: value.to_vec(), revision }
}

fn compare(key: &str, revision: Revision) -> Compare {
    Compare { key: key.to_string(), revision }
}

fn parse_counter(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("counter value {bytes:?} is not a number"))
}
