//! Capacity failover: when a cloud has no room for a VM (capacity or quota), and the MCI allows
//! it, the VM record is moved to the next candidate that still satisfies the request — another
//! zone of the region, then an equal-or-larger spec there, then the same spec in the nearest
//! region of the same provider — and created again. Failed candidates are remembered for a
//! while so the rest of the MCI and later requests skip them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tb_cloud::CloudError;
use tb_model::mci::VmInfo;
use tb_model::resource::{SubnetReq, VNetInfo};
use tb_placement::latency::haversine_km;

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, repo};

/// How long a candidate that ran out of capacity is skipped.
pub const AVOID_FOR: Duration = Duration::from_secs(10 * 60);

/// Candidates (connection, zone, spec) recently out of capacity.
#[derive(Default)]
pub struct Avoided {
    until: Mutex<HashMap<(String, String, String), Instant>>,
}

impl Avoided {
    pub fn avoid(&self, conn: &str, zone: &str, spec: &str) {
        let mut m = self.until.lock().unwrap_or_else(|p| p.into_inner());
        m.insert((conn.into(), zone.into(), spec.into()), Instant::now() + AVOID_FOR);
    }

    /// Whether the candidate failed recently. An empty zone matches any avoided zone only
    /// for region-wide failures, which are recorded with an empty zone.
    pub fn is_avoided(&self, conn: &str, zone: &str, spec: &str) -> bool {
        let mut m = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        m.retain(|_, until| *until > now);
        m.contains_key(&(conn.into(), zone.into(), spec.into()))
            || m.contains_key(&(conn.into(), String::new(), spec.into()))
    }
}

/// A place to try next.
enum Move {
    Zone(String),
    Spec { id: String, name: String },
    Region { connection: String, spec_id: String },
}

