//! Each CSP's native state sequences through a VM's whole life, observed second by second on a
//! manual clock at time factor 1, with the mapped Tumblebug status checked at every step.

mod common;

use std::time::Duration;

use common::*;
use tb_cloud::sim::{ManualClock, SimConfig};
use tb_cloud::{CloudDriver, CloudError, Connection};
use tb_model::VmStatus::{self, *};
use tb_model::native::native_to_status;

const GONE: (&str, VmStatus) = ("gone", Undefined);

struct Case {
    provider: &'static str,
    create: &'static [(&'static str, VmStatus)],
    suspend: &'static [(&'static str, VmStatus)],
    resume: &'static [(&'static str, VmStatus)],
    reboot: &'static [(&'static str, VmStatus)],
    terminate: &'static [(&'static str, VmStatus)],
    /// Seconds a terminated VM stays listed before it is gone (0: gone right after the steps).
    listed_after_terminate: u64,
}

const OPENSTACK_LIKE: Case = Case {
    provider: "openstack",
    create: &[("BUILD", Creating), ("ACTIVE", Running)],
    // Nova keeps ACTIVE while powering off.
    suspend: &[("ACTIVE", Running), ("SHUTOFF", Suspended)],
    resume: &[("SHUTOFF", Suspended), ("ACTIVE", Running)],
    reboot: &[("REBOOT", Rebooting), ("ACTIVE", Running)],
    terminate: &[("ACTIVE", Running), GONE],
    listed_after_terminate: 0,
};

const CASES: &[Case] = &[
    Case {
        provider: "aws",
        create: &[("pending", Creating), ("running", Running)],
        suspend: &[("stopping", Suspending), ("stopped", Suspended)],
        resume: &[("pending", Creating), ("running", Running)],
        reboot: &[("running", Running)],
        terminate: &[("shutting-down", Terminating), ("terminated", Terminated)],
        listed_after_terminate: 3600,
    },
    Case {
        provider: "gcp",
        create: &[("PROVISIONING", Creating), ("STAGING", Creating), ("RUNNING", Running)],
        suspend: &[("STOPPING", Suspending), ("TERMINATED", Suspended)],
        resume: &[("PROVISIONING", Creating), ("STAGING", Creating), ("RUNNING", Running)],
        reboot: &[("RUNNING", Running)],
        terminate: &[("STOPPING", Suspending), GONE],
        listed_after_terminate: 0,
    },
    Case {
        provider: "azure",
        create: &[("creating/starting", Creating), ("succeeded/running", Running)],
        suspend: &[("updating/stopping", Suspending), ("succeeded/stopped", Suspended)],
        resume: &[("updating/starting", Creating), ("succeeded/running", Running)],
        reboot: &[("updating/starting", Creating), ("succeeded/running", Running)],
        terminate: &[("deleting/running", Terminating), GONE],
        listed_after_terminate: 0,
    },
    Case {
        provider: "alibaba",
        create: &[("Pending", Creating), ("Starting", Creating), ("Running", Running)],
        suspend: &[("Stopping", Suspending), ("Stopped", Suspended)],
        resume: &[("Starting", Creating), ("Running", Running)],
        reboot: &[("Stopping", Suspending), ("Starting", Creating), ("Running", Running)],
        terminate: &[("Stopping", Suspending), GONE],
        listed_after_terminate: 0,
    },
    Case {
        provider: "tencent",
        create: &[("PENDING", Creating), ("RUNNING", Running)],
        suspend: &[("STOPPING", Suspending), ("STOPPED", Suspended)],
        resume: &[("STARTING", Creating), ("RUNNING", Running)],
        reboot: &[("REBOOTING", Rebooting), ("RUNNING", Running)],
        terminate: &[("TERMINATING", Terminating), GONE],
        listed_after_terminate: 0,
    },
    Case {
        provider: "ibm",
        create: &[("pending", Creating), ("starting", Creating), ("running", Running)],
        suspend: &[("stopping", Suspending), ("stopped", Suspended)],
        resume: &[("starting", Creating), ("running", Running)],
        reboot: &[("restarting", Rebooting), ("running", Running)],
        terminate: &[("deleting", Terminating), GONE],
        listed_after_terminate: 0,
    },
    Case {
        provider: "ncp",
        create: &[
            ("init", Creating),
            ("creating", Creating),
            ("booting", Creating),
            ("setting up", Creating),
            ("running", Running),
        ],
        suspend: &[("shutting down", Suspending), ("stopped", Suspended)],
        resume: &[("booting", Creating), ("running", Running)],
        reboot: &[("rebooting", Rebooting), ("running", Running)],
        terminate: &[("terminating", Terminating), GONE],
        listed_after_terminate: 0,
    },
    OPENSTACK_LIKE,
    Case { provider: "nhn", ..OPENSTACK_LIKE },
    Case { provider: "kt", ..OPENSTACK_LIKE },
    Case {
        provider: "cloudit",
        create: &[("Creating", Creating), ("Running", Running)],
        suspend: &[("Suspending", Suspending), ("Suspended", Suspended)],
        resume: &[("Resuming", Resuming), ("Running", Running)],
        reboot: &[("Rebooting", Rebooting), ("Running", Running)],
        terminate: &[("Terminating", Terminating), ("Terminated", Terminated)],
        listed_after_terminate: 600,
    },
];

