//! Every fault knob: set at start or at run time, matched by its selector, with the error kind
//! a caller branches on.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tb_cloud::sim::{
    CapacityFault, FailAfterBoot, FaultConfig, LostError, LostResponse, ManualClock, Scope, SimAdmin, SimCloud,
    SimConfig, SlowCreate, Throttle, TransientErrors, VcpuQuota,
};
use tb_cloud::{CloudDriver, CloudError, Connection};
use tb_model::VmStatus::{self, *};

fn with_faults(faults: FaultConfig) -> SimConfig {
    SimConfig { faults, ..SimConfig::default() }
}

#[tokio::test]
async fn capacity_selector_matches_zone_and_spec() {
    let faults = FaultConfig {
        capacity: vec![
            CapacityFault { scope: Scope::of("aws"), zone: Some("us-east-1a".into()), spec: Some("large".into()) },
            CapacityFault { scope: Scope::of("gcp-us-east1"), zone: Some("us-east1-c".into()), spec: None },
        ],
        ..FaultConfig::default()
    };
    let (cloud, _clock) = manual_sim(with_faults(faults)).await;
    let d = driver(&cloud);
    let aws = conn("aws");
    let net = network(&d, &aws, "t").await.unwrap();

    let mut spec = vm_spec(&net, "large-a");
    spec.spec_name = "large".into();
    let err = d.create_vm(&aws, spec.clone()).await.unwrap_err();
    assert_eq!(
        err,
        CloudError::Capacity { spec: "large".into(), region: "us-east-1".into(), zone: "us-east-1a".into() }
    );
    assert!(err.is_capacity() && !err.retryable());
    // Same spec in the other zone, or another spec in that zone: room enough.
    spec.subnet_csp_id = net.subnet_in("us-east-1b").into();
    d.create_vm(&aws, spec).await.unwrap();
    d.create_vm(&aws, vm_spec(&net, "small-a")).await.unwrap();

    let gcp = conn("gcp");
    let gnet = network(&d, &gcp, "t").await.unwrap();
    let mut spec = vm_spec(&gnet, "g-c");
    spec.subnet_csp_id = gnet.subnet_in("us-east1-c").into();
    assert!(d.create_vm(&gcp, spec).await.unwrap_err().is_capacity());
    let mut spec = vm_spec(&gnet, "g-b");
    spec.spec_name = "large".into();
    d.create_vm(&gcp, spec).await.unwrap();
    assert_eq!(d.list_vms(&gcp).await.unwrap().len(), 1);
}

#[tokio::test]
async fn vcpu_quota_boundary_is_exactly_the_limit() {
    let faults =
        FaultConfig { vcpu_quota: vec![VcpuQuota { scope: Scope::of("gcp"), limit: 10 }], ..FaultConfig::default() };
    let (cloud, clock) = manual_sim(with_faults(faults)).await;
    let d = driver(&cloud);
    let c = conn("gcp");
    let net = network(&d, &c, "t").await.unwrap();
    let mut large = vm_spec(&net, "l");
    large.spec_name = "large".into();
    d.create_vm(&c, large).await.unwrap();
    let small = d.create_vm(&c, vm_spec(&net, "s1")).await.unwrap();
    assert_eq!(
        d.create_vm(&c, vm_spec(&net, "s2")).await,
        Err(CloudError::Quota { region: "us-east1".into(), requested: 2, used: 10, limit: 10 })
    );
    // Stopped VMs still count; a terminated one gives its vCPUs back.
    clock.advance(Duration::from_secs(120));
    d.suspend_vm(&c, &small.csp_id).await.unwrap();
    clock.advance(Duration::from_secs(120));
    assert!(d.create_vm(&c, vm_spec(&net, "s2")).await.unwrap_err().is_capacity());
    d.terminate_vm(&c, &small.csp_id).await.unwrap();
    assert!(d.create_vm(&c, vm_spec(&net, "s2")).await.is_err(), "still terminating");
    clock.advance(Duration::from_secs(120));
    d.create_vm(&c, vm_spec(&net, "s2")).await.unwrap();
    // The quota is per region and only where its scope says.
    let aws = conn("aws");
    let anet = network(&d, &aws, "t").await.unwrap();
    for i in 0..3 {
        let mut s = vm_spec(&anet, &format!("a{i}"));
        s.spec_name = "large".into();
        d.create_vm(&aws, s).await.unwrap();
    }
}

