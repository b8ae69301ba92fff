//! A sim over a persistent store finds every object as it was after a restart, and VM states
//! keep evolving by their (wall-clock) timestamps across it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tb_cloud::CloudDriver;
use tb_cloud::sim::{ManualClock, SimClock, SimCloud, SimConfig};
use tb_model::VmStatus;
use tb_store::{RedbStore, Store};

async fn open(path: &std::path::Path, clock: &ManualClock) -> Arc<SimCloud> {
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(path).unwrap());
    Arc::new(
        SimCloud::builder(catalog())
            .config(SimConfig::default())
            .clock(SimClock::Manual(clock.clone()))
            .store(store)
            .build()
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn restart_keeps_every_object_and_states_keep_evolving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.redb");
    let clock = ManualClock::new(1_700_000_000_000);
    let c = conn("aws");

    let cloud = open(&path, &clock).await;
    let d = driver(&cloud);
    let net = network(&d, &c, "t").await.unwrap();
    let booting = d.create_vm(&c, vm_spec(&net, "booting")).await.unwrap();
    let stopping = d.create_vm(&c, vm_spec(&net, "stopping")).await.unwrap();
    let gone = d.create_vm(&c, vm_spec(&net, "gone")).await.unwrap();
    clock.advance(Duration::from_secs(60));
    d.suspend_vm(&c, &stopping.csp_id).await.unwrap();
    d.terminate_vm(&c, &gone.csp_id).await.unwrap();
    let before = d.list_vms(&c).await.unwrap();
    assert_eq!(before.len(), 3);
    cloud.close().await;
    drop(d);
    drop(cloud);

    // Two hours later the stop is done and the terminated VM has left the listing.
    clock.advance(Duration::from_secs(7200));
    let cloud = open(&path, &clock).await;
    let d = driver(&cloud);
    let after = d.list_vms(&c).await.unwrap();
    assert_eq!(after.len(), 2);
    let b = d.get_vm(&c, &booting.csp_id).await.unwrap();
    assert_eq!(b.status, VmStatus::Running);
    assert_eq!(b.public_ip, before[0].public_ip);
    assert_eq!(b.private_ip, before[0].private_ip);
    assert_eq!(b.created_at, before[0].created_at);
    let s = d.find_vm_by_token(&c, "stopping").await.unwrap().unwrap();
    assert_eq!((s.native_status.as_str(), s.status), ("stopped", VmStatus::Suspended));
    assert_eq!(d.find_vm_by_token(&c, "gone").await.unwrap(), None);

    // The network objects survived, idempotency included, and new ids do not collide.
    assert_eq!(network(&d, &c, "t").await.unwrap().vnet, net.vnet);
    let fresh = d.create_vm(&c, vm_spec(&net, "fresh")).await.unwrap();
    assert!(after.iter().all(|v| v.csp_id != fresh.csp_id && v.private_ip != fresh.private_ip));
    d.resume_vm(&c, &s.csp_id).await.unwrap();
    cloud.close().await;
    drop(d);
    drop(cloud);

    let cloud = open(&path, &clock).await;
    let d = driver(&cloud);
    let listed: Vec<String> = d.list_vms(&c).await.unwrap().into_iter().map(|v| v.token).collect();
    assert_eq!(listed, ["booting", "stopping", "fresh"], "creation order survives too");
    clock.advance(Duration::from_secs(60));
    assert_eq!(d.get_vm(&c, &s.csp_id).await.unwrap().status, VmStatus::Running);
    d.delete_key_pair(&c, &net.key).await.unwrap();
    cloud.close().await;
    drop(d);
    drop(cloud);

    let cloud = open(&path, &clock).await;
    assert!(driver(&cloud).get_key_pair(&c, &net.key).await.is_err(), "deletes persist");
}
