//! SSH key pairs. Tumblebug generates the pair, gives the cloud the public half, and keeps the
//! private half for its own SSH sessions to the VMs.

use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, rand_core::OsRng};
use tb_cloud::KeyPairSpec;
use tb_model::check_name;
use tb_model::resource::{SshKeyInfo, SshKeyReq};

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, Tumblebug, new_uid, repo};

/// Default login user of VMs (reference §6).
pub const DEFAULT_VM_USER: &str = "cb-user";

struct KeyPair {
    private_openssh: String,
    public_openssh: String,
    fingerprint: String,
}

fn generate_key_pair(comment: &str) -> CoreResult<KeyPair> {
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)
        .map_err(|e| CoreError::invalid(format!("key generation failed: {e}")))?;
    key.set_comment(comment);
    let private_openssh = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| CoreError::invalid(format!("key encoding failed: {e}")))?
        .to_string();
    let public = key.public_key();
    let public_openssh = public.to_openssh().map_err(|e| CoreError::invalid(format!("key encoding failed: {e}")))?;
    Ok(KeyPair { private_openssh, public_openssh, fingerprint: public.fingerprint(HashAlg::Sha256).to_string() })
}

impl Tumblebug {
    pub async fn create_ssh_key(&self, ns: &str, req: SshKeyReq) -> CoreResult<SshKeyInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        let (conn_config, conn, driver) = self.clouds.open(&req.connection_name)?;
        let uid = new_uid();
        let pair = generate_key_pair(&uid)?;
        let key = keys::resource(ns, ResourceKind::SshKey, &req.name);
        let mut info = SshKeyInfo {
            resource_type: "sshKey".into(),
            id: req.name.clone(),
            uid: uid.clone(),
            name: req.name.clone(),
            connection_name: req.connection_name.clone(),
            connection_config: conn_config,
            description: req.description.clone(),
            csp_resource_name: uid.clone(),
            fingerprint: pair.fingerprint,
            username: if req.username.is_empty() { DEFAULT_VM_USER.into() } else { req.username.clone() },
            verified_username: req.verified_username.clone(),
            public_key: pair.public_openssh.clone(),
            private_key: pair.private_openssh,
            ..SshKeyInfo::default()
        };
        let rev = repo::create(self.store.as_ref(), &key, &info, &format!("The sshKey {}", req.name)).await?;
        match driver.create_key_pair(&conn, KeyPairSpec { token: uid, public_key: pair.public_openssh }).await {
            Ok(h) => info.csp_resource_id = h.csp_id,
            Err(e) => {
                let _ = repo::delete_at(self.store.as_ref(), &key, rev).await;
                return Err(e.into());
            }
        }
        repo::replace(self.store.as_ref(), &key, rev, &info).await?;
        tracing::info!(ns, ssh_key = %info.id, fingerprint = %info.fingerprint, "ssh key created");
        Ok(info)
    }

    /// Registers a key pair that exists in the cloud; the caller supplies the private key.
    pub async fn register_ssh_key(&self, ns: &str, req: SshKeyReq) -> CoreResult<SshKeyInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        if req.csp_resource_id.is_empty() {
            return Err(CoreError::invalid("cspResourceId is required to register an sshKey"));
        }
        let (conn_config, conn, driver) = self.clouds.open(&req.connection_name)?;
        let handle = driver.get_key_pair(&conn, &req.csp_resource_id).await?;
        if !req.private_key.is_empty() {
            PrivateKey::from_openssh(&req.private_key)
                .map_err(|e| CoreError::invalid(format!("privateKey is not an OpenSSH private key: {e}")))?;
        }
        let info = SshKeyInfo {
            resource_type: "sshKey".into(),
            id: req.name.clone(),
            uid: new_uid(),
            name: req.name.clone(),
            connection_name: req.connection_name.clone(),
            connection_config: conn_config,
            description: req.description.clone(),
            csp_resource_id: handle.csp_id,
            csp_resource_name: handle.token,
            fingerprint: if req.fingerprint.is_empty() { handle.fingerprint } else { req.fingerprint.clone() },
            username: if req.username.is_empty() { DEFAULT_VM_USER.into() } else { req.username.clone() },
            verified_username: req.verified_username.clone(),
            public_key: req.public_key.clone(),
            private_key: req.private_key.clone(),
            system_label: "Registered from CSP resource".into(),
            ..SshKeyInfo::default()
        };
        let key = keys::resource(ns, ResourceKind::SshKey, &req.name);
        repo::create(self.store.as_ref(), &key, &info, &format!("The sshKey {}", req.name)).await?;
        Ok(info)
    }

    /// Updates the fields a user may change: description, username, verifiedUsername and, for
    /// registered keys, the private key (v0.11 `complement`).
    pub async fn update_ssh_key(&self, ns: &str, id: &str, req: SshKeyInfo) -> CoreResult<SshKeyInfo> {
        if !req.private_key.is_empty() {
            PrivateKey::from_openssh(&req.private_key)
                .map_err(|e| CoreError::invalid(format!("privateKey is not an OpenSSH private key: {e}")))?;
        }
        self.require_ns(ns).await?;
        let key = keys::resource(ns, ResourceKind::SshKey, id);
        repo::modify(self.store.as_ref(), &key, &format!("The sshKey {id}"), |k: &mut SshKeyInfo| {
            if !req.description.is_empty() {
                k.description = req.description.clone();
            }
            if !req.username.is_empty() {
                k.username = req.username.clone();
            }
            if !req.verified_username.is_empty() {
                k.verified_username = req.verified_username.clone();
            }
            if !req.private_key.is_empty() {
                k.private_key = req.private_key.clone();
            }
            if !req.public_key.is_empty() {
                k.public_key = req.public_key.clone();
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => super::not_found(ResourceKind::SshKey, ns, id),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_pair_is_openssh() {
        let pair = super::generate_key_pair("t").unwrap();
        assert!(pair.private_openssh.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert!(pair.public_openssh.starts_with("ssh-ed25519 "));
        assert!(pair.fingerprint.starts_with("SHA256:"));
        let parsed = ssh_key::PrivateKey::from_openssh(&pair.private_openssh).unwrap();
        assert_eq!(parsed.public_key().to_openssh().unwrap(), pair.public_openssh);
    }
}
