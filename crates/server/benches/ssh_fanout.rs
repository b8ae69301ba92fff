//! Issue 5's benchmark: `hostname` on 50 local VMs (real sshd processes) in one remote-command
//! call, against the same call on one VM; and the server's CPU time per VM.
//! `cargo bench -p tb-server --bench ssh_fanout` (env `VMS`, `ROUNDS`). Needs openssh-server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn call(router: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Busy CPU time of the whole machine so far (all processes: the server and the VMs' sshd).
fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(8)
                .enumerate()
                .filter(|(i, _)| *i != 3 && *i != 4)
                .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// How to reach every VM the way Tumblebug does: targets and the subnet's bastion.
async fn raw_routes(router: &axum::Router, vms: usize) -> (Vec<tb_ssh::SshTarget>, Option<tb_ssh::Bastion>) {
    let (_, access) =
        call(router, "GET", "/tumblebug/ns/bench/mci/fan?option=accessinfo&accessInfoOption=showSshKey", None).await;
    let infos = access["MciSubGroupAccessInfo"][0]["MciVmAccessInfo"].as_array().expect("access info").clone();
    assert_eq!(infos.len(), vms);
    let target = |v: &Value, host: &str| tb_ssh::SshTarget {
        host: host.to_string(),
        port: v["sshPort"].as_u64().expect("port") as u16,
        user: v["vmUserName"].as_str().expect("user").to_string(),
        private_key: v["privateKey"].as_str().expect("key").to_string(),
    };
    let (_, b) = call(router, "GET", "/tumblebug/ns/bench/mci/fan/vm/g1-1/bastion", None).await;
    let bastion_id = b[0]["vmId"].as_str().unwrap_or_default().to_string();
    let bastion = infos.iter().find(|v| v["vmId"] == bastion_id.as_str()).map(|v| tb_ssh::Bastion {
        target: target(v, v["publicIP"].as_str().expect("ip")),
        check: tb_ssh::HostKeyCheck::Ignore,
    });
    let targets = infos.iter().map(|v| target(v, v["privateIP"].as_str().expect("ip"))).collect();
    (targets, bastion)
}

