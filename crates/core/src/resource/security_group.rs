//! Security groups and their firewall rules.

use tb_cloud::{FirewallRule, SecurityGroupSpec};
use tb_model::check_name;
use tb_model::resource::{
    FirewallRuleInfo, FirewallRuleReq, SecurityGroupInfo, SecurityGroupReq, SecurityGroupUpdateResponse, VNetInfo,
};

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, new_uid, repo};

fn parse_port(p: &str, rule: &str) -> CoreResult<u16> {
    p.trim().parse::<u16>().map_err(|_| CoreError::invalid(format!("firewall rule {rule}: {p:?} is not a port number")))
}

/// Expands rule requests (`Ports: "22,80,1000-2000"`, or the older `FromPort`/`ToPort`) into
/// one stored rule per port or range, with protocol upper-cased and direction lower-cased.
pub fn parse_rules(reqs: &[FirewallRuleReq]) -> CoreResult<Vec<FirewallRuleInfo>> {
    let mut out: Vec<FirewallRuleInfo> = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let which = format!("#{}", i + 1);
        let protocol = if r.protocol.is_empty() { &r.ip_protocol } else { &r.protocol }.to_uppercase();
        if !matches!(protocol.as_str(), "TCP" | "UDP" | "ICMP" | "ALL") {
            return Err(CoreError::invalid(format!(
                "firewall rule {which}: protocol {protocol:?} must be one of TCP, UDP, ICMP, ALL"
            )));
        }
        let direction = r.direction.to_lowercase();
        if !matches!(direction.as_str(), "inbound" | "outbound") {
            return Err(CoreError::invalid(format!(
                "firewall rule {which}: direction {:?} must be inbound or outbound",
                r.direction
            )));
        }
        let cidr = if r.cidr.is_empty() { "0.0.0.0/0".to_string() } else { r.cidr.clone() };
        super::validate_cidr(&cidr).map_err(|e| CoreError::invalid(format!("firewall rule {which}: {e}")))?;
        let mut ports: Vec<String> = Vec::new();
        if matches!(protocol.as_str(), "ICMP" | "ALL") {
            ports.push(String::new());
        } else if !r.ports.is_empty() {
            for part in r.ports.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (parse_port(a, &which)?, parse_port(b, &which)?);
                        if a > b {
                            return Err(CoreError::invalid(format!("firewall rule {which}: range {part} is reversed")));
                        }
                        ports.push(if a == b { a.to_string() } else { format!("{a}-{b}") });
                    }
                    None => ports.push(parse_port(part, &which)?.to_string()),
                }
            }
        } else if !r.from_port.is_empty() {
            let from = parse_port(&r.from_port, &which)?;
            let to = if r.to_port.is_empty() { from } else { parse_port(&r.to_port, &which)? };
            if from > to {
                return Err(CoreError::invalid(format!("firewall rule {which}: FromPort is above ToPort")));
            }
            ports.push(if from == to { from.to_string() } else { format!("{from}-{to}") });
        } else {
            return Err(CoreError::invalid(format!("firewall rule {which}: Ports is required for {protocol}")));
        }
        for port in ports {
            let rule =
                FirewallRuleInfo { port, protocol: protocol.clone(), direction: direction.clone(), cidr: cidr.clone() };
            if !out.contains(&rule) {
                out.push(rule);
            }
        }
    }
    Ok(out)
}

fn to_cloud(rules: &[FirewallRuleInfo]) -> Vec<FirewallRule> {
    rules
        .iter()
        .map(|r| {
            let (from, to) = match r.port.split_once('-') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None if r.port.is_empty() => ("-1".to_string(), "-1".to_string()),
                None => (r.port.clone(), r.port.clone()),
            };
            FirewallRule {
                protocol: r.protocol.to_lowercase(),
                direction: r.direction.clone(),
                from_port: from,
                to_port: to,
                cidr: r.cidr.clone(),
            }
        })
        .collect()
}

