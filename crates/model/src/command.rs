//! Remote-command history and live events (reference §6, v0.12.3+): one record per VM per
//! command request, and the server-sent events of a request's stream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where one VM's part of a command request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum CommandExecutionStatus {
    /// Accepted, not started on this VM yet.
    #[default]
    Queued,
    /// Running on this VM.
    Handling,
    /// Every command ended with status 0.
    Completed,
    /// A command failed, or the VM could not be reached.
    Failed,
    /// `timeoutMinutes` ran out.
    Timeout,
    Cancelled,
    /// The server stopped while the command was queued or running.
    Interrupted,
}

impl CommandExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Handling => "Handling",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Timeout => "Timeout",
            Self::Cancelled => "Cancelled",
            Self::Interrupted => "Interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Handling, Self::Completed, Self::Failed, Self::Timeout, Self::Cancelled, Self::Interrupted]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Still queued or running.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Handling)
    }
}

/// One command request as it ran (or runs) on one VM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandStatusInfo {
    /// 1, 2, 3, ... per VM.
    pub index: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub x_request_id: String,
    /// The commands as requested, one per line.
    pub command_requested: String,
    /// The commands as run (placeholders expanded), one per line.
    pub command_executed: String,
    pub status: CommandExecutionStatus,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub started_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub completed_time: String,
    /// Milliseconds (v0.11's unit).
    #[serde(skip_serializing_if = "is_zero")]
    pub elapsed_time: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub result_summary: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_message: String,
    /// Output kept for the history, truncated to its last part.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// `GET .../commandStatus`: the records matching the filter, newest last.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandStatusListResponse {
    pub commands: Vec<CommandStatusInfo>,
    /// Matches before `limit`/`offset`.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// `GET /mci/{id}/vm/{vmId}/handlingCount`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HandlingCommandCountResponse {
    pub vm_id: String,
    pub handling_count: usize,
}

/// `GET /mci/{id}/handlingCount`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciHandlingCommandCountResponse {
    pub mci_id: String,
    pub vm_handling_counts: BTreeMap<String, usize>,
    pub total_handling_count: usize,
}

/// A command request as a task (`GET /cmd/mci/{id}/task[/{taskId}]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandTaskInfo {
    /// The request's `xRequestId`.
    pub task_id: String,
    pub mci_id: String,
    /// `Handling`, `Completed` or `Cancelled`.
    pub status: String,
    pub started_time: String,
}

/// Kind of a server-sent event of a command stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum CommandStreamEventType {
    /// A VM's record changed status (Queued → Handling → Completed, ...).
    CommandStatus,
    /// One line of output.
    CommandLog,
    /// Every VM is done; the last event of the stream.
    CommandDone,
}

impl CommandStreamEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommandStatus => "CommandStatus",
            Self::CommandLog => "CommandLog",
            Self::CommandDone => "CommandDone",
        }
    }
}

/// One event of `GET /ns/{ns}/stream/cmd/mci/{id}?xRequestId=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandStreamEvent {
    #[serde(rename = "type")]
    pub kind: CommandStreamEventType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vm_id: String,
    /// The VM's history index of this request.
    #[serde(default)]
    pub command_index: u64,
    /// RFC 3339.
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CommandStatusInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<CommandLogEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<CommandDoneSummary>,
}

/// One output line.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandLogEntry {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub line: String,
    /// 1, 2, 3, ... per stream per VM.
    pub line_number: u64,
}

/// The last event of a stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandDoneSummary {
    pub total_vms: usize,
    pub completed_vms: usize,
    pub failed_vms: usize,
    pub elapsed_seconds: u64,
    /// Set when the request failed before reaching any VM.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_words_round_trip() {
        for s in ["Queued", "Handling", "Completed", "Failed", "Timeout", "Cancelled", "Interrupted"] {
            let v = CommandExecutionStatus::parse(s).unwrap();
            assert_eq!(v.as_str(), s);
            assert_eq!(serde_json::to_value(v).unwrap(), json!(s));
        }
        assert_eq!(CommandExecutionStatus::parse("completed"), Some(CommandExecutionStatus::Completed));
        assert_eq!(CommandExecutionStatus::parse("done"), None);
        assert!(CommandExecutionStatus::Handling.is_active());
        assert!(!CommandExecutionStatus::Timeout.is_active());
    }

    #[test]
    fn event_shape_matches_the_reference() {
        let e = CommandStreamEvent {
            kind: CommandStreamEventType::CommandLog,
            vm_id: "g1-1".into(),
            command_index: 3,
            timestamp: "2026-12-01T10:00:00Z".into(),
            status: None,
            log: Some(CommandLogEntry { stream: "stdout".into(), line: "hi".into(), line_number: 1 }),
            summary: None,
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "CommandLog", "vmId": "g1-1", "commandIndex": 3, "timestamp": "2026-12-01T10:00:00Z",
                   "log": {"stream": "stdout", "line": "hi", "lineNumber": 1}})
        );
        let done = CommandDoneSummary {
            total_vms: 3,
            completed_vms: 2,
            failed_vms: 1,
            elapsed_seconds: 4,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&done).unwrap(),
            json!({"totalVms": 3, "completedVms": 2, "failedVms": 1, "elapsedSeconds": 4})
        );
    }
}