impl Tumblebug {
    /// Records the failed candidate and moves the VM record to the next one. Returns a line
    /// describing the move, or `None` when no candidate is left.
    pub(crate) async fn fail_over(
        &self,
        ns: &str,
        mci: &str,
        vm_id: &str,
        error: &CloudError,
    ) -> CoreResult<Option<String>> {
        let vm = self.vm_doc(ns, mci, vm_id).await?.value;
        let region_wide = matches!(error, CloudError::Quota { .. });
        let zone = if region_wide { String::new() } else { vm.region.zone.clone() };
        self.engine().avoided.avoid(&vm.connection_name, &zone, &vm.csp_spec_name);
        let Some(next) = self.next_candidate(ns, &vm, region_wide).await? else {
            return Ok(None);
        };
        let from = format!("{} {} in {}", vm.connection_name, vm.region.zone, vm.csp_spec_name);
        let note = self.apply_move(ns, mci, &vm, next).await?;
        let line = format!("{from}: {error}; failed over to {note}");
        let key = keys::vm(ns, mci, vm_id);
        repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
            v.system_message.clone_from(&line);
            Ok(())
        })
        .await?;
        tracing::info!(ns, mci, vm = vm_id, %line, "capacity failover");
        Ok(Some(line))
    }

    /// Whether the VM's current candidate is known to be out of capacity.
    pub(crate) fn candidate_avoided(&self, vm: &VmInfo) -> bool {
        self.engine().avoided.is_avoided(&vm.connection_name, &vm.region.zone, &vm.csp_spec_name)
    }

    async fn next_candidate(&self, ns: &str, vm: &VmInfo, region_wide: bool) -> CoreResult<Option<Move>> {
        let snap = self.catalog();
        let avoided = &self.engine().avoided;
        let provider = vm.connection_config.provider_name.clone();
        let region = vm.region.region.clone();
        let shared = vm.vnet_id == super::dynamic::shared_id(ns, &vm.connection_name);
        // 1. Another zone of the region (a zone-level shortage only).
        if !region_wide {
            let vnet = repo::get::<VNetInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::VNet, &vm.vnet_id))
                .await?;
            for z in &vm.connection_config.region_detail.zones {
                if *z == vm.region.zone || avoided.is_avoided(&vm.connection_name, z, &vm.csp_spec_name) {
                    continue;
                }
                let has_subnet = vnet.as_ref().is_some_and(|v| v.value.subnet_info_list.iter().any(|s| s.zone == *z));
                // A user's vNet is not changed behind their back; the shared one grows a subnet.
                if has_subnet || shared {
                    return Ok(Some(Move::Zone(z.clone())));
                }
            }
        }
        // 2. An equal-or-larger spec in this region, cheapest first.
        let current = snap.catalog.spec(&provider, &region, &vm.csp_spec_name).cloned();
        if let Some(cur) = &current
            && !region_wide
        {
            let mut options: Vec<_> = snap
                .catalog
                .specs_in(&provider, &region)
                .into_iter()
                .filter(|s| s.name != cur.name && s.vcpu >= cur.vcpu && s.memory_gib >= cur.memory_gib)
                .filter(|s| s.architecture == cur.architecture)
                .filter(|s| s.gpu.as_ref().map(|g| g.count) == cur.gpu.as_ref().map(|g| g.count))
                .filter(|s| s.cost_per_hour >= 0.0)
                .filter(|s| !avoided.is_avoided(&vm.connection_name, &vm.region.zone, &s.name))
                .collect();
            options.sort_by(|a, b| a.cost_per_hour.total_cmp(&b.cost_per_hour).then(a.name.cmp(&b.name)));
            if let Some(s) = options.first() {
                return Ok(Some(Move::Spec {
                    id: tb_model::provider_region_key(&provider, &region, &s.name),
                    name: s.name.clone(),
                }));
            }
        }
        // 3. The same spec in the nearest other region of the provider (shared resources only:
        // a user's vNet, security groups and key exist in one region).
        if shared && let Some(here) = snap.catalog.region(&provider, &region) {
            let mut regions: Vec<_> = snap
                .catalog
                .regions()
                .iter()
                .filter(|r| r.provider == provider && r.id != region)
                .filter(|r| snap.catalog.spec(&provider, &r.id, &vm.csp_spec_name).is_some())
                .filter(|r| {
                    !avoided.is_avoided(&tb_model::naming::connection_name(&provider, &r.id), "", &vm.csp_spec_name)
                })
                .filter(|r| self.clouds.resolve(&tb_model::naming::connection_name(&provider, &r.id)).is_ok())
                .collect();
            regions.sort_by(|a, b| {
                haversine_km((here.latitude, here.longitude), (a.latitude, a.longitude))
                    .total_cmp(&haversine_km((here.latitude, here.longitude), (b.latitude, b.longitude)))
            });
            if let Some(r) = regions.first() {
                return Ok(Some(Move::Region {
                    connection: tb_model::naming::connection_name(&provider, &r.id),
                    spec_id: tb_model::provider_region_key(&provider, &r.id, &vm.csp_spec_name),
                }));
            }
        }
        Ok(None)
    }

    /// Rewrites the VM record for the chosen candidate. Returns a short description.
    async fn apply_move(&self, ns: &str, mci: &str, vm: &VmInfo, next: Move) -> CoreResult<String> {
        let key = keys::vm(ns, mci, &vm.id);
        match next {
            Move::Zone(zone) => {
                let subnet = self.subnet_in_zone(ns, &vm.vnet_id, &zone).await?;
                repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                    v.subnet_id.clone_from(&subnet.0);
                    v.csp_subnet_id.clone_from(&subnet.1);
                    v.region.zone.clone_from(&zone);
                    Ok(())
                })
                .await?;
                Ok(format!("zone {zone}"))
            }
            Move::Spec { id, name } => {
                repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                    v.spec_id.clone_from(&id);
                    v.csp_spec_name.clone_from(&name);
                    Ok(())
                })
                .await?;
                Ok(format!("spec {name}"))
            }
            Move::Region { connection, spec_id } => {
                let shared = self.ensure_shared_resources(ns, &connection).await?;
                let conn_config = self.clouds.config(&connection)?;
                let (spec, _) = self.find_spec(ns, &spec_id).await?;
                let vnet = self.get_resource::<VNetInfo>(ns, &shared).await?;
                let key_doc = self.get_resource::<tb_model::resource::SshKeyInfo>(ns, &shared).await?;
                let subnet = vnet.subnet_info_list.first().cloned().unwrap_or_default();
                // Move the associations with the VM.
                self.release_associations(ns, mci, vm).await;
                for (kind, id) in [
                    (ResourceKind::VNet, &shared),
                    (ResourceKind::SecurityGroup, &shared),
                    (ResourceKind::SshKey, &shared),
                ] {
                    self.add_association(ns, kind, id, &key).await?;
                }
                let region_id = conn_config.region_zone_info.assigned_region.clone();
                repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                    v.connection_name.clone_from(&connection);
                    v.connection_config = conn_config.clone();
                    v.spec_id.clone_from(&spec.id);
                    v.csp_spec_name.clone_from(&spec.csp_spec_name);
                    v.vnet_id.clone_from(&shared);
                    v.csp_vnet_id.clone_from(&vnet.csp_resource_id);
                    v.subnet_id.clone_from(&subnet.id);
                    v.csp_subnet_id.clone_from(&subnet.csp_resource_id);
                    v.security_group_ids = vec![shared.clone()];
                    v.ssh_key_id.clone_from(&shared);
                    v.csp_ssh_key_id.clone_from(&key_doc.csp_resource_id);
                    v.region = tb_model::mci::RegionInfo { region: region_id.clone(), zone: subnet.zone.clone() };
                    v.location = tb_model::resource::Location {
                        display: conn_config.region_detail.location.display.clone(),
                        latitude: conn_config.region_detail.location.latitude,
                        longitude: conn_config.region_detail.location.longitude,
                    };
                    Ok(())
                })
                .await?;
                Ok(format!("region {connection}"))
            }
        }
    }

    /// The (id, cloud id) of a subnet of the vNet in `zone`, adding one to the shared vNet
    /// when it has none there.
    async fn subnet_in_zone(&self, ns: &str, vnet_id: &str, zone: &str) -> CoreResult<(String, String)> {
        // VMs failing over at once must not pick the same free block for different zones.
        let lock = self.engine().shared_lock(&format!("subnet:{ns}:{vnet_id}"));
        let _guard = lock.lock().await;
        let vnet = self.get_resource::<VNetInfo>(ns, vnet_id).await?;
        if let Some(s) = vnet.subnet_info_list.iter().find(|s| s.zone == zone) {
            return Ok((s.id.clone(), s.csp_resource_id.clone()));
        }
        // Next free /18 of the shared 10.0.0.0/16.
        let used: Vec<String> = vnet.subnet_info_list.iter().map(|s| s.ipv4_cidr.clone()).collect();
        let cidr = ["10.0.64.0/18", "10.0.128.0/18", "10.0.192.0/18"]
            .into_iter()
            .find(|c| !used.iter().any(|u| u == c))
            .ok_or_else(|| CoreError::conflict(format!("vNet {vnet_id} has no room for a subnet in zone {zone}")))?;
        let name = format!("{vnet_id}-{zone}");
        let req = SubnetReq {
            name: name.clone(),
            ipv4_cidr: cidr.into(),
            zone: zone.into(),
            description: "capacity failover".into(),
        };
        match self.add_subnet(ns, vnet_id, req).await {
            Ok(s) => Ok((s.id, s.csp_resource_id)),
            Err(CoreError::AlreadyExists(_)) => {
                let again = self.get_subnet(ns, vnet_id, &name).await?;
                Ok((again.id, again.csp_resource_id))
            }
            Err(e) => Err(e),
        }
    }
}