impl Tumblebug {
    pub async fn create_security_group(&self, ns: &str, req: SecurityGroupReq) -> CoreResult<SecurityGroupInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        let rules = parse_rules(&req.firewall_rules)?;
        let vnet = self
            .get_resource::<VNetInfo>(ns, &req.vnet_id)
            .await
            .map_err(|_| CoreError::invalid(format!("vNetId {:?} does not exist in namespace {ns}", req.vnet_id)))?;
        let connection =
            if req.connection_name.is_empty() { vnet.connection_name.clone() } else { req.connection_name.clone() };
        if connection != vnet.connection_name {
            return Err(CoreError::invalid(format!(
                "vNet {} belongs to connection {}, not {connection}",
                vnet.id, vnet.connection_name
            )));
        }
        let (conn_config, conn, driver) = self.clouds.open(&connection)?;
        let uid = new_uid();
        let key = keys::resource(ns, ResourceKind::SecurityGroup, &req.name);
        let mut info = SecurityGroupInfo {
            resource_type: "securityGroup".into(),
            id: req.name.clone(),
            uid: uid.clone(),
            name: req.name.clone(),
            connection_name: connection,
            connection_config: conn_config,
            vnet_id: vnet.id.clone(),
            description: req.description.clone(),
            firewall_rules: rules,
            csp_resource_name: uid.clone(),
            ..SecurityGroupInfo::default()
        };
        let rev = repo::create(self.store.as_ref(), &key, &info, &format!("The securityGroup {}", req.name)).await?;
        let spec = SecurityGroupSpec {
            token: uid,
            vnet_csp_id: vnet.csp_resource_id.clone(),
            rules: to_cloud(&info.firewall_rules),
        };
        match driver.create_security_group(&conn, spec).await {
            Ok(h) => info.csp_resource_id = h.csp_id,
            Err(e) => {
                let _ = repo::delete_at(self.store.as_ref(), &key, rev).await;
                return Err(e.into());
            }
        }
        repo::replace(self.store.as_ref(), &key, rev, &info).await?;
        tracing::info!(ns, sg = %info.id, csp_id = %info.csp_resource_id, "security group created");
        Ok(info)
    }

    /// Applies a change to the rule list (add, remove or replace) in the cloud and the record.
    async fn change_rules(
        &self,
        ns: &str,
        sg_id: &str,
        change: impl Fn(&[FirewallRuleInfo]) -> CoreResult<Vec<FirewallRuleInfo>>,
        verb: &str,
    ) -> CoreResult<SecurityGroupUpdateResponse> {
        let key = keys::resource(ns, ResourceKind::SecurityGroup, sg_id);
        // The cloud call replaces the whole rule list, so a writer that loses the race re-reads
        // and sets the merged list again: cloud and record converge to the last winner.
        for _ in 0..repo::MAX_CAS_RETRIES {
            let Some(current) = repo::get::<SecurityGroupInfo>(self.store.as_ref(), &key).await? else {
                return Err(super::not_found(ResourceKind::SecurityGroup, ns, sg_id));
            };
            let previous = current.value;
            let new_rules = change(&previous.firewall_rules)?;
            let (conn, driver) = self.clouds.resolve(&previous.connection_name)?;
            driver.set_security_group_rules(&conn, &previous.csp_resource_id, to_cloud(&new_rules)).await?;
            let mut updated = previous.clone();
            updated.firewall_rules = new_rules;
            match repo::replace(self.store.as_ref(), &key, current.revision, &updated).await {
                Ok(_) => {}
                Err(CoreError::ConcurrentUpdate(_)) => continue,
                Err(e) => return Err(e),
            }
            let changed = updated.firewall_rules.len().abs_diff(previous.firewall_rules.len());
            return Ok(SecurityGroupUpdateResponse {
                id: sg_id.to_string(),
                name: sg_id.to_string(),
                success: true,
                message: format!("{verb} {changed} rule(s)"),
                previous,
                updated,
            });
        }
        Err(CoreError::ConcurrentUpdate(format!("The securityGroup {sg_id}")))
    }

    pub async fn add_firewall_rules(
        &self,
        ns: &str,
        sg_id: &str,
        reqs: &[FirewallRuleReq],
    ) -> CoreResult<SecurityGroupUpdateResponse> {
        let add = parse_rules(reqs)?;
        self.change_rules(
            ns,
            sg_id,
            |rules| {
                let mut out = rules.to_vec();
                for r in &add {
                    if !out.contains(r) {
                        out.push(r.clone());
                    }
                }
                Ok(out)
            },
            "added",
        )
        .await
    }

    pub async fn remove_firewall_rules(
        &self,
        ns: &str,
        sg_id: &str,
        reqs: &[FirewallRuleReq],
    ) -> CoreResult<SecurityGroupUpdateResponse> {
        let remove = parse_rules(reqs)?;
        self.change_rules(
            ns,
            sg_id,
            |rules| {
                if let Some(missing) = remove.iter().find(|r| !rules.contains(r)) {
                    return Err(CoreError::invalid(format!(
                        "rule {} {} port {:?} from {} is not in the security group",
                        missing.direction, missing.protocol, missing.port, missing.cidr
                    )));
                }
                Ok(rules.iter().filter(|r| !remove.contains(r)).cloned().collect())
            },
            "removed",
        )
        .await
    }

    pub async fn replace_firewall_rules(
        &self,
        ns: &str,
        sg_id: &str,
        reqs: &[FirewallRuleReq],
    ) -> CoreResult<SecurityGroupUpdateResponse> {
        let rules = parse_rules(reqs)?;
        self.change_rules(ns, sg_id, |_| Ok(rules.clone()), "replaced").await
    }
}

