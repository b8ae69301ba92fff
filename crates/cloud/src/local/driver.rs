//! [`LocalDriver`]: the [`CloudDriver`] whose VMs are sshd processes on loopback addresses.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ssh_key::{HashAlg, PublicKey};
use tokio::sync::Mutex;

use super::account::{Account, login_account};
use super::config::LocalConfig;
use super::native;
use super::offers;
use super::sshd::{Listen, SshdProcess, VmDir, can_bind};
use super::state::{LocalError, Power, Scoped, State, StoredKey, StoredVm};
use crate::{
    CloudDriver, CloudError, CloudImage, CloudResult, CloudSpec, Connection, FirewallRule, KeyPairHandle, KeyPairSpec,
    SecurityGroupHandle, SecurityGroupSpec, SubnetHandle, SubnetSpec, VNetHandle, VNetSpec, VmHandle, VmSpec,
};

/// The provider name of connections this driver serves.
pub const PROVIDER: &str = "local";

/// sshd's port for VMs in user mode is this plus the host part of the address.
const USER_PORT_BASE: u16 = 2200;
/// Host parts handed out per region (`.0` and `.255` are left alone).
const HOSTS: std::ops::RangeInclusive<u8> = 1..=254;
const DEFAULT_DISK_GB: u32 = 10;

/// A cloud on this machine: every VM is its own OpenSSH server on its own loopback address.
///
/// One lock serialises all operations; starting an sshd takes milliseconds, and it keeps
/// token idempotency and address allocation trivially race-free.
pub struct LocalDriver {
    config: LocalConfig,
    account: Account,
    login_user: String,
    state_path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    /// The sshd of every VM whose process this driver knows to run.
    procs: HashMap<String, SshdProcess>,
}

impl LocalDriver {
    /// Opens (or creates) the state directory and re-adopts the sshd of every VM that an
    /// earlier driver left running, so nothing is started twice.
    pub fn new(mut config: LocalConfig) -> Result<LocalDriver, LocalError> {
        validate(&config)?;
        config.state_dir = std::path::absolute(&config.state_dir)
            .map_err(|source| LocalError::Io { path: config.state_dir.clone(), source })?;
        let vms_dir = config.state_dir.join("vms");
        std::fs::create_dir_all(&vms_dir).map_err(|source| LocalError::Io { path: vms_dir, source })?;
        let state_path = config.state_dir.join("state.json");
        let state = State::load(&state_path)?;
        let mut procs = HashMap::new();
        for (csp_id, vm) in state.vms.iter().filter(|(_, vm)| vm.power == Power::Running) {
            let dir = VmDir::new(config.state_dir.join("vms").join(csp_id));
            let adopted = dir.read_pid().or(vm.pid).and_then(|pid| SshdProcess::adopt(pid, &dir));
            match adopted {
                Some(process) => {
                    tracing::info!(vm = %csp_id, pid = process.pid(), "re-adopted running local VM");
                    procs.insert(csp_id.clone(), process);
                }
                None => tracing::warn!(vm = %csp_id, "sshd of local VM is gone; it shows as failed"),
            }
        }
        let account = Account::current();
        let login_user = login_account(&config, &account).map_err(LocalError::Config)?;
        Ok(LocalDriver { config, account, login_user, state_path, inner: Mutex::new(Inner { state, procs }) })
    }

    /// The account every VM accepts logins for (see [`LocalConfig::login_user`]). The VM user
    /// name of a create request is recorded but does not change it.
    pub fn login_user(&self) -> &str {
        &self.login_user
    }

    /// True when VMs listen on high ports (2200 + n) rather than port 22: always without
    /// root, and with root when [`LocalConfig::user_mode`] asks for it.
    pub fn user_mode(&self) -> bool {
        self.config.user_mode || !self.account.is_root()
    }

    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    /// The pid of a VM's sshd while it runs.
    pub async fn sshd_pid(&self, csp_id: &str) -> Option<u32> {
        let mut inner = self.inner.lock().await;
        let process = inner.procs.get_mut(csp_id)?;
        process.alive().then(|| process.pid())
    }

    /// Stops every sshd this driver runs and records those VMs as stopped (they can be
    /// resumed later, by this or another driver over the same state directory). Returns how
    /// many were stopped.
    pub async fn shutdown(&self) -> usize {
        let mut inner = self.inner.lock().await;
        let procs: Vec<_> = inner.procs.drain().collect();
        let count = procs.len();
        for (csp_id, mut process) in procs {
            process.stop().await;
            mark_stopped(&mut inner.state, &csp_id);
        }
        if let Err(error) = inner.state.save(&self.state_path) {
            tracing::error!(%error, "cannot record local VMs as stopped");
        }
        count
    }

