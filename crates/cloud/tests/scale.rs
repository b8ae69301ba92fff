//! Thousands of concurrent creates are cheap, and so are thousands of idle VMs.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tb_cloud::sim::{SimCloud, SimConfig};
use tb_cloud::{CloudDriver, SubnetSpec};
use tb_model::VmStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_creates() {
    let config = SimConfig { time_factor: 0.001, ..SimConfig::default() };
    let cloud = Arc::new(SimCloud::new(catalog(), config).unwrap());
    let d = driver(&cloud);
    let conns = [conn("aws"), conn("gcp")];
    let mut nets = Vec::new();
    for c in &conns {
        let mut net = network(&d, c, "t").await.unwrap();
        // A /24 holds 251 VMs, as on AWS; this run needs a bigger subnet.
        let big = SubnetSpec { name: "big".into(), cidr: "10.0.16.0/20".into(), zone: String::new() };
        let big = d.create_subnet(c, &net.vnet, big).await.unwrap();
        net.subnets.insert(0, (big.csp_id, big.zone));
        nets.push(net);
    }
    let started = Instant::now();
    let calls: Vec<_> = (0..3000)
        .map(|i| {
            let (d, c) = (d.clone(), conns[i % 2].clone());
            let spec = vm_spec(&nets[i % 2], &format!("vm-{i}"));
            tokio::spawn(async move { d.create_vm(&c, spec).await })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut public = HashSet::new();
    for call in calls {
        let vm = call.await.unwrap().unwrap();
        ids.insert(vm.csp_id);
        public.insert(vm.public_ip);
    }
    assert_eq!(ids.len(), 3000);
    assert_eq!(public.len(), 3000, "public addresses are unique");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());

    tokio::time::sleep(Duration::from_millis(100)).await;
    for c in &conns {
        let vms = d.list_vms(c).await.unwrap();
        assert_eq!(vms.len(), 1500);
        assert!(vms.iter().all(|v| v.status == VmStatus::Running));
        let private: HashSet<_> = vms.iter().map(|v| v.private_ip.clone()).collect();
        assert_eq!(private.len(), 1500, "private addresses are unique per subnet");
    }
}
