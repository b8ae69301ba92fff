//! vNets with subnets, security groups, key pairs, and the spec/image lookups, as a cloud
//! serves them: idempotent by token, validated, and refusing to delete what is still in use.

use rand::rngs::Xoshiro256PlusPlus;
use ssh_key::{HashAlg, PublicKey};

use super::engine::{Ctx, SimCloud};
use super::net::Cidr;
use super::profile::Kind;
use super::region::{Region, Stored, key_pair_key, security_group_key, vnet_key};
use crate::{
    CloudError, CloudImage, CloudResult, CloudSpec, Connection, FirewallRule, KeyPairHandle, KeyPairSpec,
    SecurityGroupHandle, SecurityGroupSpec, SubnetHandle, SubnetSpec, VNetHandle, VNetSpec,
};

fn not_found(kind: &str, id: &str) -> CloudError {
    CloudError::NotFound { kind: kind.to_string(), id: id.to_string() }
}

fn invalid(msg: String) -> CloudError {
    CloudError::InvalidRequest(msg)
}

fn stored<T: Clone>(region: &Region, object: &T) -> Stored<T> {
    Stored { provider: region.provider.clone(), region: region.id.clone(), object: object.clone() }
}

/// Refuses to delete `what` while a VM that still holds resources uses it.
fn check_no_live_vm(
    region: &Region,
    now: u64,
    what: &str,
    uses: impl Fn(&super::region::VmRecord) -> bool,
) -> CloudResult<()> {
    match region.vms.values().find(|vm| uses(vm) && vm.is_live(now)) {
        Some(vm) => Err(invalid(format!("DependencyViolation: {what} is in use by VM {}", vm.csp_id))),
        None => Ok(()),
    }
}

/// A subnet `spec` may add to a vNet of block `vnet` that already has `existing`.
fn new_subnet(
    region: &Region,
    vnet: &Cidr,
    existing: &[SubnetHandle],
    spec: &SubnetSpec,
    rng: &mut Xoshiro256PlusPlus,
) -> CloudResult<SubnetHandle> {
    if spec.name.is_empty() {
        return Err(invalid("subnet name must not be empty".into()));
    }
    if existing.iter().any(|o| o.name == spec.name) {
        return Err(invalid(format!("subnet name {} is taken", spec.name)));
    }
    let block = Cidr::parse(&spec.cidr).map_err(invalid)?;
    if !vnet.contains(&block) {
        return Err(invalid(format!("subnet {} ({}) is not inside the vNet's block", spec.name, spec.cidr)));
    }
    for other in existing {
        if Cidr::parse(&other.cidr).is_ok_and(|o| o.overlaps(&block)) {
            return Err(invalid(format!(
                "InvalidSubnet.Conflict: subnet {} ({}) overlaps subnet {} ({})",
                spec.name, spec.cidr, other.name, other.cidr
            )));
        }
    }
    Ok(SubnetHandle {
        name: spec.name.clone(),
        csp_id: region.fresh_id(Kind::Subnet, rng),
        cidr: spec.cidr.clone(),
        zone: region.zone_or_default(&spec.zone)?,
    })
}

fn check_rule(rule: &FirewallRule) -> CloudResult<()> {
    let direction = rule.direction.to_ascii_lowercase();
    if direction != "inbound" && direction != "outbound" {
        return Err(invalid(format!("firewall rule direction must be inbound or outbound, not {:?}", rule.direction)));
    }
    let protocol = rule.protocol.to_ascii_lowercase();
    if !["tcp", "udp", "icmp", "all", "-1"].contains(&protocol.as_str()) {
        return Err(invalid(format!("firewall rule protocol must be tcp, udp, icmp or all, not {:?}", rule.protocol)));
    }
    Ok(())
}

