//! The sim as its own process: the HTTP API driven by `SimHttpDriver`, errors re-created on
//! the client side, restarts over the same redb file, and transport failures.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tb_cloud::sim::{
    CapacityFault, FaultConfig, Scope, SimAdmin, SimClock, SimCloud, SimConfig, SimHttpDriver, SlowCreate,
    serve_with_shutdown,
};
use tb_cloud::{CloudDriver, CloudError, Connection, SubnetSpec};
use tb_model::VmStatus;
use tb_store::{RedbStore, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(cloud: Arc<SimCloud>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with_shutdown(listener, cloud, async {
            let _ = stopped.await;
        }));
        Server { url, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

fn fast() -> SimConfig {
    SimConfig { time_factor: 0.001, ..SimConfig::default() }
}

#[tokio::test]
async fn the_driver_works_over_http() {
    let cloud = Arc::new(SimCloud::new(catalog(), fast()).unwrap());
    let server = Server::start(cloud.clone()).await;
    let d = SimHttpDriver::new(format!("{}/", server.url));
    let c = conn("gcp");

    let net = network(&d, &c, "t").await.unwrap();
    let extra = SubnetSpec { name: "extra".into(), cidr: "10.0.200.0/24".into(), zone: "us-east1-c".into() };
    let extra = d.create_subnet(&c, &net.vnet, extra).await.unwrap();
    assert_eq!(d.get_vnet(&c, &net.vnet).await.unwrap().subnets.len(), 3);
    d.delete_subnet(&c, &net.vnet, &extra.csp_id).await.unwrap();
    assert_eq!(d.get_vnet(&c, &net.vnet).await.unwrap().subnets.len(), 2);
    let sg = d.set_security_group_rules(&c, &net.sg, vec![]).await.unwrap();
    assert!(sg.rules.is_empty());
    let vm = d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap();
    assert_eq!(d.create_vm(&c, vm_spec(&net, "uid-1")).await.unwrap().csp_id, vm.csp_id);
    let vm = wait_for_word(&d, &c, &vm.csp_id, "RUNNING", Duration::from_secs(10)).await;
    assert_eq!(vm.status, VmStatus::Running);
    assert_eq!(d.find_vm_by_token(&c, "uid-1").await.unwrap().unwrap().csp_id, vm.csp_id);
    assert_eq!(d.list_vms(&c).await.unwrap().len(), 1);
    d.suspend_vm(&c, &vm.csp_id).await.unwrap();
    wait_for_word(&d, &c, &vm.csp_id, "TERMINATED", Duration::from_secs(10)).await;
    d.resume_vm(&c, &vm.csp_id).await.unwrap();
    wait_for_word(&d, &c, &vm.csp_id, "RUNNING", Duration::from_secs(10)).await;
    d.reboot_vm(&c, &vm.csp_id).await.unwrap();
    assert_eq!(d.lookup_spec(&c, "large").await.unwrap().vcpu, 8);
    assert_eq!(d.list_specs(&c).await.unwrap().len(), 3);
    assert_eq!(d.lookup_image(&c, "ubuntu").await.unwrap().name, "ubuntu");
    assert_eq!(d.list_images(&c).await.unwrap().len(), 1);
    assert_eq!(d.get_security_group(&c, &net.sg).await.unwrap().csp_id, net.sg);
    assert_eq!(d.get_key_pair(&c, &net.key).await.unwrap().csp_id, net.key);
    d.terminate_vm(&c, &vm.csp_id).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while d.get_vm(&c, &vm.csp_id).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap();
    d.delete_security_group(&c, &net.sg).await.unwrap();
    d.delete_key_pair(&c, &net.key).await.unwrap();
    d.delete_vnet(&c, &net.vnet).await.unwrap();

    // The same engine answers in process and over HTTP.
    assert!(cloud.get_vnet(&c, &net.vnet).await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn errors_keep_their_kind_over_http() {
    let cloud = Arc::new(SimCloud::new(catalog(), fast()).unwrap());
    let server = Server::start(cloud).await;
    let d = SimHttpDriver::new(server.url.clone());
    let c = conn("aws");
    let net = network(&d, &c, "t").await.unwrap();

    let mut spec = vm_spec(&net, "x");
    spec.spec_name = "nope".into();
    assert!(matches!(d.create_vm(&c, spec).await, Err(CloudError::InvalidRequest(m)) if m.contains("nope")));
    assert_eq!(
        d.get_vm(&c, "i-0missing").await,
        Err(CloudError::NotFound { kind: "VM".into(), id: "i-0missing".into() })
    );
    let mars = Connection { name: "aws-mars".into(), provider: "aws".into(), region: "mars".into() };
    assert_eq!(d.list_vms(&mars).await, Err(CloudError::UnknownConnection("aws-mars".into())));

    // The admin knobs over HTTP.
    let faults = FaultConfig {
        capacity: vec![CapacityFault { scope: Scope::of("aws"), zone: None, spec: Some("small".into()) }],
        ..FaultConfig::default()
    };
    d.set_faults(faults.clone()).await.unwrap();
    let config = d.config().await.unwrap();
    assert_eq!((config.faults, config.time_factor), (faults, 0.001));
    assert_eq!(
        d.create_vm(&c, vm_spec(&net, "y")).await,
        Err(CloudError::Capacity { spec: "small".into(), region: "us-east-1".into(), zone: "us-east-1a".into() })
    );
    assert!(matches!(d.set_time_factor(f64::NAN).await, Err(CloudError::InvalidRequest(_))));
    d.set_time_factor(0.0).await.unwrap();
    assert_eq!(d.config().await.unwrap().time_factor, 0.0);

    // Anything but a sim call is refused as a bad request.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/call", server.url))
        .body("{\"op\": \"format_disk\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert!(body["error"]["InvalidRequest"].as_str().unwrap().contains("format_disk"), "{body}");
    server.stop().await;
}

async fn persistent(path: &std::path::Path) -> Arc<SimCloud> {
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(path).unwrap());
    let cloud = SimCloud::builder(catalog()).config(fast()).clock(SimClock::System).store(store).build().await.unwrap();
    Arc::new(cloud)
}

#[tokio::test]
async fn a_restarted_sim_server_keeps_its_vms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.redb");
    let c = conn("azure");

    let cloud = persistent(&path).await;
    let server = Server::start(cloud.clone()).await;
    let d = SimHttpDriver::new(server.url.clone());
    let net = network(&d, &c, "t").await.unwrap();
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(d.create_vm(&c, vm_spec(&net, &format!("vm-{i}"))).await.unwrap());
    }
    server.stop().await;
    cloud.close().await;
    drop(cloud);

    // A new process over the same file, on another port.
    let cloud = persistent(&path).await;
    let server = Server::start(cloud.clone()).await;
    let d = SimHttpDriver::new(server.url.clone());
    let listed = d.list_vms(&c).await.unwrap();
    assert_eq!(listed.len(), 5);
    for (before, after) in created.iter().zip(&listed) {
        assert_eq!(
            (&before.csp_id, &before.token, &before.private_ip, &before.public_ip),
            (&after.csp_id, &after.token, &after.private_ip, &after.public_ip)
        );
    }
    // They kept booting meanwhile (30-60 ms at this factor).
    let vm = wait_for_word(&d, &c, &created[0].csp_id, "succeeded/running", Duration::from_secs(10)).await;
    assert_eq!(vm.status, VmStatus::Running);
    assert_eq!(d.create_vm(&c, vm_spec(&net, "vm-3")).await.unwrap().csp_id, created[3].csp_id);
    server.stop().await;
    cloud.close().await;
}

#[tokio::test]
async fn an_absent_server_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let d = SimHttpDriver::new(url);
    let err = d.list_vms(&conn("aws")).await.unwrap_err();
    assert!(matches!(err, CloudError::Unreachable(_)), "{err:?}");
    assert!(err.retryable());
    assert!(matches!(d.config().await, Err(CloudError::Unreachable(_))));
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_vm_is_there() {
    let config = SimConfig {
        time_factor: 0.01,
        faults: FaultConfig {
            slow_create: vec![SlowCreate { scope: Scope::all(), extra_secs: 100.0 }],
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let cloud = Arc::new(SimCloud::new(catalog(), config).unwrap());
    let server = Server::start(cloud).await;
    let d = SimHttpDriver::new(server.url.clone()).with_timeout(Duration::from_millis(200));
    let c = conn("ibm");
    let net = network(&d, &c, "t").await.unwrap();
    let err = d.create_vm(&c, vm_spec(&net, "slow")).await.unwrap_err();
    assert!(matches!(err, CloudError::Timeout(_)), "{err:?}");
    assert!(d.find_vm_by_token(&c, "slow").await.unwrap().is_some());
    server.stop().await;
}
