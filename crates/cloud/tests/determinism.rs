//! One seed, one sequence of calls: the same ids, addresses, durations and errors.

mod common;

use std::time::Duration;

use common::*;
use tb_cloud::CloudDriver;
use tb_cloud::sim::{FaultConfig, LostResponse, Scope, SimConfig, TransientErrors};

/// Runs a fixed scenario and returns everything observable, as text.
async fn scenario(seed: u64) -> Vec<String> {
    let config = SimConfig {
        seed,
        faults: FaultConfig {
            transient: vec![TransientErrors { scope: Scope::all(), probability: 0.2 }],
            lost_response: LostResponse { probability: 0.2, ..LostResponse::default() },
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let (cloud, clock) = manual_sim(config).await;
    let d = driver(&cloud);
    let mut out = Vec::new();
    for p in ["aws", "gcp", "azure", "openstack"] {
        let c = conn(p);
        // The network set-up retries through transient errors, as a caller would.
        let net = loop {
            match network(&d, &c, "t").await {
                Ok(net) => break net,
                Err(e) => out.push(format!("{p} network: {e}")),
            }
        };
        out.push(format!("{p} {net:?}"));
        for i in 0..10 {
            let r = d.create_vm(&c, vm_spec(&net, &format!("vm-{i}"))).await;
            out.push(format!("{p} create {i}: {r:?}"));
            clock.advance(Duration::from_secs(7));
        }
        out.push(format!("{p} list: {:?}", d.list_vms(&c).await));
    }
    out
}

#[tokio::test]
async fn same_seed_same_everything() {
    let a = scenario(42).await;
    let b = scenario(42).await;
    assert_eq!(a, b);
    // The scenario did meet both kinds of injected errors.
    assert!(a.iter().any(|l| l.contains("Transient")), "{a:#?}");
    assert!(a.iter().any(|l| l.contains("Timeout")), "{a:#?}");
}

#[tokio::test]
async fn another_seed_other_ids() {
    assert_ne!(scenario(42).await, scenario(43).await);
}
