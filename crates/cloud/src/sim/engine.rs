//! The simulated cloud: one engine serving every catalog region as a connection, its state
//! behind one lock that is never held across an await, optionally persisted in a store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use tb_catalog::Catalog;
use tb_store::{Store, StoreError};
use tokio::sync::oneshot;

use super::clock::SimClock;
use super::config::{FaultConfig, SimConfig, check_time_factor};
use super::persist::{Change, META_KEY, PREFIX, Persister};
use super::profile::{between, scaled_ms};
use super::region::{Region, Stored, VmRecord, connection_key};
use crate::{CloudError, CloudResult, Connection, KeyPairHandle, SecurityGroupHandle, VNetHandle};

/// Why the sim could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid sim configuration: {0}")]
    Config(String),
    #[error("sim store failed")]
    Store(#[from] StoreError),
    #[error("corrupt sim record {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// The simulated multi-cloud. Share it as `Arc<SimCloud>`; [`super::SimDriver`] and
/// [`super::router`] put the `CloudDriver` and HTTP faces on it.
pub struct SimCloud {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) clock: SimClock,
    inner: Mutex<Inner>,
    persister: Option<Persister>,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub rng: Xoshiro256PlusPlus,
    pub regions: HashMap<String, Region>,
    /// Public addresses in use anywhere in the sim.
    pub public_ips: HashSet<u32>,
    /// Sequence number of the next VM created.
    pub next_seq: u64,
    buckets: HashMap<(usize, String), Bucket>,
}

/// What an operation needs besides the engine state.
pub(crate) struct Ctx {
    pub now: u64,
    pub changes: Vec<Change>,
}

impl Ctx {
    pub fn put<T: Serialize>(&mut self, key: String, value: &T) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.changes.push(Change::Put(key, bytes)),
            Err(error) => tracing::error!(%error, key, "sim could not encode a record"),
        }
    }

    pub fn delete(&mut self, key: String) {
        self.changes.push(Change::Delete(key));
    }
}

/// Builds a [`SimCloud`]: in memory with the system clock unless told otherwise.
pub struct SimCloudBuilder {
    catalog: Arc<Catalog>,
    config: SimConfig,
    clock: SimClock,
    store: Option<Arc<dyn Store>>,
}

impl SimCloudBuilder {
    /// Time factor, seed and faults (default: real time, seed 0, no faults).
    pub fn config(mut self, config: SimConfig) -> Self {
        self.config = config;
        self
    }

    /// Where time comes from (default: the system clock).
    pub fn clock(mut self, clock: SimClock) -> Self {
        self.clock = clock;
        self
    }