    fn region_index(&self, conn: &Connection) -> CloudResult<u8> {
        let position = self.config.regions.iter().position(|r| *r == conn.region);
        match position {
            Some(i) if conn.provider == PROVIDER => u8::try_from(i + 1).map_err(|_| unknown(conn)),
            _ => Err(unknown(conn)),
        }
    }

    fn vm_dir(&self, csp_id: &str) -> VmDir {
        VmDir::new(self.config.state_dir.join("vms").join(csp_id))
    }

    fn save(&self, state: &State) -> CloudResult<()> {
        state.save(&self.state_path).map_err(|e| CloudError::Transient(e.to_string()))
    }

    fn check_sshd(&self) -> CloudResult<()> {
        if self.config.sshd_path.is_file() {
            Ok(())
        } else {
            Err(CloudError::InvalidRequest(format!(
                "sshd not found at {}; install openssh-server",
                self.config.sshd_path.display()
            )))
        }
    }

    /// The first free address of the region, and its port: 22 as root unless something
    /// already holds it (e.g. a system sshd on 0.0.0.0:22), else 2200 + n.
    fn allocate(&self, state: &State, region: u8) -> Option<(Ipv4Addr, u16)> {
        let [a, b, ..] = self.config.address_base.octets();
        let taken: Vec<&str> = state.vms.values().map(|vm| vm.handle.private_ip.as_str()).collect();
        HOSTS.into_iter().find_map(|n| {
            let ip = Ipv4Addr::new(a, b, region, n);
            if taken.contains(&ip.to_string().as_str()) {
                return None;
            }
            let high = USER_PORT_BASE + u16::from(n);
            let ports = if self.user_mode() { vec![high] } else { vec![22, high] };
            ports.into_iter().find(|&port| can_bind(ip, port)).map(|port| (ip, port))
        })
    }

    /// Starts a VM's sshd and waits until it accepts connections.
    async fn start(&self, inner: &mut Inner, csp_id: &str) -> CloudResult<()> {
        self.check_sshd()?;
        self.ensure_privsep_dir()?;
        let vm = find_vm(&inner.state, csp_id)?;
        let ip: Ipv4Addr = vm.handle.private_ip.parse().map_err(|_| CloudError::Transient("bad VM address".into()))?;
        let port = vm.handle.ssh_port;
        let dir = self.vm_dir(csp_id);
        let mut process = SshdProcess::spawn(&self.config.sshd_path, &dir)?;
        if let Err(error) = process.wait_listening(&dir, ip, port, self.config.start_timeout).await {
            process.stop().await;
            return Err(error);
        }
        tracing::info!(vm = %csp_id, %ip, port, pid = process.pid(), "local VM sshd running");
        if let Some(vm) = inner.state.vms.get_mut(csp_id) {
            vm.pid = Some(process.pid());
            vm.power = Power::Running;
        }
        inner.procs.insert(csp_id.to_string(), process);
        Ok(())
    }

    /// sshd running as root wants its privilege separation directory.
    fn ensure_privsep_dir(&self) -> CloudResult<()> {
        if self.account.is_root() {
            std::fs::create_dir_all("/run/sshd")
                .map_err(|e| CloudError::Transient(format!("cannot create /run/sshd: {e}")))?;
        }
        Ok(())
    }

    async fn stop_process(inner: &mut Inner, csp_id: &str) {
        if let Some(mut process) = inner.procs.remove(csp_id) {
            process.stop().await;
        }
    }

    /// Forgets terminated VMs listed for longer than the configured time.
    fn purge(&self, state: &mut State) {
        let cutoff = now_ms().saturating_sub(u64::try_from(self.config.terminated_ttl.as_millis()).unwrap_or(u64::MAX));
        state.vms.retain(|_, vm| vm.terminated_at_ms.is_none_or(|at| at > cutoff));
    }

    /// A VM's handle with its state as observed now.
    fn observe(inner: &mut Inner, csp_id: &str) -> Option<VmHandle> {
        let alive = inner.procs.get_mut(csp_id).is_some_and(SshdProcess::alive);
        let vm = inner.state.vms.get(csp_id)?;
        let native = match vm.power {
            Power::Running if alive => native::RUNNING,
            Power::Running => native::FAILED,
            Power::Stopped => native::STOPPED,
            Power::Terminated => native::TERMINATED,
        };
        let mut handle = vm.handle.clone();
        handle.native_status = native.to_string();
        handle.status = native::to_status(native);
        Some(handle)
    }

