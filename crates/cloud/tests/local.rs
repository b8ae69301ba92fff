//! The local driver against a real OpenSSH server and client. These tests need
//! `openssh-server` (sshd at /usr/sbin/sshd) and the `ssh` client; they fail without them.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey};
use tb_cloud::local::{LocalConfig, LocalDriver};
use tb_cloud::{
    CloudDriver, CloudError, Connection, KeyPairSpec, SecurityGroupSpec, SubnetSpec, VNetSpec, VmHandle, VmSpec,
};
use tb_model::VmStatus;
use tempfile::TempDir;

fn conn(region: &str) -> Connection {
    Connection { name: format!("local-{region}"), provider: "local".into(), region: region.into() }
}

/// Each test gets its own address block (second octet) so tests can run in parallel.
fn config(dir: &Path, block: u8) -> LocalConfig {
    let mut config = LocalConfig::new(vec!["lo1".into(), "lo2".into()], dir.join("state"));
    config.address_base = Ipv4Addr::new(127, block, 0, 0);
    config.user_mode = true;
    config.stop_on_drop = true;
    config
}

/// A client key pair: the private half on disk for `ssh -i`, the public half for the driver.
struct ClientKey {
    path: PathBuf,
    public: String,
}

fn client_key(dir: &Path) -> ClientKey {
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
    let path = dir.join("id_ed25519");
    key.write_openssh_file(&path, LineEnding::LF).unwrap();
    ClientKey { path, public: key.public_key().to_openssh().unwrap() }
}

/// A vNet, security group and key pair in `region`; returns a VM spec using them.
async fn prepare(driver: &LocalDriver, region: &str, key: &ClientKey) -> VmSpec {
    let c = conn(region);
    let subnet = SubnetSpec { name: "s1".into(), cidr: "10.0.1.0/24".into(), zone: format!("{region}a") };
    let vnet = VNetSpec { token: format!("vnet-{region}"), cidr: "10.0.0.0/16".into(), subnets: vec![subnet] };
    let vnet = driver.create_vnet(&c, vnet).await.unwrap();
    let sg = SecurityGroupSpec { token: format!("sg-{region}"), vnet_csp_id: vnet.csp_id.clone(), rules: vec![] };
    let sg = driver.create_security_group(&c, sg).await.unwrap();
    let kp = KeyPairSpec { token: format!("kp-{region}"), public_key: key.public.clone() };
    let kp = driver.create_key_pair(&c, kp).await.unwrap();
    VmSpec {
        token: String::new(),
        spec_name: "local-1x1".into(),
        image_name: "local-debian".into(),
        zone: None,
        vnet_csp_id: vnet.csp_id,
        subnet_csp_id: vnet.subnets[0].csp_id.clone(),
        security_group_csp_ids: vec![sg.csp_id],
        key_pair_csp_id: kp.csp_id,
        vm_user: "cb-user".into(),
        root_disk_type: None,
        root_disk_size_gb: None,
    }
}

fn with_token(spec: &VmSpec, token: &str) -> VmSpec {
    VmSpec { token: token.into(), ..spec.clone() }
}

/// Runs `command` on the VM with the system ssh client. `known_hosts` decides host key
/// checking: `None` ignores host keys, `Some((file, strict))` records new keys (`accept-new`)
/// or insists on the recorded one (`yes`).
fn ssh(
    driver: &LocalDriver,
    vm: &VmHandle,
    key: &ClientKey,
    known_hosts: Option<(&Path, bool)>,
    command: &str,
) -> Output {
    ssh_command(driver, vm, key, known_hosts, command).output().expect("the ssh client must be installed")
}

