//! Typed JSON documents over the store. Every update is a compare-and-swap on the document's
//! revision; read-modify-write helpers retry a bounded number of times on conflict.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tb_store::{Revision, Store, TxnOutcome};

use crate::{CoreError, CoreResult, keys};

/// How often a read-modify-write is retried when another writer got in between.
pub(crate) const MAX_CAS_RETRIES: usize = 16;

pub(crate) struct Versioned<T> {
    pub value: T,
    pub revision: Revision,
}

pub(crate) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> CoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| CoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

pub(crate) fn encode<T: Serialize>(key: &str, value: &T) -> CoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| CoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

pub(crate) async fn get<T: DeserializeOwned>(store: &dyn Store, key: &str) -> CoreResult<Option<Versioned<T>>> {
    match store.get(key).await? {
        None => Ok(None),
        Some(kv) => Ok(Some(Versioned { value: decode(key, &kv.value)?, revision: kv.revision })),
    }
}

/// Direct children of `prefix`, decoded, in key order.
pub(crate) async fn list_children<T: DeserializeOwned>(store: &dyn Store, prefix: &str) -> CoreResult<Vec<T>> {
    let mut out = Vec::new();
    for kv in store.range(prefix).await? {
        if keys::is_direct_child(prefix, &kv.key) {
            out.push(decode(&kv.key, &kv.value)?);
        }
    }
    Ok(out)
}

/// Ids (last key segment) of the direct children of `prefix`.
pub(crate) async fn list_child_ids(store: &dyn Store, prefix: &str) -> CoreResult<Vec<String>> {
    Ok(store
        .range(prefix)
        .await?
        .into_iter()
        .filter(|kv| keys::is_direct_child(prefix, &kv.key))
        .map(|kv| kv.key[prefix.len()..].to_string())
        .collect())
}

/// Writes a new document; `AlreadyExists(what)` if the key is taken.
pub(crate) async fn create<T: Serialize>(store: &dyn Store, key: &str, value: &T, what: &str) -> CoreResult<Revision> {
    match store.cas(key, 0, encode(key, value)?).await? {
        TxnOutcome::Committed(rev) => Ok(rev),
        TxnOutcome::Conflict => Err(CoreError::AlreadyExists(format!("{what} already exists"))),
    }
}

/// Replaces a document read at `revision`; `ConcurrentUpdate` if it changed since.
pub(crate) async fn replace<T: Serialize>(
    store: &dyn Store,
    key: &str,
    revision: Revision,
    value: &T,
) -> CoreResult<Revision> {
    match store.cas(key, revision, encode(key, value)?).await? {
        TxnOutcome::Committed(rev) => Ok(rev),
        TxnOutcome::Conflict => Err(CoreError::ConcurrentUpdate(key.to_string())),
    }
}

/// Read-modify-write with compare-and-swap, retried on conflict. `f` may refuse the change by
/// returning an error; it may run several times, so it must not have side effects.
pub(crate) async fn modify<T, F>(store: &dyn Store, key: &str, what: &str, mut f: F) -> CoreResult<T>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(&mut T) -> CoreResult<()>,
{
    for _ in 0..MAX_CAS_RETRIES {
        let Some(Versioned { mut value, revision }) = get::<T>(store, key).await? else {
            return Err(CoreError::NotFound(format!("{what} does not exist")));
        };
        f(&mut value)?;
        match store.cas(key, revision, encode(key, &value)?).await? {
            TxnOutcome::Committed(_) => return Ok(value),
            TxnOutcome::Conflict => continue,
        }
    }
    Err(CoreError::ConcurrentUpdate(what.to_string()))
}

/// Deletes a document if it is still at `revision`.
pub(crate) async fn delete_at(store: &dyn Store, key: &str, revision: Revision) -> CoreResult<()> {
    match store.cas_delete(key, revision).await? {
        TxnOutcome::Committed(_) => Ok(()),
        TxnOutcome::Conflict => Err(CoreError::ConcurrentUpdate(key.to_string())),
    }
}
