//! vNets and their subnets. Subnets are stored inside the vNet document.

use tb_cloud::{SubnetSpec, VNetSpec};
use tb_model::check_name;
use tb_model::resource::{SubnetInfo, SubnetReq, VNetInfo, VNetReq};

use super::not_found;
use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, new_uid, repo};

/// An IPv4 block `a.b.c.d/len`, with the host bits zeroed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub len: u8,
}

impl Cidr {
    fn mask(self) -> u32 {
        if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) }
    }
    fn last(self) -> u32 {
        self.base | !self.mask()
    }
    pub fn contains(self, other: Cidr) -> bool {
        other.len >= self.len && (other.base & self.mask()) == self.base
    }
    pub fn overlaps(self, other: Cidr) -> bool {
        self.base <= other.last() && other.base <= self.last()
    }
}

/// Parses and checks an IPv4 CIDR; the address must be the network address.
pub fn validate_cidr(s: &str) -> CoreResult<Cidr> {
    let bad = || CoreError::invalid(format!("{s:?} is not a valid IPv4 CIDR block (e.g. 10.0.0.0/16)"));
    let (addr, len) = s.trim().split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    let cidr = Cidr { base: u32::from(ip), len };
    if cidr.base & !cidr.mask() != 0 {
        return Err(CoreError::invalid(format!(
            "{s} has host bits set; the network address is {}/{len}",
            std::net::Ipv4Addr::from(cidr.base & cidr.mask())
        )));
    }
    Ok(cidr)
}

const DEFAULT_VNET_CIDR: &str = "10.0.0.0/16";

fn subnet_info(req: &SubnetReq, conn: &str, uid: String) -> SubnetInfo {
    SubnetInfo {
        resource_type: "subnet".into(),
        id: req.name.clone(),
        uid,
        name: req.name.clone(),
        connection_name: conn.to_string(),
        ipv4_cidr: req.ipv4_cidr.clone(),
        zone: req.zone.clone(),
        status: "Creating".into(),
        description: req.description.clone(),
        ..SubnetInfo::default()
    }
}

impl Tumblebug {
    /// Checks a subnet against its vNet block, its siblings and the region's zones.
    fn check_subnet(
        &self,
        vnet_cidr: Cidr,
        siblings: &[SubnetInfo],
        req: &SubnetReq,
        zones: &[String],
    ) -> CoreResult<()> {
        check_name(&req.name)?;
        let cidr = validate_cidr(&req.ipv4_cidr)?;
        if !vnet_cidr.contains(cidr) {
            return Err(CoreError::invalid(format!(
                "subnet {} ({}) is outside the vNet block",
                req.name, req.ipv4_cidr
            )));
        }
        for s in siblings {
            if s.name == req.name {
                return Err(CoreError::AlreadyExists(format!("The subnet {} already exists", req.name)));
            }
            if let Ok(other) = validate_cidr(&s.ipv4_cidr)
                && other.overlaps(cidr)
            {
                return Err(CoreError::invalid(format!(
                    "subnet {} ({}) overlaps subnet {} ({})",
                    req.name, req.ipv4_cidr, s.name, s.ipv4_cidr
                )));
            }
        }
        if !req.zone.is_empty() && !zones.is_empty() && !zones.contains(&req.zone) {
            return Err(CoreError::invalid(format!(
                "zone {} is not a zone of this region (zones: {})",
                req.zone,
                zones.join(", ")
            )));
        }
        Ok(())
    }