/// Observes a VM once a second for `window` seconds (or until it is gone) and returns the
/// distinct states in order; every observation's status must be the mapping of its word.
async fn trace(
    d: &dyn CloudDriver,
    c: &Connection,
    id: &str,
    clock: &ManualClock,
    window: u64,
) -> Vec<(String, VmStatus)> {
    let mut seen: Vec<(String, VmStatus)> = Vec::new();
    for _ in 0..=window {
        match d.get_vm(c, id).await {
            Ok(vm) => {
                assert_eq!(
                    vm.status,
                    native_to_status(&c.provider, &vm.native_status),
                    "{}: status must map the native word",
                    c.provider
                );
                if seen.last().is_none_or(|(w, _)| *w != vm.native_status) {
                    seen.push((vm.native_status, vm.status));
                }
            }
            Err(CloudError::NotFound { .. }) => {
                seen.push((GONE.0.into(), GONE.1));
                break;
            }
            Err(e) => panic!("{}: {e}", c.provider),
        }
        clock.advance(Duration::from_secs(1));
    }
    seen
}

fn expected(steps: &[(&str, VmStatus)]) -> Vec<(String, VmStatus)> {
    steps.iter().map(|(w, s)| (w.to_string(), *s)).collect()
}

#[tokio::test]
async fn every_csp_walks_its_native_states() {
    for case in CASES {
        let p = case.provider;
        let (cloud, clock) = manual_sim(SimConfig::default()).await;
        let d = driver(&cloud);
        let c = conn(p);
        let net = network(&d, &c, "t").await.unwrap();

        let vm = d.create_vm(&c, vm_spec(&net, "vm-1")).await.unwrap();
        assert_eq!(vm.native_status, case.create[0].0, "{p}: create answers");
        assert_eq!(vm.status, case.create[0].1, "{p}");
        let id = vm.csp_id;
        assert_eq!(trace(&d, &c, &id, &clock, 200).await, expected(case.create), "{p} create");

        d.suspend_vm(&c, &id).await.unwrap();
        assert_eq!(trace(&d, &c, &id, &clock, 200).await, expected(case.suspend), "{p} suspend");

        d.resume_vm(&c, &id).await.unwrap();
        assert_eq!(trace(&d, &c, &id, &clock, 200).await, expected(case.resume), "{p} resume");

        d.reboot_vm(&c, &id).await.unwrap();
        assert_eq!(trace(&d, &c, &id, &clock, 200).await, expected(case.reboot), "{p} reboot");

        d.terminate_vm(&c, &id).await.unwrap();
        assert_eq!(trace(&d, &c, &id, &clock, 200).await, expected(case.terminate), "{p} terminate");
        if case.listed_after_terminate > 0 {
            let listed = d.find_vm_by_token(&c, "vm-1").await.unwrap();
            assert_eq!(listed.map(|v| v.status), Some(Terminated), "{p}: still listed");
            assert_eq!(d.list_vms(&c).await.unwrap().len(), 1, "{p}");
            clock.advance(Duration::from_secs(case.listed_after_terminate));
        }
        assert!(
            matches!(d.get_vm(&c, &id).await, Err(CloudError::NotFound { .. })),
            "{p}: terminated VM eventually vanishes"
        );
        assert_eq!(d.find_vm_by_token(&c, "vm-1").await.unwrap(), None, "{p}");
        assert!(d.list_vms(&c).await.unwrap().is_empty(), "{p}");
    }
}

