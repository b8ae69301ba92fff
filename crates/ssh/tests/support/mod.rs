//! Real OpenSSH `sshd` processes on loopback addresses for the tests.
#![allow(dead_code, reason = "each test binary uses its own part of the helpers")]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tb_ssh::SshTarget;
use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";

/// A key pair made by `ssh-keygen`.
pub struct KeyPair {
    pub private: String,
    pub public: String,
    pub private_path: PathBuf,
}

/// Generates an ed25519 key pair in `dir` under `name`.
pub fn keygen(dir: &Path, name: &str) -> KeyPair {
    keygen_typed(dir, name, "ed25519")
}

/// Generates a key pair of `key_type` (`ssh-keygen -t`) in `dir` under `name`.
pub fn keygen_typed(dir: &Path, name: &str, key_type: &str) -> KeyPair {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", key_type, "-N", "", "-C", "", "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen must be installed (openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
    KeyPair {
        private: std::fs::read_to_string(&path).unwrap(),
        public: std::fs::read_to_string(path.with_extension("pub")).unwrap(),
        private_path: path,
    }
}

/// `SHA256:...` fingerprint of a public key file, as OpenSSH computes it.
pub fn fingerprint(public_key_path: &Path) -> String {
    let out = Command::new("ssh-keygen").arg("-lf").arg(public_key_path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned()
}

/// The login name of the user running the tests (root in CI).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim() == "0"
}

/// A free TCP port on `ip` (bound then released; sshd takes it right after).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().port()
}

/// Scratch directory holding the keys shared by the servers of one test.
pub struct Lab {
    pub dir: TempDir,
    pub user_key: KeyPair,
    pub user: String,
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let user_key = keygen(dir.path(), "user_key");
        std::fs::write(dir.path().join("authorized_keys"), &user_key.public).unwrap();
        Self { dir, user_key, user: current_user() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Generates another user key and authorizes it on every server of the lab.
    pub fn add_user_key(&self, name: &str) -> KeyPair {
        use std::io::Write;
        let key = keygen(self.path(), name);
        let mut authorized =
            std::fs::OpenOptions::new().append(true).open(self.path().join("authorized_keys")).unwrap();
        authorized.write_all(key.public.as_bytes()).unwrap();
        key
    }

    /// A target for `sshd`, logging in with the lab's user key.
    pub fn target(&self, sshd: &Sshd) -> SshTarget {
        SshTarget {
            host: sshd.ip.clone(),
            port: sshd.port,
            user: self.user.clone(),
            private_key: self.user_key.private.clone(),
        }
    }

    /// Starts sshd on `ip` at a free port with a fresh host key.
    pub fn sshd(&self, name: &str, ip: &str, extra_config: &str) -> Sshd {
        let host_key = keygen(self.path(), &format!("{name}_host_key"));
        // Tests run in parallel: another server may grab the port between our probe and
        // sshd's bind, so try a few ports.
        for _ in 0..5 {
            let port = free_port(ip);
            if let Ok(sshd) = self.try_sshd(name, ip, port, &host_key.private_path, extra_config) {
                return sshd;
            }
        }
        panic!("sshd {name} could not start on {ip}");
    }

    /// Starts sshd with the given host key on a given port.
    pub fn sshd_with(&self, name: &str, ip: &str, port: u16, host_key: &Path, extra_config: &str) -> Sshd {
        self.try_sshd(name, ip, port, host_key, extra_config)
            .unwrap_or_else(|log| panic!("sshd {name} exited early: {log}"))
    }

    /// Starts sshd and waits until it listens; on early exit returns its log.
    fn try_sshd(&self, name: &str, ip: &str, port: u16, host_key: &Path, extra_config: &str) -> Result<Sshd, String> {
        if running_as_root() {
            // Privilege separation directory sshd insists on when started by root.
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let dir = self.path();
        let config = dir.join(format!("{name}_sshd_config"));
        let log = dir.join(format!("{name}.log"));
        let _ = std::fs::remove_file(&log);
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress {ip}\nHostKey {host_key}\n\
                 AuthorizedKeysFile {keys}\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PidFile {pid}\nPermitRootLogin prohibit-password\nLogLevel DEBUG1\n{extra_config}\n",
                host_key = host_key.display(),
                keys = dir.join("authorized_keys").display(),
                pid = dir.join(format!("{name}.pid")).display(),
            ),
        )
        .unwrap();
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install -y openssh-server)"
        );
        let child = Command::new(SSHD)
            .args(["-D", "-f"])
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start sshd");
        let mut sshd = Sshd { child, ip: ip.to_owned(), port, log, host_key_pub: host_key.with_extension("pub") };
        sshd.wait_ready()?;
        Ok(sshd)
    }
}

/// A running sshd, killed on drop.
pub struct Sshd {
    child: Child,
    pub ip: String,
    pub port: u16,
    pub log: PathBuf,
    pub host_key_pub: PathBuf,
}

impl Sshd {
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("{status}: {}", self.log_text()));
            }
            if TcpStream::connect((self.ip.as_str(), self.port)).is_ok() {
                return Ok(());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not listen on {}:{}: {}",
                self.ip,
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many logins the server accepted so far (one per authenticated connection).
    pub fn accepted_logins(&self) -> usize {
        self.log_text().lines().filter(|line| line.contains("Accepted publickey")).count()
    }

    /// Kills the server's per-connection processes, so every connection to it drops, as when
    /// the machine reboots; the listener keeps running.
    pub fn kill_connections(&self) {
        let pids = descendants(self.child.id());
        if !pids.is_empty() {
            let status = Command::new("kill").arg("-KILL").args(pids.iter().map(u32::to_string)).status().unwrap();
            assert!(status.success(), "kill failed");
        }
    }

    /// Kills the listening server (idempotent).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every process below `root` in the process tree, read from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some(after_comm) = stat.rfind(')').map(|end| &stat[end + 1..]) else { continue };
        if let Some(ppid) = after_comm.split_whitespace().nth(1).and_then(|ppid| ppid.parse::<u32>().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        index += 1;
    }
    found.remove(0);
    found
}
