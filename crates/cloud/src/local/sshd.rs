//! One VM's sshd: its directory (host key, authorized key, config, pid file, log) and the
//! process serving it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey};

use super::process;
use crate::{CloudError, CloudResult};

/// How often a starting or stopping sshd is looked at.
const POLL: Duration = Duration::from_millis(10);
/// How long sshd gets to exit on SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The files of one VM, all inside its own directory.
#[derive(Debug, Clone)]
pub struct VmDir {
    path: PathBuf,
}

/// Where sshd listens and who may log in.
pub struct Listen<'a> {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub login_user: &'a str,
}

impl VmDir {
    pub fn new(path: PathBuf) -> VmDir {
        VmDir { path }
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join("sshd_config")
    }

    fn host_key_path(&self) -> PathBuf {
        self.path.join("ssh_host_ed25519_key")
    }

    fn authorized_keys_path(&self) -> PathBuf {
        self.path.join("authorized_keys")
    }

    fn pid_path(&self) -> PathBuf {
        self.path.join("sshd.pid")
    }

    fn log_path(&self) -> PathBuf {
        self.path.join("sshd.log")
    }

    /// Creates the directory with a fresh host key, the authorized key and the sshd config.
    pub fn prepare(&self, public_key: &str, listen: &Listen<'_>) -> io::Result<()> {
        fs::create_dir_all(&self.path)?;
        let host_key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).map_err(io::Error::other)?;
        // Writes with mode 0600, which sshd insists on for host keys.
        host_key.write_openssh_file(&self.host_key_path(), LineEnding::LF).map_err(io::Error::other)?;
        fs::write(self.authorized_keys_path(), format!("{}\n", public_key.trim()))?;
        fs::write(self.config_path(), self.sshd_config(listen))
    }

    fn sshd_config(&self, listen: &Listen<'_>) -> String {
        let path = |p: PathBuf| quoted(&p);
        format!(
            "# Written by Tumblebug's local driver; one sshd per local VM.\n\
             ListenAddress {ip}:{port}\n\
             HostKey {host_key}\n\
             AuthorizedKeysFile {authorized_keys}\n\
             PidFile {pid}\n\
             AllowUsers {user}\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             StrictModes no\n\
             UsePAM no\n\
             UseDNS no\n\
             PrintMotd no\n\
             X11Forwarding no\n\
             Subsystem sftp internal-sftp\n",
            ip = listen.ip,
            port = listen.port,
            host_key = path(self.host_key_path()),
            // sshd expands %-tokens in this one.
            authorized_keys = path(self.authorized_keys_path()).replace('%', "%%"),
            pid = path(self.pid_path()),
            user = listen.login_user,
        )
    }

    /// The pid sshd wrote, if any.
    pub fn read_pid(&self) -> Option<u32> {
        fs::read_to_string(self.pid_path()).ok()?.trim().parse().ok()
    }

    /// The last lines sshd logged, to explain a failed start.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(self.log_path()) {
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(600)));
            let _ = file.read_to_string(&mut text);
        }
        text.trim().replace('\n', " | ")
    }

    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// Whether a listener could bind `ip:port` right now (nobody else holds it).
pub fn can_bind(ip: Ipv4Addr, port: u16) -> bool {
    TcpListener::bind(SocketAddr::from((ip, port))).is_ok()
}

/// An sshd the driver runs: spawned by this process (the child is kept so it can be reaped)
/// or adopted by pid from an earlier run.
#[derive(Debug)]
pub struct SshdProcess {
    pid: u32,
    marker: String,
    child: Option<Child>,
}

impl SshdProcess {
    /// Starts `sshd -D -e -f <config>` in its own process group (so a Ctrl-C aimed at
    /// Tumblebug does not stop the VMs), logging to the VM's `sshd.log`.
    pub fn spawn(sshd: &Path, dir: &VmDir) -> CloudResult<SshdProcess> {
        let io_err = |e: io::Error| CloudError::Transient(format!("cannot start {}: {e}", sshd.display()));
        let log = OpenOptions::new().create(true).append(true).open(dir.log_path()).map_err(io_err)?;
        let config = dir.config_path();
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(io_err)?;
        Ok(SshdProcess { pid: child.id(), marker: config.display().to_string(), child: Some(child) })
    }

    /// Takes over the sshd of `dir` that an earlier driver started, if it still runs.
    pub fn adopt(pid: u32, dir: &VmDir) -> Option<SshdProcess> {
        let marker = dir.config_path().display().to_string();
        process::is_running(pid, &marker).then_some(SshdProcess { pid, marker, child: None })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => process::is_running(self.pid, &self.marker),
        }
    }

    /// Waits until `ip:port` accepts connections; kills sshd if it does not in time.
    pub async fn wait_listening(&mut self, dir: &VmDir, ip: Ipv4Addr, port: u16, timeout: Duration) -> CloudResult<()> {
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect((ip, port)).await.is_ok() {
                return Ok(());
            }
            if !self.alive() {
                return Err(CloudError::Transient(format!("sshd for {ip}:{port} exited: {}", dir.log_tail())));
            }
            if started.elapsed() >= timeout {
                self.stop().await;
                return Err(CloudError::Timeout(timeout.as_secs()));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops listening and kills every session, like powering a machine off.
    fn signal_stop(&self) -> Vec<u32> {
        let sessions = process::descendants(self.pid);
        process::signal(self.pid, libc::SIGTERM);
        for &pid in &sessions {
            process::signal(pid, libc::SIGKILL);
        }
        sessions
    }

    /// Stops sshd and its sessions; returns once the listener is gone.
    pub async fn stop(&mut self) {
        self.signal_stop();
        for escalate in [false, true] {
            let started = Instant::now();
            while self.alive() && started.elapsed() < TERM_GRACE {
                tokio::time::sleep(POLL).await;
            }
            if !self.alive() {
                return;
            }
            if !escalate {
                process::signal(self.pid, libc::SIGKILL);
            }
        }
        tracing::warn!(pid = self.pid, "sshd did not exit after SIGKILL");
    }

    /// [`SshdProcess::stop`] for places that cannot wait asynchronously (Drop).
    pub fn stop_blocking(&mut self) {
        self.signal_stop();
        let started = Instant::now();
        while self.alive() && started.elapsed() < TERM_GRACE {
            std::thread::sleep(POLL);
        }
        if self.alive() {
            process::signal(self.pid, libc::SIGKILL);
            let killed = Instant::now();
            while self.alive() && killed.elapsed() < TERM_GRACE {
                std::thread::sleep(POLL);
            }
        }
    }
}
