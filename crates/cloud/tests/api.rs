//! The cloud API as a caller sees it: idempotency by token, lookups, validation against the
//! catalog and the region's objects, and the errors a real cloud gives for wrong requests.

mod common;

use std::time::Duration;

use common::*;
use tb_cloud::sim::SimConfig;
use tb_cloud::{
    CloudDriver, CloudError, Connection, FirewallRule, KeyPairSpec, SecurityGroupSpec, SubnetSpec, VNetSpec,
};
use tb_model::VmStatus;

fn invalid_mentioning(r: Result<impl std::fmt::Debug, CloudError>, needle: &str) {
    match r {
        Err(CloudError::InvalidRequest(msg)) => {
            assert!(msg.contains(needle), "{msg:?} should mention {needle:?}")
        }
        other => panic!("expected InvalidRequest mentioning {needle:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn same_token_twice_is_one_vm() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("aws");
    let net = network(&d, &c, "t").await.unwrap();
    let a = d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap();
    let b = d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap();
    assert_eq!(a.csp_id, b.csp_id);
    assert_eq!(a.private_ip, b.private_ip);
    assert_eq!(d.list_vms(&c).await.unwrap().len(), 1);

    let other = d.create_vm(&c, vm_spec(&net, "uid-2")).await.unwrap();
    assert_ne!(other.csp_id, a.csp_id);
    assert_ne!(other.private_ip, a.private_ip);
    assert_ne!(other.public_ip, a.public_ip);
    let listed: Vec<String> = d.list_vms(&c).await.unwrap().into_iter().map(|v| v.token).collect();
    assert_eq!(listed, ["uid-1", "uid-2"]);
}

#[tokio::test]
async fn concurrent_creates_with_one_token_make_one_vm() {
    let cloud = std::sync::Arc::new(
        tb_cloud::sim::SimCloud::new(catalog(), SimConfig { time_factor: 0.001, ..SimConfig::default() }).unwrap(),
    );
    let d = driver(&cloud);
    let c = conn("gcp");
    let net = network(&d, &c, "t").await.unwrap();
    let calls = (0..20).map(|_| {
        let (d, c, spec) = (d.clone(), c.clone(), vm_spec(&net, "same"));
        tokio::spawn(async move { d.create_vm(&c, spec).await })
    });
    let mut ids = std::collections::HashSet::new();
    for call in calls {
        ids.insert(call.await.unwrap().unwrap().csp_id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(d.list_vms(&c).await.unwrap().len(), 1);
}

#[tokio::test]
async fn network_objects_are_idempotent_by_token() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("azure");
    let first = network(&d, &c, "t").await.unwrap();
    let again = network(&d, &c, "t").await.unwrap();
    assert_eq!(first.vnet, again.vnet);
    assert_eq!(first.subnets, again.subnets);
    assert_eq!(first.sg, again.sg);
    assert_eq!(first.key, again.key);
    let other = network(&d, &c, "u").await.unwrap();
    assert_ne!(first.vnet, other.vnet);

    let vnet = d.get_vnet(&c, &first.vnet).await.unwrap();
    assert_eq!(vnet.subnets.len(), 3, "one subnet per Azure zone");
    assert_eq!(vnet.subnets[1].zone, "2");
    let key = d.get_key_pair(&c, &first.key).await.unwrap();
    assert!(key.fingerprint.starts_with("SHA256:"), "{}", key.fingerprint);
    let sg = d.get_security_group(&c, &first.sg).await.unwrap();
    assert_eq!(sg.rules.len(), 1);
}

#[tokio::test]
async fn find_vm_by_token() {
    let (cloud, clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("tencent");
    let net = network(&d, &c, "t").await.unwrap();
    assert_eq!(d.find_vm_by_token(&c, "uid-9").await.unwrap(), None);
    let vm = d.create_vm(&c, vm_spec(&net, "uid-9")).await.unwrap();
    let found = d.find_vm_by_token(&c, "uid-9").await.unwrap().unwrap();
    assert_eq!(found.csp_id, vm.csp_id);
    assert_eq!(found.token, "uid-9");
    clock.advance(Duration::from_secs(120));
    let found = d.find_vm_by_token(&c, "uid-9").await.unwrap().unwrap();
    assert_eq!(found.status, VmStatus::Running);
    // Tokens are per connection, as client tokens are per region.
    let elsewhere = conn("aws");
    assert_eq!(d.find_vm_by_token(&elsewhere, "uid-9").await.unwrap(), None);
}

#[tokio::test]
async fn invalid_transitions_are_refused() {
    let (cloud, clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("tencent");
    let net = network(&d, &c, "t").await.unwrap();
    let id = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap().csp_id;

    // While PENDING nothing but terminate is possible.
    invalid_mentioning(d.suspend_vm(&c, &id).await, "PENDING");
    invalid_mentioning(d.reboot_vm(&c, &id).await, "running");
    invalid_mentioning(d.resume_vm(&c, &id).await, "stopped");
    clock.advance(Duration::from_secs(60));

    invalid_mentioning(d.resume_vm(&c, &id).await, "RUNNING");
    d.suspend_vm(&c, &id).await.unwrap();
    invalid_mentioning(d.suspend_vm(&c, &id).await, "STOPPING");
    clock.advance(Duration::from_secs(60));
    invalid_mentioning(d.suspend_vm(&c, &id).await, "cannot suspend");
    invalid_mentioning(d.reboot_vm(&c, &id).await, "STOPPED");
    d.resume_vm(&c, &id).await.unwrap();
    invalid_mentioning(d.resume_vm(&c, &id).await, "STARTING");
    clock.advance(Duration::from_secs(60));

    d.terminate_vm(&c, &id).await.unwrap();
    // A repeated terminate is accepted, as a retry must be.
    d.terminate_vm(&c, &id).await.unwrap();
    invalid_mentioning(d.resume_vm(&c, &id).await, "TERMINATING");
    clock.advance(Duration::from_secs(60));
    assert!(matches!(d.terminate_vm(&c, &id).await, Err(CloudError::NotFound { .. })));
    assert!(matches!(
        d.suspend_vm(&c, "ins-nothere").await,
        Err(CloudError::NotFound { kind, id }) if kind == "VM" && id == "ins-nothere"
    ));
}

#[tokio::test]
async fn unknown_connection() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = Connection { name: "aws-mars-1".into(), provider: "aws".into(), region: "mars-1".into() };
    assert_eq!(d.list_vms(&c).await, Err(CloudError::UnknownConnection("aws-mars-1".into())));
    assert_eq!(cloud.connections().len(), REGIONS.len());
    assert!(cloud.connections().contains(&conn("gcp")));
}

#[tokio::test]
async fn requests_are_validated_against_the_catalog() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("aws");
    let net = network(&d, &c, "t").await.unwrap();

    let mut spec = vm_spec(&net, "a");
    spec.spec_name = "t3.huge".into();
    invalid_mentioning(d.create_vm(&c, spec).await, "t3.huge");
    let mut spec = vm_spec(&net, "a");
    spec.image_name = "windows-95".into();
    invalid_mentioning(d.create_vm(&c, spec).await, "windows-95");
    let mut spec = vm_spec(&net, "a");
    spec.zone = Some("us-east-1z".into());
    invalid_mentioning(d.create_vm(&c, spec).await, "us-east-1z");
    let mut spec = vm_spec(&net, "a");
    spec.zone = Some("us-east-1b".into());
    invalid_mentioning(d.create_vm(&c, spec).await, "does not match");
    let mut spec = vm_spec(&net, "a");
    spec.subnet_csp_id = "subnet-0nothere".into();
    invalid_mentioning(d.create_vm(&c, spec).await, "subnet-0nothere");
    let mut spec = vm_spec(&net, "a");
    spec.security_group_csp_ids = vec!["sg-0nothere".into()];
    invalid_mentioning(d.create_vm(&c, spec).await, "sg-0nothere");
    let mut spec = vm_spec(&net, "a");
    spec.key_pair_csp_id = "key-0nothere".into();
    invalid_mentioning(d.create_vm(&c, spec).await, "key-0nothere");
    let mut spec = vm_spec(&net, "a");
    spec.root_disk_size_gb = Some(4);
    invalid_mentioning(d.create_vm(&c, spec).await, "smaller");
    assert!(d.list_vms(&c).await.unwrap().is_empty(), "nothing was created");

    // A valid zone picks the subnet there; disk settings are kept.
    let mut spec = vm_spec(&net, "b");
    spec.zone = Some("us-east-1b".into());
    spec.subnet_csp_id = net.subnet_in("us-east-1b").into();
    spec.root_disk_size_gb = Some(50);
    spec.root_disk_type = Some("io2".into());
    let vm = d.create_vm(&c, spec).await.unwrap();
    assert_eq!(vm.zone, "us-east-1b");
    assert!(vm.private_ip.starts_with("10.0.2."), "{}", vm.private_ip);
    assert_eq!((vm.root_disk_type.as_str(), vm.root_disk_size_gb), ("io2", 50));
    let vm = d.create_vm(&c, vm_spec(&net, "c")).await.unwrap();
    assert_eq!((vm.root_disk_type.as_str(), vm.root_disk_size_gb), ("gp3", 8));
    assert_eq!(vm.zone, "us-east-1a");
}

#[tokio::test]
async fn specs_and_images_come_from_the_catalog() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("ibm");
    let spec = d.lookup_spec(&c, "medium").await.unwrap();
    assert_eq!((spec.vcpu, spec.memory_gib), (4, 8.0));
    assert_eq!(d.list_specs(&c).await.unwrap().len(), 3);
    assert!(matches!(
        d.lookup_spec(&c, "nope").await,
        Err(CloudError::NotFound { kind, .. }) if kind == "spec"
    ));
    let image = d.lookup_image(&c, "ubuntu").await.unwrap();
    assert_eq!(image.os_type, "Ubuntu 22.04");
    assert_eq!(d.list_images(&c).await.unwrap().len(), 1);
    assert!(d.lookup_image(&c, "nope").await.is_err());
}

#[tokio::test]
async fn network_requests_are_validated() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("aws");
    let vnet = |token: &str, cidr: &str, subnets: Vec<(&str, &str, &str)>| VNetSpec {
        token: token.into(),
        cidr: cidr.into(),
        subnets: subnets
            .into_iter()
            .map(|(n, cidr, z)| SubnetSpec { name: n.into(), cidr: cidr.into(), zone: z.into() })
            .collect(),
    };
    invalid_mentioning(d.create_vnet(&c, vnet("a", "10.0.0/16", vec![])).await, "CIDR");
    invalid_mentioning(d.create_vnet(&c, vnet("a", "10.0.0.0/16", vec![("s", "10.1.0.0/24", "")])).await, "not inside");
    invalid_mentioning(
        d.create_vnet(&c, vnet("a", "10.0.0.0/16", vec![("s", "10.0.0.0/24", ""), ("t", "10.0.0.128/25", "")])).await,
        "overlaps",
    );
    invalid_mentioning(
        d.create_vnet(&c, vnet("a", "10.0.0.0/16", vec![("s", "10.0.0.0/24", "eu-west-1a")])).await,
        "eu-west-1a",
    );
    let v = d.create_vnet(&c, vnet("a", "10.0.0.0/16", vec![("s", "10.0.0.0/24", "")])).await.unwrap();
    assert_eq!(v.subnets[0].zone, "us-east-1a", "default zone");
    assert!(v.csp_id.starts_with("vpc-") && v.subnets[0].csp_id.starts_with("subnet-"));

    let sub = SubnetSpec { name: "extra".into(), cidr: "10.0.9.0/24".into(), zone: "us-east-1b".into() };
    let added = d.create_subnet(&c, &v.csp_id, sub.clone()).await.unwrap();
    assert_eq!(d.create_subnet(&c, &v.csp_id, sub).await.unwrap(), added);
    assert_eq!(d.get_vnet(&c, &v.csp_id).await.unwrap().subnets.len(), 2);
    d.delete_subnet(&c, &v.csp_id, &added.csp_id).await.unwrap();
    assert_eq!(d.get_vnet(&c, &v.csp_id).await.unwrap().subnets.len(), 1);

    let rule = |proto: &str, dir: &str| FirewallRule {
        protocol: proto.into(),
        direction: dir.into(),
        from_port: "1".into(),
        to_port: "65535".into(),
        cidr: "0.0.0.0/0".into(),
    };
    let sg = |rules| SecurityGroupSpec { token: "sg".into(), vnet_csp_id: v.csp_id.clone(), rules };
    invalid_mentioning(d.create_security_group(&c, sg(vec![rule("tcp", "sideways")])).await, "direction");
    invalid_mentioning(d.create_security_group(&c, sg(vec![rule("sctp2", "inbound")])).await, "protocol");
    let created = d.create_security_group(&c, sg(vec![rule("TCP", "inbound")])).await.unwrap();
    let updated = d
        .set_security_group_rules(&c, &created.csp_id, vec![rule("udp", "outbound"), rule("all", "inbound")])
        .await
        .unwrap();
    assert_eq!(updated.rules.len(), 2);
    assert_eq!(d.get_security_group(&c, &created.csp_id).await.unwrap(), updated);

    let key = |k: &str| KeyPairSpec { token: "k".into(), public_key: k.into() };
    invalid_mentioning(d.create_key_pair(&c, key("ssh-rsa garbage")).await, "OpenSSH");
    d.create_key_pair(&c, key(PUBLIC_KEY)).await.unwrap();
}

#[tokio::test]
async fn objects_in_use_cannot_be_deleted() {
    let (cloud, clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("aws");
    let net = network(&d, &c, "t").await.unwrap();
    let vm = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap();

    invalid_mentioning(d.delete_vnet(&c, &net.vnet).await, "DependencyViolation");
    invalid_mentioning(d.delete_security_group(&c, &net.sg).await, "DependencyViolation");
    invalid_mentioning(d.delete_subnet(&c, &net.vnet, &net.subnets[0].0).await, "DependencyViolation");
    // Key pairs may go while VMs use them.
    d.delete_key_pair(&c, &net.key).await.unwrap();
    assert!(matches!(d.delete_key_pair(&c, &net.key).await, Err(CloudError::NotFound { .. })));

    d.terminate_vm(&c, &vm.csp_id).await.unwrap();
    invalid_mentioning(d.delete_security_group(&c, &net.sg).await, "in use");
    clock.advance(Duration::from_secs(60));
    // Terminated (though still listed) VMs hold nothing.
    assert_eq!(d.get_vm(&c, &vm.csp_id).await.unwrap().status, VmStatus::Terminated);
    d.delete_security_group(&c, &net.sg).await.unwrap();
    d.delete_vnet(&c, &net.vnet).await.unwrap();
    assert!(matches!(d.delete_vnet(&c, &net.vnet).await, Err(CloudError::NotFound { .. })));
}