#[tokio::test]
async fn terminating_a_stopped_vm_uses_the_stopped_words() {
    for (p, word) in
        [("azure", "deleting/stopped"), ("gcp", "TERMINATED"), ("alibaba", "Stopped"), ("openstack", "SHUTOFF")]
    {
        let (cloud, clock) = manual_sim(SimConfig::default()).await;
        let d = driver(&cloud);
        let c = conn(p);
        let net = network(&d, &c, "t").await.unwrap();
        let id = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap().csp_id;
        clock.advance(Duration::from_secs(300));
        d.suspend_vm(&c, &id).await.unwrap();
        clock.advance(Duration::from_secs(300));
        d.terminate_vm(&c, &id).await.unwrap();
        let vm = d.get_vm(&c, &id).await.unwrap();
        assert_eq!(vm.native_status, word, "{p}");
        clock.advance(Duration::from_secs(300));
        assert!(d.get_vm(&c, &id).await.is_err(), "{p}");
    }
}

#[tokio::test]
async fn aws_and_gcp_change_public_ip_across_stop_start() {
    for (p, changes) in [("aws", true), ("gcp", true), ("azure", false), ("tencent", false)] {
        let (cloud, clock) = manual_sim(SimConfig::default()).await;
        let d = driver(&cloud);
        let c = conn(p);
        let net = network(&d, &c, "t").await.unwrap();
        let vm = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap();
        assert!(vm.public_ip.starts_with("100."), "{p}: {}", vm.public_ip);
        assert!(vm.private_ip.starts_with("10.0.1."), "{p}: {}", vm.private_ip);
        assert_eq!(vm.ssh_port, 22);
        clock.advance(Duration::from_secs(300));
        d.suspend_vm(&c, &vm.csp_id).await.unwrap();
        clock.advance(Duration::from_secs(300));
        let stopped = d.get_vm(&c, &vm.csp_id).await.unwrap();
        assert_eq!(stopped.public_ip.is_empty(), changes, "{p}");
        d.resume_vm(&c, &vm.csp_id).await.unwrap();
        clock.advance(Duration::from_secs(300));
        let running = d.get_vm(&c, &vm.csp_id).await.unwrap();
        assert_eq!(running.status, Running);
        assert_eq!(running.public_ip != vm.public_ip, changes, "{p}");
        assert!(!running.public_ip.is_empty(), "{p}");
        assert_eq!(running.private_ip, vm.private_ip, "{p}: private IP stays");
    }
}

#[tokio::test]
async fn time_factor_zero_completes_every_transition_at_once() {
    let config = SimConfig { time_factor: 0.0, ..SimConfig::default() };
    let (cloud, _clock) = manual_sim(config).await;
    let d = driver(&cloud);
    for p in ["aws", "gcp", "ncp"] {
        let c = conn(p);
        let net = network(&d, &c, "t").await.unwrap();
        let vm = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap();
        assert_eq!(vm.status, Running, "{p}");
        d.suspend_vm(&c, &vm.csp_id).await.unwrap();
        assert_eq!(d.get_vm(&c, &vm.csp_id).await.unwrap().status, Suspended, "{p}");
        d.resume_vm(&c, &vm.csp_id).await.unwrap();
        assert_eq!(d.get_vm(&c, &vm.csp_id).await.unwrap().status, Running, "{p}");
        d.terminate_vm(&c, &vm.csp_id).await.unwrap();
        assert!(d.get_vm(&c, &vm.csp_id).await.is_err(), "{p}: gone at once");
    }
}

#[tokio::test]
async fn small_time_factor_on_the_system_clock() {
    let cloud = std::sync::Arc::new(
        tb_cloud::sim::SimCloud::new(catalog(), SimConfig { time_factor: 0.01, ..SimConfig::default() }).unwrap(),
    );
    let d = driver(&cloud);
    let c = conn("gcp");
    let net = network(&d, &c, "t").await.unwrap();
    let started = std::time::Instant::now();
    let vm = d.create_vm(&c, vm_spec(&net, "vm")).await.unwrap();
    // The call takes 10-30 ms at this factor; PROVISIONING + STAGING at least 150 ms.
    assert_eq!(vm.status, Creating, "{}", vm.native_status);
    let vm = wait_for_word(&d, &c, &vm.csp_id, "RUNNING", Duration::from_secs(10)).await;
    assert_eq!(vm.status, Running);
    assert!(started.elapsed() >= Duration::from_millis(150));
}
