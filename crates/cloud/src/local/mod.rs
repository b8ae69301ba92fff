//! The `local` cloud: VMs that are real SSH endpoints on this machine (Linux only).
//!
//! Every VM is its own OpenSSH `sshd` (`sshd -D -e -f <config>`) listening on its own loopback
//! address `127.{b}.{region}.{n}` — Linux routes all of 127.0.0.0/8 to `lo`, so any such
//! address can be bound without configuration. Each VM has its own directory under
//! `{state_dir}/vms/{csp_id}` holding a fresh ed25519 host key, `authorized_keys` with the
//! public key of the VM's key pair, the sshd config (password auth off, `StrictModes no`,
//! `UsePAM no`, sftp via `internal-sftp`), the pid file and sshd's log.
//!
//! # Root and user mode
//!
//! - As root, sshd listens on port 22 of the VM's address and the login user is `cb-user`
//!   (created with a home of its own when missing, like a cloud image's default account, so
//!   commands do not run in root's shell set-up; [`LocalConfig::login_user`] picks another).
//!   If port 22 cannot be bound there (a system sshd on `0.0.0.0:22`), that VM falls back to
//!   the user-mode port.
//! - As an ordinary user (or with [`LocalConfig::user_mode`]), sshd listens on 2200 + n and
//!   only the current user can log in.
//!
//! Either way the VM user name of a create request maps to the login account
//! ([`LocalDriver::login_user`], reported in [`VmHandle::login_user`](crate::VmHandle) so the VM
//! record carries it); [`VmHandle::ssh_port`](crate::VmHandle) tells the port. All local VMs of
//! a machine share that account's home directory.
//!
//! # Lifecycle
//!
//! | operation | effect | native state |
//! |---|---|---|
//! | create | start sshd, wait until the port accepts connections | `running` |
//! | suspend | kill sshd and its sessions, keep the directory | `stopped` |
//! | resume | start sshd again: same address, port and host key | `running` |
//! | reboot | stop, then start | `running` |
//! | terminate | kill sshd, remove the directory; listed for a while, then `NotFound` | `terminated` |
//! | (sshd died on its own) | — | `failed` |
//!
//! State is JSON in `{state_dir}/state.json`. A new driver over the same directory re-adopts
//! sshd processes still running (pid file plus a check of the process's command line), so a
//! Tumblebug restart never starts duplicates. vNets, subnets, security groups and key pairs
//! are bookkeeping, idempotent by token; any spec or image name is accepted.

mod account;
mod config;
mod driver;
mod native;
pub mod offers;
mod process;
mod sshd;
mod state;

pub use config::{DEFAULT_LOGIN_USER, DEFAULT_SSHD_PATH, LocalConfig};
pub use driver::{LocalDriver, PROVIDER};
pub use native::{FAILED, RUNNING, STOPPED, TERMINATED, to_status};
pub use state::LocalError;

/// Catalog facts of the local regions (provider `local`): each region at `location`
/// (latitude, longitude), one zone `{region}a`, the driver's specs (price 0) and images, so
/// `mciDynamic` and the recommender can use local connections like any other.
pub fn catalog_facts(regions: &[String], location: (f64, f64), catalog: &mut tb_catalog::Catalog) {
    catalog.upsert_provider(tb_catalog::Provider {
        name: PROVIDER.into(),
        display: "This machine (real sshd VMs)".into(),
    });
    for r in regions {
        catalog.upsert_region(tb_catalog::Region {
            provider: PROVIDER.into(),
            id: r.clone(),
            display: format!("Local machine ({r})"),
            latitude: location.0,
            longitude: location.1,
            zones: vec![format!("{r}a")],
        });
        for s in offers::list_specs() {
            catalog.upsert_spec(tb_catalog::Spec {
                provider: PROVIDER.into(),
                region: r.clone(),
                name: s.name.clone(),
                vcpu: s.vcpu,
                memory_gib: s.memory_gib,
                gpu: None,
                cost_per_hour: 0.0,
                architecture: s.architecture.clone(),
                evaluation_score01: 0.0,
                description: "local VM (an sshd process)".into(),
            });
        }
    }
    for i in offers::list_images() {
        catalog.upsert_image(tb_catalog::Image {
            provider: PROVIDER.into(),
            region: "all".into(),
            name: i.name.clone(),
            os_type: i.os_type.clone(),
            os_distribution: i.os_type.clone(),
            os_architecture: i.os_architecture.clone(),
            is_gpu_image: false,
            description: "the host's own OS, reached over SSH".into(),
        });
    }
}
