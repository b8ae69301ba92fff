use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, timeout_at};

use crate::error::SshError;
use crate::exec::{ExecOptions, ExecOutput, LiveSink, exec};
use crate::host_key::KnownHostKey;
use crate::lease::acquire;
use crate::pool::SshPool;
use crate::target::{Bastion, HostKeyCheck, SshTarget};

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// One line of live output (without its line terminator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Position of the command in the list passed to [`run_commands_live`].
    pub index: usize,
    pub stream: OutputStream,
    pub line: String,
}

/// What one command did. Output is decoded as UTF-8, invalid sequences replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub command: String,
    pub stdout: String,
    pub stderr: String,
    /// `None` when the command did not report one (killed by a signal, timed out, failed).
    pub exit_status: Option<u32>,
}

/// Result of a run once the connection was established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// One entry per command that was started, in order; commands after the first failure are
    /// absent.
    pub results: Vec<CommandResult>,
    /// The target's host key, to store for trust on first use.
    pub host_key: KnownHostKey,
    /// Why the run stopped early (failed command, timeout, channel error), if it did.
    pub error: Option<String>,
    /// The run stopped because its time was up.
    pub timed_out: bool,
    /// The bastion's host key when the target was reached through one, to store for trust on
    /// first use as well.
    pub bastion_host_key: Option<KnownHostKey>,
}

/// Runs `commands` one after another on `target`, each in its own exec session, stopping at
/// the first one that fails; the whole run (connection included) is bounded by `timeout`.
///
/// Failures before any command could run (connection, host key, authentication, timeout while
/// connecting) are returned as `Err`; failures of a command end the run with `Ok` and
/// [`RunOutcome::error`] set, keeping the output gathered so far.
pub async fn run_commands(
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    commands: &[String],
    timeout: Duration,
) -> Result<RunOutcome, SshError> {
    run(None, target, bastion, check, commands, timeout, None).await
}

/// [`run_commands`], also sending each output line to `live` as soon as it arrives.
pub async fn run_commands_live(
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    commands: &[String],
    timeout: Duration,
    live: UnboundedSender<OutputLine>,
) -> Result<RunOutcome, SshError> {
    run(None, target, bastion, check, commands, timeout, Some(&live)).await
}

/// A run on a connection of its own, or with `pool`, on a pooled one.
pub(crate) async fn run(
    pool: Option<&SshPool>,
    target: &SshTarget,
    bastion: Option<&Bastion>,
    check: &HostKeyCheck,
    commands: &[String],
    timeout: Duration,
    live: Option<&UnboundedSender<OutputLine>>,
) -> Result<RunOutcome, SshError> {
    let deadline = Instant::now() + timeout;
    let mut lease = timeout_at(deadline, acquire(pool, target, bastion, check))
        .await
        .map_err(|_| SshError::Timeout { operation: format!("connecting to {}", target.addr()), after: timeout })??;

    let mut results = Vec::with_capacity(commands.len());
    let mut error = None;
    let mut timed_out = false;
    for (index, command) in commands.iter().enumerate() {
        let mut out = ExecOutput::default();
        let options = ExecOptions {
            live: live.map(|sender| LiveSink { sender, index }),
            output_cap: Some(OUTPUT_CAP),
            ..ExecOptions::default()
        };
        let finished = timeout_at(deadline, exec(&mut lease, command, options, &mut out)).await;
        timed_out = finished.is_err();
        let failure = match finished {
            Err(_) => Some(
                // The index, not the text: errors are logged and commands may hold secrets.
                SshError::Timeout { operation: format!("command {index}"), after: timeout }.to_string(),
            ),
            Ok(Err(error)) => Some(error_chain(&error)),
            Ok(Ok(())) => match (out.exit_status, &out.exit_signal) {
                (Some(0), _) => None,
                (Some(status), _) => Some(format!("command {index} exited with status {status}")),
                (None, Some(signal)) => Some(format!("command {index} was killed by signal {signal}")),
                (None, None) => Some(format!("command {index} ended without an exit status")),
            },
        };
        tracing::info!(
            addr = %target.addr(),
            index,
            exit_status = ?out.exit_status,
            error = failure.as_deref(),
            "command finished"
        );
        results.push(CommandResult {
            command: command.clone(),
            stdout: tail_text(&out.stdout),
            stderr: tail_text(&out.stderr),
            exit_status: out.exit_status,
        });
        if failure.is_some() {
            error = failure;
            break;
        }
    }

    let host_key = lease.host_key().clone();
    let bastion_host_key = lease.bastion_host_key().cloned();
    Ok(RunOutcome { results, host_key, error, timed_out, bastion_host_key })
}

/// Output kept per stream per command; earlier output is dropped (the end is what explains).
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// The last [`OUTPUT_CAP`] bytes as text, marked when something was dropped.
fn tail_text(bytes: &[u8]) -> String {
    if bytes.len() <= OUTPUT_CAP {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let text = String::from_utf8_lossy(&bytes[bytes.len() - OUTPUT_CAP..]).into_owned();
    format!("[output truncated to its last {OUTPUT_CAP} bytes]\n{text}")
}

/// `error: cause: cause`, the whole source chain on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
