//! VM operations: create (validated against the catalog and the region's network objects,
//! subject to capacity, quota and the other fault knobs), reads, and the lifecycle controls
//! with each CSP's rules about which state allows what.

use std::collections::HashSet;

use super::config::LostError;
use super::engine::{Ctx, Inner, SimCloud, chance};
use super::net::{self, Cidr};
use super::profile::{Kind, Op, between, scaled_ms};
use super::region::{Region, VmRecord, vm_key};
use super::track::{Phase, State, Step, Track};
use crate::{CloudError, CloudResult, Connection, VmHandle, VmSpec};

fn invalid(msg: String) -> CloudError {
    CloudError::InvalidRequest(msg)
}

fn vm_not_found(id: &str) -> CloudError {
    CloudError::NotFound { kind: "VM".into(), id: id.to_string() }
}

/// What a create decided under the lock.
struct Created {
    handle: VmHandle,
    key: String,
    wait_ms: u64,
    lost: Option<LostError>,
}

impl SimCloud {
    /// Creates a VM, or returns the one already created with `spec.token`.
    pub async fn create_vm(&self, conn: &Connection, spec: VmSpec) -> CloudResult<VmHandle> {
        let (created, written) = self.locked(|inner, ctx| {
            let key = inner.admit(&self.catalog, conn, ctx.now, "RunInstances")?;
            inner.create_vm(&self.catalog, &key, &spec, ctx)
        });
        let created = created?;
        self.clock.sleep(created.wait_ms).await;
        if let Some(w) = written {
            let _ = w.await;
        }
        match created.lost {
            Some(LostError::Timeout) => {
                let secs = created.wait_ms.div_ceil(1000).max(1);
                return Err(CloudError::Timeout(secs));
            }
            Some(LostError::Unreachable) => {
                return Err(CloudError::Unreachable(format!(
                    "connection reset while creating VM {} in {}",
                    spec.token, created.key
                )));
            }
            None => {}
        }
        // The VM kept booting while the call was in flight: answer with what it is now.
        let (now, _) = self.locked(|inner, ctx| {
            inner
                .regions
                .get(&created.key)
                .and_then(|r| r.vms.get(&created.handle.csp_id))
                .and_then(|vm| vm.view(ctx.now))
        });
        Ok(now.unwrap_or(created.handle))
    }

    /// The VM created with `token`, including a terminated one the cloud still lists.
    pub async fn find_vm_by_token(&self, conn: &Connection, token: &str) -> CloudResult<Option<VmHandle>> {
        self.call(conn, "DescribeInstances", |inner, ctx, key| {
            let Inner { regions, public_ips, .. } = inner;
            let region = regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            let Some(id) = region.vm_tokens.get(token).cloned() else {
                return Ok(None);
            };
            Ok(observe(region, &id, ctx, public_ips))
        })
        .await
    }

    /// A VM by CSP id; `NotFound` once it has vanished.
    pub async fn get_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<VmHandle> {
        self.call(conn, "DescribeInstance", |inner, ctx, key| {
            let Inner { regions, public_ips, .. } = inner;
            let region = regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            observe(region, csp_id, ctx, public_ips).ok_or_else(|| vm_not_found(csp_id))
        })
        .await
    }

    /// Every VM the region lists, oldest first.
    pub async fn list_vms(&self, conn: &Connection) -> CloudResult<Vec<VmHandle>> {
        self.call(conn, "DescribeInstances", |inner, ctx, key| {
            let Inner { regions, public_ips, .. } = inner;
            let region = regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            let mut ids: Vec<(u64, String)> = region.vms.values().map(|vm| (vm.seq, vm.csp_id.clone())).collect();
            ids.sort();
            Ok(ids.into_iter().filter_map(|(_, id)| observe(region, &id, ctx, public_ips)).collect())
        })
        .await
    }