    /// The VM `csp_id` of this connection's region, not yet forgotten.
    async fn locked_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<tokio::sync::MutexGuard<'_, Inner>> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        self.purge(&mut inner.state);
        match inner.state.vms.get(csp_id) {
            Some(vm) if vm.region == conn.region => Ok(inner),
            _ => Err(not_found("VM", csp_id)),
        }
    }
}

impl Drop for LocalDriver {
    fn drop(&mut self) {
        if !self.config.stop_on_drop {
            return;
        }
        let inner = self.inner.get_mut();
        for (csp_id, mut process) in inner.procs.drain() {
            process.stop_blocking();
            mark_stopped(&mut inner.state, &csp_id);
        }
        if let Err(error) = inner.state.save(&self.state_path) {
            tracing::error!(%error, "cannot record local VMs as stopped");
        }
    }
}

fn validate(config: &LocalConfig) -> Result<(), LocalError> {
    if config.regions.is_empty() || config.regions.len() > 254 {
        return Err(LocalError::Config("between 1 and 254 regions are needed".into()));
    }
    if config.address_base.octets()[0] != 127 {
        return Err(LocalError::Config(format!("address base {} is not in 127.0.0.0/8", config.address_base)));
    }
    if !config.sshd_path.is_absolute() {
        return Err(LocalError::Config(format!("sshd path {} must be absolute", config.sshd_path.display())));
    }
    Ok(())
}

fn mark_stopped(state: &mut State, csp_id: &str) {
    if let Some(vm) = state.vms.get_mut(csp_id).filter(|vm| vm.power == Power::Running) {
        vm.power = Power::Stopped;
    }
}

fn find_vm<'a>(state: &'a State, csp_id: &str) -> CloudResult<&'a StoredVm> {
    state.vms.get(csp_id).ok_or_else(|| not_found("VM", csp_id))
}

fn unknown(conn: &Connection) -> CloudError {
    CloudError::UnknownConnection(conn.name.clone())
}

