//! What a [`LocalDriver`](super::LocalDriver) is told at construction.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// Where OpenSSH's server usually lives on Debian-like systems.
pub const DEFAULT_SSHD_PATH: &str = "/usr/sbin/sshd";

/// The account of a cloud image that Tumblebug assumes by default (reference §6).
pub const DEFAULT_LOGIN_USER: &str = "cb-user";

/// Configuration of the local cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// Region names served (connections `local-{region}`), e.g. `lo1`, `lo2`. A region's
    /// position in this list (from 1) is the third octet of its VMs' addresses.
    pub regions: Vec<String>,
    /// Where VM directories (host key, sshd config, pid file, log) and `state.json` live.
    pub state_dir: PathBuf,
    /// VMs get `127.{b}.{region}.{n}` where `b` is the second octet of this address; must be in
    /// 127.0.0.0/8. Drivers running side by side (e.g. parallel tests) use different bases.
    pub address_base: Ipv4Addr,
    /// Behave as an ordinary user even when running as root: high ports (2200 + n) instead of
    /// port 22. Without root this mode is always in effect.
    pub user_mode: bool,
    /// The OpenSSH server binary; must be an absolute path (sshd re-executes itself).
    pub sshd_path: PathBuf,
    /// How long a terminated VM stays listed before lookups answer `NotFound`.
    pub terminated_ttl: Duration,
    /// How long a starting sshd may take to accept connections.
    pub start_timeout: Duration,
    /// Kill every sshd this driver runs when the driver is dropped (tests, throw-away runs).
    /// Off by default: like cloud VMs, local VMs outlive the Tumblebug process and are
    /// re-adopted by the next one.
    pub stop_on_drop: bool,
    /// The account VMs accept logins for. Unset: as root, [`DEFAULT_LOGIN_USER`] (created
    /// with a home of its own when missing, as a cloud image has its default account), so
    /// commands run in a fresh account rather than in root's shell set-up; otherwise the user
    /// running the driver.
    pub login_user: Option<String>,
}

impl LocalConfig {
    /// Defaults for everything but the regions and the state directory.
    pub fn new(regions: Vec<String>, state_dir: impl Into<PathBuf>) -> LocalConfig {
        LocalConfig {
            regions,
            state_dir: state_dir.into(),
            address_base: Ipv4Addr::new(127, 77, 0, 0),
            user_mode: false,
            sshd_path: PathBuf::from(DEFAULT_SSHD_PATH),
            terminated_ttl: Duration::from_secs(600),
            start_timeout: Duration::from_secs(10),
            stop_on_drop: false,
            login_user: None,
        }
    }
}