    /// Persist every object in `store` (under `/sim/`) and start from what it holds.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Validates the configuration and, with a store, loads what it holds.
    pub async fn build(self) -> Result<SimCloud, SimError> {
        self.config.validate().map_err(SimError::Config)?;
        let mut regions = HashMap::new();
        let mut public_ips = HashSet::new();
        let mut epoch = 0;
        let persister = match self.store {
            None => None,
            Some(store) => {
                epoch = load(store.as_ref(), &self.catalog, self.clock.now_ms(), &mut regions, &mut public_ips).await?;
                Some(Persister::start(store))
            }
        };
        // A restarted sim must not repeat the ids and addresses it drew before the restart.
        let seed = self.config.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Ok(SimCloud {
            catalog: self.catalog,
            clock: self.clock,
            inner: Mutex::new(Inner::new(self.config, seed, regions, public_ips)),
            persister,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    /// How many times the sim has started over this store.
    epoch: u64,
}

/// Reads the persisted objects into `regions`; returns this start's epoch.
async fn load(
    store: &dyn Store,
    catalog: &Catalog,
    now: u64,
    regions: &mut HashMap<String, Region>,
    public_ips: &mut HashSet<u32>,
) -> Result<u64, SimError> {
    fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, SimError> {
        serde_json::from_slice(bytes).map_err(|e| SimError::Corrupt { key: key.to_string(), reason: e.to_string() })
    }
    fn region_of<'a>(
        regions: &'a mut HashMap<String, Region>,
        catalog: &Catalog,
        provider: &str,
        region: &str,
        key: &str,
    ) -> Option<&'a mut Region> {
        let conn = connection_key(provider, region);
        if !regions.contains_key(&conn) {
            let Some(r) = catalog.region(provider, region) else {
                tracing::warn!(key, connection = %conn, "sim record of a region the catalog lacks; ignored");
                return None;
            };
            regions.insert(conn.clone(), Region::new(r));
        }
        regions.get_mut(&conn)
    }

    let mut epoch = 0;
    let mut vanished = Vec::new();
    for kv in store.range(PREFIX).await? {
        let key = kv.key.as_str();
        if key == META_KEY {
            epoch = decode::<Meta>(key, &kv.value)?.epoch;
        } else if key.starts_with("/sim/vm/") {
            let vm: VmRecord = decode(key, &kv.value)?;
            if vm.state(now).is_none() {
                vanished.push(kv.key.clone());
                continue;
            }
            if let Some(r) = region_of(regions, catalog, &vm.provider, &vm.region, key) {
                r.insert_vm(vm, public_ips);
            }
        } else if key.starts_with("/sim/vnet/") {
            let s: Stored<VNetHandle> = decode(key, &kv.value)?;
            if let Some(r) = region_of(regions, catalog, &s.provider, &s.region, key) {
                r.vnets.insert(s.object.csp_id.clone(), s.object);
            }
        } else if key.starts_with("/sim/sg/") {
            let s: Stored<SecurityGroupHandle> = decode(key, &kv.value)?;
            if let Some(r) = region_of(regions, catalog, &s.provider, &s.region, key) {
                r.security_groups.insert(s.object.csp_id.clone(), s.object);
            }
        } else if key.starts_with("/sim/keypair/") {
            let s: Stored<KeyPairHandle> = decode(key, &kv.value)?;
            if let Some(r) = region_of(regions, catalog, &s.provider, &s.region, key) {
                r.key_pairs.insert(s.object.csp_id.clone(), s.object);
            }
        }
    }
    for key in vanished {
        store.delete(&key).await?;
    }
    let epoch = epoch + 1;
    let meta = serde_json::to_vec(&Meta { epoch })
        .map_err(|e| SimError::Corrupt { key: META_KEY.into(), reason: e.to_string() })?;
    store.put(META_KEY, meta).await?;
    let vms: usize = regions.values().map(|r| r.vms.len()).sum();
    tracing::info!(epoch, vms, "sim state loaded");
    Ok(epoch)
}

impl SimCloud {
    /// A sim serving every region of `catalog`.
    pub fn builder(catalog: Arc<Catalog>) -> SimCloudBuilder {
        SimCloudBuilder { catalog, config: SimConfig::default(), clock: SimClock::System, store: None }
    }

    /// An in-memory sim on the system clock.
    pub fn new(catalog: Arc<Catalog>, config: SimConfig) -> Result<SimCloud, SimError> {
        config.validate().map_err(SimError::Config)?;
        let seed = config.seed;
        Ok(SimCloud {
            catalog,
            clock: SimClock::System,
            inner: Mutex::new(Inner::new(config, seed, HashMap::new(), HashSet::new())),
            persister: None,
        })
    }

    /// The catalog the sim serves.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The sim's clock.
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// One connection per catalog region, named `{provider}-{region}`.
    pub fn connections(&self) -> Vec<Connection> {
        self.catalog
            .regions()
            .iter()
            .map(|r| Connection {
                name: connection_key(&r.provider, &r.id),
                provider: r.provider.clone(),
                region: r.id.clone(),
            })
            .collect()
    }

    /// Writes whatever is queued and releases the store (a persistent sim can then be reopened
    /// over the same file). Later changes stay in memory only.
    pub async fn close(&self) {
        if let Some(p) = &self.persister {
            p.close().await;
        }
    }

    /// The current configuration, with the fault counters as they stand.
    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    /// Replaces the fault knobs; throttling buckets start full again.
    pub fn set_faults(&self, faults: FaultConfig) -> CloudResult<()> {
        faults.validate().map_err(CloudError::InvalidRequest)?;
        let mut inner = self.lock();
        inner.config.faults = faults;
        inner.buckets.clear();
        tracing::info!("sim faults replaced");
        Ok(())
    }