    pub async fn create_vnet(&self, ns: &str, mut req: VNetReq) -> CoreResult<VNetInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        let (conn_config, conn, driver) = self.clouds.open(&req.connection_name)?;
        if req.cidr_block.is_empty() {
            req.cidr_block = DEFAULT_VNET_CIDR.into();
        }
        let block = validate_cidr(&req.cidr_block)?;
        if req.subnet_info_list.is_empty() {
            return Err(CoreError::invalid("subnetInfoList must name at least one subnet"));
        }
        let zones = conn_config.region_detail.zones.clone();
        let mut subnets: Vec<SubnetInfo> = Vec::new();
        for s in &req.subnet_info_list {
            self.check_subnet(block, &subnets, s, &zones)?;
            subnets.push(subnet_info(s, &req.connection_name, new_uid()));
        }
        let uid = new_uid();
        let key = keys::resource(ns, ResourceKind::VNet, &req.name);
        let mut info = VNetInfo {
            resource_type: "vNet".into(),
            id: req.name.clone(),
            uid: uid.clone(),
            name: req.name.clone(),
            connection_name: req.connection_name.clone(),
            connection_config: conn_config,
            cidr_block: req.cidr_block.clone(),
            subnet_info_list: subnets,
            description: req.description.clone(),
            csp_resource_name: uid.clone(),
            status: "Creating".into(),
            ..VNetInfo::default()
        };
        // Persist the intent first: a crash after the cloud call leaves a record to reconcile.
        let rev = repo::create(self.store.as_ref(), &key, &info, &format!("The vNet {}", req.name)).await?;
        let spec = VNetSpec {
            token: uid,
            cidr: req.cidr_block.clone(),
            subnets: info
                .subnet_info_list
                .iter()
                .map(|s| SubnetSpec { name: s.uid.clone(), cidr: s.ipv4_cidr.clone(), zone: s.zone.clone() })
                .collect(),
        };
        let handle = match driver.create_vnet(&conn, spec).await {
            Ok(h) => h,
            Err(e) => {
                let _ = repo::delete_at(self.store.as_ref(), &key, rev).await;
                return Err(e.into());
            }
        };
        info.csp_resource_id = handle.csp_id.clone();
        info.status = "Available".into();
        for s in &mut info.subnet_info_list {
            if let Some(h) = handle.subnets.iter().find(|h| h.name == s.uid) {
                s.csp_resource_id = h.csp_id.clone();
                s.csp_resource_name = h.name.clone();
                s.zone = h.zone.clone();
            }
            s.csp_vnet_id = handle.csp_id.clone();
            s.status = "Available".into();
        }
        repo::replace(self.store.as_ref(), &key, rev, &info).await?;
        tracing::info!(ns, vnet = %info.id, csp_id = %info.csp_resource_id, "vNet created");
        Ok(info)
    }

    pub async fn list_subnets(&self, ns: &str, vnet_id: &str) -> CoreResult<Vec<SubnetInfo>> {
        Ok(self.get_resource::<VNetInfo>(ns, vnet_id).await?.subnet_info_list)
    }

    pub async fn get_subnet(&self, ns: &str, vnet_id: &str, subnet_id: &str) -> CoreResult<SubnetInfo> {
        self.list_subnets(ns, vnet_id)
            .await?
            .into_iter()
            .find(|s| s.id == subnet_id)
            .ok_or_else(|| CoreError::not_found(format!("The subnet {subnet_id} does not exist in vNet {vnet_id}")))
    }

    pub async fn add_subnet(&self, ns: &str, vnet_id: &str, req: SubnetReq) -> CoreResult<SubnetInfo> {
        let vnet = self.get_resource::<VNetInfo>(ns, vnet_id).await?;
        let block = validate_cidr(&vnet.cidr_block)?;
        self.check_subnet(block, &vnet.subnet_info_list, &req, &vnet.connection_config.region_detail.zones)?;
        let (conn, driver) = self.clouds.resolve(&vnet.connection_name)?;
        let uid = new_uid();
        let spec = SubnetSpec { name: uid.clone(), cidr: req.ipv4_cidr.clone(), zone: req.zone.clone() };
        let handle = driver.create_subnet(&conn, &vnet.csp_resource_id, spec).await?;
        let mut info = subnet_info(&req, &vnet.connection_name, uid);
        info.csp_resource_id = handle.csp_id;
        info.csp_resource_name = handle.name;
        info.csp_vnet_id = vnet.csp_resource_id.clone();
        info.zone = handle.zone;
        info.status = "Available".into();
        let key = keys::resource(ns, ResourceKind::VNet, vnet_id);
        let added = info.clone();
        repo::modify(self.store.as_ref(), &key, &format!("The vNet {vnet_id}"), |v: &mut VNetInfo| {
            if v.subnet_info_list.iter().any(|s| s.id == added.id) {
                return Err(CoreError::AlreadyExists(format!("The subnet {} already exists", added.id)));
            }
            v.subnet_info_list.push(added.clone());
            Ok(())
        })
        .await?;
        Ok(info)
    }

    pub async fn delete_subnet(&self, ns: &str, vnet_id: &str, subnet_id: &str, force: bool) -> CoreResult<()> {
        let vnet = self.get_resource::<VNetInfo>(ns, vnet_id).await?;
        let subnet =
            vnet.subnet_info_list.iter().find(|s| s.id == subnet_id).ok_or_else(|| {
                CoreError::not_found(format!("The subnet {subnet_id} does not exist in vNet {vnet_id}"))
            })?;
        if !force && !vnet.associated_object_list.is_empty() {
            return Err(CoreError::conflict(format!(
                "The vNet {vnet_id} is in use by {:?}; Deletion is not allowed (use force=true for force deletion)",
                vnet.associated_object_list
            )));
        }
        let (conn, driver) = self.clouds.resolve(&vnet.connection_name)?;
        match driver.delete_subnet(&conn, &vnet.csp_resource_id, &subnet.csp_resource_id).await {
            Ok(()) | Err(tb_cloud::CloudError::NotFound { .. }) => {}
            Err(e) if force => {
                tracing::warn!(error = %e, "cloud subnet delete failed; force removes the record")
            }
            Err(e) => return Err(e.into()),
        }
        let key = keys::resource(ns, ResourceKind::VNet, vnet_id);
        repo::modify(self.store.as_ref(), &key, &format!("The vNet {vnet_id}"), |v: &mut VNetInfo| {
            v.subnet_info_list.retain(|s| s.id != subnet_id);
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => not_found(ResourceKind::VNet, ns, vnet_id),
            other => other,
        })?;
        Ok(())
    }

    /// Registers a vNet that exists in the cloud but was not created by Tumblebug.
    pub async fn register_vnet(
        &self,
        ns: &str,
        name: &str,
        connection: &str,
        csp_id: &str,
        description: &str,
    ) -> CoreResult<VNetInfo> {
        self.require_ns(ns).await?;
        check_name(name)?;
        if csp_id.is_empty() {
            return Err(CoreError::invalid("cspResourceId is required to register a vNet"));
        }
        let (conn_config, conn, driver) = self.clouds.open(connection)?;
        let handle = driver.get_vnet(&conn, csp_id).await?;
        let info = VNetInfo {
            resource_type: "vNet".into(),
            id: name.to_string(),
            uid: new_uid(),
            name: name.to_string(),
            connection_name: connection.to_string(),
            connection_config: conn_config,
            cidr_block: handle.cidr.clone(),
            subnet_info_list: handle
                .subnets
                .iter()
                .map(|h| SubnetInfo {
                    resource_type: "subnet".into(),
                    id: h.name.clone(),
                    uid: new_uid(),
                    name: h.name.clone(),
                    connection_name: connection.to_string(),
                    ipv4_cidr: h.cidr.clone(),
                    zone: h.zone.clone(),
                    status: "Available".into(),
                    csp_resource_id: h.csp_id.clone(),
                    csp_resource_name: h.name.clone(),
                    csp_vnet_id: handle.csp_id.clone(),
                    ..SubnetInfo::default()
                })
                .collect(),
            description: description.to_string(),
            csp_resource_id: handle.csp_id.clone(),
            csp_resource_name: handle.token.clone(),
            status: "Available".into(),
            system_label: "Registered from CSP resource".into(),
            ..VNetInfo::default()
        };
        let key = keys::resource(ns, ResourceKind::VNet, name);
        repo::create(self.store.as_ref(), &key, &info, &format!("The vNet {name}")).await?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_rules() {
        let b = validate_cidr("10.0.0.0/16").unwrap();
        assert!(b.contains(validate_cidr("10.0.1.0/24").unwrap()));
        assert!(!b.contains(validate_cidr("10.1.0.0/24").unwrap()));
        assert!(!b.contains(validate_cidr("10.0.0.0/8").unwrap()));
        let a = validate_cidr("10.0.0.0/18").unwrap();
        assert!(a.overlaps(validate_cidr("10.0.63.0/24").unwrap()));
        assert!(!a.overlaps(validate_cidr("10.0.64.0/18").unwrap()));
        for bad in ["", "10.0.0.0", "10.0.0.1/16", "10.0.0.0/33", "300.0.0.0/8", "a/b"] {
            assert!(validate_cidr(bad).is_err(), "{bad}");
        }
        assert_eq!(validate_cidr("0.0.0.0/0").unwrap().len, 0);
    }
}