#[tokio::test]
async fn throttling_over_a_burst() {
    let faults = FaultConfig {
        throttle: vec![Throttle { scope: Scope::of("azure"), requests_per_sec: 2.0, burst: 5 }],
        ..FaultConfig::default()
    };
    let (cloud, clock) = manual_sim(with_faults(faults)).await;
    let d = driver(&cloud);
    let c = conn("azure");
    for _ in 0..5 {
        d.list_vms(&c).await.unwrap();
    }
    let err = d.list_vms(&c).await.unwrap_err();
    assert_eq!(err, CloudError::Throttled { region: "koreacentral".into() });
    assert!(err.retryable());
    // Other providers have their own limits (none here).
    for _ in 0..20 {
        d.list_vms(&conn("aws")).await.unwrap();
    }
    clock.advance(Duration::from_millis(499));
    assert!(d.get_vm(&c, "x").await.unwrap_err().retryable());
    clock.advance(Duration::from_millis(1));
    assert!(
        matches!(d.get_vm(&c, "x").await, Err(CloudError::NotFound { .. })),
        "one token refilled after 0.5 s at 2/s"
    );
    assert!(matches!(d.get_vm(&c, "x").await, Err(CloudError::Throttled { .. })));
    clock.advance(Duration::from_secs(60));
    for _ in 0..5 {
        d.list_vms(&c).await.unwrap();
    }
    assert!(d.list_vms(&c).await.is_err(), "refill is capped at the burst");
}