    /// Changes the time factor for operations started from now on; transitions already under
    /// way keep the durations they were given.
    pub fn set_time_factor(&self, factor: f64) -> CloudResult<()> {
        check_time_factor(factor).map_err(CloudError::InvalidRequest)?;
        self.lock().config.time_factor = factor;
        tracing::info!(factor, "sim time factor changed");
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` under the lock and queues its changes for the store before releasing it, so
    /// the store sees changes in the order they were made.
    pub(crate) fn locked<R>(&self, f: impl FnOnce(&mut Inner, &mut Ctx) -> R) -> (R, Option<oneshot::Receiver<()>>) {
        let mut inner = self.lock();
        let mut ctx = Ctx { now: self.clock.now_ms(), changes: Vec::new() };
        let result = f(&mut inner, &mut ctx);
        let written = match (&self.persister, ctx.changes.is_empty()) {
            (Some(p), false) => p.write(ctx.changes),
            _ => None,
        };
        drop(inner);
        (result, written)
    }

    /// One API call: admission (connection, throttling, transient errors), then `f` under the
    /// lock, then the call's latency and the persistence of what it changed.
    pub(crate) async fn call<T>(
        &self,
        conn: &Connection,
        what: &str,
        f: impl FnOnce(&mut Inner, &mut Ctx, &str) -> CloudResult<T>,
    ) -> CloudResult<T> {
        let ((result, latency_ms), written) = self.locked(|inner, ctx| {
            let key = match inner.admit(&self.catalog, conn, ctx.now, what) {
                Ok(key) => key,
                Err(e) => return (Err(e), 0),
            };
            let csp = inner.regions.get(&key).map(|r| r.csp);
            let latency = csp.map_or(0, |csp| {
                let (lo, hi) = csp.call_secs();
                let secs = between(&mut inner.rng, lo, hi);
                scaled_ms(secs, inner.config.time_factor)
            });
            (f(inner, ctx, &key), latency)
        });
        self.clock.sleep(latency_ms).await;
        if let Some(w) = written {
            let _ = w.await;
        }
        result
    }
}

impl Inner {
    fn new(config: SimConfig, seed: u64, regions: HashMap<String, Region>, public_ips: HashSet<u32>) -> Inner {
        let next_seq = regions.values().flat_map(|r| r.vms.values()).map(|vm| vm.seq + 1).max().unwrap_or(0);
        Inner {
            config,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            regions,
            public_ips,
            next_seq,
            buckets: HashMap::new(),
        }
    }

    /// Checks the connection and the per-call faults; returns the connection key.
    pub fn admit(&mut self, catalog: &Catalog, conn: &Connection, now: u64, what: &str) -> CloudResult<String> {
        // The catalog's spelling names the region, whatever the case the caller used.
        let region = catalog
            .region(&conn.provider, &conn.region)
            .ok_or_else(|| CloudError::UnknownConnection(conn.name.clone()))?;
        let key = connection_key(&region.provider, &region.id);
        if !self.regions.contains_key(&key) {
            self.regions.insert(key.clone(), Region::new(region));
        }
        let provider = region.provider.as_str();
        let Inner { config, rng, buckets, .. } = self;
        for (i, rule) in config.faults.throttle.iter().enumerate() {
            if !rule.scope.matches(provider, &key) {
                continue;
            }
            let bucket = buckets.entry((i, key.clone())).or_insert_with(|| Bucket::full(rule.burst, now));
            if !bucket.take(now, rule.requests_per_sec, rule.burst) {
                tracing::debug!(connection = %key, what, "sim throttled a call");
                return Err(CloudError::Throttled { region: conn.region.clone() });
            }
        }
        for rule in &config.faults.transient {
            if rule.scope.matches(provider, &key) && chance(rng, rule.probability) {
                tracing::debug!(connection = %key, what, "sim injected a transient error");
                return Err(CloudError::Transient(format!("{what} in {key}: InternalError (simulated), please retry")));
            }
        }
        Ok(key)
    }

    pub fn region(&mut self, key: &str) -> CloudResult<&mut Region> {
        self.regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.to_string()))
    }
}

/// True with probability `p`; never panics, whatever `p` is.
pub(crate) fn chance(rng: &mut Xoshiro256PlusPlus, p: f64) -> bool {
    p > 0.0 && rng.random::<f64>() < p
}

/// A token bucket over the sim clock.
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    fn full(burst: u32, now: u64) -> Bucket {
        Bucket { tokens: f64::from(burst), last_ms: now }
    }

    fn take(&mut self, now: u64, rate: f64, burst: u32) -> bool {
        let elapsed = now.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.last_ms = now.max(self.last_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let mut b = Bucket::full(3, 0);
        assert!(b.take(0, 2.0, 3));
        assert!(b.take(0, 2.0, 3));
        assert!(b.take(0, 2.0, 3));
        assert!(!b.take(0, 2.0, 3));
        assert!(!b.take(499, 2.0, 3));
        assert!(b.take(500, 2.0, 3), "one token after half a second at 2/s");
        assert!(!b.take(500, 2.0, 3));
        assert!(b.take(60_000, 2.0, 3));
        assert!(b.take(60_000, 2.0, 3));
        assert!(b.take(60_000, 2.0, 3));
        assert!(!b.take(60_000, 2.0, 3), "refill is capped by the burst");
    }

    #[test]
    fn chance_is_safe_at_the_edges() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        assert!(!chance(&mut rng, 0.0));
        assert!(!chance(&mut rng, f64::NAN));
        assert!(chance(&mut rng, 1.0));
        assert!(chance(&mut rng, 7.0));
    }
}