fn not_found(kind: &str, id: &str) -> CloudError {
    CloudError::NotFound { kind: kind.to_string(), id: id.to_string() }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", xid::new())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

fn in_use_by_vm(state: &State, uses: impl Fn(&StoredVm) -> bool) -> bool {
    state.vms.values().any(|vm| vm.power != Power::Terminated && uses(vm))
}

#[async_trait]
impl CloudDriver for LocalDriver {
    async fn create_vnet(&self, conn: &Connection, spec: VNetSpec) -> CloudResult<VNetHandle> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let existing = inner.state.vnets.values().find(|v| v.region == conn.region && v.handle.token == spec.token);
        if let Some(found) = existing {
            return Ok(found.handle.clone());
        }
        let subnets = spec
            .subnets
            .into_iter()
            .map(|s| SubnetHandle { csp_id: new_id("subnet"), name: s.name, cidr: s.cidr, zone: s.zone })
            .collect();
        let handle = VNetHandle { csp_id: new_id("vnet"), token: spec.token, cidr: spec.cidr, subnets };
        inner.state.vnets.insert(handle.csp_id.clone(), Scoped { region: conn.region.clone(), handle: handle.clone() });
        self.save(&inner.state)?;
        Ok(handle)
    }

    async fn delete_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        if inner.state.vnets.get(csp_id).is_none_or(|v| v.region != conn.region) {
            return Err(not_found("vNet", csp_id));
        }
        let in_use = in_use_by_vm(&inner.state, |vm| vm.vnet_csp_id == csp_id)
            || inner.state.security_groups.values().any(|sg| sg.handle.vnet_csp_id == csp_id);
        if in_use {
            return Err(CloudError::InvalidRequest(format!("vNet {csp_id} is in use (DependencyViolation)")));
        }
        inner.state.vnets.remove(csp_id);
        self.save(&inner.state)
    }

    async fn create_subnet(&self, conn: &Connection, vnet_csp_id: &str, spec: SubnetSpec) -> CloudResult<SubnetHandle> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let vnet = match inner.state.vnets.get_mut(vnet_csp_id) {
            Some(v) if v.region == conn.region => v,
            _ => return Err(not_found("vNet", vnet_csp_id)),
        };
        if let Some(found) = vnet.handle.subnets.iter().find(|s| s.name == spec.name) {
            return Ok(found.clone());
        }
        let subnet = SubnetHandle { csp_id: new_id("subnet"), name: spec.name, cidr: spec.cidr, zone: spec.zone };
        vnet.handle.subnets.push(subnet.clone());
        self.save(&inner.state)?;
        Ok(subnet)
    }

    async fn delete_subnet(&self, conn: &Connection, vnet_csp_id: &str, subnet_csp_id: &str) -> CloudResult<()> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let vnet = match inner.state.vnets.get_mut(vnet_csp_id) {
            Some(v) if v.region == conn.region => v,
            _ => return Err(not_found("vNet", vnet_csp_id)),
        };
        let before = vnet.handle.subnets.len();
        vnet.handle.subnets.retain(|s| s.csp_id != subnet_csp_id);
        if vnet.handle.subnets.len() == before {
            return Err(not_found("subnet", subnet_csp_id));
        }
        self.save(&inner.state)
    }

    async fn get_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<VNetHandle> {
        self.region_index(conn)?;
        let inner = self.inner.lock().await;
        match inner.state.vnets.get(csp_id) {
            Some(v) if v.region == conn.region => Ok(v.handle.clone()),
            _ => Err(not_found("vNet", csp_id)),
        }
    }

    async fn create_security_group(
        &self,
        conn: &Connection,
        spec: SecurityGroupSpec,
    ) -> CloudResult<SecurityGroupHandle> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let existing =
            inner.state.security_groups.values().find(|s| s.region == conn.region && s.handle.token == spec.token);
        if let Some(found) = existing {
            return Ok(found.handle.clone());
        }
        if inner.state.vnets.get(&spec.vnet_csp_id).is_none_or(|v| v.region != conn.region) {
            return Err(not_found("vNet", &spec.vnet_csp_id));
        }
        let handle = SecurityGroupHandle {
            csp_id: new_id("sg"),
            token: spec.token,
            vnet_csp_id: spec.vnet_csp_id,
            rules: spec.rules,
        };
        let scoped = Scoped { region: conn.region.clone(), handle: handle.clone() };
        inner.state.security_groups.insert(handle.csp_id.clone(), scoped);
        self.save(&inner.state)?;
        Ok(handle)
    }

    async fn delete_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        if inner.state.security_groups.get(csp_id).is_none_or(|s| s.region != conn.region) {
            return Err(not_found("security group", csp_id));
        }
        if in_use_by_vm(&inner.state, |vm| vm.security_group_csp_ids.iter().any(|id| id == csp_id)) {
            return Err(CloudError::InvalidRequest(format!("security group {csp_id} is in use (DependencyViolation)")));
        }
        inner.state.security_groups.remove(csp_id);
        self.save(&inner.state)
    }

    /// Rules are recorded only: loopback traffic is not filtered.
    async fn set_security_group_rules(
        &self,
        conn: &Connection,
        csp_id: &str,
        rules: Vec<FirewallRule>,
    ) -> CloudResult<SecurityGroupHandle> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let sg = match inner.state.security_groups.get_mut(csp_id) {
            Some(s) if s.region == conn.region => s,
            _ => return Err(not_found("security group", csp_id)),
        };
        sg.handle.rules = rules;
        let handle = sg.handle.clone();
        self.save(&inner.state)?;
        Ok(handle)
    }

    async fn get_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<SecurityGroupHandle> {
        self.region_index(conn)?;
        let inner = self.inner.lock().await;
        match inner.state.security_groups.get(csp_id) {
            Some(s) if s.region == conn.region => Ok(s.handle.clone()),
            _ => Err(not_found("security group", csp_id)),
        }
    }

    async fn create_key_pair(&self, conn: &Connection, spec: KeyPairSpec) -> CloudResult<KeyPairHandle> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        let existing = inner.state.key_pairs.values().find(|k| k.region == conn.region && k.handle.token == spec.token);
        if let Some(found) = existing {
            return Ok(found.handle.clone());
        }
        let key = PublicKey::from_openssh(spec.public_key.trim())
            .map_err(|e| CloudError::InvalidRequest(format!("not an OpenSSH public key: {e}")))?;
        let handle = KeyPairHandle {
            csp_id: new_id("kp"),
            token: spec.token,
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        };
        let stored = StoredKey { region: conn.region.clone(), handle: handle.clone(), public_key: spec.public_key };
        inner.state.key_pairs.insert(handle.csp_id.clone(), stored);
        self.save(&inner.state)?;
        Ok(handle)
    }

    /// VMs keep the key they were created with, as on real clouds.
    async fn delete_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        if inner.state.key_pairs.get(csp_id).is_none_or(|k| k.region != conn.region) {
            return Err(not_found("key pair", csp_id));
        }
        inner.state.key_pairs.remove(csp_id);
        self.save(&inner.state)
    }

    async fn get_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<KeyPairHandle> {
        self.region_index(conn)?;
        let inner = self.inner.lock().await;
        match inner.state.key_pairs.get(csp_id) {
            Some(k) if k.region == conn.region => Ok(k.handle.clone()),
            _ => Err(not_found("key pair", csp_id)),
        }
    }

    async fn lookup_spec(&self, conn: &Connection, name: &str) -> CloudResult<CloudSpec> {
        self.region_index(conn)?;
        Ok(offers::lookup_spec(name))
    }

    async fn list_specs(&self, conn: &Connection) -> CloudResult<Vec<CloudSpec>> {
        self.region_index(conn)?;
        Ok(offers::list_specs())
    }

    async fn lookup_image(&self, conn: &Connection, name: &str) -> CloudResult<CloudImage> {
        self.region_index(conn)?;
        Ok(offers::lookup_image(name))
    }

    async fn list_images(&self, conn: &Connection) -> CloudResult<Vec<CloudImage>> {
        self.region_index(conn)?;
        Ok(offers::list_images())
    }

    async fn create_vm(&self, conn: &Connection, spec: VmSpec) -> CloudResult<VmHandle> {
        let region = self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        self.purge(&mut inner.state);
        let existing = inner.state.vms.iter().find(|(_, vm)| vm.region == conn.region && vm.handle.token == spec.token);
        if let Some((csp_id, _)) = existing {
            let csp_id = csp_id.clone();
            return Self::observe(&mut inner, &csp_id).ok_or_else(|| not_found("VM", &csp_id));
        }
        self.check_sshd()?;
        let public_key = match inner.state.key_pairs.get(&spec.key_pair_csp_id) {
            Some(k) if k.region == conn.region => k.public_key.clone(),
            _ => return Err(not_found("key pair", &spec.key_pair_csp_id)),
        };
        if !spec.vnet_csp_id.is_empty()
            && inner.state.vnets.get(&spec.vnet_csp_id).is_none_or(|v| v.region != conn.region)
        {
            return Err(not_found("vNet", &spec.vnet_csp_id));
        }
        let missing_sg = spec
            .security_group_csp_ids
            .iter()
            .find(|id| inner.state.security_groups.get(*id).is_none_or(|sg| sg.region != conn.region));
        if let Some(sg) = missing_sg {
            return Err(not_found("security group", sg));
        }
        let zone = spec.zone.clone().unwrap_or_else(|| format!("{}a", conn.region));
        let Some((ip, port)) = self.allocate(&inner.state, region) else {
            return Err(CloudError::Capacity { spec: spec.spec_name, region: conn.region.clone(), zone });
        };

        let csp_id = new_id("vm");
        let dir = self.vm_dir(&csp_id);
        let listen = Listen { ip, port, login_user: &self.login_user };
        if let Err(e) = dir.prepare(&public_key, &listen) {
            let _ = dir.remove();
            return Err(CloudError::Transient(format!("cannot prepare local VM {csp_id}: {e}")));
        }
        let handle = VmHandle {
            csp_id: csp_id.clone(),
            token: spec.token,
            zone,
            native_status: native::RUNNING.to_string(),
            status: native::to_status(native::RUNNING),
            public_ip: ip.to_string(),
            private_ip: ip.to_string(),
            ssh_port: port,
            login_user: self.login_user.clone(),
            spec_name: spec.spec_name,
            image_name: spec.image_name,
            root_disk_type: spec.root_disk_type.unwrap_or_else(|| "local".to_string()),
            root_disk_size_gb: spec.root_disk_size_gb.unwrap_or(DEFAULT_DISK_GB),
            created_at: now_ms() / 1000,
        };
        let stored = StoredVm {
            region: conn.region.clone(),
            handle: handle.clone(),
            vnet_csp_id: spec.vnet_csp_id,
            security_group_csp_ids: spec.security_group_csp_ids,
            vm_user: spec.vm_user,
            power: Power::Running,
            pid: None,
            terminated_at_ms: None,
        };
        inner.state.vms.insert(csp_id.clone(), stored);
        let started = self.start(&mut inner, &csp_id).await;
        let saved = started.and_then(|()| self.save(&inner.state));
        if let Err(error) = saved {
            Self::stop_process(&mut inner, &csp_id).await;
            inner.state.vms.remove(&csp_id);
            let _ = dir.remove();
            tracing::warn!(vm = %csp_id, %error, "local VM could not be created");
            return Err(error);
        }
        Ok(handle)
    }

    async fn find_vm_by_token(&self, conn: &Connection, token: &str) -> CloudResult<Option<VmHandle>> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        self.purge(&mut inner.state);
        let found = inner.state.vms.iter().find(|(_, vm)| vm.region == conn.region && vm.handle.token == token);
        let Some((csp_id, _)) = found else {
            return Ok(None);
        };
        let csp_id = csp_id.clone();
        Ok(Self::observe(&mut inner, &csp_id))
    }

    async fn get_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<VmHandle> {
        let mut inner = self.locked_vm(conn, csp_id).await?;
        Self::observe(&mut inner, csp_id).ok_or_else(|| not_found("VM", csp_id))
    }

    async fn list_vms(&self, conn: &Connection) -> CloudResult<Vec<VmHandle>> {
        self.region_index(conn)?;
        let mut inner = self.inner.lock().await;
        self.purge(&mut inner.state);
        let ids: Vec<String> =
            inner.state.vms.iter().filter(|(_, vm)| vm.region == conn.region).map(|(id, _)| id.clone()).collect();
        Ok(ids.iter().filter_map(|id| Self::observe(&mut inner, id)).collect())
    }

    /// Kills sshd and its sessions but keeps the VM's directory (host key included).
    async fn suspend_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let mut inner = self.locked_vm(conn, csp_id).await?;
        match find_vm(&inner.state, csp_id)?.power {
            Power::Terminated => Err(CloudError::InvalidRequest(format!("VM {csp_id} is terminated"))),
            Power::Stopped => Ok(()),
            Power::Running => {
                Self::stop_process(&mut inner, csp_id).await;
                mark_stopped(&mut inner.state, csp_id);
                tracing::info!(vm = %csp_id, "local VM stopped");
                self.save(&inner.state)
            }
        }
    }

    /// Starts sshd again on the same address and port with the same host key. A failed VM
    /// (sshd died) can be resumed too.
    async fn resume_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let mut inner = self.locked_vm(conn, csp_id).await?;
        let power = find_vm(&inner.state, csp_id)?.power;
        let running = inner.procs.get_mut(csp_id).is_some_and(SshdProcess::alive);
        match power {
            Power::Terminated => Err(CloudError::InvalidRequest(format!("VM {csp_id} is terminated"))),
            Power::Running if running => Ok(()),
            Power::Running | Power::Stopped => {
                Self::stop_process(&mut inner, csp_id).await;
                self.start(&mut inner, csp_id).await?;
                self.save(&inner.state)
            }
        }
    }

    async fn reboot_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let mut inner = self.locked_vm(conn, csp_id).await?;
        match find_vm(&inner.state, csp_id)?.power {
            Power::Terminated => Err(CloudError::InvalidRequest(format!("VM {csp_id} is terminated"))),
            Power::Stopped => Err(CloudError::InvalidRequest(format!("VM {csp_id} is stopped; resume it instead"))),
            Power::Running => {
                Self::stop_process(&mut inner, csp_id).await;
                self.start(&mut inner, csp_id).await?;
                tracing::info!(vm = %csp_id, "local VM rebooted");
                self.save(&inner.state)
            }
        }
    }

    /// Kills sshd, removes the VM's directory; the VM stays listed as terminated for
    /// [`LocalConfig::terminated_ttl`].
    async fn terminate_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let mut inner = self.locked_vm(conn, csp_id).await?;
        if find_vm(&inner.state, csp_id)?.power == Power::Terminated {
            return Ok(());
        }
        Self::stop_process(&mut inner, csp_id).await;
        self.vm_dir(csp_id)
            .remove()
            .map_err(|e| CloudError::Transient(format!("cannot remove the directory of VM {csp_id}: {e}")))?;
        if let Some(vm) = inner.state.vms.get_mut(csp_id) {
            vm.power = Power::Terminated;
            vm.pid = None;
            vm.terminated_at_ms = Some(now_ms());
        }
        tracing::info!(vm = %csp_id, "local VM terminated");
        self.save(&inner.state)
    }
}