async fn transient_pattern(seed: u64) -> Vec<bool> {
    let config = SimConfig {
        seed,
        faults: FaultConfig {
            transient: vec![TransientErrors { scope: Scope::of("alibaba"), probability: 0.3 }],
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let (cloud, _clock) = manual_sim(config).await;
    let d = driver(&cloud);
    let mut pattern = Vec::new();
    for _ in 0..300 {
        match d.list_vms(&conn("alibaba")).await {
            Ok(_) => pattern.push(false),
            Err(CloudError::Transient(msg)) => {
                assert!(msg.contains("retry"), "{msg}");
                pattern.push(true);
            }
            Err(e) => panic!("unexpected {e}"),
        }
        d.list_vms(&conn("aws")).await.unwrap();
    }
    pattern
}

#[tokio::test]
async fn transient_error_rate_with_a_fixed_seed() {
    let a = transient_pattern(7).await;
    let errors = a.iter().filter(|e| **e).count();
    assert!((50..=130).contains(&errors), "{errors} errors in 300 calls at p=0.3");
    assert_eq!(transient_pattern(7).await, a, "same seed, same errors");
    assert_ne!(transient_pattern(8).await, a, "another seed, other errors");
}

#[tokio::test]
async fn slow_create_takes_longer_on_its_connection() {
    let config = SimConfig {
        time_factor: 0.001,
        faults: FaultConfig {
            slow_create: vec![SlowCreate { scope: Scope::of("aws-us-east-1"), extra_secs: 300.0 }],
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let cloud = Arc::new(SimCloud::new(catalog(), config).unwrap());
    let d = driver(&cloud);
    let aws = conn("aws");
    let net = network(&d, &aws, "t").await.unwrap();
    let started = Instant::now();
    d.create_vm(&aws, vm_spec(&net, "slow")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    let gcp = conn("gcp");
    let gnet = network(&d, &gcp, "t").await.unwrap();
    let started = Instant::now();
    d.create_vm(&gcp, vm_spec(&gnet, "fast")).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn lost_response_leaves_a_vm_findable_by_token() {
    let faults =
        FaultConfig { lost_response: LostResponse { next_n: 1, ..LostResponse::default() }, ..FaultConfig::default() };
    let (cloud, _clock) = manual_sim(with_faults(faults)).await;
    let d = driver(&cloud);
    let c = conn("aws");
    let net = network(&d, &c, "t").await.unwrap();

    let err = d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap_err();
    assert!(matches!(err, CloudError::Timeout(_)), "{err:?}");
    assert!(err.retryable());
    let found = d.find_vm_by_token(&c, "uid-1").await.unwrap().unwrap();
    assert_eq!(found.status, Creating);
    assert_eq!(SimAdmin::config(&d).await.unwrap().faults.lost_response.next_n, 0);
    // The retry adopts the VM instead of creating a second one.
    let retried = d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap();
    assert_eq!(retried.csp_id, found.csp_id);
    d.create_vm(&c, vm_spec(&net, "uid-2")).await.unwrap();
    assert_eq!(d.list_vms(&c).await.unwrap().len(), 2);

    // By probability, with the other error kind, only where scoped.
    d.set_faults(FaultConfig {
        lost_response: LostResponse {
            scope: Scope::of("aws"),
            probability: 1.0,
            next_n: 0,
            error: LostError::Unreachable,
        },
        ..FaultConfig::default()
    })
    .await
    .unwrap();
    let err = d.create_vm(&c, vm_spec(&net, "uid-3")).await.unwrap_err();
    assert!(matches!(err, CloudError::Unreachable(_)), "{err:?}");
    assert!(d.find_vm_by_token(&c, "uid-3").await.unwrap().is_some());
    let gcp = conn("gcp");
    let gnet = network(&d, &gcp, "t").await.unwrap();
    d.create_vm(&gcp, vm_spec(&gnet, "uid-4")).await.unwrap();
}

/// Observes a VM once a second (manual clock) and returns its distinct native words.
async fn words(
    d: &dyn CloudDriver,
    c: &Connection,
    id: &str,
    clock: &ManualClock,
    secs: u64,
) -> Vec<(String, VmStatus)> {
    let mut seen: Vec<(String, VmStatus)> = Vec::new();
    for _ in 0..secs {
        let Ok(vm) = d.get_vm(c, id).await else { break };
        if seen.last().is_none_or(|(w, _)| *w != vm.native_status) {
            seen.push((vm.native_status, vm.status));
        }
        clock.advance(Duration::from_secs(1));
    }
    seen
}

#[tokio::test]
async fn vms_fail_after_boot_into_each_csp_failure_state() {
    let cases: &[(&str, &[(&str, VmStatus)])] = &[
        (
            "aws",
            &[("pending", Creating), ("running", Running), ("shutting-down", Terminating), ("terminated", Terminated)],
        ),
        ("gcp", &[("PROVISIONING", Creating), ("STAGING", Creating), ("RUNNING", Running), ("REPAIRING", Undefined)]),
        ("azure", &[("creating/starting", Creating), ("succeeded/running", Running), ("failed/running", Failed)]),
        (
            "alibaba",
            &[
                ("Pending", Creating),
                ("Starting", Creating),
                ("Running", Running),
                ("Stopping", Suspending),
                ("Stopped", Suspended),
            ],
        ),
        ("tencent", &[("PENDING", Creating), ("RUNNING", Running), ("LAUNCH_FAILED", Failed)]),
        ("ibm", &[("pending", Creating), ("starting", Creating), ("running", Running), ("failed", Failed)]),
        (
            "ncp",
            &[
                ("init", Creating),
                ("creating", Creating),
                ("booting", Creating),
                ("setting up", Creating),
                ("running", Running),
                ("shutting down", Suspending),
                ("stopped", Suspended),
            ],
        ),
        ("openstack", &[("BUILD", Creating), ("ACTIVE", Running), ("ERROR", Failed)]),
    ];
    for (p, expected) in cases {
        let faults = FaultConfig {
            fail_after_boot: FailAfterBoot { next_n: 1, after_secs: 30.0, ..FailAfterBoot::default() },
            ..FaultConfig::default()
        };
        let (cloud, clock) = manual_sim(with_faults(faults)).await;
        let d = driver(&cloud);
        let c = conn(p);
        let net = network(&d, &c, "t").await.unwrap();
        let doomed = d.create_vm(&c, vm_spec(&net, "doomed")).await.unwrap();
        let healthy = d.create_vm(&c, vm_spec(&net, "healthy")).await.unwrap();
        let seen = words(&d, &c, &doomed.csp_id, &clock, 400).await;
        let expected: Vec<(String, VmStatus)> = expected.iter().map(|(w, s)| (w.to_string(), *s)).collect();
        assert_eq!(seen, expected, "{p}");
        let last = d.get_vm(&c, &healthy.csp_id).await.unwrap();
        assert_eq!(last.status, Running, "{p}: only the next one fails");
        if seen.last().is_some_and(|(_, s)| *s == Failed) {
            assert!(matches!(d.reboot_vm(&c, &doomed.csp_id).await, Err(CloudError::InvalidRequest(_))), "{p}");
            d.terminate_vm(&c, &doomed.csp_id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn fail_after_boot_by_probability_and_scope() {
    let faults = FaultConfig {
        fail_after_boot: FailAfterBoot { scope: Scope::of("tencent"), probability: 1.0, next_n: 0, after_secs: 10.0 },
        ..FaultConfig::default()
    };
    let (cloud, clock) = manual_sim(with_faults(faults)).await;
    let d = driver(&cloud);
    let t = conn("tencent");
    let a = conn("aws");
    let tnet = network(&d, &t, "t").await.unwrap();
    let anet = network(&d, &a, "t").await.unwrap();
    let tv = d.create_vm(&t, vm_spec(&tnet, "t")).await.unwrap();
    let av = d.create_vm(&a, vm_spec(&anet, "a")).await.unwrap();
    clock.advance(Duration::from_secs(100));
    assert_eq!(d.get_vm(&t, &tv.csp_id).await.unwrap().status, Failed);
    assert_eq!(d.get_vm(&a, &av.csp_id).await.unwrap().status, Running);
}

#[tokio::test]
async fn knobs_change_at_run_time_and_are_validated() {
    let (cloud, _clock) = manual_sim(SimConfig::default()).await;
    let d = driver(&cloud);
    let c = conn("nhn");
    let net = network(&d, &c, "t").await.unwrap();
    d.create_vm(&c, vm_spec(&net, "before")).await.unwrap();

    let faults = FaultConfig { capacity: vec![CapacityFault::default()], ..FaultConfig::default() };
    SimAdmin::set_faults(cloud.as_ref(), faults.clone()).await.unwrap();
    assert_eq!(SimAdmin::config(cloud.as_ref()).await.unwrap().faults, faults);
    assert!(d.create_vm(&c, vm_spec(&net, "during")).await.unwrap_err().is_capacity());
    d.set_faults(FaultConfig::default()).await.unwrap();
    d.create_vm(&c, vm_spec(&net, "after")).await.unwrap();

    let bad = FaultConfig {
        transient: vec![TransientErrors { scope: Scope::all(), probability: 2.0 }],
        ..FaultConfig::default()
    };
    assert!(matches!(d.set_faults(bad).await, Err(CloudError::InvalidRequest(_))));
    assert!(matches!(d.set_time_factor(-0.5).await, Err(CloudError::InvalidRequest(_))));
    d.set_time_factor(0.25).await.unwrap();
    assert_eq!(d.config().await.unwrap().time_factor, 0.25);
}

#[tokio::test]
async fn faults_come_from_the_start_config() {
    let config: SimConfig = serde_json::from_str(
        r#"{"timeFactor": 0, "seed": 3,
            "faults": {"capacity": [{"scope": "ibm", "spec": "medium"}]}}"#,
    )
    .unwrap();
    let (cloud, _clock) = manual_sim(config).await;
    let d = driver(&cloud);
    let c = conn("ibm");
    let net = network(&d, &c, "t").await.unwrap();
    let mut spec = vm_spec(&net, "m");
    spec.spec_name = "medium".into();
    assert!(d.create_vm(&c, spec).await.unwrap_err().is_capacity());
    assert_eq!(d.create_vm(&c, vm_spec(&net, "s")).await.unwrap().status, Running);
    assert!(SimCloud::new(catalog(), SimConfig { time_factor: f64::INFINITY, ..SimConfig::default() }).is_err());
}
