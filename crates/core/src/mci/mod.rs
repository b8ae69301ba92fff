//! Multi-cloud infrastructures (MCIs): creation, reads with live status, control, deletion,
//! and the background work that keeps records and clouds in agreement.
//!
//! Every VM record (with its uid and the idempotency token derived from it) is persisted
//! before the cloud is asked to create the VM, and every action's intent (`targetAction`,
//! `targetStatus`) is persisted before the cloud is called. After a crash, [`reconcile`] finds
//! each VM the cloud created by its token, adopts it, resumes pending intents, and terminates
//! VMs whose record is gone: no VM is ever created twice or left without a record.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tb_model::mci::{MciInfo, SubGroupInfo, VmInfo};
use tb_store::Store;

use crate::limits::{EngineConfig, RegionLimiter};
use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

mod control;
mod create;
mod delete;
mod dynamic;
mod failover;
mod provision;
pub mod reconcile;
mod review;
mod status;

pub use control::{ControlPlan, ControlStart};
pub use create::{CreateOptions, CreatePlan};

/// Shared state of the MCI engine.
pub struct Engine {
    pub config: EngineConfig,
    limiter: RegionLimiter,
    /// Bounds status reads per connection, apart from create/control so reads never queue
    /// behind slow creates (and the reverse).
    status_limiter: RegionLimiter,
    /// When each VM (by key) was last read from its cloud, for the read cache of stable VMs.
    last_read: Mutex<HashMap<String, Instant>>,
    /// Prefix of every idempotency token this installation hands to clouds.
    installation: String,
    /// Candidates recently out of capacity, skipped by failover.
    avoided: failover::Avoided,
    /// One lock per connection around creating its shared resources.
    shared_locks: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl Engine {
    pub fn new(config: EngineConfig, installation: String) -> Engine {
        Engine {
            limiter: RegionLimiter::new(config.vms_per_region),
            status_limiter: RegionLimiter::new(config.status_reads_per_region),
            config,
            last_read: Mutex::new(HashMap::new()),
            installation,
            shared_locks: Mutex::new(HashMap::new()),
            avoided: failover::Avoided::default(),
        }
    }

    fn shared_lock(&self, connection: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut map = self.shared_locks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(connection.to_string()).or_default().clone()
    }

    /// The idempotency token of a VM: installation id + the VM's uid. It is also the VM's
    /// name in the cloud.
    pub fn token(&self, uid: &str) -> String {
        format!("{}-{uid}", self.installation)
    }

    /// The uid inside one of this installation's tokens.
    pub fn uid_of_token<'a>(&self, token: &'a str) -> Option<&'a str> {
        token.strip_prefix(&self.installation)?.strip_prefix('-')
    }

    fn recently_read(&self, key: &str) -> bool {
        let map = self.last_read.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).is_some_and(|t| t.elapsed() < self.config.status_cache)
    }

    /// Drops the read-cache entry of a VM whose record is gone.
    fn forget(&self, key: &str) {
        let mut map = self.last_read.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }

    fn mark_read(&self, key: &str) {
        let mut map = self.last_read.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key.to_string(), Instant::now());
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Installation {
    id: String,
}

/// This installation's id, created on first start and kept in the store.
pub async fn installation_id(store: &dyn Store) -> CoreResult<String> {
    if let Some(v) = repo::get::<Installation>(store, keys::INSTALLATION).await? {
        return Ok(v.value.id);
    }
    let fresh = crate::new_uid();
    // The tail of an xid is its counter and random part: distinct between installations.
    let id = format!("tb{}", &fresh[fresh.len() - 8..]);
    match repo::create(store, keys::INSTALLATION, &Installation { id: id.clone() }, "installation").await {
        Ok(_) => Ok(id),
        Err(CoreError::AlreadyExists(_)) => match repo::get::<Installation>(store, keys::INSTALLATION).await? {
            Some(v) => Ok(v.value.id),
            None => Err(CoreError::Corrupt { key: keys::INSTALLATION.into(), reason: "vanished".into() }),
        },
        Err(e) => Err(e),
    }
}

pub(crate) fn mci_not_found(ns: &str, id: &str) -> CoreError {
    CoreError::not_found(format!("The MCI {id} does not exist in namespace {ns}"))
}

pub(crate) fn vm_not_found(mci: &str, vm: &str) -> CoreError {
    CoreError::not_found(format!("The VM {vm} does not exist in MCI {mci}"))
}

impl Tumblebug {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The stored MCI document (without VMs).
    pub(crate) async fn mci_doc(&self, ns: &str, id: &str) -> CoreResult<repo::Versioned<MciInfo>> {
        self.require_ns(ns).await?;
        repo::get::<MciInfo>(self.store.as_ref(), &keys::mci(ns, id)).await?.ok_or_else(|| mci_not_found(ns, id))
    }

    /// Stored VM records of an MCI, in id order.
    pub(crate) async fn vm_docs(&self, ns: &str, mci: &str) -> CoreResult<Vec<VmInfo>> {
        repo::list_children(self.store.as_ref(), &keys::vm_prefix(ns, mci)).await
    }

    pub(crate) async fn vm_doc(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<repo::Versioned<VmInfo>> {
        repo::get::<VmInfo>(self.store.as_ref(), &keys::vm(ns, mci, vm)).await?.ok_or_else(|| vm_not_found(mci, vm))
    }

    pub async fn list_mci_ids(&self, ns: &str) -> CoreResult<Vec<String>> {
        self.require_ns(ns).await?;
        repo::list_child_ids(self.store.as_ref(), &keys::mci_prefix(ns)).await
    }

    pub async fn mci_exists(&self, ns: &str, id: &str) -> CoreResult<bool> {
        Ok(self.store.get(&keys::mci(ns, id)).await?.is_some())
    }

    pub async fn vm_exists(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<bool> {
        Ok(self.store.get(&keys::vm(ns, mci, vm)).await?.is_some())
    }

    pub async fn list_subgroup_ids(&self, ns: &str, mci: &str) -> CoreResult<Vec<String>> {
        self.mci_doc(ns, mci).await?;
        repo::list_child_ids(self.store.as_ref(), &keys::subgroup_prefix(ns, mci)).await
    }

    pub async fn subgroup(&self, ns: &str, mci: &str, sg: &str) -> CoreResult<SubGroupInfo> {
        self.mci_doc(ns, mci).await?;
        repo::get::<SubGroupInfo>(self.store.as_ref(), &keys::subgroup(ns, mci, sg))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| CoreError::not_found(format!("The subGroup {sg} does not exist in MCI {mci}")))
    }

    /// VM ids of an MCI, optionally only those whose field `key` equals `value`.
    pub async fn list_vm_ids(
        &self,
        ns: &str,
        mci: &str,
        filter: Option<&crate::resource::ListFilter>,
    ) -> CoreResult<Vec<String>> {
        self.mci_doc(ns, mci).await?;
        let vms = self.vm_docs(ns, mci).await?;
        Ok(vms.into_iter().filter(|v| filter.is_none_or(|f| f.matches(v))).map(|v| v.id).collect())
    }
}
