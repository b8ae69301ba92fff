//! File transfer over plain exec sessions (`cat`), for servers without SFTP.

use std::time::Duration;

use crate::error::SshError;
use crate::exec::{ExecOptions, ExecOutput, exec};
use crate::host_key::KnownHostKey;
use crate::lease::acquire;
use crate::pool::SshPool;
use crate::quote::shell_quote;
use crate::target::{Bastion, HostKeyCheck, SshTarget};

/// A downloaded file and the host key of the server it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub host_key: KnownHostKey,
}

/// Writes `bytes` to `remote_path` on `target` (creating parent directories), replacing any
/// existing file. Returns the target's host key.
pub async fn upload(
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    remote_path: &str,
    bytes: &[u8],
    timeout: Duration,
) -> Result<KnownHostKey, SshError> {
    upload_with(None, target, bastion, check, remote_path, bytes, timeout).await
}

/// Reads `remote_path` from `target`; fails with [`SshError::TooLarge`] when the file has more
/// than `max_bytes` bytes.
pub async fn download(
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    remote_path: &str,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Download, SshError> {
    download_with(None, target, bastion, check, remote_path, max_bytes, timeout).await
}

/// [`upload`] on a connection of its own, or with `pool`, on a pooled one.
pub(crate) async fn upload_with(
    pool: Option<&SshPool>,
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    remote_path: &str,
    bytes: &[u8],
    timeout: Duration,
) -> Result<KnownHostKey, SshError> {
    validate_path(remote_path)?;
    let quoted = shell_quote(remote_path);
    let command = match parent_dir(remote_path) {
        Some(parent) => format!("mkdir -p -- {} && cat > {quoted}", shell_quote(parent)),
        None => format!("cat > {quoted}"),
    };
    let work = async {
        let mut lease = acquire(pool, target, bastion, check).await?;
        let mut out = ExecOutput::default();
        let options = ExecOptions { stdin: Some(bytes), ..ExecOptions::default() };
        exec(&mut lease, &command, options, &mut out).await?;
        check_success(&command, &out)?;
        tracing::info!(addr = %target.addr(), path = remote_path, bytes = bytes.len(), "uploaded");
        Ok(lease.host_key().clone())
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SshError::Timeout {
        operation: format!("upload to {}:{remote_path}", target.addr()),
        after: timeout,
    })?
}

/// [`download`] on a connection of its own, or with `pool`, on a pooled one.
pub(crate) async fn download_with(
    pool: Option<&SshPool>,
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    remote_path: &str,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Download, SshError> {
    validate_path(remote_path)?;
    let command = format!("cat -- {}", shell_quote(remote_path));
    let work = async {
        let mut lease = acquire(pool, target, bastion, check).await?;
        let mut out = ExecOutput::default();
        let options = ExecOptions { stdout_limit: Some(max_bytes), ..ExecOptions::default() };
        exec(&mut lease, &command, options, &mut out).await?;
        if out.stdout_truncated {
            return Err(SshError::TooLarge { path: remote_path.to_owned(), limit: max_bytes });
        }
        check_success(&command, &out)?;
        tracing::info!(addr = %target.addr(), path = remote_path, bytes = out.stdout.len(), "downloaded");
        Ok(Download { bytes: out.stdout, host_key: lease.host_key().clone() })
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SshError::Timeout {
        operation: format!("download from {}:{remote_path}", target.addr()),
        after: timeout,
    })?
}

fn validate_path(path: &str) -> Result<(), SshError> {
    if path.is_empty() {
        return Err(SshError::InvalidArgument("remote path is empty".into()));
    }
    if path.contains('\0') {
        return Err(SshError::InvalidArgument("remote path contains a NUL byte".into()));
    }
    Ok(())
}

/// The directory part of `path`, when there is one worth creating.
fn parent_dir(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    let slash = trimmed.rfind('/')?;
    let parent = trimmed[..slash].trim_end_matches('/');
    (!parent.is_empty()).then_some(parent)
}

fn check_success(command: &str, out: &ExecOutput) -> Result<(), SshError> {
    if out.exit_status == Some(0) {
        return Ok(());
    }
    Err(SshError::RemoteCommand {
        command: command.to_owned(),
        exit_status: out.exit_status,
        stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::parent_dir;

    #[test]
    fn parent_dir_of_various_paths() {
        let cases = [
            ("/tmp/a b/file", Some("/tmp/a b")),
            ("dir/file", Some("dir")),
            ("file", None),
            ("/file", None),
            ("//file", None),
            ("/a//b", Some("/a")),
        ];
        for (path, expected) in cases {
            assert_eq!(parent_dir(path), expected, "path {path:?}");
        }
    }
}