impl SimCloud {
    /// Creates a vNet with its subnets, or returns the one created with `spec.token`.
    pub async fn create_vnet(&self, conn: &Connection, spec: VNetSpec) -> CloudResult<VNetHandle> {
        self.call(conn, "CreateVNet", |inner, ctx, key| {
            let rng = &mut inner.rng;
            let region = inner.regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            if let Some(v) = region.vnets.values().find(|v| v.token == spec.token) {
                return Ok(v.clone());
            }
            let block = Cidr::parse(&spec.cidr).map_err(invalid)?;
            let mut subnets: Vec<SubnetHandle> = Vec::new();
            for s in &spec.subnets {
                let subnet = new_subnet(region, &block, &subnets, s, rng)?;
                subnets.push(subnet);
            }
            let vnet = VNetHandle {
                csp_id: region.fresh_id(Kind::VNet, rng),
                token: spec.token.clone(),
                cidr: spec.cidr.clone(),
                subnets,
            };
            ctx.put(vnet_key(key, &vnet.csp_id), &stored(region, &vnet));
            region.vnets.insert(vnet.csp_id.clone(), vnet.clone());
            tracing::debug!(connection = key, csp_id = %vnet.csp_id, token = %vnet.token, "sim vNet created");
            Ok(vnet)
        })
        .await
    }

