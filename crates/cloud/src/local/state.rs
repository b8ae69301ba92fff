//! What the local cloud remembers across restarts, as one JSON file in the state directory.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{KeyPairHandle, SecurityGroupHandle, VNetHandle, VmHandle};

/// Failures reading or writing the state directory.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("invalid local driver configuration: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not valid local driver state: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

/// A resource and the region it lives in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scoped<T> {
    pub region: String,
    pub handle: T,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub region: String,
    pub handle: KeyPairHandle,
    pub public_key: String,
}

/// What the driver wants a VM's sshd to be; the observed state derives from it and from
/// whether the process lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    Running,
    Stopped,
    Terminated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredVm {
    pub region: String,
    pub handle: VmHandle,
    pub vnet_csp_id: String,
    pub security_group_csp_ids: Vec<String>,
    /// The user name asked for; recorded only, logins use the driver's own account.
    pub vm_user: String,
    pub power: Power,
    pub pid: Option<u32>,
    /// Unix milliseconds.
    pub terminated_at_ms: Option<u64>,
}

/// Every resource of every region, keyed by CSP id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub vnets: BTreeMap<String, Scoped<VNetHandle>>,
    pub security_groups: BTreeMap<String, Scoped<SecurityGroupHandle>>,
    pub key_pairs: BTreeMap<String, StoredKey>,
    pub vms: BTreeMap<String, StoredVm>,
}

impl State {
    /// The state in `path`, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<State, LocalError> {
        match fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| LocalError::Corrupt { path: path.into(), source })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(LocalError::Io { path: path.into(), source }),
        }
    }

    /// Writes a temporary file and renames it over `path`, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), LocalError> {
        let io_err = |source| LocalError::Io { path: path.into(), source };
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|source| LocalError::Corrupt { path: path.into(), source })?;
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, bytes).map_err(io_err)?;
        fs::rename(&tmp, path).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().vms.is_empty());
        let mut state = State::default();
        state.key_pairs.insert(
            "kp-1".into(),
            StoredKey {
                region: "lo1".into(),
                handle: KeyPairHandle { csp_id: "kp-1".into(), token: "t".into(), fingerprint: "f".into() },
                public_key: "ssh-ed25519 AAAA".into(),
            },
        );
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap().key_pairs["kp-1"].public_key, "ssh-ed25519 AAAA");
        fs::write(&path, b"{not json").unwrap();
        assert!(matches!(State::load(&path), Err(LocalError::Corrupt { .. })));
    }
}
