//! VM and MCI statuses and actions (reference §3.1). The strings are part of the wire format.

use serde::{Deserialize, Serialize};

/// Status of one VM as Tumblebug reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum VmStatus {
    Creating,
    Running,
    Suspending,
    Suspended,
    Resuming,
    Rebooting,
    Terminating,
    Terminated,
    Failed,
    Registering,
    Undefined,
}

impl VmStatus {
    pub const ALL: [VmStatus; 11] = [
        VmStatus::Creating,
        VmStatus::Running,
        VmStatus::Suspending,
        VmStatus::Suspended,
        VmStatus::Resuming,
        VmStatus::Rebooting,
        VmStatus::Terminating,
        VmStatus::Terminated,
        VmStatus::Failed,
        VmStatus::Registering,
        VmStatus::Undefined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VmStatus::Creating => "Creating",
            VmStatus::Running => "Running",
            VmStatus::Suspending => "Suspending",
            VmStatus::Suspended => "Suspended",
            VmStatus::Resuming => "Resuming",
            VmStatus::Rebooting => "Rebooting",
            VmStatus::Terminating => "Terminating",
            VmStatus::Terminated => "Terminated",
            VmStatus::Failed => "Failed",
            VmStatus::Registering => "Registering",
            VmStatus::Undefined => "Undefined",
        }
    }

    /// Parses a status string; anything unknown is `Undefined`, as Tumblebug does.
    pub fn parse(s: &str) -> VmStatus {
        VmStatus::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s)).unwrap_or(VmStatus::Undefined)
    }

    /// Transitional statuses block new actions (reference §3.1).
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            VmStatus::Creating
                | VmStatus::Suspending
                | VmStatus::Resuming
                | VmStatus::Rebooting
                | VmStatus::Terminating
                | VmStatus::Registering
        )
    }
}

impl std::fmt::Display for VmStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action whose completion a VM or MCI is waiting for (`targetAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TargetAction {
    Create,
    Suspend,
    Resume,
    Reboot,
    Terminate,
    Refine,
    Register,
    None,
}

impl TargetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetAction::Create => "Create",
            TargetAction::Suspend => "Suspend",
            TargetAction::Resume => "Resume",
            TargetAction::Reboot => "Reboot",
            TargetAction::Terminate => "Terminate",
            TargetAction::Refine => "Refine",
            TargetAction::Register => "Register",
            TargetAction::None => "None",
        }
    }

    /// Parses a stored `targetAction`, case-insensitively; empty or unknown strings are
    /// `None` (Tumblebug treats `""` like the `"None"` sentinel).
    pub fn parse(s: &str) -> TargetAction {
        [
            TargetAction::Create,
            TargetAction::Suspend,
            TargetAction::Resume,
            TargetAction::Reboot,
            TargetAction::Terminate,
            TargetAction::Refine,
            TargetAction::Register,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
        .unwrap_or(TargetAction::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip() {
        for s in VmStatus::ALL {
            assert_eq!(VmStatus::parse(s.as_str()), s);
        }
        assert_eq!(VmStatus::parse("running"), VmStatus::Running);
        assert_eq!(VmStatus::parse("NotExist"), VmStatus::Undefined);
        assert_eq!(VmStatus::parse(""), VmStatus::Undefined);
    }
}
