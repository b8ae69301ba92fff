//! Who the driver runs as: decides the login user and whether port 22 is available.

use std::fs;
use std::process::Command;

use super::config::{DEFAULT_LOGIN_USER, LocalConfig};

/// The effective user of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub name: String,
}

impl Account {
    /// Reads the effective uid from `/proc/self/status` and its name from `/etc/passwd`,
    /// falling back to `$USER` when the uid has no entry (e.g. in some containers).
    pub fn current() -> Account {
        let uid = fs::read_to_string("/proc/self/status").ok().and_then(|s| effective_uid(&s)).unwrap_or(u32::MAX);
        let name = fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|passwd| user_name(&passwd, uid))
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| if uid == 0 { "root".into() } else { uid.to_string() });
        Account { uid, name }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// The account VMs accept logins for (see [`LocalConfig::login_user`]), created when running
/// as root and missing. An account that cannot be had is an error: falling back to root would
/// run every remote command as root on this machine.
pub fn login_account(config: &LocalConfig, account: &Account) -> Result<String, String> {
    let wanted = match &config.login_user {
        Some(user) => user.clone(),
        None if account.is_root() => DEFAULT_LOGIN_USER.to_string(),
        None => return Ok(account.name.clone()),
    };
    if wanted == account.name || exists(&wanted) {
        return Ok(wanted);
    }
    if !account.is_root() {
        return Err(format!("login account {wanted} does not exist, and only root can create it"));
    }
    // Drivers in other processes may be doing the same; useradd is not safe to run twice at once.
    let _lock = CreationLock::take();
    if exists(&wanted) {
        return Ok(wanted);
    }
    // `*` as password: no password login, yet not a locked account (sshd without PAM refuses those).
    // Other tools may hold /etc/passwd's lock for a moment: a few tries.
    let mut created = Err(std::io::Error::other("useradd was not run"));
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        created = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/bash", "--password", "*", "--", &wanted])
            .output();
        if exists(&wanted) || created.as_ref().is_err() {
            break;
        }
    }
    match created {
        _ if exists(&wanted) => {
            tracing::info!(user = %wanted, "login account for local VMs ready");
            Ok(wanted)
        }
        Ok(out) => Err(format!(
            "cannot create the login account {wanted} for local VMs: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(error) => Err(format!("cannot create the login account {wanted} for local VMs (useradd: {error})")),
    }
}

/// An exclusive `flock` on a file shared by every process of this machine, released on drop.
struct CreationLock(Option<fs::File>);

impl CreationLock {
    fn take() -> CreationLock {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join("tumblebug-local-useradd.lock"));
        match file {
            Ok(file) => {
                // SAFETY: flock on a descriptor we own; blocks until the lock is ours.
                unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
                CreationLock(Some(file))
            }
            Err(error) => {
                tracing::warn!(%error, "cannot open the account creation lock; creating without it");
                CreationLock(None)
            }
        }
    }
}

impl Drop for CreationLock {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            // SAFETY: as above; closing the file would release it too.
            unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(file), libc::LOCK_UN) };
        }
    }
}

/// Whether the system knows the account (files, LDAP or any other NSS source).
fn exists(user: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(user) else { return false };
    // SAFETY: getpwnam reads a NUL-terminated name; only the null-ness of the result is used.
    !unsafe { libc::getpwnam(name.as_ptr()) }.is_null()
}

/// The second field of the `Uid:` line (real, effective, saved, fs).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let entry_uid: u32 = fields.nth(1)?.parse().ok()?;
        (entry_uid == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uid_and_name() {
        let status = "Name:\tx\nUid:\t1000\t1001\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(1001));
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n";
        assert_eq!(user_name(passwd, 1001).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 5), None);
    }
}
