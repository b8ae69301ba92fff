//! A VM's lifecycle as a timed track: the steps an operation passes through, each with its
//! duration, and where it ends. The state at any instant is computed from the track's start
//! time, so idle VMs cost nothing and no task runs per VM.

use serde::{Deserialize, Serialize};

/// What a VM is doing, independent of the CSP's words; decides which operations are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    Creating,
    Running,
    Stopping,
    Stopped,
    Starting,
    Rebooting,
    Terminating,
    Terminated,
    Failed,
}

/// One observable state: the phase and the CSP's native word for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub phase: Phase,
    pub word: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Step {
    pub state: State,
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Track {
    /// Unix milliseconds when the first step began.
    pub start_ms: u64,
    pub steps: Vec<Step>,
    /// The state after the last step; `None` when the VM is gone from the cloud by then.
    pub end: Option<State>,
}

impl Track {
    /// The state at `now_ms`, or `None` when the VM no longer exists.
    pub fn at(&self, now_ms: u64) -> Option<&State> {
        let mut elapsed = now_ms.saturating_sub(self.start_ms);
        for step in &self.steps {
            if elapsed < step.ms {
                return Some(&step.state);
            }
            elapsed -= step.ms;
        }
        self.end.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(phase: Phase, word: &str) -> State {
        State { phase, word: word.into() }
    }

    fn track(end: Option<State>) -> Track {
        Track {
            start_ms: 1_000,
            steps: vec![
                Step { state: state(Phase::Creating, "PROVISIONING"), ms: 10 },
                Step { state: state(Phase::Creating, "STAGING"), ms: 0 },
                Step { state: state(Phase::Creating, "STAGING"), ms: 20 },
            ],
            end,
        }
    }

    #[test]
    fn walks_steps_by_elapsed_time() {
        let t = track(Some(state(Phase::Running, "RUNNING")));
        assert_eq!(t.at(0).map(|s| s.word.as_str()), Some("PROVISIONING"));
        assert_eq!(t.at(1_009).map(|s| s.word.as_str()), Some("PROVISIONING"));
        assert_eq!(t.at(1_010).map(|s| s.word.as_str()), Some("STAGING"));
        assert_eq!(t.at(1_029).map(|s| s.word.as_str()), Some("STAGING"));
        assert_eq!(t.at(1_030).map(|s| s.phase), Some(Phase::Running));
        assert_eq!(t.at(u64::MAX).map(|s| s.phase), Some(Phase::Running));
    }

    #[test]
    fn a_track_without_end_vanishes() {
        let t = track(None);
        assert!(t.at(1_029).is_some());
        assert!(t.at(1_030).is_none());
    }

    #[test]
    fn zero_length_steps_are_never_observed() {
        let mut t = track(Some(state(Phase::Running, "RUNNING")));
        for step in &mut t.steps {
            step.ms = 0;
        }
        assert_eq!(t.at(1_000).map(|s| s.phase), Some(Phase::Running));
    }
}