    /// Stops a running VM.
    pub async fn suspend_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.control(conn, csp_id, Op::Stop).await
    }

    /// Starts a stopped VM.
    pub async fn resume_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.control(conn, csp_id, Op::Start).await
    }

    /// Reboots a running VM.
    pub async fn reboot_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.control(conn, csp_id, Op::Reboot).await
    }

    /// Terminating a VM that is already terminating or terminated succeeds and changes nothing.
    pub async fn terminate_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.control(conn, csp_id, Op::Terminate).await
    }

    async fn control(&self, conn: &Connection, csp_id: &str, op: Op) -> CloudResult<()> {
        let what = match op {
            Op::Stop => "StopInstances",
            Op::Start => "StartInstances",
            Op::Reboot => "RebootInstances",
            _ => "TerminateInstances",
        };
        self.call(conn, what, |inner, ctx, key| {
            let Inner { regions, public_ips, rng, config, .. } = inner;
            let region = regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            let Some(handle) = observe(region, csp_id, ctx, public_ips) else {
                return Err(vm_not_found(csp_id));
            };
            let csp = region.csp;
            let vm = region.vms.get_mut(csp_id).ok_or_else(|| vm_not_found(csp_id))?;
            let Some(state) = vm.state(ctx.now).cloned() else {
                return Err(vm_not_found(csp_id));
            };
            if op == Op::Terminate && matches!(state.phase, Phase::Terminating | Phase::Terminated) {
                return Ok(());
            }
            check_allowed(op, &state, &handle)?;
            vm.track = csp.track(op, &state, ctx.now, config.time_factor, rng);
            let release = match op {
                Op::Terminate => true,
                Op::Stop => csp.releases_public_ip_on_stop(),
                _ => false,
            };
            if release {
                if let Some(ip) = net::from_string(&vm.public_ip) {
                    public_ips.remove(&ip);
                }
                vm.public_ip.clear();
            }
            if op == Op::Start && vm.public_ip.is_empty() {
                vm.public_ip = draw_public_ip(rng, public_ips).unwrap_or_default();
            }
            ctx.put(vm_key(key, csp_id), &*vm);
            tracing::debug!(connection = key, csp_id, op = what, "sim VM operation accepted");
            Ok(())
        })
        .await
    }
}

/// The VM as listed now; a VM that has vanished is forgotten (and deleted from the store).
fn observe(region: &mut Region, csp_id: &str, ctx: &mut Ctx, public_ips: &mut HashSet<u32>) -> Option<VmHandle> {
    let view = region.vms.get(csp_id)?.view(ctx.now);
    if view.is_none() {
        region.remove_vm(csp_id, public_ips);
        ctx.delete(vm_key(&region.key, csp_id));
    }
    view
}

/// What a real cloud answers when asked for an operation the VM's state does not allow.
fn check_allowed(op: Op, state: &State, vm: &VmHandle) -> CloudResult<()> {
    let (verb, needs) = match op {
        Op::Stop => ("suspend", Phase::Running),
        Op::Start => ("resume", Phase::Stopped),
        Op::Reboot => ("reboot", Phase::Running),
        Op::Terminate | Op::Create | Op::Fail => return Ok(()),
    };
    if state.phase == needs {
        return Ok(());
    }
    let needed = if needs == Phase::Running { "running" } else { "stopped" };
    Err(invalid(format!(
        "IncorrectInstanceState: cannot {verb} VM {}: it is {} ({}); only a {needed} VM can be {}",
        vm.csp_id,
        state.word,
        vm.status,
        match op {
            Op::Stop => "suspended",
            Op::Start => "resumed",
            _ => "rebooted",
        }
    )))
}

fn draw_public_ip(rng: &mut rand::rngs::Xoshiro256PlusPlus, used: &mut HashSet<u32>) -> Option<String> {
    let ip = net::draw_host(&net::public_block(), rng, |ip| used.contains(&ip))?;
    used.insert(ip);
    Some(net::to_string(ip))
}

