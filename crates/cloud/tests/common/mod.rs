//! Shared fixtures: a small exact catalog, connections, and the network objects a VM needs.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tb_catalog::{Catalog, Image, Provider, Region, Spec};
use tb_cloud::sim::{ManualClock, SimClock, SimCloud, SimConfig, SimDriver};
use tb_cloud::{
    CloudDriver, CloudError, Connection, FirewallRule, KeyPairSpec, SecurityGroupSpec, SubnetSpec, VNetSpec, VmHandle,
    VmSpec,
};

pub const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBX35y6LiHzZAAE35YRmsnyVFGMcJFUJmmCib4EilBkS test@sim";

/// Provider, region, zones — one region per provider the sim has a profile for, plus one it
/// has none for.
pub const REGIONS: &[(&str, &str, &[&str])] = &[
    ("aws", "us-east-1", &["us-east-1a", "us-east-1b"]),
    ("gcp", "us-east1", &["us-east1-b", "us-east1-c"]),
    ("azure", "koreacentral", &["1", "2", "3"]),
    ("alibaba", "ap-northeast-1", &["ap-northeast-1a", "ap-northeast-1b"]),
    ("tencent", "ap-seoul", &["ap-seoul-1", "ap-seoul-2"]),
    ("ibm", "us-south", &["us-south-1"]),
    ("ncp", "kr", &["KR-1", "KR-2"]),
    ("openstack", "regionone", &[]),
    ("nhn", "kr1", &["kr-pub-a"]),
    ("kt", "kr1", &["DX-M1"]),
    ("cloudit", "default", &[]),
];

/// Every region offers `small` (2 vCPU), `medium` (4) and `large` (8), and image `ubuntu`.
pub fn catalog() -> Arc<Catalog> {
    let mut c = Catalog::empty();
    for (provider, region, zones) in REGIONS {
        c.upsert_provider(Provider { name: provider.to_string(), display: provider.to_uppercase() });
        c.upsert_region(Region {
            provider: provider.to_string(),
            id: region.to_string(),
            display: region.to_string(),
            latitude: 37.5,
            longitude: 127.0,
            zones: zones.iter().map(|z| z.to_string()).collect(),
        });
        for (name, vcpu) in [("small", 2), ("medium", 4), ("large", 8)] {
            c.upsert_spec(Spec {
                provider: provider.to_string(),
                region: region.to_string(),
                name: name.to_string(),
                vcpu,
                memory_gib: f64::from(vcpu) * 2.0,
                gpu: None,
                cost_per_hour: 0.01 * f64::from(vcpu),
                architecture: "x86_64".into(),
                evaluation_score01: 0.0,
                description: String::new(),
            });
        }
        c.upsert_image(Image {
            provider: provider.to_string(),
            region: "all".into(),
            name: "ubuntu".into(),
            os_type: "Ubuntu 22.04".into(),
            os_distribution: "Ubuntu 22.04 LTS".into(),
            os_architecture: "x86_64".into(),
            is_gpu_image: false,
            description: String::new(),
        });
    }
    Arc::new(c)
}

pub fn conn(provider: &str) -> Connection {
    let (p, r, _) = REGIONS.iter().find(|(p, _, _)| *p == provider).expect("provider in the test catalog");
    Connection { name: format!("{p}-{r}"), provider: p.to_string(), region: r.to_string() }
}

pub fn zones(provider: &str) -> Vec<String> {
    let (_, r, zones) = REGIONS.iter().find(|(p, _, _)| *p == provider).unwrap();
    if zones.is_empty() { vec![r.to_string()] } else { zones.iter().map(|z| z.to_string()).collect() }
}

/// An in-memory sim on a manual clock (time moves only when the test says so).
pub async fn manual_sim(config: SimConfig) -> (Arc<SimCloud>, ManualClock) {
    let clock = ManualClock::new(1_700_000_000_000);
    let cloud =
        SimCloud::builder(catalog()).config(config).clock(SimClock::Manual(clock.clone())).build().await.unwrap();
    (Arc::new(cloud), clock)
}

pub fn driver(cloud: &Arc<SimCloud>) -> SimDriver {
    SimDriver::new(cloud.clone())
}

/// The network objects of one test "tenant" in a connection.
#[derive(Debug, Clone)]
pub struct Net {
    pub vnet: String,
    /// One subnet per zone, in zone order.
    pub subnets: Vec<(String, String)>,
    pub sg: String,
    pub key: String,
}

impl Net {
    pub fn subnet_in(&self, zone: &str) -> &str {
        &self.subnets.iter().find(|(_, z)| z == zone).expect("a subnet in that zone").0
    }
}

pub async fn network(d: &dyn CloudDriver, c: &Connection, tag: &str) -> Result<Net, CloudError> {
    let zones = zones(&c.provider);
    let subnets = zones
        .iter()
        .enumerate()
        .map(|(i, z)| SubnetSpec {
            name: format!("{tag}-sn{i}"),
            cidr: format!("10.0.{}.0/24", i + 1),
            zone: z.clone(),
        })
        .collect();
    let vnet = d.create_vnet(c, VNetSpec { token: format!("{tag}-vnet"), cidr: "10.0.0.0/16".into(), subnets }).await?;
    let sg = d
        .create_security_group(
            c,
            SecurityGroupSpec {
                token: format!("{tag}-sg"),
                vnet_csp_id: vnet.csp_id.clone(),
                rules: vec![FirewallRule {
                    protocol: "tcp".into(),
                    direction: "inbound".into(),
                    from_port: "22".into(),
                    to_port: "22".into(),
                    cidr: "0.0.0.0/0".into(),
                }],
            },
        )
        .await?;
    let key = d.create_key_pair(c, KeyPairSpec { token: format!("{tag}-key"), public_key: PUBLIC_KEY.into() }).await?;
    Ok(Net {
        vnet: vnet.csp_id,
        subnets: vnet.subnets.into_iter().map(|s| (s.csp_id, s.zone)).collect(),
        sg: sg.csp_id,
        key: key.csp_id,
    })
}

/// A VM request in the first subnet with spec `small` and image `ubuntu`.
pub fn vm_spec(net: &Net, token: &str) -> VmSpec {
    VmSpec {
        token: token.into(),
        spec_name: "small".into(),
        image_name: "ubuntu".into(),
        zone: None,
        vnet_csp_id: net.vnet.clone(),
        subnet_csp_id: net.subnets[0].0.clone(),
        security_group_csp_ids: vec![net.sg.clone()],
        key_pair_csp_id: net.key.clone(),
        vm_user: "cb-user".into(),
        root_disk_type: None,
        root_disk_size_gb: None,
    }
}

/// Polls `get_vm` (system clock) until the native word is `word`, for at most `limit`.
pub async fn wait_for_word(d: &dyn CloudDriver, c: &Connection, id: &str, word: &str, limit: Duration) -> VmHandle {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let vm = d.get_vm(c, id).await.unwrap();
        if vm.native_status == word {
            return vm;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "VM {id} still {} after {limit:?}, waiting for {word}",
            vm.native_status
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
