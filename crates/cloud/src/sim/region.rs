//! What the sim keeps for one connection (`{provider}-{region}`): vNets, security groups, key
//! pairs and VMs, and the records it persists for them.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use tb_catalog::Region as CatalogRegion;
use tb_model::native::native_to_status;

use super::net;
use super::profile::{Csp, Kind};
use super::track::{Phase, State, Track};
use crate::{CloudError, KeyPairHandle, SecurityGroupHandle, VNetHandle, VmHandle};

/// SSH is the only access port the sim's VMs publish.
const SSH_PORT: u16 = 22;

/// A vNet, security group or key pair as persisted, with the connection it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored<T> {
    pub provider: String,
    pub region: String,
    pub object: T,
}

/// A VM as persisted: its spec, addresses and lifecycle track.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VmRecord {
    pub provider: String,
    pub region: String,
    pub csp_id: String,
    pub token: String,
    pub zone: String,
    pub vnet_csp_id: String,
    pub subnet_csp_id: String,
    pub security_group_csp_ids: Vec<String>,
    pub key_pair_csp_id: String,
    pub vm_user: String,
    pub spec_name: String,
    pub image_name: String,
    pub vcpu: u32,
    pub root_disk_type: String,
    pub root_disk_size_gb: u32,
    /// Empty while the VM holds no public address (stopped on AWS/GCP, terminated).
    pub public_ip: String,
    pub private_ip: String,
    /// Unix milliseconds.
    pub created_ms: u64,
    /// Creation order within the sim, for listings.
    pub seq: u64,
    pub track: Track,
}

impl VmRecord {
    pub fn state(&self, now_ms: u64) -> Option<&State> {
        self.track.at(now_ms)
    }

    /// Whether the VM still holds resources (vCPU quota, network attachments).
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.state(now_ms).is_some_and(|s| s.phase != Phase::Terminated)
    }

    /// The VM as the cloud reports it now; `None` once it has vanished.
    pub fn view(&self, now_ms: u64) -> Option<VmHandle> {
        let state = self.state(now_ms)?;
        let public_ip = if state.phase == Phase::Terminated { String::new() } else { self.public_ip.clone() };
        Some(VmHandle {
            csp_id: self.csp_id.clone(),
            token: self.token.clone(),
            zone: self.zone.clone(),
            native_status: state.word.clone(),
            status: native_to_status(&self.provider, &state.word),
            public_ip,
            private_ip: self.private_ip.clone(),
            ssh_port: SSH_PORT,
            login_user: String::new(),
            spec_name: self.spec_name.clone(),
            image_name: self.image_name.clone(),
            root_disk_type: self.root_disk_type.clone(),
            root_disk_size_gb: self.root_disk_size_gb,
            created_at: self.created_ms / 1000,
        })
    }
}

pub(crate) struct Region {
    pub provider: String,
    pub id: String,
    pub key: String,
    pub csp: Csp,
    /// Zones a request may name; a region without zones in the catalog accepts its own id.
    pub zones: Vec<String>,
    pub vnets: BTreeMap<String, VNetHandle>,
    pub security_groups: BTreeMap<String, SecurityGroupHandle>,
    pub key_pairs: BTreeMap<String, KeyPairHandle>,
    pub vms: HashMap<String, VmRecord>,
    pub vm_tokens: HashMap<String, String>,
    /// Private addresses in use, per subnet.
    pub private_ips: HashSet<(String, u32)>,
}

impl Region {
    pub fn new(region: &CatalogRegion) -> Region {
        let zones = if region.zones.is_empty() { vec![region.id.clone()] } else { region.zones.clone() };
        Region {
            provider: region.provider.clone(),
            id: region.id.clone(),
            key: connection_key(&region.provider, &region.id),
            csp: Csp::of(&region.provider),
            zones,
            vnets: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            key_pairs: BTreeMap::new(),
            vms: HashMap::new(),
            vm_tokens: HashMap::new(),
            private_ips: HashSet::new(),
        }
    }

    /// `zone` if the region has it; the region's first zone when `zone` is empty.
    pub fn zone_or_default(&self, zone: &str) -> Result<String, CloudError> {
        if zone.is_empty() {
            return Ok(self.zones.first().cloned().unwrap_or_default());
        }
        if self.zones.iter().any(|z| z == zone) {
            Ok(zone.to_string())
        } else {
            Err(CloudError::InvalidRequest(format!(
                "zone {zone} does not exist in {} region {} (zones: {})",
                self.provider,
                self.id,
                self.zones.join(", ")
            )))
        }
    }

    /// A CSP id no object of this region has.
    pub fn fresh_id(&self, kind: Kind, rng: &mut Xoshiro256PlusPlus) -> String {
        loop {
            let id = self.csp.new_id(kind, rng);
            if !self.id_taken(&id) {
                return id;
            }
        }
    }

    fn id_taken(&self, id: &str) -> bool {
        self.vms.contains_key(id)
            || self.vnets.contains_key(id)
            || self.security_groups.contains_key(id)
            || self.key_pairs.contains_key(id)
            || self.vnets.values().any(|v| v.subnets.iter().any(|s| s.csp_id == id))
    }

    pub fn insert_vm(&mut self, vm: VmRecord, public_ips: &mut HashSet<u32>) {
        if let Some(ip) = net::from_string(&vm.private_ip) {
            self.private_ips.insert((vm.subnet_csp_id.clone(), ip));
        }
        if let Some(ip) = net::from_string(&vm.public_ip) {
            public_ips.insert(ip);
        }
        self.vm_tokens.insert(vm.token.clone(), vm.csp_id.clone());
        self.vms.insert(vm.csp_id.clone(), vm);
    }

    /// Forgets a VM that has vanished from the cloud and frees its addresses.
    pub fn remove_vm(&mut self, csp_id: &str, public_ips: &mut HashSet<u32>) -> Option<VmRecord> {
        let vm = self.vms.remove(csp_id)?;
        if self.vm_tokens.get(&vm.token).is_some_and(|id| id == csp_id) {
            self.vm_tokens.remove(&vm.token);
        }
        if let Some(ip) = net::from_string(&vm.private_ip) {
            self.private_ips.remove(&(vm.subnet_csp_id.clone(), ip));
        }
        if let Some(ip) = net::from_string(&vm.public_ip) {
            public_ips.remove(&ip);
        }
        Some(vm)
    }
}

pub(crate) fn connection_key(provider: &str, region: &str) -> String {
    format!("{provider}-{region}")
}

/// Store keys of the sim's objects.
pub(crate) fn vm_key(conn: &str, csp_id: &str) -> String {
    format!("/sim/vm/{conn}/{csp_id}")
}

pub(crate) fn vnet_key(conn: &str, csp_id: &str) -> String {
    format!("/sim/vnet/{conn}/{csp_id}")
}

pub(crate) fn security_group_key(conn: &str, csp_id: &str) -> String {
    format!("/sim/sg/{conn}/{csp_id}")
}

pub(crate) fn key_pair_key(conn: &str, csp_id: &str) -> String {
    format!("/sim/keypair/{conn}/{csp_id}")
}
