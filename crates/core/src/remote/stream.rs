//! Live events of command requests, by request id, for `GET /stream/cmd/mci/{id}` (SSE).
//!
//! An asynchronous request answers before its client can subscribe, so every stream keeps
//! its events (a bounded backlog) and a subscriber first gets the backlog, then the live
//! events. Ended streams stay readable for [`RETENTION`], then are forgotten.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tb_model::command::CommandTaskInfo;
use tb_model::command::{CommandStreamEvent, CommandStreamEventType};
use tokio::sync::{broadcast, watch};

/// How long an ended stream can still be read.
const RETENTION: Duration = Duration::from_secs(600);
/// Events kept for late subscribers; beyond it, further log lines are only sent live.
const BACKLOG: usize = 20_000;
/// Events buffered per live subscriber before it is told it lagged.
const LIVE_BUFFER: usize = 4_096;

struct Stream {
    ns: String,
    mci: String,
    backlog: Vec<CommandStreamEvent>,
    live: broadcast::Sender<CommandStreamEvent>,
    ended: Option<Instant>,
    /// `true` once the request is cancelled; its VM tasks watch it.
    cancel: watch::Sender<bool>,
    started_time: String,
}

/// What a subscriber gets: the events so far, then (unless the stream has ended) the rest.
pub struct Subscription {
    pub backlog: Vec<CommandStreamEvent>,
    pub live: Option<broadcast::Receiver<CommandStreamEvent>>,
}

/// Drops ended streams past their retention.
fn forget_expired(streams: &mut HashMap<String, Stream>) {
    streams.retain(|_, s| s.ended.is_none_or(|at| at.elapsed() < RETENTION));
}

/// Every command stream of this process.
#[derive(Default)]
pub struct CommandStreams {
    streams: Mutex<HashMap<String, Stream>>,
}

impl CommandStreams {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stream>> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.streams.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the stream of a request (ended streams past their retention are dropped here).
    /// Opening a running stream again keeps it (`Ok(false)`); a request id that is running on
    /// another MCI is refused (ids come from clients).
    pub(super) fn open(&self, id: &str, ns: &str, mci: &str) -> Result<bool, String> {
        if id.is_empty() {
            return Ok(false);
        }
        let mut streams = self.lock();
        forget_expired(&mut streams);
        if let Some(running) = streams.get(id).filter(|s| s.ended.is_none()) {
            if running.ns == ns && running.mci == mci {
                return Ok(false);
            }
            return Err(format!("request id {id} is already in use by a running command request"));
        }
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let stream = Stream {
            ns: ns.to_string(),
            mci: mci.to_string(),
            backlog: Vec::new(),
            live,
            ended: None,
            cancel: watch::Sender::new(false),
            started_time: crate::now_string(),
        };
        streams.insert(id.to_string(), stream);
        Ok(true)
    }

    /// Records and sends one event; `CommandDone` ends the stream.
    pub(super) fn publish(&self, id: &str, event: CommandStreamEvent) {
        if id.is_empty() {
            return;
        }
        let mut streams = self.lock();
        let Some(stream) = streams.get_mut(id) else { return };
        let done = event.kind == CommandStreamEventType::CommandDone;
        if stream.backlog.len() < BACKLOG || event.kind != CommandStreamEventType::CommandLog {
            stream.backlog.push(event.clone());
        }
        // No receiver is fine: nobody is watching live.
        let _ = stream.live.send(event);
        if done {
            stream.ended = Some(Instant::now());
        }
    }

    /// What a request's VM tasks watch for cancellation (`None` without a stream).
    pub(super) fn cancel_signal(&self, id: &str) -> Option<watch::Receiver<bool>> {
        self.lock().get(id).map(|s| s.cancel.subscribe())
    }

    /// Cancels a running request: 404 when this process has no such request, 409 when it
    /// has ended.
    pub(super) fn cancel(&self, ns: &str, mci: &str, id: &str) -> crate::CoreResult<()> {
        let streams = self.lock();
        match streams.get(id).filter(|s| s.ns == ns && s.mci == mci) {
            None => Err(crate::CoreError::not_found(format!("no command task {id} on MCI {mci}"))),
            Some(s) if s.ended.is_some() => {
                Err(crate::CoreError::Conflict(format!("command task {id} has already ended")))
            }
            Some(s) => {
                s.cancel.send_replace(true);
                Ok(())
            }
        }
    }

