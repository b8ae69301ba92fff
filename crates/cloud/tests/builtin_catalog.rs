//! The sim over the catalog Tumblebug ships: every region is a connection, and a VM of a real
//! spec and image boots in each provider.

use std::sync::Arc;

use tb_catalog::Catalog;
use tb_cloud::sim::{SimCloud, SimConfig, SimDriver};
use tb_cloud::{CloudDriver, KeyPairSpec, SecurityGroupSpec, SubnetSpec, VNetSpec, VmSpec};
use tb_model::VmStatus;

const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBX35y6LiHzZAAE35YRmsnyVFGMcJFUJmmCib4EilBkS test@sim";

#[tokio::test]
async fn a_vm_boots_in_every_builtin_provider() {
    let catalog = Arc::new(Catalog::builtin());
    assert!(!catalog.regions().is_empty(), "the built-in catalog has regions");
    let config = SimConfig { time_factor: 0.0, ..SimConfig::default() };
    let cloud = Arc::new(SimCloud::new(catalog.clone(), config).unwrap());
    let connections = cloud.connections();
    assert_eq!(connections.len(), catalog.regions().len());
    let d = SimDriver::new(cloud.clone());

    let mut booted = 0;
    for provider in catalog.providers() {
        // The first region of the provider that offers both a spec and an image.
        let Some(conn) = connections.iter().find(|c| {
            c.provider == provider.name
                && !catalog.specs_in(&c.provider, &c.region).is_empty()
                && !catalog.images_in(&c.provider, &c.region).is_empty()
        }) else {
            continue;
        };
        let spec = catalog.specs_in(&conn.provider, &conn.region)[0].name.clone();
        let image = catalog.images_in(&conn.provider, &conn.region)[0].name.clone();
        let vnet = d
            .create_vnet(
                conn,
                VNetSpec {
                    token: "vnet".into(),
                    cidr: "10.0.0.0/16".into(),
                    subnets: vec![SubnetSpec { name: "sn".into(), cidr: "10.0.1.0/24".into(), zone: String::new() }],
                },
            )
            .await
            .unwrap();
        let sg = d
            .create_security_group(
                conn,
                SecurityGroupSpec { token: "sg".into(), vnet_csp_id: vnet.csp_id.clone(), rules: vec![] },
            )
            .await
            .unwrap();
        let key =
            d.create_key_pair(conn, KeyPairSpec { token: "key".into(), public_key: PUBLIC_KEY.into() }).await.unwrap();
        let vm = d
            .create_vm(
                conn,
                VmSpec {
                    token: "vm".into(),
                    spec_name: spec.clone(),
                    image_name: image.clone(),
                    zone: None,
                    vnet_csp_id: vnet.csp_id.clone(),
                    subnet_csp_id: vnet.subnets[0].csp_id.clone(),
                    security_group_csp_ids: vec![sg.csp_id],
                    key_pair_csp_id: key.csp_id,
                    vm_user: "cb-user".into(),
                    root_disk_type: None,
                    root_disk_size_gb: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{} {spec} {image}: {e}", conn.name));
        assert_eq!(vm.status, VmStatus::Running, "{}: {}", conn.name, vm.native_status);
        assert_eq!(vm.zone, vnet.subnets[0].zone);
        booted += 1;
    }
    assert!(booted >= 5, "only {booted} providers could boot a VM");
}