impl Inner {
    fn create_vm(
        &mut self,
        catalog: &tb_catalog::Catalog,
        key: &str,
        spec: &VmSpec,
        ctx: &mut Ctx,
    ) -> CloudResult<Created> {
        let Inner { config, rng, regions, public_ips, next_seq, .. } = self;
        let region = regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
        let csp = region.csp;
        let factor = config.time_factor;
        let call_ms = {
            let (lo, hi) = match config.durations.create_call_secs {
                Some(secs) => (secs, secs),
                None => csp.create_call_secs(),
            };
            scaled_ms(between(rng, lo, hi), factor)
        };

        // Idempotency: the same token always means the same VM.
        if let Some(id) = region.vm_tokens.get(&spec.token).cloned()
            && let Some(handle) = observe(region, &id, ctx, public_ips)
        {
            return Ok(Created { handle, key: key.to_string(), wait_ms: call_ms, lost: None });
        }

        let provider = region.provider.clone();
        let cat_spec = catalog.spec(&provider, &region.id, &spec.spec_name).ok_or_else(|| {
            invalid(format!("spec {} does not exist in {provider} region {}", spec.spec_name, region.id))
        })?;
        let vcpu = cat_spec.vcpu;
        if catalog.image(&provider, &region.id, &spec.image_name).is_none() {
            return Err(invalid(format!(
                "image {} does not exist in {provider} region {}",
                spec.image_name, region.id
            )));
        }
        let requested_zone = spec.zone.clone().unwrap_or_default();
        if !requested_zone.is_empty() {
            region.zone_or_default(&requested_zone)?;
        }
        let vnet = region
            .vnets
            .get(&spec.vnet_csp_id)
            .ok_or_else(|| invalid(format!("vNet {} does not exist", spec.vnet_csp_id)))?;
        let subnet = vnet.subnets.iter().find(|s| s.csp_id == spec.subnet_csp_id).ok_or_else(|| {
            invalid(format!("subnet {} does not exist in vNet {}", spec.subnet_csp_id, spec.vnet_csp_id))
        })?;
        let zone = if requested_zone.is_empty() {
            subnet.zone.clone()
        } else if subnet.zone.is_empty() || subnet.zone == requested_zone {
            requested_zone
        } else {
            return Err(invalid(format!(
                "zone {requested_zone} does not match subnet {}'s zone {}",
                subnet.csp_id, subnet.zone
            )));
        };
        let subnet_block = Cidr::parse(&subnet.cidr).map_err(invalid)?;
        for sg in &spec.security_group_csp_ids {
            match region.security_groups.get(sg) {
                Some(g) if g.vnet_csp_id == spec.vnet_csp_id => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "security group {sg} belongs to another vNet than {}",
                        spec.vnet_csp_id
                    )));
                }
                None => return Err(invalid(format!("security group {sg} does not exist"))),
            }
        }
        if !region.key_pairs.contains_key(&spec.key_pair_csp_id) {
            return Err(invalid(format!("key pair {} does not exist", spec.key_pair_csp_id)));
        }
        let (default_disk_type, image_disk_gb) = csp.root_disk();
        let root_disk_size_gb = spec.root_disk_size_gb.unwrap_or(image_disk_gb);
        if root_disk_size_gb < image_disk_gb {
            return Err(invalid(format!(
                "root disk of {root_disk_size_gb} GB is smaller than the image's {image_disk_gb} GB"
            )));
        }
        let root_disk_type = spec
            .root_disk_type
            .clone()
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("default"))
            .unwrap_or_else(|| default_disk_type.to_string());

        let faults = &mut config.faults;
        let matches = |scope: &super::config::Scope| scope.matches(&provider, key);
        if faults.capacity.iter().any(|c| {
            matches(&c.scope)
                && c.zone.as_ref().is_none_or(|z| *z == zone)
                && c.spec.as_ref().is_none_or(|s| *s == spec.spec_name)
        }) {
            tracing::debug!(connection = key, zone, spec = %spec.spec_name, "sim has no capacity");
            return Err(CloudError::Capacity { spec: spec.spec_name.clone(), region: region.id.clone(), zone });
        }
        if let Some(limit) = faults.vcpu_quota.iter().filter(|q| matches(&q.scope)).map(|q| q.limit).min() {
            let used: u32 = region.vms.values().filter(|vm| vm.is_live(ctx.now)).map(|vm| vm.vcpu).sum();
            if u64::from(used) + u64::from(vcpu) > u64::from(limit) {
                return Err(CloudError::Quota { region: region.id.clone(), requested: vcpu, used, limit });
            }
        }

        let subnet_id = subnet.csp_id.clone();
        let private = net::draw_host(&subnet_block, rng, |ip| region.private_ips.contains(&(subnet_id.clone(), ip)))
            .ok_or_else(|| {
                invalid(format!("InsufficientFreeAddressesInSubnet: subnet {subnet_id} has no free address"))
            })?;
        let public_ip = draw_public_ip(rng, public_ips).ok_or_else(|| CloudError::Capacity {
            spec: spec.spec_name.clone(),
            region: region.id.clone(),
            zone: zone.clone(),
        })?;
        let csp_id = region.fresh_id(Kind::Vm, rng);

        let mut track =
            csp.track(Op::Create, &State { phase: Phase::Creating, word: String::new() }, ctx.now, factor, rng);
        if let Some(boot) = config.durations.boot_secs {
            // Spread the fixed boot time evenly over the CSP's boot steps.
            let steps = track.steps.len().max(1) as f64;
            for step in &mut track.steps {
                step.ms = scaled_ms(boot / steps, factor);
            }
        }
        if take_next(&mut faults.fail_after_boot.next_n, matches(&faults.fail_after_boot.scope))
            || (matches(&faults.fail_after_boot.scope) && chance(rng, faults.fail_after_boot.probability))
        {
            doom(&mut track, csp, faults.fail_after_boot.after_secs, factor, rng);
        }
        let lost_applies = matches(&faults.lost_response.scope);
        let lost = (take_next(&mut faults.lost_response.next_n, lost_applies)
            || (lost_applies && chance(rng, faults.lost_response.probability)))
        .then_some(faults.lost_response.error);
        let slow_ms = faults
            .slow_create
            .iter()
            .filter(|s| matches(&s.scope))
            .map(|s| scaled_ms(s.extra_secs, factor))
            .max()
            .unwrap_or(0);

        let vm = VmRecord {
            provider: provider.clone(),
            region: region.id.clone(),
            csp_id: csp_id.clone(),
            token: spec.token.clone(),
            zone,
            vnet_csp_id: spec.vnet_csp_id.clone(),
            subnet_csp_id: subnet_id,
            security_group_csp_ids: spec.security_group_csp_ids.clone(),
            key_pair_csp_id: spec.key_pair_csp_id.clone(),
            vm_user: spec.vm_user.clone(),
            spec_name: spec.spec_name.clone(),
            image_name: spec.image_name.clone(),
            vcpu,
            root_disk_type,
            root_disk_size_gb,
            public_ip,
            private_ip: net::to_string(private),
            created_ms: ctx.now,
            seq: *next_seq,
            track,
        };
        let handle =
            vm.view(ctx.now).ok_or_else(|| CloudError::Transient(format!("VM {csp_id} vanished while created")))?;
        *next_seq += 1;
        ctx.put(vm_key(key, &csp_id), &vm);
        region.insert_vm(vm, public_ips);
        tracing::debug!(connection = key, csp_id = %csp_id, token = %spec.token, lost = lost.is_some(), "sim VM created");
        Ok(Created { handle, key: key.to_string(), wait_ms: call_ms + slow_ms, lost })
    }
}

/// Counts down a "next N" fault counter; true when this call is one of the N.
fn take_next(counter: &mut u32, applies: bool) -> bool {
    if applies && *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

/// Makes a create track end in the CSP's failure: running for `after_secs`, then failing.
fn doom(
    track: &mut Track,
    csp: super::profile::Csp,
    after_secs: f64,
    factor: f64,
    rng: &mut rand::rngs::Xoshiro256PlusPlus,
) {
    let Some(running) = track.end.take() else {
        return;
    };
    let failure = csp.track(Op::Fail, &running, 0, factor, rng);
    track.steps.push(Step { state: running, ms: scaled_ms(after_secs, factor) });
    track.steps.extend(failure.steps);
    track.end = failure.end;
}