    /// The command requests of an MCI this process holds (running, or ended recently).
    pub(super) fn tasks(&self, ns: &str, mci: &str) -> Vec<CommandTaskInfo> {
        let mut tasks: Vec<CommandTaskInfo> = self
            .lock()
            .iter()
            .filter(|(_, s)| s.ns == ns && s.mci == mci)
            .map(|(id, s)| CommandTaskInfo {
                task_id: id.clone(),
                mci_id: mci.to_string(),
                status: match (s.ended.is_some(), *s.cancel.borrow()) {
                    (_, true) => "Cancelled",
                    (true, false) => "Completed",
                    (false, false) => "Handling",
                }
                .to_string(),
                started_time: s.started_time.clone(),
            })
            .collect();
        tasks.sort_by(|a, b| a.started_time.cmp(&b.started_time).then(a.task_id.cmp(&b.task_id)));
        tasks
    }

    /// The stream of request `id` on this MCI, if this process has it.
    pub fn subscribe(&self, ns: &str, mci: &str, id: &str) -> Option<Subscription> {
        let mut streams = self.lock();
        forget_expired(&mut streams);
        let stream = streams.get(id).filter(|s| s.ns == ns && s.mci == mci)?;
        // Taken under the lock that publish holds: no event falls between backlog and live.
        let live = stream.ended.is_none().then(|| stream.live.subscribe());
        Some(Subscription { backlog: stream.backlog.clone(), live })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: CommandStreamEventType, vm: &str) -> CommandStreamEvent {
        CommandStreamEvent {
            kind,
            vm_id: vm.into(),
            command_index: 1,
            timestamp: String::new(),
            status: None,
            log: None,
            summary: None,
        }
    }

    #[tokio::test]
    async fn late_subscribers_get_the_backlog_then_live_events() {
        let hub = CommandStreams::default();
        assert_eq!(hub.open("r1", "ns", "m"), Ok(true));
        assert_eq!(hub.open("r1", "ns", "m"), Ok(false), "the same request again keeps its stream");
        assert!(hub.open("r1", "ns", "other").is_err(), "a running id is not taken over");
        hub.publish("r1", event(CommandStreamEventType::CommandStatus, "g1-1"));
        let mut sub = hub.subscribe("ns", "m", "r1").unwrap();
        assert_eq!(sub.backlog.len(), 1);
        hub.publish("r1", event(CommandStreamEventType::CommandLog, "g1-1"));
        hub.publish("r1", event(CommandStreamEventType::CommandDone, ""));
        let live = sub.live.as_mut().unwrap();
        assert_eq!(live.recv().await.unwrap().kind, CommandStreamEventType::CommandLog);
        assert_eq!(live.recv().await.unwrap().kind, CommandStreamEventType::CommandDone);
        // After the end: everything from the backlog, nothing live.
        let after = hub.subscribe("ns", "m", "r1").unwrap();
        assert_eq!(after.backlog.len(), 3);
        assert!(after.live.is_none());
        // Another MCI's or an unknown id is not served.
        assert!(hub.subscribe("ns", "other", "r1").is_none());
        assert!(hub.subscribe("ns", "m", "r2").is_none());
    }

    #[test]
    fn backlog_is_bounded_for_log_lines_only() {
        let hub = CommandStreams::default();
        hub.open("r", "ns", "m").unwrap();
        for _ in 0..BACKLOG + 10 {
            hub.publish("r", event(CommandStreamEventType::CommandLog, "g1-1"));
        }
        hub.publish("r", event(CommandStreamEventType::CommandDone, ""));
        let sub = hub.subscribe("ns", "m", "r").unwrap();
        assert_eq!(sub.backlog.len(), BACKLOG + 1);
        assert_eq!(sub.backlog.last().unwrap().kind, CommandStreamEventType::CommandDone);
    }
}
