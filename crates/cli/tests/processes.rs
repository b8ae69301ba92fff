//! The real binary: `tumblebug sim-cloud` as its own process and `tumblebug serve` reaching it
//! over HTTP on loopback. Killing either process (SIGKILL) loses nothing: the server's store
//! and the clouds' own store both survive.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tumblebug");

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn kill_hard(mut self) {
        let _ = self.0.kill(); // SIGKILL on Unix: no graceful shutdown
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    Proc(child)
}

async fn wait_ok(client: &reqwest::Client, url: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn server_and_clouds_survive_kills() {
    let dir = tempfile::tempdir().unwrap();
    let (sim_port, tb_port) = (free_port(), free_port());
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let tb = format!("http://127.0.0.1:{tb_port}/tumblebug");
    let sim_data = dir.path().join("sim");
    let sim_log = dir.path().join("sim.log");
    let tb_log = dir.path().join("tb.log");
    // The server's settings come from a config file; the sim URL from the environment-free flag.
    let config = dir.path().join("tumblebug.yaml");
    std::fs::write(&config, format!("listen: 127.0.0.1:{tb_port}\ndataDir: {}\n", dir.path().join("tb").display()))
        .unwrap();

    let sim_args = [
        "sim-cloud",
        "--listen",
        &format!("127.0.0.1:{sim_port}"),
        "--data-dir",
        sim_data.to_str().unwrap(),
        "--time-factor",
        "0",
    ];
    let tb_args = ["serve", "--config", config.to_str().unwrap(), "--sim-url", &sim_url];
    let client = reqwest::Client::new();

    let sim = spawn(&sim_args, &sim_log);
    wait_ok(&client, &format!("{sim_url}/healthz"), &sim_log).await;
    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;

    let (s, _) = call(&client, reqwest::Method::POST, format!("{tb}/ns"), Some(json!({"name": "ns01"}))).await;
    assert_eq!(s, 200);
    let vnet = json!({"name": "vnet01", "connectionName": "aws-us-east-1", "cidrBlock": "10.0.0.0/16",
                      "subnetInfoList": [{"name": "s1", "ipv4_CIDR": "10.0.1.0/24"}]});
    let (s, v) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/resources/vNet"), Some(vnet)).await;
    assert_eq!(s, 201, "{v}");
    let csp_id = v["cspResourceId"].as_str().unwrap().to_string();
    let (s, cfg) = call(&client, reqwest::Method::GET, format!("{tb}/sim/config"), None).await;
    assert_eq!(s, 200, "admin knobs reach the sim process: {cfg}");
    assert_eq!(cfg["timeFactor"].as_f64(), Some(0.0));

    // Kill the server hard and start it again on the same data directory.
    server.kill_hard();
    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;
    let (s, v) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/resources/vNet/vnet01"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["cspResourceId"], csp_id.as_str());

    // Kill the clouds hard and start them again: the vNet is still there (a security group can
    // be created in it, which the cloud checks).
    sim.kill_hard();
    let sim2 = spawn(&sim_args, &sim_log);
    wait_ok(&client, &format!("{sim_url}/healthz"), &sim_log).await;
    let sg = json!({"name": "sg01", "vNetId": "vnet01",
                    "firewallRules": [{"Ports": "22", "Protocol": "TCP", "Direction": "inbound"}]});
    let (s, v) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/resources/securityGroup"), Some(sg)).await;
    assert_eq!(s, 200, "{v}");

    // While the clouds are down, calls fail clearly and nothing is left half-written.
    drop(sim2);
    let key = json!({"name": "key01", "connectionName": "aws-us-east-1"});
    let (s, v) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/resources/sshKey"), Some(key)).await;
    assert_eq!(s, 503, "{v}");
    assert!(v["message"].as_str().unwrap().contains("unreachable"), "{v}");
    let (s, _) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/resources/sshKey/key01"), None).await;
    assert_eq!(s, 404, "the failed create left no record");
    drop(server);
}

/// Issue 3's crash test: the server is killed while VMs are being created, restarted, and
/// converges with exactly one cloud VM per record; a cloud VM of this installation without a
/// record is terminated by the recovery sweep.
#[tokio::test]
async fn killed_during_create_converges_without_orphans_or_duplicates() {
    use tb_cloud::CloudDriver;

    let dir = tempfile::tempdir().unwrap();
    let (sim_port, tb_port) = (free_port(), free_port());
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let tb = format!("http://127.0.0.1:{tb_port}/tumblebug");
    let sim_log = dir.path().join("sim.log");
    let tb_log = dir.path().join("tb.log");
    let sim_data = dir.path().join("sim");
    let tb_data = dir.path().join("tb");
    // Realistic durations scaled by 0.2: create calls of a few hundred ms, boots of seconds.
    let sim_args = [
        "sim-cloud",
        "--listen",
        &format!("127.0.0.1:{sim_port}"),
        "--data-dir",
        sim_data.to_str().unwrap(),
        "--time-factor",
        "0.2",
    ];
    let listen = format!("127.0.0.1:{tb_port}");
    let tb_args = [
        "serve",
        "--listen",
        &listen,
        "--data-dir",
        tb_data.to_str().unwrap(),
        "--sim-url",
        &sim_url,
        "--poll-interval-ms",
        "100",
        "--status-cache-ms",
        "0",
    ];
    let client = reqwest::Client::new();
    let _sim = spawn(&sim_args, &sim_log);
    wait_ok(&client, &format!("{sim_url}/healthz"), &sim_log).await;
    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;

    let (s, _) = call(&client, reqwest::Method::POST, format!("{tb}/ns"), Some(json!({"name": "ns01"}))).await;
    assert_eq!(s, 200);
    let req = json!({"name": "mci01", "subGroups": [
        {"name": "a", "subGroupSize": 4, "specId": "aws+us-east-1+t3.small",
         "imageId": "aws+all+-aws-service-canonical-ubuntu-server-22.04-stable-current-amd64-hvm-ebs-gp2-ami-id"},
        {"name": "g", "subGroupSize": 4, "specId": "gcp+us-central1+e2-small",
         "imageId": "gcp+all+projects-ubuntu-os-cloud-global-images-family-ubuntu-2204-lts"}]});
    let (s, v) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/mciDynamic?async=true"), Some(req)).await;
    assert_eq!(s, 202, "{v}");
    // The records exist as soon as the request is accepted; kill while the creates are in flight.
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.kill_hard();

    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut mci = Value::Null;
    while Instant::now() < deadline {
        let (_, v) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/mci01"), None).await;
        mci = v;
        if mci["status"] == "Running:8 (R:8/8)" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        mci["status"],
        "Running:8 (R:8/8)",
        "{mci}\nlog:\n{}",
        std::fs::read_to_string(&tb_log).unwrap_or_default()
    );

    // Exactly one live cloud VM per record, found by token.
    let driver = tb_cloud::sim::SimHttpDriver::new(&sim_url);
    let conns = [("aws-us-east-1", "aws", "us-east-1"), ("gcp-us-central1", "gcp", "us-central1")];
    let records: Vec<(String, String)> = mci["vm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["cspResourceName"].as_str().unwrap().to_string(), v["cspResourceId"].as_str().unwrap().to_string()))
        .collect();
    let installation = records[0].0.split('-').next().unwrap().to_string();
    let mut live = Vec::new();
    for (name, provider, region) in conns {
        let conn = tb_cloud::Connection { name: name.into(), provider: provider.into(), region: region.into() };
        for h in driver.list_vms(&conn).await.unwrap() {
            if h.token.starts_with(&installation) && h.status != tb_model::VmStatus::Terminated {
                live.push((h.token.clone(), h.csp_id.clone()));
            }
        }
    }
    live.sort();
    let mut expected = records.clone();
    expected.sort();
    assert_eq!(live, expected, "no duplicate, no orphan");

    // A cloud VM carrying this installation's token but no record (as if its record had been
    // deleted) is terminated by the next start's recovery.
    let conn =
        tb_cloud::Connection { name: "aws-us-east-1".into(), provider: "aws".into(), region: "us-east-1".into() };
    let vm0 = &mci["vm"][0];
    let (_, sg) = call(
        &client,
        reqwest::Method::GET,
        format!("{tb}/ns/ns01/resources/securityGroup/{}", vm0["securityGroupIds"][0].as_str().unwrap()),
        None,
    )
    .await;
    let orphan_token = format!("{installation}-orphan0000000000000000");
    let spec = tb_cloud::VmSpec {
        token: orphan_token.clone(),
        spec_name: "t3.small".into(),
        image_name: vm0["cspImageName"].as_str().unwrap().into(),
        zone: None,
        vnet_csp_id: vm0["cspVNetId"].as_str().unwrap().into(),
        subnet_csp_id: vm0["cspSubnetId"].as_str().unwrap().into(),
        security_group_csp_ids: vec![sg["cspResourceId"].as_str().unwrap().into()],
        key_pair_csp_id: vm0["cspSshKeyId"].as_str().unwrap().into(),
        vm_user: "cb-user".into(),
        root_disk_type: None,
        root_disk_size_gb: None,
    };
    let orphan = driver.create_vm(&conn, spec).await.unwrap();
    server.kill_hard();
    let _server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut state = tb_model::VmStatus::Running;
    while Instant::now() < deadline {
        state = match driver.get_vm(&conn, &orphan.csp_id).await {
            Ok(h) => h.status,
            Err(tb_cloud::CloudError::NotFound { .. }) => tb_model::VmStatus::Terminated,
            Err(e) => panic!("{e}"),
        };
        if matches!(state, tb_model::VmStatus::Terminating | tb_model::VmStatus::Terminated) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        matches!(state, tb_model::VmStatus::Terminating | tb_model::VmStatus::Terminated),
        "orphan still {state:?}"
    );
    // The MCI's own VMs were not touched.
    let (_, v) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/mci01?option=status"), None).await;
    assert_eq!(v["status"]["status"], "Running:8 (R:8/8)");
}

/// Local regions: an MCI whose VMs are real sshd processes, reached with the system ssh client
/// using the key Tumblebug generated.
#[tokio::test]
async fn local_region_vms_are_real_ssh_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let tb_port = free_port();
    let tb = format!("http://127.0.0.1:{tb_port}/tumblebug");
    let log = dir.path().join("tb.log");
    let listen = format!("127.0.0.1:{tb_port}");
    let data = dir.path().join("tb");
    let args = [
        "serve",
        "--listen",
        &listen,
        "--data-dir",
        data.to_str().unwrap(),
        "--sim-time-factor",
        "0",
        "--local-regions",
        "lo7",
    ];
    let client = reqwest::Client::new();
    let server = spawn(&args, &log);
    wait_ok(&client, &format!("{tb}/readyz"), &log).await;
    call(&client, reqwest::Method::POST, format!("{tb}/ns"), Some(json!({"name": "ns01"}))).await;
    let req = json!({"name": "loc", "subGroups": [{"name": "g1", "subGroupSize": 2, "specId": "local+lo7+local-1x1", "imageId": "local+all+local-debian"}],
                     "postCommand": {"command": ["echo booted-$(hostname)"]}});
    let (s, v) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/mciDynamic"), Some(req)).await;
    assert_eq!(s, 200, "{v}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    assert_eq!(v["status"], "Running:2 (R:2/2)", "{v}");
    // postCommand ran on both VMs after provisioning and its result is stored.
    let post = v["postCommandResult"]["results"].as_array().unwrap();
    assert_eq!(post.len(), 2, "{v}");
    assert!(
        post.iter().all(|r| r["stdout"]["0"].as_str().unwrap().starts_with("booted-") && r["err"].is_null()),
        "{post:?}"
    );
    let (_, stored) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/loc"), None).await;
    assert_eq!(stored["postCommandResult"]["results"].as_array().unwrap().len(), 2);
    let (_, access) = call(
        &client,
        reqwest::Method::GET,
        format!("{tb}/ns/ns01/mci/loc?option=accessinfo&accessInfoOption=showSshKey"),
        None,
    )
    .await;
    let vms = access["MciSubGroupAccessInfo"][0]["MciVmAccessInfo"].as_array().unwrap().clone();
    let ssh = |vm: &Value, cmd: &str| {
        let key = dir.path().join(format!("key-{}", vm["vmId"].as_str().unwrap()));
        std::fs::write(&key, vm["privateKey"].as_str().unwrap()).unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        Command::new("ssh")
            .args([
                "-i",
                key.to_str().unwrap(),
                "-p",
                &vm["sshPort"].to_string(),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
            ])
            .arg(format!("{}@{}", vm["vmUserName"].as_str().unwrap(), vm["publicIP"].as_str().unwrap()))
            .arg(cmd)
            .output()
            .unwrap()
    };
    let ips: Vec<&str> = vms.iter().map(|v| v["publicIP"].as_str().unwrap()).collect();
    // As root the VMs log in a fresh account of their own, as a cloud image's default one.
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
    let login = vms[0]["vmUserName"].as_str().unwrap().to_string();
    assert_eq!(login, if me == "root" { "cb-user" } else { me.as_str() }, "{vms:?}");
    // Paths both this test and the VMs' account may write.
    let shared = std::env::temp_dir().join(format!("tb-local-{}", std::process::id()));
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    assert_ne!(ips[0], ips[1], "each VM has its own loopback address");
    for vm in &vms {
        let out = ssh(vm, "echo hello-from-$SSH_CONNECTION");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("hello-from-") && text.contains(vm["publicIP"].as_str().unwrap()), "{text}");
    }
    // Remote commands through Tumblebug: in order, stopping at the first failure.
    let marker = shared.join("must-not-exist");
    let cmd =
        json!({"command": ["id -un", "echo out; echo err 1>&2", "exit 3", format!("touch {}", marker.display())]});
    let (s, r) = call(&client, reqwest::Method::POST, format!("{tb}/ns/ns01/cmd/mci/loc"), Some(cmd.clone())).await;
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for res in results {
        assert_eq!(res["stdout"]["0"].as_str().unwrap().trim(), login, "{res}");
        assert_eq!(res["stdout"]["1"], "out\n");
        assert_eq!(res["stderr"]["1"], "err\n");
        assert!(res["err"].as_str().unwrap().contains('3'), "{res}");
        assert!(res["stdout"].get("3").is_none(), "the fourth command never ran: {res}");
    }
    assert!(!marker.exists());
    let (_, one) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns/ns01/cmd/mci/loc?vmId=g1-2"),
        Some(json!({"command": ["echo $SSH_CONNECTION"]})),
    )
    .await;
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
    assert!(one["results"][0]["err"].is_null(), "{one}");
    // The host key was trusted on first use and kept.
    let (_, vm) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/loc/vm/g1-2"), None).await;
    assert!(vm["sshHostKeyInfo"]["fingerprint"].as_str().unwrap().starts_with("SHA256:"), "{vm}");

    // File transfer: upload to every VM (multipart), download from one.
    let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let boundary = "tbboundary42";
    let remote = shared.join("up dir").join("data.bin");
    let mut body = Vec::new();
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n{}\r\n", remote.display())
            .into_bytes(),
    );
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes());
    body.extend(&payload);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let r = client
        .post(format!("{tb}/ns/ns01/transferFile/mci/loc"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let up: Value = r.json().await.unwrap();
    assert!(up["results"].as_array().unwrap().iter().all(|x| x["err"].is_null()), "{up}");
    assert_eq!(std::fs::read(&remote).unwrap(), payload, "the VMs share this machine's disk");
    let r = client
        .post(format!("{tb}/ns/ns01/downloadFile/mci/loc/vm/g1-1"))
        .json(&json!({"sourcePath": remote}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), payload);
    let (s, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns/ns01/downloadFile/mci/loc/vm/g1-1"),
        Some(json!({"sourcePath": "/no/such/file"})),
    )
    .await;
    assert_eq!(s, 404);

    // Suspend stops the sshd; resume brings it back.
    let (_, m) =
        call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/control/mci/loc?action=suspend"), None).await;
    assert_eq!(m["message"], "Suspending the MCI");
    let (_, st) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/loc?option=status"), None).await;
    assert_eq!(st["status"]["status"], "Suspended:2 (R:0/2)", "{st}");
    assert!(!ssh(&vms[0], "true").status.success(), "a suspended VM refuses SSH");
    call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/control/mci/loc?action=resume"), None).await;
    let (_, st) = call(&client, reqwest::Method::GET, format!("{tb}/ns/ns01/mci/loc?option=status"), None).await;
    assert_eq!(st["status"]["status"], "Running:2 (R:2/2)", "{st}");
    assert!(ssh(&vms[0], "true").status.success());
    let (s, v) = call(&client, reqwest::Method::DELETE, format!("{tb}/ns/ns01/mci/loc?option=terminate"), None).await;
    assert_eq!(s, 200, "{v}");
    assert!(!ssh(&vms[1], "true").status.success(), "terminated");
    let _ = std::fs::remove_dir_all(&shared);
    drop(server);
}