/// `hostname` on the targets at once through one pool, as Tumblebug's SSH layer does, but
/// without Tumblebug (HTTP, store, history): the floor that sshd and the machine set.
async fn raw_fanout(pool: &tb_ssh::SshPool, targets: &[tb_ssh::SshTarget], bastion: Option<&tb_ssh::Bastion>) {
    let commands = vec!["hostname".to_string()];
    let runs = targets.iter().map(|t| {
        // The bastion reaches itself directly, as Tumblebug does (local VMs: private = public IP).
        let via = bastion.filter(|b| b.target.host != t.host);
        let commands = commands.clone();
        async move { pool.run_commands(t, via, &tb_ssh::HostKeyCheck::Ignore, &commands, Duration::from_secs(60)).await }
    });
    for r in futures::future::join_all(runs).await {
        let r = r.expect("raw run");
        assert!(r.error.is_none(), "{:?}", r.error);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let vms = env_usize("VMS", 50);
    let rounds = env_usize("ROUNDS", 5);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async move {
        let store: Arc<dyn tb_store::Store> =
            Arc::new(tb_store::RedbStore::open(dir.path().join("tb.redb")).expect("store"));
        let regions = vec!["lo9".to_string()];
        let mut catalog = tb_catalog::Catalog::builtin();
        tb_cloud::local::catalog_facts(&regions, (0.0, 0.0), &mut catalog);
        let mut config = tb_cloud::local::LocalConfig::new(regions, dir.path().join("local"));
        config.stop_on_drop = true;
        let driver = tb_cloud::local::LocalDriver::new(config).expect("local driver");
        let clouds = Arc::new(tb_core::Clouds::new("sim"));
        clouds.add_driver("local", Arc::new(driver));
        clouds.set_provider_driver(tb_cloud::local::PROVIDER, "local");
        let view = Arc::new(tb_core::CatalogView::new(catalog));
        let tb = tb_core::Tumblebug::new(store, view, clouds).await.expect("app");
        let state = tb_server::AppState { tb, sim: None, assets_dir: None };
        let router = tb_server::router(state, tb_server::AuthConfig::default());

        call(&router, "POST", "/tumblebug/ns", Some(json!({"name": "bench"}))).await;
        let req = json!({"name": "fan", "subGroups": [{"name": "g1", "subGroupSize": vms,
            "specId": "local+lo9+local-1x1", "imageId": "local+all+local-debian"}]});
        let t = Instant::now();
        let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/mciDynamic", Some(req)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], format!("Running:{vms} (R:{vms}/{vms})"), "{v}");
        let create = t.elapsed();
        // No userName: the VM record carries the account the local driver logs in as.
        let cmd = json!({"command": ["hostname"]});
        // Warm-up: trusts every host key once.
        let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan", Some(cmd.clone())).await;
        assert_eq!(s, 200, "{v}");
        let mut one = Vec::new();
        let mut all = Vec::new();
        let mut cpu_all = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan?vmId=g1-1", Some(cmd.clone())).await;
            one.push(t.elapsed());
            assert_eq!(s, 200);
            assert!(v["results"][0]["err"].is_null(), "{v}");
            let c = cpu_time();
            let t = Instant::now();
            let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan", Some(cmd.clone())).await;
            all.push(t.elapsed());
            cpu_all.push(cpu_time().saturating_sub(c));
            assert_eq!(s, 200);
            let results = v["results"].as_array().expect("results");
            assert_eq!(results.len(), vms);
            assert!(results.iter().all(|r| r["err"].is_null()), "{v}");
        }
        // The floor: the same sessions through tb-ssh's pool alone, side by side.
        let (targets, bastion) = raw_routes(&router, vms).await;
        let pool = tb_ssh::SshPool::default();
        raw_fanout(&pool, &targets, bastion.as_ref()).await;
        let (mut raw_one, mut raw_all, mut machine_all) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            raw_fanout(&pool, &targets[..1], bastion.as_ref()).await;
            raw_one.push(t.elapsed());
            let m = machine_cpu();
            let t = Instant::now();
            raw_fanout(&pool, &targets, bastion.as_ref()).await;
            raw_all.push(t.elapsed());
            machine_all.push(machine_cpu().saturating_sub(m));
        }
        let (raw_one, raw_all, machine) = (median(raw_one), median(raw_all), median(machine_all));
        let (one, all, cpu) = (median(one), median(all), median(cpu_all));
        println!("| measure | value |");
        println!("|---|---|");
        println!("| create {vms} local VMs (sshd processes) | {:.2} s |", create.as_secs_f64());
        println!("| `hostname` on 1 VM, median of {rounds} | {:.1} ms |", one.as_secs_f64() * 1e3);
        println!("| `hostname` on {vms} VMs in one call, median | {:.1} ms |", all.as_secs_f64() * 1e3);
        println!("| ratio (bar ≤ 2) | {:.2} |", all.as_secs_f64() / one.as_secs_f64());
        println!("| server CPU time per VM (user + system) | {:.2} ms |", cpu.as_secs_f64() * 1e3 / vms as f64);
        println!("| floor: the same sessions through tb-ssh alone, 1 VM | {:.1} ms |", raw_one.as_secs_f64() * 1e3);
        println!(
            "| floor: {vms} VMs | {:.1} ms (ratio {:.2}) |",
            raw_all.as_secs_f64() * 1e3,
            raw_all.as_secs_f64() / raw_one.as_secs_f64()
        );
        println!(
            "| machine CPU per VM in the floor run (sshd session, shell, `hostname`, client) | {:.2} ms |",
            machine.as_secs_f64() * 1e3 / vms as f64
        );
        println!(
            "| Tumblebug's {vms}-VM call / floor's {vms}-VM run | {:.2} |",
            all.as_secs_f64() / raw_all.as_secs_f64()
        );
        let (s, v) = call(&router, "DELETE", "/tumblebug/ns/bench/mci/fan?option=terminate", None).await;
        assert_eq!(s, 200, "{v}");
    });
}
