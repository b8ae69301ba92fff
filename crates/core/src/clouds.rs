//! Connections (`{provider}-{region}`) and the drivers behind them. The binary registers
//! drivers by name; the application only asks "which driver serves this connection".

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use tb_catalog::Catalog;
use tb_cloud::{CloudDriver, Connection};
use tb_model::naming::connection_name;
use tb_model::resource::{ConnConfig, Location, RegionDetail, RegionZoneInfo};

use crate::{CoreError, CoreResult};

#[derive(Clone)]
struct ConnEntry {
    config: ConnConfig,
    provider: String,
    region: String,
}

pub struct Clouds {
    /// Driver of the connections made for catalog regions.
    default_driver: String,
    drivers: RwLock<HashMap<String, Arc<dyn CloudDriver>>>,
    /// Providers served by a driver other than the default (e.g. `local` → `local`).
    provider_drivers: RwLock<HashMap<String, String>>,
    connections: RwLock<BTreeMap<String, ConnEntry>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Clouds {
    pub fn new(default_driver: &str) -> Clouds {
        Clouds {
            default_driver: default_driver.to_string(),
            drivers: RwLock::new(HashMap::new()),
            provider_drivers: RwLock::new(HashMap::new()),
            connections: RwLock::new(BTreeMap::new()),
        }
    }

    pub fn add_driver(&self, name: &str, driver: Arc<dyn CloudDriver>) {
        write(&self.drivers).insert(name.to_string(), driver);
    }

    /// Connections of `provider` made from the catalog are served by `driver`.
    pub fn set_provider_driver(&self, provider: &str, driver: &str) {
        write(&self.provider_drivers).insert(provider.to_string(), driver.to_string());
    }

    pub fn default_driver(&self) -> &str {
        &self.default_driver
    }

    /// Adds a connection for every catalog region that has none yet, served by the default
    /// driver.
    pub fn add_catalog_connections(&self, catalog: &Catalog) -> usize {
        let by_provider = read(&self.provider_drivers).clone();
        let mut conns = write(&self.connections);
        let mut added = 0;
        for region in catalog.regions() {
            let name = connection_name(&region.provider, &region.id);
            if conns.contains_key(&name) {
                continue;
            }
            let driver = by_provider.get(&region.provider).map(String::as_str).unwrap_or(self.default_driver.as_str());
            let config = ConnConfig {
                config_name: name.clone(),
                provider_name: region.provider.clone(),
                driver_name: driver.to_string(),
                credential_name: region.provider.clone(),
                credential_holder: "admin".into(),
                region_zone_info_name: name.clone(),
                region_zone_info: RegionZoneInfo {
                    assigned_region: region.id.clone(),
                    assigned_zone: region.zones.first().cloned().unwrap_or_default(),
                },
                region_detail: RegionDetail {
                    region_id: region.id.clone(),
                    region_name: region.id.clone(),
                    description: region.display.clone(),
                    location: Location {
                        display: region.display.clone(),
                        latitude: region.latitude,
                        longitude: region.longitude,
                    },
                    zones: region.zones.clone(),
                },
                region_representative: true,
                verified: true,
            };
            conns.insert(name, ConnEntry { config, provider: region.provider.clone(), region: region.id.clone() });
            added += 1;
        }
        added
    }

    pub fn list(&self) -> Vec<ConnConfig> {
        read(&self.connections).values().map(|e| e.config.clone()).collect()
    }

    pub fn config(&self, name: &str) -> CoreResult<ConnConfig> {
        read(&self.connections)
            .get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| CoreError::not_found(format!("connection config {name} does not exist")))
    }

    /// The driver serving a connection, with the connection as drivers see it.
    pub fn resolve(&self, name: &str) -> CoreResult<(Connection, Arc<dyn CloudDriver>)> {
        self.open(name).map(|(_, conn, driver)| (conn, driver))
    }

    /// Like [`Clouds::resolve`], with the connection's config for the object being created.
    pub fn open(&self, name: &str) -> CoreResult<(ConnConfig, Connection, Arc<dyn CloudDriver>)> {
        let entry = read(&self.connections)
            .get(name)
            .cloned()
            .ok_or_else(|| CoreError::invalid(format!("connection config {name} does not exist")))?;
        let driver = read(&self.drivers).get(&entry.config.driver_name).cloned().ok_or_else(|| {
            CoreError::invalid(format!("driver {} of connection {name} is not loaded", entry.config.driver_name))
        })?;
        let conn = Connection { name: name.to_string(), provider: entry.provider, region: entry.region };
        Ok((entry.config, conn, driver))
    }
}
