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
    panic!(
        "{url} did not come up; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
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
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{tb_port}\ndataDir: {}\n",
            dir.path().join("tb").display()
        ),
    )
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
    let tb_args = [
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--sim-url",
        &sim_url,
    ];
    let client = reqwest::Client::new();

    let sim = spawn(&sim_args, &sim_log);
    wait_ok(&client, &format!("{sim_url}/healthz"), &sim_log).await;
    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;

    let (s, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns"),
        Some(json!({"name": "ns01"})),
    )
    .await;
    assert_eq!(s, 200);
    let vnet = json!({"name": "vnet01", "connectionName": "aws-us-east-1", "cidrBlock": "10.0.0.0/16",
                      "subnetInfoList": [{"name": "s1", "ipv4_CIDR": "10.0.1.0/24"}]});
    let (s, v) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns/ns01/resources/vNet"),
        Some(vnet),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let csp_id = v["cspResourceId"].as_str().unwrap().to_string();
    let (s, cfg) = call(
        &client,
        reqwest::Method::GET,
        format!("{tb}/sim/config"),
        None,
    )
    .await;
    assert_eq!(s, 200, "admin knobs reach the sim process: {cfg}");
    assert_eq!(cfg["timeFactor"].as_f64(), Some(0.0));

    // Kill the server hard and start it again on the same data directory.
    server.kill_hard();
    let server = spawn(&tb_args, &tb_log);
    wait_ok(&client, &format!("{tb}/readyz"), &tb_log).await;
    let (s, v) = call(
        &client,
        reqwest::Method::GET,
        format!("{tb}/ns/ns01/resources/vNet/vnet01"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["cspResourceId"], csp_id.as_str());

    // Kill the clouds hard and start them again: the vNet is still there (a security group can
    // be created in it, which the cloud checks).
    sim.kill_hard();
    let sim2 = spawn(&sim_args, &sim_log);
    wait_ok(&client, &format!("{sim_url}/healthz"), &sim_log).await;
    let sg = json!({"name": "sg01", "vNetId": "vnet01",
                    "firewallRules": [{"Ports": "22", "Protocol": "TCP", "Direction": "inbound"}]});
    let (s, v) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns/ns01/resources/securityGroup"),
        Some(sg),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // While the clouds are down, calls fail clearly and nothing is left half-written.
    drop(sim2);
    let key = json!({"name": "key01", "connectionName": "aws-us-east-1"});
    let (s, v) = call(
        &client,
        reqwest::Method::POST,
        format!("{tb}/ns/ns01/resources/sshKey"),
        Some(key),
    )
    .await;
    assert_eq!(s, 503, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("unreachable"),
        "{v}"
    );
    let (s, _) = call(
        &client,
        reqwest::Method::GET,
        format!("{tb}/ns/ns01/resources/sshKey/key01"),
        None,
    )
    .await;
    assert_eq!(s, 404, "the failed create left no record");
    drop(server);
}
