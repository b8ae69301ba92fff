//! The local cloud's own state words and their Tumblebug statuses.
//!
//! Kept here rather than in `tb_model::native`: the words only exist for this driver.
//! Creating, suspending, resuming and rebooting happen within the call, so there are no
//! transitional words.

use tb_model::VmStatus;

/// sshd is up and accepting connections.
pub const RUNNING: &str = "running";
/// sshd was stopped on request; the VM's directory and host key are kept.
pub const STOPPED: &str = "stopped";
/// sshd was stopped and the VM's directory removed.
pub const TERMINATED: &str = "terminated";
/// The driver wants sshd running but the process is gone (it died or was killed from outside).
pub const FAILED: &str = "failed";

/// Maps a local state word to Tumblebug's vocabulary; unknown words are `Undefined`.
pub fn to_status(native: &str) -> VmStatus {
    match native {
        RUNNING => VmStatus::Running,
        STOPPED => VmStatus::Suspended,
        TERMINATED => VmStatus::Terminated,
        FAILED => VmStatus::Failed,
        _ => VmStatus::Undefined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_map_to_final_statuses() {
        assert_eq!(to_status(RUNNING), VmStatus::Running);
        assert_eq!(to_status(STOPPED), VmStatus::Suspended);
        assert_eq!(to_status(TERMINATED), VmStatus::Terminated);
        assert_eq!(to_status(FAILED), VmStatus::Failed);
        assert_eq!(to_status("pending"), VmStatus::Undefined);
    }
}