impl Tumblebug {
    /// Registers a security group that exists in the cloud but was not created by Tumblebug.
    pub async fn register_security_group(&self, ns: &str, req: SecurityGroupReq) -> CoreResult<SecurityGroupInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        if req.csp_resource_id.is_empty() {
            return Err(CoreError::invalid("cspResourceId is required to register a securityGroup"));
        }
        let (conn_config, conn, driver) = self.clouds.open(&req.connection_name)?;
        let handle = driver.get_security_group(&conn, &req.csp_resource_id).await?;
        let rules = handle
            .rules
            .iter()
            .map(|r| FirewallRuleInfo {
                port: match (r.from_port.as_str(), r.to_port.as_str()) {
                    ("-1", _) | ("", _) => String::new(),
                    (a, b) if a == b => a.to_string(),
                    (a, b) => format!("{a}-{b}"),
                },
                protocol: r.protocol.to_uppercase(),
                direction: r.direction.clone(),
                cidr: r.cidr.clone(),
            })
            .collect();
        let info = SecurityGroupInfo {
            resource_type: "securityGroup".into(),
            id: req.name.clone(),
            uid: new_uid(),
            name: req.name.clone(),
            connection_name: req.connection_name.clone(),
            connection_config: conn_config,
            vnet_id: req.vnet_id.clone(),
            description: req.description.clone(),
            firewall_rules: rules,
            csp_resource_id: handle.csp_id,
            csp_resource_name: handle.token,
            system_label: "Registered from CSP resource".into(),
            ..SecurityGroupInfo::default()
        };
        let key = keys::resource(ns, ResourceKind::SecurityGroup, &req.name);
        repo::create(self.store.as_ref(), &key, &info, &format!("The securityGroup {}", req.name)).await?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(ports: &str, proto: &str, dir: &str) -> FirewallRuleReq {
        FirewallRuleReq { ports: ports.into(), protocol: proto.into(), direction: dir.into(), ..Default::default() }
    }

    #[test]
    fn expands_ports() {
        let r = parse_rules(&[rule("22, 80,1000-2000,443-443", "tcp", "Inbound")]).unwrap();
        let ports: Vec<_> = r.iter().map(|r| r.port.as_str()).collect();
        assert_eq!(ports, ["22", "80", "1000-2000", "443"]);
        assert!(r.iter().all(|r| r.protocol == "TCP" && r.direction == "inbound" && r.cidr == "0.0.0.0/0"));
    }

    #[test]
    fn old_spelling_and_icmp() {
        let old = FirewallRuleReq {
            from_port: "1".into(),
            to_port: "65535".into(),
            ip_protocol: "udp".into(),
            direction: "inbound".into(),
            cidr: "10.0.0.0/8".into(),
            ..Default::default()
        };
        let r = parse_rules(&[old, rule("", "icmp", "outbound")]).unwrap();
        assert_eq!(r[0].port, "1-65535");
        assert_eq!(r[0].protocol, "UDP");
        assert_eq!(r[1].port, "");
        assert_eq!(r[1].protocol, "ICMP");
    }

    #[test]
    fn rejects_bad_rules() {
        for bad in [
            rule("22", "sctp", "inbound"),
            rule("22", "tcp", "sideways"),
            rule("99999", "tcp", "inbound"),
            rule("200-100", "tcp", "inbound"),
            rule("", "tcp", "inbound"),
            rule("x", "udp", "inbound"),
        ] {
            assert!(parse_rules(std::slice::from_ref(&bad)).is_err(), "{bad:?}");
        }
    }
}