fn ssh_command(
    driver: &LocalDriver,
    vm: &VmHandle,
    key: &ClientKey,
    known_hosts: Option<(&Path, bool)>,
    command: &str,
) -> Command {
    let (file, checking) = match known_hosts {
        Some((file, true)) => (file.display().to_string(), "yes"),
        Some((file, false)) => (file.display().to_string(), "accept-new"),
        None => ("/dev/null".to_string(), "no"),
    };
    let mut ssh = Command::new("ssh");
    ssh.arg("-i")
        .arg(&key.path)
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"])
        .arg("-o")
        .arg(format!("StrictHostKeyChecking={checking}"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={file}"))
        .arg("-p")
        .arg(vm.ssh_port.to_string())
        .arg(format!("{}@{}", driver.login_user(), vm.public_ip))
        .arg(command);
    ssh
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "ssh failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn refuses_connections(vm: &VmHandle) -> bool {
    let addr = SocketAddr::from((vm.public_ip.parse::<Ipv4Addr>().unwrap(), vm.ssh_port));
    matches!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

#[tokio::test]
async fn three_vms_answer_ssh_on_their_own_addresses() {
    let dir = TempDir::new().unwrap();
    let driver = LocalDriver::new(config(dir.path(), 201)).unwrap();
    let key = client_key(dir.path());
    let spec1 = prepare(&driver, "lo1", &key).await;
    let spec2 = prepare(&driver, "lo2", &key).await;
    let vms = vec![
        driver.create_vm(&conn("lo1"), with_token(&spec1, "vm-a")).await.unwrap(),
        driver.create_vm(&conn("lo1"), with_token(&spec1, "vm-b")).await.unwrap(),
        driver.create_vm(&conn("lo2"), with_token(&spec2, "vm-c")).await.unwrap(),
    ];
    let known_hosts = dir.path().join("known_hosts");
    for vm in &vms {
        let ip: Ipv4Addr = vm.public_ip.parse().unwrap();
        assert_eq!(ip.octets()[..2], [127, 201]);
        assert_ne!(ip, Ipv4Addr::LOCALHOST);
        assert_eq!(vm.ssh_port, 2200 + u16::from(ip.octets()[3]));
        assert_eq!((vm.status, vm.native_status.as_str()), (VmStatus::Running, "running"));
        let out = stdout(&ssh(&driver, vm, &key, Some((&known_hosts, false)), "echo ok; hostname"));
        assert!(out.starts_with("ok\n"), "unexpected output {out:?}");
        assert!(out.lines().nth(1).is_some_and(|h| !h.is_empty()));
    }
    let mut ips: Vec<_> = vms.iter().map(|vm| vm.public_ip.clone()).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3);
    assert_eq!(vms[2].public_ip.parse::<Ipv4Addr>().unwrap().octets()[2], 2, "lo2 is region 2");
    // Each VM has its own host key: three distinct keys were recorded.
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    let mut keys: Vec<_> = recorded.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3);
    assert_eq!(driver.list_vms(&conn("lo1")).await.unwrap().len(), 2);
    assert_eq!(driver.shutdown().await, 3);
}

#[tokio::test]
async fn root_mode_listens_on_port_22_as_root() {
    let dir = TempDir::new().unwrap();
    let mut config = config(dir.path(), 202);
    config.user_mode = false;
    let driver = LocalDriver::new(config).unwrap();
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    // Decide before creating what the port must be: 22 when root can bind it there.
    let first_ip = Ipv4Addr::new(127, 202, 1, 1);
    let port22_free = std::net::TcpListener::bind((first_ip, 22)).is_ok();
    let vm = driver.create_vm(&conn("lo1"), with_token(&spec, "vm-root")).await.unwrap();
    assert_eq!(vm.public_ip, first_ip.to_string());
    if driver.user_mode() {
        assert_ne!(driver.login_user(), "root");
        assert_eq!(vm.ssh_port, 2201);
    } else {
        // A fresh account of its own, not root's shell set-up.
        assert_eq!(driver.login_user(), tb_cloud::local::DEFAULT_LOGIN_USER);
        assert_eq!(vm.login_user, tb_cloud::local::DEFAULT_LOGIN_USER);
        assert_eq!(vm.ssh_port, if port22_free { 22 } else { 2201 });
    }
    let out = stdout(&ssh(&driver, &vm, &key, None, "id -un"));
    assert_eq!(out.trim(), driver.login_user());
}

#[tokio::test]
async fn suspend_resume_reboot_terminate_act_on_the_process() {
    let dir = TempDir::new().unwrap();
    let mut config = config(dir.path(), 203);
    config.terminated_ttl = Duration::from_millis(50);
    let driver = LocalDriver::new(config).unwrap();
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    let c = conn("lo1");
    let vm = driver.create_vm(&c, with_token(&spec, "vm-life")).await.unwrap();
    let known_hosts = dir.path().join("known_hosts");
    stdout(&ssh(&driver, &vm, &key, Some((&known_hosts, false)), "true"));

    // A session open at suspend time ends with it, as on a machine powered off.
    let mut session = ssh_command(&driver, &vm, &key, None, "echo started; sleep 30")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(session.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    assert_eq!(first_line, "started\n");
    driver.suspend_vm(&c, &vm.csp_id).await.unwrap();
    let mut ended = None;
    for _ in 0..300 {
        ended = session.try_wait().unwrap();
        if ended.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ended.is_some_and(|status| !status.success()), "the session outlived the suspend");
    let got = driver.get_vm(&c, &vm.csp_id).await.unwrap();
    assert_eq!((got.status, got.native_status.as_str()), (VmStatus::Suspended, "stopped"));
    assert!(refuses_connections(&vm));
    assert!(driver.sshd_pid(&vm.csp_id).await.is_none());
    assert!(matches!(driver.reboot_vm(&c, &vm.csp_id).await, Err(CloudError::InvalidRequest(_))));

    driver.resume_vm(&c, &vm.csp_id).await.unwrap();
    let got = driver.get_vm(&c, &vm.csp_id).await.unwrap();
    assert_eq!(got.status, VmStatus::Running);
    assert_eq!((got.public_ip.as_str(), got.ssh_port), (vm.public_ip.as_str(), vm.ssh_port));
    // Strict checking against the key recorded before the suspend: same host key.
    assert_eq!(stdout(&ssh(&driver, &vm, &key, Some((&known_hosts, true)), "echo back")), "back\n");

    let before = driver.sshd_pid(&vm.csp_id).await.unwrap();
    driver.reboot_vm(&c, &vm.csp_id).await.unwrap();
    let after = driver.sshd_pid(&vm.csp_id).await.unwrap();
    assert_ne!(before, after, "reboot starts a new sshd");
    assert_eq!(driver.get_vm(&c, &vm.csp_id).await.unwrap().status, VmStatus::Running);
    stdout(&ssh(&driver, &vm, &key, Some((&known_hosts, true)), "true"));

    driver.terminate_vm(&c, &vm.csp_id).await.unwrap();
    assert!(refuses_connections(&vm));
    let got = driver.get_vm(&c, &vm.csp_id).await.unwrap();
    assert_eq!((got.status, got.native_status.as_str()), (VmStatus::Terminated, "terminated"));
    assert!(!dir.path().join("state/vms").join(&vm.csp_id).exists());
    driver.terminate_vm(&c, &vm.csp_id).await.unwrap();
    assert!(matches!(driver.resume_vm(&c, &vm.csp_id).await, Err(CloudError::InvalidRequest(_))));

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(matches!(driver.get_vm(&c, &vm.csp_id).await, Err(CloudError::NotFound { .. })));
    assert_eq!(driver.find_vm_by_token(&c, "vm-life").await.unwrap(), None);
}

#[tokio::test]
async fn creates_are_idempotent_by_token() {
    let dir = TempDir::new().unwrap();
    let driver = LocalDriver::new(config(dir.path(), 204)).unwrap();
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    let c = conn("lo1");
    // Bookkeeping resources return the same object for the same token.
    let again = prepare(&driver, "lo1", &key).await;
    assert_eq!((&again.vnet_csp_id, &again.key_pair_csp_id), (&spec.vnet_csp_id, &spec.key_pair_csp_id));
    assert_eq!(again.security_group_csp_ids, spec.security_group_csp_ids);

    assert_eq!(driver.find_vm_by_token(&c, "vm-once").await.unwrap(), None);
    let first = driver.create_vm(&c, with_token(&spec, "vm-once")).await.unwrap();
    let pid = driver.sshd_pid(&first.csp_id).await.unwrap();
    let second = driver.create_vm(&c, with_token(&spec, "vm-once")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(driver.sshd_pid(&first.csp_id).await, Some(pid), "no second sshd");
    assert_eq!(driver.list_vms(&c).await.unwrap().len(), 1);
    let found = driver.find_vm_by_token(&c, "vm-once").await.unwrap().unwrap();
    assert_eq!(found.csp_id, first.csp_id);
    // Tokens are per region.
    assert_eq!(driver.find_vm_by_token(&conn("lo2"), "vm-once").await.unwrap(), None);
    // A vNet in use cannot go.
    assert!(matches!(driver.delete_vnet(&c, &spec.vnet_csp_id).await, Err(CloudError::InvalidRequest(_))));
}

#[tokio::test]
async fn missing_sshd_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let mut config = config(dir.path(), 205);
    config.sshd_path = PathBuf::from("/nonexistent/sshd");
    let driver = LocalDriver::new(config).unwrap();
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    let err = driver.create_vm(&conn("lo1"), with_token(&spec, "vm-x")).await.unwrap_err();
    assert_eq!(err, CloudError::InvalidRequest("sshd not found at /nonexistent/sshd; install openssh-server".into()));
    assert!(driver.list_vms(&conn("lo1")).await.unwrap().is_empty());
}

/// Kills a process the test left to run on its own, should the test fail before stopping it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
}

#[tokio::test]
async fn a_new_driver_adopts_running_vms() {
    let dir = TempDir::new().unwrap();
    let key = client_key(dir.path());
    let c = conn("lo1");
    let mut keep_running = config(dir.path(), 206);
    keep_running.stop_on_drop = false;
    let first = LocalDriver::new(keep_running).unwrap();
    let spec = prepare(&first, "lo1", &key).await;
    let up = first.create_vm(&c, with_token(&spec, "vm-up")).await.unwrap();
    let down = first.create_vm(&c, with_token(&spec, "vm-down")).await.unwrap();
    first.suspend_vm(&c, &down.csp_id).await.unwrap();
    let pid = first.sshd_pid(&up.csp_id).await.unwrap();
    let _cleanup = KillOnDrop(pid);
    drop(first);

    let second = LocalDriver::new(config(dir.path(), 206)).unwrap();
    assert_eq!(second.sshd_pid(&up.csp_id).await, Some(pid), "the running sshd is adopted");
    assert_eq!(second.get_vm(&c, &up.csp_id).await.unwrap().status, VmStatus::Running);
    assert_eq!(second.get_vm(&c, &down.csp_id).await.unwrap().status, VmStatus::Suspended);
    stdout(&ssh(&second, &up, &key, None, "true"));
    // A retried create finds the adopted VM instead of starting a duplicate.
    let retried = second.create_vm(&c, with_token(&spec, "vm-up")).await.unwrap();
    assert_eq!(retried.csp_id, up.csp_id);
    assert_eq!(second.sshd_pid(&up.csp_id).await, Some(pid));
    // Adopted processes are stopped like own ones.
    assert_eq!(second.shutdown().await, 1);
    assert!(refuses_connections(&up));
    assert_eq!(second.get_vm(&c, &up.csp_id).await.unwrap().status, VmStatus::Suspended);
}

#[tokio::test]
async fn a_dead_sshd_shows_failed_until_resumed() {
    let dir = TempDir::new().unwrap();
    let driver = LocalDriver::new(config(dir.path(), 207)).unwrap();
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    let c = conn("lo1");
    let vm = driver.create_vm(&c, with_token(&spec, "vm-dies")).await.unwrap();
    let pid = driver.sshd_pid(&vm.csp_id).await.unwrap();
    let killed = Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    // The signal lands asynchronously; the status follows within moments.
    let mut got = driver.get_vm(&c, &vm.csp_id).await.unwrap();
    for _ in 0..200 {
        if got.status != VmStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        got = driver.get_vm(&c, &vm.csp_id).await.unwrap();
    }
    assert_eq!((got.status, got.native_status.as_str()), (VmStatus::Failed, "failed"));
    driver.resume_vm(&c, &vm.csp_id).await.unwrap();
    assert_eq!(driver.get_vm(&c, &vm.csp_id).await.unwrap().status, VmStatus::Running);
    stdout(&ssh(&driver, &vm, &key, None, "true"));
}

#[tokio::test]
async fn other_connections_and_bad_input_are_rejected() {
    let dir = TempDir::new().unwrap();
    let driver = LocalDriver::new(config(dir.path(), 208)).unwrap();
    let aws = Connection { name: "aws-lo1".into(), provider: "aws".into(), region: "lo1".into() };
    assert!(matches!(driver.list_vms(&aws).await, Err(CloudError::UnknownConnection(_))));
    assert!(matches!(driver.list_vms(&conn("lo9")).await, Err(CloudError::UnknownConnection(_))));
    let bad_key = KeyPairSpec { token: "kp".into(), public_key: "not a key".into() };
    assert!(matches!(driver.create_key_pair(&conn("lo1"), bad_key).await, Err(CloudError::InvalidRequest(_))));
    assert!(matches!(driver.get_vm(&conn("lo1"), "vm-nope").await, Err(CloudError::NotFound { .. })));
    assert_eq!(driver.lookup_spec(&conn("lo1"), "local-2x4").await.unwrap().vcpu, 2);
    assert!(!driver.list_images(&conn("lo2")).await.unwrap().is_empty());

    let mut outside = config(dir.path(), 208);
    outside.address_base = Ipv4Addr::new(10, 0, 0, 0);
    assert!(LocalDriver::new(outside).is_err());
}

/// Under root, the same checks as an ordinary account: a child test process runs
/// [`as_ordinary_user`] with that account's uid and gid.
#[tokio::test]
async fn works_as_an_ordinary_user() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return as_ordinary_user_checks().await;
    }
    let user = "tb-ordinary";
    if !std::fs::read_to_string("/etc/passwd").unwrap().lines().any(|l| l.starts_with(&format!("{user}:"))) {
        // Under the lock the local driver takes to create its accounts (useradd is not safe
        // to run twice at once); another test process may create it first.
        let lock = std::env::temp_dir().join("tumblebug-local-useradd.lock");
        let _ = Command::new("flock")
            .arg(&lock)
            .args(["sh", "-c", &format!("id {user} >/dev/null 2>&1 || useradd --create-home --password '*' {user}")])
            .status();
    }
    let id = |flag: &str| -> u32 {
        String::from_utf8(Command::new("id").args([flag, user]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (uid, gid) = (id("-u"), id("-g"));
    let out = std::os::unix::process::CommandExt::gid(
        std::os::unix::process::CommandExt::uid(&mut Command::new(std::env::current_exe().unwrap()), uid),
        gid,
    )
    .args(["--ignored", "--exact", "as_ordinary_user", "--nocapture"])
    .env("HOME", format!("/home/{user}"))
    .env("TMPDIR", "/tmp")
    .output()
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the checks ran: {text}");
}

/// Run by [`works_as_an_ordinary_user`] (ignored on its own: it must not run as root).
#[tokio::test]
#[ignore]
async fn as_ordinary_user() {
    // SAFETY: getuid has no preconditions.
    assert_ne!(unsafe { libc::getuid() }, 0, "run through works_as_an_ordinary_user");
    as_ordinary_user_checks().await;
}

async fn as_ordinary_user_checks() {
    let dir = TempDir::new().unwrap();
    let mut config = config(dir.path(), 209);
    config.user_mode = false;
    let driver = LocalDriver::new(config).unwrap();
    assert!(driver.user_mode(), "without root, VMs use high ports");
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
    assert_eq!(driver.login_user(), me);
    let key = client_key(dir.path());
    let spec = prepare(&driver, "lo1", &key).await;
    let vm = driver.create_vm(&conn("lo1"), with_token(&spec, "vm-ordinary")).await.unwrap();
    assert_eq!(vm.ssh_port, 2201);
    assert_eq!(vm.login_user, me);
    assert_eq!(stdout(&ssh(&driver, &vm, &key, None, "id -un")).trim(), me);
    driver.terminate_vm(&conn("lo1"), &vm.csp_id).await.unwrap();
}