    /// Deletes a vNet that no security group or live VM uses.
    pub async fn delete_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.call(conn, "DeleteVNet", |inner, ctx, key| {
            let region = inner.region(key)?;
            if !region.vnets.contains_key(csp_id) {
                return Err(not_found("vNet", csp_id));
            }
            if let Some(sg) = region.security_groups.values().find(|sg| sg.vnet_csp_id == csp_id) {
                return Err(invalid(format!("DependencyViolation: vNet {csp_id} has security group {}", sg.csp_id)));
            }
            check_no_live_vm(region, ctx.now, &format!("vNet {csp_id}"), |vm| vm.vnet_csp_id == csp_id)?;
            region.vnets.remove(csp_id);
            ctx.delete(vnet_key(key, csp_id));
            Ok(())
        })
        .await
    }

    /// Creates a security group in a vNet, or returns the one created with `spec.token`.
    pub async fn create_security_group(
        &self,
        conn: &Connection,
        spec: SecurityGroupSpec,
    ) -> CloudResult<SecurityGroupHandle> {
        self.call(conn, "CreateSecurityGroup", |inner, ctx, key| {
            let rng = &mut inner.rng;
            let region = inner.regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            if let Some(sg) = region.security_groups.values().find(|sg| sg.token == spec.token) {
                return Ok(sg.clone());
            }
            if !region.vnets.contains_key(&spec.vnet_csp_id) {
                return Err(invalid(format!("vNet {} does not exist", spec.vnet_csp_id)));
            }
            spec.rules.iter().try_for_each(check_rule)?;
            let sg = SecurityGroupHandle {
                csp_id: region.fresh_id(Kind::SecurityGroup, rng),
                token: spec.token.clone(),
                vnet_csp_id: spec.vnet_csp_id.clone(),
                rules: spec.rules.clone(),
            };
            ctx.put(security_group_key(key, &sg.csp_id), &stored(region, &sg));
            region.security_groups.insert(sg.csp_id.clone(), sg.clone());
            Ok(sg)
        })
        .await
    }

    /// Deletes a security group that no live VM uses.
    pub async fn delete_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.call(conn, "DeleteSecurityGroup", |inner, ctx, key| {
            let region = inner.region(key)?;
            if !region.security_groups.contains_key(csp_id) {
                return Err(not_found("securityGroup", csp_id));
            }
            check_no_live_vm(region, ctx.now, &format!("security group {csp_id}"), |vm| {
                vm.security_group_csp_ids.iter().any(|id| id == csp_id)
            })?;
            region.security_groups.remove(csp_id);
            ctx.delete(security_group_key(key, csp_id));
            Ok(())
        })
        .await
    }

    /// Imports a public key, or returns the key pair imported with `spec.token`.
    pub async fn create_key_pair(&self, conn: &Connection, spec: KeyPairSpec) -> CloudResult<KeyPairHandle> {
        self.call(conn, "ImportKeyPair", |inner, ctx, key| {
            let rng = &mut inner.rng;
            let region = inner.regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            if let Some(k) = region.key_pairs.values().find(|k| k.token == spec.token) {
                return Ok(k.clone());
            }
            let public = PublicKey::from_openssh(spec.public_key.trim())
                .map_err(|e| invalid(format!("the public key is not an OpenSSH public key: {e}")))?;
            let kp = KeyPairHandle {
                csp_id: region.fresh_id(Kind::KeyPair, rng),
                token: spec.token.clone(),
                fingerprint: public.fingerprint(HashAlg::Sha256).to_string(),
            };
            ctx.put(key_pair_key(key, &kp.csp_id), &stored(region, &kp));
            region.key_pairs.insert(kp.csp_id.clone(), kp.clone());
            Ok(kp)
        })
        .await
    }

    /// Key pairs can be deleted while VMs use them, as on the real clouds: a VM keeps the key
    /// it booted with.
    pub async fn delete_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.call(conn, "DeleteKeyPair", |inner, ctx: &mut Ctx, key| {
            let region = inner.region(key)?;
            if region.key_pairs.remove(csp_id).is_none() {
                return Err(not_found("keyPair", csp_id));
            }
            ctx.delete(key_pair_key(key, csp_id));
            Ok(())
        })
        .await
    }

    /// Adds a subnet to a vNet; a subnet of the same name already there is returned as is.
    pub async fn create_subnet(
        &self,
        conn: &Connection,
        vnet_csp_id: &str,
        spec: SubnetSpec,
    ) -> CloudResult<SubnetHandle> {
        self.call(conn, "CreateSubnet", |inner, ctx, key| {
            let rng = &mut inner.rng;
            let region = inner.regions.get_mut(key).ok_or_else(|| CloudError::UnknownConnection(key.into()))?;
            let vnet = region.vnets.get(vnet_csp_id).ok_or_else(|| not_found("vNet", vnet_csp_id))?;
            if let Some(s) = vnet.subnets.iter().find(|s| s.name == spec.name) {
                return Ok(s.clone());
            }
            let block = Cidr::parse(&vnet.cidr).map_err(invalid)?;
            let subnet = new_subnet(region, &block, &vnet.subnets, &spec, rng)?;
            let Some(vnet) = region.vnets.get_mut(vnet_csp_id) else {
                return Err(not_found("vNet", vnet_csp_id));
            };
            vnet.subnets.push(subnet.clone());
            let record = Stored { provider: region.provider.clone(), region: region.id.clone(), object: vnet.clone() };
            ctx.put(vnet_key(key, vnet_csp_id), &record);
            Ok(subnet)
        })
        .await
    }

    /// Deletes a subnet that no live VM uses.
    pub async fn delete_subnet(&self, conn: &Connection, vnet_csp_id: &str, subnet_csp_id: &str) -> CloudResult<()> {
        self.call(conn, "DeleteSubnet", |inner, ctx, key| {
            let region = inner.region(key)?;
            let vnet = region.vnets.get(vnet_csp_id).ok_or_else(|| not_found("vNet", vnet_csp_id))?;
            if !vnet.subnets.iter().any(|s| s.csp_id == subnet_csp_id) {
                return Err(not_found("subnet", subnet_csp_id));
            }
            check_no_live_vm(region, ctx.now, &format!("subnet {subnet_csp_id}"), |vm| {
                vm.subnet_csp_id == subnet_csp_id
            })?;
            let Some(vnet) = region.vnets.get_mut(vnet_csp_id) else {
                return Err(not_found("vNet", vnet_csp_id));
            };
            vnet.subnets.retain(|s| s.csp_id != subnet_csp_id);
            let record = Stored { provider: region.provider.clone(), region: region.id.clone(), object: vnet.clone() };
            ctx.put(vnet_key(key, vnet_csp_id), &record);
            Ok(())
        })
        .await
    }

    /// A vNet by CSP id.
    pub async fn get_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<VNetHandle> {
        self.call(conn, "DescribeVpc", |inner, _, key| {
            inner.region(key)?.vnets.get(csp_id).cloned().ok_or_else(|| not_found("vNet", csp_id))
        })
        .await
    }

    /// A security group by CSP id.
    pub async fn get_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<SecurityGroupHandle> {
        self.call(conn, "DescribeSecurityGroup", |inner, _, key| {
            inner.region(key)?.security_groups.get(csp_id).cloned().ok_or_else(|| not_found("securityGroup", csp_id))
        })
        .await
    }

    /// Replaces every rule of a security group.
    pub async fn set_security_group_rules(
        &self,
        conn: &Connection,
        csp_id: &str,
        rules: Vec<FirewallRule>,
    ) -> CloudResult<SecurityGroupHandle> {
        self.call(conn, "ModifySecurityGroupRules", |inner, ctx, key| {
            rules.iter().try_for_each(check_rule)?;
            let region = inner.region(key)?;
            let (provider, region_id) = (region.provider.clone(), region.id.clone());
            let sg = region.security_groups.get_mut(csp_id).ok_or_else(|| not_found("securityGroup", csp_id))?;
            sg.rules = rules;
            let record = Stored { provider, region: region_id, object: sg.clone() };
            ctx.put(security_group_key(key, csp_id), &record);
            Ok(record.object)
        })
        .await
    }

    /// A key pair by CSP id.
    pub async fn get_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<KeyPairHandle> {
        self.call(conn, "DescribeKeyPair", |inner, _, key| {
            inner.region(key)?.key_pairs.get(csp_id).cloned().ok_or_else(|| not_found("keyPair", csp_id))
        })
        .await
    }

    /// A spec of the region, from the catalog.
    pub async fn lookup_spec(&self, conn: &Connection, name: &str) -> CloudResult<CloudSpec> {
        self.call(conn, "DescribeInstanceType", |_, _, _| {
            self.catalog.spec(&conn.provider, &conn.region, name).map(cloud_spec).ok_or_else(|| not_found("spec", name))
        })
        .await
    }

    /// Every spec of the region.
    pub async fn list_specs(&self, conn: &Connection) -> CloudResult<Vec<CloudSpec>> {
        self.call(conn, "DescribeInstanceTypes", |_, _, _| {
            Ok(self.catalog.specs_in(&conn.provider, &conn.region).into_iter().map(cloud_spec).collect())
        })
        .await
    }

    /// An image usable in the region, from the catalog.
    pub async fn lookup_image(&self, conn: &Connection, name: &str) -> CloudResult<CloudImage> {
        self.call(conn, "DescribeImage", |_, _, _| {
            self.catalog
                .image(&conn.provider, &conn.region, name)
                .map(cloud_image)
                .ok_or_else(|| not_found("image", name))
        })
        .await
    }

    /// Every image usable in the region.
    pub async fn list_images(&self, conn: &Connection) -> CloudResult<Vec<CloudImage>> {
        self.call(conn, "DescribeImages", |_, _, _| {
            Ok(self.catalog.images_in(&conn.provider, &conn.region).into_iter().map(cloud_image).collect())
        })
        .await
    }
}

fn cloud_spec(s: &tb_catalog::Spec) -> CloudSpec {
    CloudSpec {
        name: s.name.clone(),
        vcpu: s.vcpu,
        memory_gib: s.memory_gib,
        gpu_model: s.gpu.as_ref().map(|g| g.model.clone()).unwrap_or_default(),
        gpu_count: s.gpu.as_ref().map_or(0, |g| g.count),
        architecture: s.architecture.clone(),
    }
}

fn cloud_image(i: &tb_catalog::Image) -> CloudImage {
    CloudImage { name: i.name.clone(), os_type: i.os_type.clone(), os_architecture: i.os_architecture.clone() }
}
