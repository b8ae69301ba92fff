use russh::client::Msg;
use russh::{Channel, ChannelMsg};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::SshError;
use crate::lease::Lease;
use crate::run::{OutputLine, OutputStream};

/// SSH extended-data type code of stderr (RFC 4254 §5.2).
const STDERR_EXT: u32 = 1;

/// What one remote command produced so far; filled in as data arrives so that a caller who
/// abandons the command (timeout) still sees the partial output.
#[derive(Debug, Default)]
pub(crate) struct ExecOutput {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) exit_status: Option<u32>,
    pub(crate) exit_signal: Option<String>,
    /// Set when stdout grew past the limit; reading stopped there.
    pub(crate) stdout_truncated: bool,
}

/// Where to send output lines as they arrive, tagged with the command's index.
pub(crate) struct LiveSink<'a> {
    pub(crate) sender: &'a UnboundedSender<OutputLine>,
    pub(crate) index: usize,
}

/// Options for one exec.
#[derive(Default)]
pub(crate) struct ExecOptions<'a> {
    /// Bytes written to the command's stdin, followed by EOF.
    pub(crate) stdin: Option<&'a [u8]>,
    /// Stop reading once stdout exceeds this many bytes.
    pub(crate) stdout_limit: Option<usize>,
    /// Keep only about the last this many bytes of each stream (a command that prints
    /// forever must not exhaust memory); see [`keep_tail`].
    pub(crate) output_cap: Option<usize>,
    pub(crate) live: Option<LiveSink<'a>>,
}

/// Runs `command` in a fresh session channel of `lease` until the server closes it.
pub(crate) async fn exec(
    lease: &mut Lease<'_>,
    command: &str,
    options: ExecOptions<'_>,
    out: &mut ExecOutput,
) -> Result<(), SshError> {
    // The command text stays out of errors: they are logged, and commands may hold secrets.
    let channel_error = |context: &str| {
        let context = format!("{context} the command");
        move |source| SshError::Channel { context, source }
    };
    let mut open = ClosesOnDrop(None);
    let channel = open.0.insert(lease.session().await?);
    channel.exec(true, command).await.map_err(channel_error("starting"))?;
    if let Some(stdin) = options.stdin {
        channel.data_bytes(stdin.to_vec()).await.map_err(channel_error("writing stdin of"))?;
        channel.eof().await.map_err(channel_error("closing stdin of"))?;
    }

    let mut stdout_lines = LineSplitter::default();
    let mut stderr_lines = LineSplitter::default();
    let emit = |stream: OutputStream, line: String| {
        if let Some(live) = &options.live {
            // A receiver that went away only means nobody watches any more.
            let _ = live.sender.send(OutputLine { index: live.index, stream, line });
        }
    };

    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                out.stdout.extend_from_slice(&data);
                keep_tail(&mut out.stdout, options.output_cap);
                stdout_lines.push(&data, |line| emit(OutputStream::Stdout, line));
                if options.stdout_limit.is_some_and(|limit| out.stdout.len() > limit) {
                    out.stdout_truncated = true;
                    // Dropping the channel closes it; the remote `cat` dies of SIGPIPE.
                    return Ok(());
                }
            }
            ChannelMsg::ExtendedData { data, ext } if ext == STDERR_EXT => {
                out.stderr.extend_from_slice(&data);
                keep_tail(&mut out.stderr, options.output_cap);
                stderr_lines.push(&data, |line| emit(OutputStream::Stderr, line));
            }
            ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, error_message, .. } => {
                let mut signal = format!("{signal_name:?}");
                if !error_message.is_empty() {
                    signal.push_str(&format!(" ({error_message})"));
                }
                out.exit_signal = Some(signal);
            }
            ChannelMsg::Failure => {
                return Err(SshError::Channel {
                    context: "starting the command".to_string(),
                    source: russh::Error::RequestDenied,
                });
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    // The server closed the channel (or the connection ended): nothing left to close.
    open.0 = None;
    stdout_lines.finish(|line| emit(OutputStream::Stdout, line));
    stderr_lines.finish(|line| emit(OutputStream::Stderr, line));
    Ok(())
}

/// A session channel whose command is killed and whose channel is closed when dropped before
/// the server closed it, i.e. when its command is abandoned (timeout, output limit, error). A pooled connection outlives the operation, so
/// without the close the command would keep its server session and write to nobody.
struct ClosesOnDrop(Option<Channel<Msg>>);

impl Drop for ClosesOnDrop {
    fn drop(&mut self) {
        if let Some(channel) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                // sshd passes the signal to the command's process group, so a timed-out
                // command does not keep running on the VM (OpenSSH refuses signals to root
                // sessions: those are only closed); the close then ends the session.
                let _ = channel.signal(russh::Sig::KILL).await;
                let _ = channel.close().await;
            });
        }
    }
}

/// Drops the front of `buf` once it holds twice `cap` (amortised: one move per `cap` bytes).
fn keep_tail(buf: &mut Vec<u8>, cap: Option<usize>) {
    if let Some(cap) = cap
        && buf.len() > 2 * cap
    {
        buf.drain(..buf.len() - cap);
    }
}

/// The longest live line; longer ones are cut there (the reference's 4096).
const MAX_LINE: usize = 4096;

/// Cuts a byte stream into lines without splitting multi-byte characters across chunks.
#[derive(Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8], mut emit: impl FnMut(String)) {
        self.pending.extend_from_slice(chunk);
        // A line without end (e.g. `yes | tr -d '\n'`) is sent in pieces rather than kept.
        while self.pending.len() > MAX_LINE && !self.pending[..MAX_LINE].contains(&b'\n') {
            let rest = self.pending.split_off(MAX_LINE);
            let piece = std::mem::replace(&mut self.pending, rest);
            emit(to_line(&piece));
        }
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let rest = self.pending.split_off(newline + 1);
            let line = std::mem::replace(&mut self.pending, rest);
            emit(to_line(&line[..newline]));
        }
    }

    fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            emit(to_line(&line));
        }
    }
}

fn to_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::LineSplitter;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        for chunk in chunks {
            splitter.push(chunk, |line| lines.push(line));
        }
        splitter.finish(|line| lines.push(line));
        lines
    }

    #[test]
    fn splits_lines_across_chunks() {
        assert_eq!(split(&[b"a\nb", b"c\r\n", b"\nd"]), ["a", "bc", "", "d"]);
        assert_eq!(split(&[b"x\n"]), ["x"]);
        assert!(split(&[]).is_empty());
    }

    #[test]
    fn keeps_multibyte_characters_split_between_chunks() {
        let text = "é\n".as_bytes();
        assert_eq!(split(&[&text[..1], &text[1..]]), ["é"]);
    }
}
