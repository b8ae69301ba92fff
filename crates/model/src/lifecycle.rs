//! The lifecycle rules of VMs and MCIs (reference §3), as pure functions: the aggregated MCI
//! status string, the intent-based correction of a fetched VM status, completion of an
//! intent, the intent of an action, allowed transitions, the deletion precondition, VM naming
//! and the master VM.
//!
//! Choices where upstream is ambiguous or buggy (reference §12):
//! * The aggregated string follows v0.11.5+ (no Failed override; ties go to the earlier
//!   bucket), with v0.12.3's `Registering` bucket.
//! * `N` never falls below the number of counted VMs, so the upstream branch where the
//!   dominant count exceeds `N` (and v0.12.3+ wrongly labels the MCI `Registering`) cannot
//!   happen: the label is always `S` or `Partial-S`.
//! * `Registering` (added in v0.12.3, after the transition rule was written) blocks actions
//!   like the other transitional statuses.
//! * v0.12 semantics for transitions: terminate on a Terminated VM or MCI is an idempotent
//!   success, reboot on Running is allowed.

use crate::mci::{StatusCountInfo, VmInfo, VmStatusInfo};
use crate::naming::to_lower;
use crate::{TargetAction, VmStatus};

/// MCI status while the shared resources of a dynamic request are being created.
pub const STATUS_PREPARING: &str = "Preparing";
/// MCI status once the shared resources of a dynamic request exist.
pub const STATUS_PREPARED: &str = "Prepared";
/// MCI status when it has no VM (v0.12.3+).
pub const STATUS_EMPTY: &str = "Empty";
/// `targetStatus` once the intent is reached (upstream `StatusComplete`).
pub const STATUS_COMPLETE: &str = "None";
/// Prefix of an aggregated status whose VMs are not all in the dominant status.
pub const PARTIAL_PREFIX: &str = "Partial-";
/// `systemMessage` of a VM that reached Terminated.
pub const TERMINATED_VM_MESSAGE: &str = "terminated VM. No action is acceptable except deletion";

/// Counting buckets of §3.4 in their fixed order: on a tie the earlier bucket wins.
const BUCKETS: [VmStatus; 11] = [
    VmStatus::Failed,
    VmStatus::Suspended,
    VmStatus::Running,
    VmStatus::Terminated,
    VmStatus::Creating,
    VmStatus::Suspending,
    VmStatus::Resuming,
    VmStatus::Rebooting,
    VmStatus::Terminating,
    VmStatus::Registering,
    VmStatus::Undefined,
];

/// Statuses that block a new action (§3.6 rule 3, plus `Registering`).
const BLOCKING: [VmStatus; 6] = [
    VmStatus::Creating,
    VmStatus::Terminating,
    VmStatus::Resuming,
    VmStatus::Suspending,
    VmStatus::Rebooting,
    VmStatus::Registering,
];

/// A rule refused a request. The messages are CB-Tumblebug's, which clients match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("requested action {0} is not matched with available actions")]
    UnknownAction(String),
    #[error("{action} is not allowed for VM under {status}")]
    VmActionNotAllowed { action: String, status: String },
    #[error("{action} is not allowed for MCI under {status}")]
    MciActionNotAllowed { action: String, status: String },
    #[error("MCI {mci_id} is under {target_action}, please try later")]
    MciBusy { mci_id: String, target_action: String },
    #[error(
        "MCI {mci_id} is {status} and not Terminated/Undefined/Failed, Deletion is not allowed (use option=force for force deletion)"
    )]
    DeletionNotAllowed { mci_id: String, status: String },
}

// ---------------------------------------------------------------------------------------------
// Aggregated status (§3.4)

/// Counts `vm_statuses` and formats the aggregated status: `{label}:{max} (R:{running}/{N})`
/// where the label is the dominant status, prefixed by `Partial-` unless every one of the
/// `N` VMs is in it. `N` is `n_override` (see [`count_total`]) but never less than the number
/// of statuses. No statuses give `Empty` with all counters zero.
pub fn aggregate_status(vm_statuses: &[VmStatus], n_override: Option<usize>) -> (String, StatusCountInfo) {
    if vm_statuses.is_empty() {
        return (STATUS_EMPTY.to_string(), StatusCountInfo::default());
    }
    let total = n_override.unwrap_or(0).max(vm_statuses.len());
    let mut count = StatusCountInfo { count_total: total, ..StatusCountInfo::default() };
    for &status in vm_statuses {
        *count.count_mut(status) += 1;
    }
    let mut dominant = BUCKETS[0];
    let mut max = 0;
    for bucket in BUCKETS {
        if count.count(bucket) > max {
            max = count.count(bucket);
            dominant = bucket;
        }
    }
    let partial = if max == total { "" } else { PARTIAL_PREFIX };
    let running = count.count_running;
    (format!("{partial}{dominant}:{max} (R:{running}/{total})"), count)
}

/// What the stored MCI knows besides the fresh VM statuses: the inputs of v0.12's rules for
/// the `N` of the aggregated status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusContext<'a> {
    /// The status string stored on the MCI before this computation.
    pub stored_status: &'a str,
    pub target_action: &'a str,
    pub target_status: &'a str,
    /// `statusCount.countTotal` stored on the MCI.
    pub previous_count_total: usize,
    /// Number of VM records stored under the MCI.
    pub vm_key_count: usize,
    /// Number of VMs embedded in the stored MCI object.
    pub embedded_vm_count: usize,
}

impl StatusContext<'_> {
    /// v0.12's test for an MCI being created: the stored status mentions Creating or
    /// Registering, or the intent mentions Create or a Running target.
    pub fn is_creating(&self) -> bool {
        self.stored_status.contains(VmStatus::Creating.as_str())
            || self.stored_status.contains(VmStatus::Registering.as_str())
            || self.target_action.contains(TargetAction::Create.as_str())
            || self.target_status.contains(VmStatus::Running.as_str())
    }
}

/// The `N` of the aggregated status (v0.12): while creating, the largest count known so that
/// the total never shrinks mid-creation; when every VM shares one status, the largest of the
/// VM counts; otherwise the number of statuses. (Upstream's "number of VM infos" is the number
/// of statuses here: one status is computed per VM info.)
pub fn count_total(vm_statuses: &[VmStatus], ctx: &StatusContext<'_>) -> usize {
    let entries = vm_statuses.len();
    let uniform = vm_statuses.first().is_some_and(|first| vm_statuses.iter().all(|s| s == first));
    if ctx.is_creating() {
        entries.max(ctx.vm_key_count).max(ctx.previous_count_total).max(ctx.embedded_vm_count)
    } else if uniform {
        entries.max(ctx.vm_key_count).max(ctx.embedded_vm_count)
    } else {
        entries
    }
}

/// The status of an MCI from the fresh statuses of its VMs (v0.12.3+): an MCI without VMs
/// keeps a stored status that mentions Preparing, Prepared, Creating or Failed and is `Empty`
/// otherwise, with all counters zero; else [`aggregate_status`] with `N` from [`count_total`].
pub fn mci_status(vm_statuses: &[VmStatus], ctx: &StatusContext<'_>) -> (String, StatusCountInfo) {
    if vm_statuses.is_empty() {
        let keep = [STATUS_PREPARING, STATUS_PREPARED, VmStatus::Creating.as_str(), VmStatus::Failed.as_str()]
            .iter()
            .any(|word| ctx.stored_status.contains(word));
        let status = if keep { ctx.stored_status } else { STATUS_EMPTY };
        return (status.to_string(), StatusCountInfo::default());
    }
    aggregate_status(vm_statuses, Some(count_total(vm_statuses, ctx)))
}

// ---------------------------------------------------------------------------------------------
// Per-VM status (§3.3)

/// Interprets a fetched VM status in light of the pending action (§3.3 step 4, v0.12):
/// ambiguous or lagging answers become the transitional status of the action, a VM whose
/// creation failed stays Failed, and Terminated is final.
pub fn correct_vm_status(fetched: VmStatus, stored: VmStatus, target_action: TargetAction) -> VmStatus {
    use VmStatus::*;
    if stored == Terminated {
        return Terminated;
    }
    match (target_action, fetched) {
        (TargetAction::Create, _) if stored == Failed => Failed,
        (TargetAction::Create, Undefined) => Creating,
        (TargetAction::Terminate, Undefined) => Terminated,
        (TargetAction::Terminate, Suspending) => Terminating,
        (TargetAction::Resume, Undefined | Creating | Suspended) => Resuming,
        (TargetAction::Suspend, Undefined | Running | Resuming) => Suspending,
        (TargetAction::Reboot, Undefined | Suspending | Suspended | Creating | Resuming) => Rebooting,
        (_, status) => status,
    }
}

/// What a VM record becomes when its status reached its `targetStatus` (§3.3 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// `None`, or `Terminated` which stays (a terminated VM accepts only deletion).
    pub target_status: &'static str,
    pub target_action: TargetAction,
    pub system_message: String,
    /// Whether to refresh the public IP and SSH port from the cloud: they can change after a
    /// resume.
    pub refresh_access: bool,
}

impl Completion {
    /// Writes the completed intent and message into a VM record.
    pub fn apply_to(&self, vm: &mut VmInfo) {
        vm.set_target(self.target_action, self.target_status);
        vm.system_message.clone_from(&self.system_message);
    }
}

/// The completion of a VM whose computed status equals its `targetStatus`; `None` while the
/// intent is not reached (or there is none: a `"None"` target never equals a status).
pub fn completion(status: VmStatus, target_status: &str) -> Option<Completion> {
    if target_status != status.as_str() {
        return None;
    }
    Some(if status == VmStatus::Terminated {
        Completion {
            target_status: VmStatus::Terminated.as_str(),
            target_action: TargetAction::Terminate,
            system_message: TERMINATED_VM_MESSAGE.to_string(),
            refresh_access: false,
        }
    } else {
        Completion {
            target_status: STATUS_COMPLETE,
            target_action: TargetAction::None,
            system_message: format!("{target_status}=={status}"),
            refresh_access: true,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Intent (§3.5)

/// What an action records on the MCI and each VM before the cloud is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionIntent {
    pub target_action: TargetAction,
    pub target_status: VmStatus,
    /// The status shown until the cloud answers.
    pub immediate_status: VmStatus,
}

impl ActionIntent {
    /// Writes the intent and the immediate status into a VM record.
    pub fn apply_to(&self, vm: &mut VmInfo) {
        vm.set_status(self.immediate_status);
        vm.set_target(self.target_action, self.target_status.as_str());
    }
}

/// The intent of an action (§3.5 table); `None` for actions without one (refine, register,
/// none).
pub fn action_intent(action: TargetAction) -> Option<ActionIntent> {
    let (target_status, immediate_status) = match action {
        TargetAction::Create => (VmStatus::Running, VmStatus::Creating),
        TargetAction::Suspend => (VmStatus::Suspended, VmStatus::Suspending),
        TargetAction::Resume => (VmStatus::Running, VmStatus::Resuming),
        TargetAction::Reboot => (VmStatus::Running, VmStatus::Rebooting),
        TargetAction::Terminate => (VmStatus::Terminated, VmStatus::Terminating),
        TargetAction::Refine | TargetAction::Register | TargetAction::None => return None,
    };
    Some(ActionIntent { target_action: action, target_status, immediate_status })
}

/// Whether the MCI-level intent is reached (v0.12 "recovery" check of `GetMciStatus`), given
/// the fresh VM statuses. Failed, Terminated and Undefined VMs never hold an intent back.
/// Without an intent, and for refine (which completes within its request), it is reached.
pub fn mci_intent_reached(target_action: TargetAction, vm_statuses: &[VmStatus]) -> bool {
    use VmStatus::*;
    let all = |ok: &[VmStatus]| vm_statuses.iter().all(|s| ok.contains(s));
    match target_action {
        TargetAction::None | TargetAction::Refine => true,
        TargetAction::Create | TargetAction::Register => {
            !vm_statuses.iter().any(|s| matches!(s, Creating | Registering | Undefined))
        }
        TargetAction::Terminate => all(&[Terminated, Failed, Undefined]),
        TargetAction::Suspend => all(&[Suspended, Failed, Terminated, Undefined]),
        TargetAction::Resume | TargetAction::Reboot => all(&[Running, Failed, Terminated, Undefined]),
    }
}

/// Whether a creation ended with no VM alive (every VM Failed or Terminated): the MCI is then
/// reported with the plain status `Failed` for that call (§3.4 special cases).
pub fn create_failed_entirely(vm_statuses: &[VmStatus]) -> bool {
    !vm_statuses.is_empty() && vm_statuses.iter().all(|s| matches!(s, VmStatus::Failed | VmStatus::Terminated))
}

// ---------------------------------------------------------------------------------------------
// Allowed transitions (§3.6)

/// The status an action leads to; the only actions the transition rules know.
fn transition_target(action: &str) -> Result<VmStatus, RuleError> {
    let is = |a: TargetAction| action.eq_ignore_ascii_case(a.as_str());
    if is(TargetAction::Terminate) {
        Ok(VmStatus::Terminated)
    } else if is(TargetAction::Reboot) || is(TargetAction::Resume) {
        Ok(VmStatus::Running)
    } else if is(TargetAction::Suspend) {
        Ok(VmStatus::Suspended)
    } else {
        Err(RuleError::UnknownAction(action.to_string()))
    }
}

/// Rules 1, 2 and 4 of §3.6 on a status word (rule 3 differs between VM and MCI).
fn equality_rules_allow(status: &str, action: &str, target: VmStatus) -> bool {
    let is = |a: TargetAction| action.eq_ignore_ascii_case(a.as_str());
    let terminated = status.eq_ignore_ascii_case(VmStatus::Terminated.as_str());
    if terminated && is(TargetAction::Terminate) {
        return true;
    }
    if status.eq_ignore_ascii_case(target.as_str()) && !is(TargetAction::Reboot) {
        return false;
    }
    if terminated {
        return false;
    }
    if status.eq_ignore_ascii_case(VmStatus::Suspended.as_str()) {
        return is(TargetAction::Resume) || is(TargetAction::Terminate);
    }
    true
}

/// Whether `action` (the query word, e.g. `suspend`; compared case-insensitively and echoed
/// as given) may be applied to a VM in `status`.
pub fn check_vm_transition(status: VmStatus, action: &str) -> Result<(), RuleError> {
    let target = transition_target(action)?;
    if BLOCKING.contains(&status) || !equality_rules_allow(status.as_str(), action, target) {
        return Err(RuleError::VmActionNotAllowed { action: action.to_string(), status: status.to_string() });
    }
    Ok(())
}

/// Refuses a new action while the MCI has a pending intent, unless `force`.
pub fn check_mci_idle(mci_id: &str, target_action: TargetAction, force: bool) -> Result<(), RuleError> {
    if force || target_action == TargetAction::None {
        return Ok(());
    }
    Err(RuleError::MciBusy { mci_id: mci_id.to_string(), target_action: target_action.as_str().to_string() })
}

/// Whether `action` may be applied to a whole MCI. `force` skips every check. Otherwise a
/// pending intent refuses it, then the rules of §3.6 run on the aggregated string: the
/// equality rules never match a decorated string such as `Running:3 (R:3/3)`, so in practice
/// only a transitional status anywhere in it (`Partial-Suspending:...`) refuses the action.
pub fn check_mci_transition(
    mci_id: &str,
    aggregated_status: &str,
    target_action_of_mci: TargetAction,
    action: &str,
    force: bool,
) -> Result<(), RuleError> {
    if force {
        return Ok(());
    }
    check_mci_idle(mci_id, target_action_of_mci, false)?;
    let target = transition_target(action)?;
    let transitional = BLOCKING.iter().any(|s| aggregated_status.contains(s.as_str()));
    if transitional || !equality_rules_allow(aggregated_status, action, target) {
        return Err(RuleError::MciActionNotAllowed {
            action: action.to_string(),
            status: aggregated_status.to_string(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deletion (§3.7)

/// The `option` of `DELETE /mci/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteOption {
    /// Delete only an MCI that is already terminated (or failed, undefined, empty...).
    #[default]
    None,
    /// Refine and terminate first, then delete.
    Terminate,
    /// Delete the records whatever the status.
    Force,
}

impl DeleteOption {
    /// Parses the query value case-insensitively; any other value is `None`, as upstream
    /// compares with the known words only.
    pub fn parse(s: &str) -> DeleteOption {
        if s.eq_ignore_ascii_case("terminate") {
            DeleteOption::Terminate
        } else if s.eq_ignore_ascii_case("force") {
            DeleteOption::Force
        } else {
            DeleteOption::None
        }
    }
}

/// Whether every VM of the MCI is Terminated, judged from the aggregated string.
pub fn is_cleanly_terminated(aggregated_status: &str) -> bool {
    aggregated_status.contains(VmStatus::Terminated.as_str()) && !aggregated_status.contains(PARTIAL_PREFIX)
}

/// Whether a delete must first refine and terminate the MCI (`option=terminate` on an MCI that
/// is not yet cleanly terminated).
pub fn terminate_before_delete(aggregated_status: &str, option: DeleteOption) -> bool {
    option == DeleteOption::Terminate && !is_cleanly_terminated(aggregated_status)
}

/// The precondition of deleting an MCI, on its (recomputed) aggregated status: not partial,
/// and Terminated, Undefined, Failed, Preparing, Prepared or Empty; `force` skips it.
pub fn check_mci_delete(mci_id: &str, aggregated_status: &str, option: DeleteOption) -> Result<(), RuleError> {
    if option == DeleteOption::Force {
        return Ok(());
    }
    let settled = [
        VmStatus::Terminated.as_str(),
        VmStatus::Undefined.as_str(),
        VmStatus::Failed.as_str(),
        STATUS_PREPARING,
        STATUS_PREPARED,
        STATUS_EMPTY,
    ]
    .iter()
    .any(|word| aggregated_status.contains(word));
    if settled && !aggregated_status.contains(PARTIAL_PREFIX) {
        Ok(())
    } else {
        Err(RuleError::DeletionNotAllowed { mci_id: mci_id.to_string(), status: aggregated_status.to_string() })
    }
}

// ---------------------------------------------------------------------------------------------
// Naming (§1.5.1, §1.5.3) and master VM (§1.5.7)

/// Number of VMs a subgroup request creates: absent is 1, and the legacy `"0"` is one VM too.
pub fn subgroup_vm_count(size: Option<u32>) -> u32 {
    match size {
        None | Some(0) => 1,
        Some(n) => n,
    }
}

/// Names of the VMs of a subgroup: `{sg}-{start_index}`, `{sg}-{start_index + 1}`, ... for
/// [`subgroup_vm_count`] VMs, where `{sg}` is the subgroup name lower-cased by
/// [`to_lower`]. The legacy size `Some(0)` gives a single VM named exactly like the subgroup.
/// Creation starts at 1; a scale-out continues at the existing size + 1. Callers bound `size`.
pub fn vm_names(subgroup: &str, size: Option<u32>, start_index: u32) -> Vec<String> {
    let base = to_lower(subgroup);
    if size == Some(0) {
        return vec![base];
    }
    let first = u64::from(start_index);
    (0..u64::from(subgroup_vm_count(size))).map(|k| format!("{base}-{}", first + k)).collect()
}

/// The master VM of an MCI: the first VM in key (id) order whose status is Running.
pub fn master_vm(vms: &[VmStatusInfo]) -> Option<&VmStatusInfo> {
    vms.iter().filter(|vm| vm.vm_status() == VmStatus::Running).min_by(|a, b| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use VmStatus::*;

    fn repeat(parts: &[(VmStatus, usize)]) -> Vec<VmStatus> {
        parts.iter().flat_map(|&(s, n)| std::iter::repeat_n(s, n)).collect()
    }

    // --- aggregate_status ---------------------------------------------------------------------

    #[track_caller]
    fn check_aggregate(parts: &[(VmStatus, usize)], n: Option<usize>, expected: &str) {
        let (status, count) = aggregate_status(&repeat(parts), n);
        assert_eq!(status, expected, "{parts:?} n={n:?}");
        let sum: usize = VmStatus::ALL.iter().map(|&s| count.count(s)).sum();
        assert_eq!(sum, parts.iter().map(|p| p.1).sum::<usize>());
    }

    #[test]
    fn aggregate_reference_examples() {
        check_aggregate(&[(Running, 10)], None, "Running:10 (R:10/10)");
        check_aggregate(&[(Running, 7), (Failed, 3)], None, "Partial-Running:7 (R:7/10)");
        check_aggregate(&[(Running, 5), (Failed, 5)], None, "Partial-Failed:5 (R:5/10)");
        check_aggregate(&[(Failed, 1)], None, "Failed:1 (R:0/1)");
        check_aggregate(&[(Terminated, 5)], None, "Terminated:5 (R:0/5)");
    }

    #[test]
    fn aggregate_ties_follow_bucket_order() {
        // Suspended (index 1) beats Running (index 2); Running beats Terminated.
        check_aggregate(&[(Running, 2), (Suspended, 2)], None, "Partial-Suspended:2 (R:2/4)");
        check_aggregate(&[(Terminated, 1), (Running, 1)], None, "Partial-Running:1 (R:1/2)");
        // Terminating (index 8) beats Registering and Undefined, loses to Creating.
        check_aggregate(&[(Undefined, 1), (Registering, 1), (Terminating, 1)], None, "Partial-Terminating:1 (R:0/3)");
        check_aggregate(&[(Terminating, 1), (Creating, 1)], None, "Partial-Creating:1 (R:0/2)");
        check_aggregate(&[(Registering, 2), (Undefined, 2)], None, "Partial-Registering:2 (R:0/4)");
        check_aggregate(&[(Undefined, 3)], None, "Undefined:3 (R:0/3)");
        // The strictly greatest count wins regardless of order.
        check_aggregate(&[(Failed, 1), (Suspending, 3)], None, "Partial-Suspending:3 (R:0/4)");
    }

    #[test]
    fn aggregate_with_override_and_empty() {
        check_aggregate(&[(Running, 3)], Some(5), "Partial-Running:3 (R:3/5)");
        // An N below the number of statuses is raised: never "tmpMax > N".
        check_aggregate(&[(Running, 3)], Some(1), "Running:3 (R:3/3)");
        let (status, count) = aggregate_status(&[], Some(4));
        assert_eq!(status, "Empty");
        assert_eq!(count, StatusCountInfo::default());
    }

    #[test]
    fn aggregate_fills_every_counter() {
        let statuses = repeat(&[
            (Creating, 1),
            (Running, 2),
            (Suspending, 3),
            (Suspended, 4),
            (Resuming, 5),
            (Rebooting, 6),
            (Terminating, 7),
            (Terminated, 8),
            (Failed, 9),
            (Registering, 10),
            (Undefined, 11),
        ]);
        let (status, count) = aggregate_status(&statuses, Some(70));
        assert_eq!(status, "Partial-Undefined:11 (R:2/70)");
        assert_eq!(
            count,
            StatusCountInfo {
                count_total: 70,
                count_creating: 1,
                count_running: 2,
                count_suspending: 3,
                count_suspended: 4,
                count_resuming: 5,
                count_rebooting: 6,
                count_terminating: 7,
                count_terminated: 8,
                count_failed: 9,
                count_registering: 10,
                count_undefined: 11,
            }
        );
    }

    // --- count_total / mci_status -------------------------------------------------------------

    fn ctx<'a>(
        stored_status: &'a str,
        target_action: &'a str,
        target_status: &'a str,
        (previous_count_total, vm_key_count, embedded_vm_count): (usize, usize, usize),
    ) -> StatusContext<'a> {
        StatusContext {
            stored_status,
            target_action,
            target_status,
            previous_count_total,
            vm_key_count,
            embedded_vm_count,
        }
    }

    #[test]
    fn total_while_creating_never_shrinks() {
        let two = repeat(&[(Running, 1), (Creating, 1)]);
        for (c, expected) in [
            // Each of the four creating signals, with the previous total the largest.
            (ctx("Creating", "None", "None", (5, 3, 2)), 5),
            (ctx("Partial-Registering:1 (R:0/2)", "", "", (5, 3, 2)), 5),
            (ctx("Running:2 (R:2/2)", "Create", "None", (5, 3, 2)), 5),
            (ctx("Running:2 (R:2/2)", "None", "Running", (5, 3, 2)), 5),
            // The key count or embedded count wins when larger.
            (ctx("Creating", "Create", "Running", (0, 4, 2)), 4),
            (ctx("Creating", "Create", "Running", (0, 1, 6)), 6),
            // Nothing larger than the entries themselves.
            (ctx("Creating", "Create", "Running", (0, 0, 0)), 2),
        ] {
            assert_eq!(count_total(&two, &c), expected, "{c:?}");
        }
    }

    #[test]
    fn total_when_not_creating() {
        let uniform = repeat(&[(Suspended, 2)]);
        let mixed = repeat(&[(Suspended, 1), (Running, 1)]);
        let settled = ctx("Suspended:2 (R:0/2)", "None", "None", (9, 4, 3));
        // All alike: the largest VM count, but not the previous total.
        assert_eq!(count_total(&uniform, &settled), 4);
        let fewer_keys = ctx("Suspended:2 (R:0/2)", "None", "None", (9, 1, 3));
        assert_eq!(count_total(&uniform, &fewer_keys), 3);
        // Mixed: the number of statuses.
        assert_eq!(count_total(&mixed, &settled), 2);
    }

    #[test]
    fn mci_status_cases() {
        let cases: [(&[VmStatus], StatusContext<'_>, &str); 8] = [
            (&[], ctx("Running:2 (R:2/2)", "None", "None", (2, 0, 0)), "Empty"),
            (&[], ctx("", "", "", (0, 0, 0)), "Empty"),
            (&[], ctx("Preparing", "Create", "Running", (0, 0, 0)), "Preparing"),
            (&[], ctx("Prepared", "Create", "Running", (0, 0, 0)), "Prepared"),
            (&[], ctx("Creating", "Create", "Running", (0, 0, 0)), "Creating"),
            (&[], ctx("Failed", "None", "None", (0, 0, 0)), "Failed"),
            (&[Running, Running], ctx("Creating", "Create", "Running", (3, 3, 0)), "Partial-Running:2 (R:2/3)"),
            (
                &[Suspended, Running],
                ctx("Running:2 (R:2/2)", "Suspend", "Suspended", (9, 9, 9)),
                "Partial-Suspended:1 (R:1/2)",
            ),
        ];
        for (statuses, c, expected) in cases {
            let (status, count) = mci_status(statuses, &c);
            assert_eq!(status, expected, "{statuses:?} {c:?}");
            if statuses.is_empty() {
                assert_eq!(count, StatusCountInfo::default());
            } else {
                assert_eq!(count.count_total, count_total(statuses, &c));
            }
        }
    }

    // --- correct_vm_status --------------------------------------------------------------------

    #[test]
    fn correction_by_intent() {
        use TargetAction as A;
        #[rustfmt::skip]
        let cases = [
            // (fetched, stored, targetAction) -> corrected
            (Undefined, Creating, A::Create, Creating),
            (Running, Creating, A::Create, Running),
            (Undefined, Failed, A::Create, Failed),
            (Running, Failed, A::Create, Failed),
            (Undefined, Running, A::Terminate, Terminated),
            (Suspending, Running, A::Terminate, Terminating),
            (Running, Running, A::Terminate, Running),
            (Undefined, Suspended, A::Resume, Resuming),
            (Creating, Suspended, A::Resume, Resuming),
            (Suspended, Suspended, A::Resume, Resuming),
            (Running, Suspended, A::Resume, Running),
            (Undefined, Running, A::Suspend, Suspending),
            (Running, Running, A::Suspend, Suspending),
            (Resuming, Running, A::Suspend, Suspending),
            (Suspended, Running, A::Suspend, Suspended),
            (Undefined, Running, A::Reboot, Rebooting),
            (Suspending, Running, A::Reboot, Rebooting),
            (Suspended, Running, A::Reboot, Rebooting),
            (Creating, Running, A::Reboot, Rebooting),
            (Resuming, Running, A::Reboot, Rebooting),
            (Running, Running, A::Reboot, Running),
            // No intent: the fetched value stands.
            (Undefined, Running, A::None, Undefined),
            (Failed, Running, A::None, Failed),
            (Undefined, Running, A::Refine, Undefined),
            // Terminated is sticky, whatever the cloud or the intent says.
            (Running, Terminated, A::None, Terminated),
            (Undefined, Terminated, A::Create, Terminated),
            (Undefined, Terminated, A::Resume, Terminated),
            (Suspending, Terminated, A::Terminate, Terminated),
        ];
        for (fetched, stored, action, expected) in cases {
            assert_eq!(
                correct_vm_status(fetched, stored, action),
                expected,
                "fetched {fetched}, stored {stored}, action {action:?}"
            );
        }
    }

    // --- completion ---------------------------------------------------------------------------

    #[test]
    fn completion_cases() {
        assert_eq!(completion(Running, "Suspended"), None);
        assert_eq!(completion(Running, "None"), None);
        assert_eq!(completion(Running, ""), None);
        assert_eq!(
            completion(Running, "Running"),
            Some(Completion {
                target_status: "None",
                target_action: TargetAction::None,
                system_message: "Running==Running".to_string(),
                refresh_access: true,
            })
        );
        assert_eq!(
            completion(Suspended, "Suspended").map(|c| c.system_message),
            Some("Suspended==Suspended".to_string())
        );
        assert_eq!(
            completion(Terminated, "Terminated"),
            Some(Completion {
                target_status: "Terminated",
                target_action: TargetAction::Terminate,
                system_message: "terminated VM. No action is acceptable except deletion".to_string(),
                refresh_access: false,
            })
        );
    }

    #[test]
    fn completion_and_intent_write_the_vm_record() {
        let mut vm = VmInfo::default();
        let intent = action_intent(TargetAction::Suspend).unwrap();
        intent.apply_to(&mut vm);
        assert_eq!(
            (vm.status.as_str(), vm.target_action.as_str(), vm.target_status.as_str()),
            ("Suspending", "Suspend", "Suspended")
        );
        vm.set_status(Suspended);
        completion(vm.vm_status(), &vm.target_status).unwrap().apply_to(&mut vm);
        assert_eq!(
            (vm.target_action.as_str(), vm.target_status.as_str(), vm.system_message.as_str()),
            ("None", "None", "Suspended==Suspended")
        );
    }

    // --- action_intent ------------------------------------------------------------------------

    #[test]
    fn intents() {
        use TargetAction as A;
        let cases = [
            (A::Create, Some((Running, Creating))),
            (A::Suspend, Some((Suspended, Suspending))),
            (A::Resume, Some((Running, Resuming))),
            (A::Reboot, Some((Running, Rebooting))),
            (A::Terminate, Some((Terminated, Terminating))),
            (A::Refine, None),
            (A::Register, None),
            (A::None, None),
        ];
        for (action, expected) in cases {
            let got = action_intent(action);
            assert_eq!(got.map(|i| (i.target_status, i.immediate_status)), expected, "{action:?}");
            if let Some(i) = got {
                assert_eq!(i.target_action, action);
            }
        }
    }

    #[test]
    fn mci_intent_recovery() {
        use TargetAction as A;
        let cases: [(A, &[VmStatus], bool); 20] = [
            (A::Create, &[Running, Failed, Terminated], true),
            (A::Create, &[Running, Creating], false),
            (A::Create, &[Running, Registering], false),
            (A::Create, &[Running, Undefined], false),
            (A::Register, &[Running, Registering], false),
            (A::Create, &[], true),
            (A::Terminate, &[Terminated, Failed, Undefined], true),
            (A::Terminate, &[Terminated, Terminating], false),
            (A::Terminate, &[Terminated, Running], false),
            (A::Suspend, &[Suspended, Failed, Terminated, Undefined], true),
            (A::Suspend, &[Suspended, Suspending], false),
            (A::Suspend, &[Suspended, Running], false),
            (A::Resume, &[Running, Failed, Terminated, Undefined], true),
            (A::Resume, &[Running, Resuming], false),
            (A::Resume, &[Running, Suspended], false),
            (A::Reboot, &[Running, Running], true),
            (A::Reboot, &[Running, Rebooting], false),
            (A::None, &[Creating], true),
            (A::Refine, &[Creating], true),
            (A::Reboot, &[], true),
        ];
        for (action, statuses, expected) in cases {
            assert_eq!(mci_intent_reached(action, statuses), expected, "{action:?} {statuses:?}");
        }
    }

    #[test]
    fn failed_creation() {
        assert!(create_failed_entirely(&[Failed, Failed]));
        assert!(create_failed_entirely(&[Failed, Terminated]));
        assert!(!create_failed_entirely(&[Failed, Running]));
        assert!(!create_failed_entirely(&[]));
    }

    // --- transitions --------------------------------------------------------------------------

    #[track_caller]
    fn check_vm(status: VmStatus, action: &str, expected: Result<(), &str>) {
        let got = check_vm_transition(status, action).map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_string), "{action} on {status}");
    }

    #[test]
    fn vm_transitions() {
        let ok = Ok(());
        // Rule 0: only four actions are known.
        for action in ["refine", "create", "continue", ""] {
            check_vm(Running, action, Err(&format!("requested action {action} is not matched with available actions")));
        }
        // Rule 1: already in the target (reboot on Running is allowed, v0.12).
        check_vm(Suspended, "suspend", Err("suspend is not allowed for VM under Suspended"));
        check_vm(Running, "resume", Err("resume is not allowed for VM under Running"));
        check_vm(Running, "reboot", ok);
        // Rule 2: Terminated accepts only terminate (idempotent, v0.12).
        check_vm(Terminated, "terminate", ok);
        check_vm(Terminated, "Terminate", ok);
        for action in ["suspend", "resume", "reboot"] {
            check_vm(Terminated, action, Err(&format!("{action} is not allowed for VM under Terminated")));
        }
        // Rule 3: transitional statuses refuse everything.
        for status in [Creating, Terminating, Resuming, Suspending, Rebooting, Registering] {
            for action in ["suspend", "resume", "reboot", "terminate"] {
                check_vm(status, action, Err(&format!("{action} is not allowed for VM under {status}")));
            }
        }
        // Rule 4: Suspended accepts resume and terminate only.
        check_vm(Suspended, "resume", ok);
        check_vm(Suspended, "terminate", ok);
        check_vm(Suspended, "reboot", Err("reboot is not allowed for VM under Suspended"));
        // Rule 5: the rest is allowed.
        for action in ["suspend", "reboot", "terminate"] {
            check_vm(Running, action, ok);
        }
        for status in [Failed, Undefined] {
            for action in ["suspend", "resume", "reboot", "terminate"] {
                check_vm(status, action, ok);
            }
        }
        // Case-insensitive action, echoed as given.
        check_vm(Suspended, "SUSPEND", Err("SUSPEND is not allowed for VM under Suspended"));
    }

    #[track_caller]
    fn check_mci(status: &str, target_action: TargetAction, action: &str, force: bool, expected: Result<(), &str>) {
        let got = check_mci_transition("mci01", status, target_action, action, force).map_err(|e| e.to_string());
        assert_eq!(
            got,
            expected.map_err(str::to_string),
            "{action} on {status} under {target_action:?}, force {force}"
        );
    }

    #[test]
    fn mci_transitions() {
        use TargetAction as A;
        let ok = Ok(());
        // Decorated final states never match the equality rules.
        check_mci("Running:3 (R:3/3)", A::None, "resume", false, ok);
        check_mci("Suspended:3 (R:0/3)", A::None, "suspend", false, ok);
        check_mci("Suspended:3 (R:0/3)", A::None, "reboot", false, ok);
        check_mci("Terminated:3 (R:0/3)", A::None, "resume", false, ok);
        check_mci("Partial-Failed:1 (R:1/2)", A::None, "terminate", false, ok);
        check_mci("Empty", A::None, "suspend", false, ok);
        // A transitional status anywhere in the string refuses.
        for status in [
            "Partial-Suspending:2 (R:1/3)",
            "Creating:3 (R:0/3)",
            "Partial-Rebooting:2 (R:1/3)",
            "Terminating:1 (R:0/1)",
            "Resuming:1 (R:0/1)",
            "Registering:1 (R:0/1)",
        ] {
            check_mci(
                status,
                A::None,
                "terminate",
                false,
                Err(&format!("terminate is not allowed for MCI under {status}")),
            );
            check_mci(status, A::None, "terminate", true, ok);
        }
        // Plain words do meet the equality rules.
        check_mci("Suspended", A::None, "suspend", false, Err("suspend is not allowed for MCI under Suspended"));
        check_mci("Suspended", A::None, "reboot", false, Err("reboot is not allowed for MCI under Suspended"));
        check_mci("Suspended", A::None, "resume", false, ok);
        check_mci("Terminated", A::None, "terminate", false, ok);
        check_mci("Terminated", A::None, "resume", false, Err("resume is not allowed for MCI under Terminated"));
        // A pending intent refuses before anything else, unless forced.
        check_mci(
            "Running:3 (R:3/3)",
            A::Suspend,
            "resume",
            false,
            Err("MCI mci01 is under Suspend, please try later"),
        );
        check_mci("Running:3 (R:3/3)", A::Create, "bogus", false, Err("MCI mci01 is under Create, please try later"));
        check_mci("Running:3 (R:3/3)", A::Suspend, "resume", true, ok);
        // Unknown actions.
        check_mci(
            "Running:3 (R:3/3)",
            A::None,
            "refine",
            false,
            Err("requested action refine is not matched with available actions"),
        );
    }

    #[test]
    fn mci_idle() {
        assert_eq!(check_mci_idle("m", TargetAction::None, false), Ok(()));
        assert_eq!(check_mci_idle("m", TargetAction::Terminate, true), Ok(()));
        assert_eq!(
            check_mci_idle("m", TargetAction::Terminate, false).unwrap_err().to_string(),
            "MCI m is under Terminate, please try later"
        );
    }

    // --- deletion -----------------------------------------------------------------------------

    #[test]
    fn delete_precondition() {
        use DeleteOption as O;
        let refused = |status: &str| {
            Err(format!(
                "MCI mci01 is {status} and not Terminated/Undefined/Failed, Deletion is not allowed (use option=force for force deletion)"
            ))
        };
        let cases: [(&str, DeleteOption, Result<(), String>); 14] = [
            ("Terminated:3 (R:0/3)", O::None, Ok(())),
            ("Undefined:1 (R:0/1)", O::None, Ok(())),
            ("Failed:2 (R:0/2)", O::None, Ok(())),
            ("Failed", O::None, Ok(())),
            ("Preparing", O::None, Ok(())),
            ("Prepared", O::None, Ok(())),
            ("Empty", O::None, Ok(())),
            ("Terminated:3 (R:0/3)", O::Terminate, Ok(())),
            ("Running:3 (R:3/3)", O::None, refused("Running:3 (R:3/3)")),
            ("Running:3 (R:3/3)", O::Terminate, refused("Running:3 (R:3/3)")),
            ("Partial-Terminated:2 (R:1/3)", O::None, refused("Partial-Terminated:2 (R:1/3)")),
            ("Partial-Failed:5 (R:5/10)", O::None, refused("Partial-Failed:5 (R:5/10)")),
            ("Running:3 (R:3/3)", O::Force, Ok(())),
            ("Partial-Failed:5 (R:5/10)", O::Force, Ok(())),
        ];
        for (status, option, expected) in cases {
            assert_eq!(
                check_mci_delete("mci01", status, option).map_err(|e| e.to_string()),
                expected,
                "{status} {option:?}"
            );
        }
    }

    #[test]
    fn delete_options_and_pre_termination() {
        for (word, option) in [
            ("", DeleteOption::None),
            ("terminate", DeleteOption::Terminate),
            ("TERMINATE", DeleteOption::Terminate),
            ("force", DeleteOption::Force),
            ("other", DeleteOption::None),
        ] {
            assert_eq!(DeleteOption::parse(word), option, "{word}");
        }
        assert!(terminate_before_delete("Running:3 (R:3/3)", DeleteOption::Terminate));
        assert!(terminate_before_delete("Partial-Terminated:2 (R:1/3)", DeleteOption::Terminate));
        assert!(!terminate_before_delete("Terminated:3 (R:0/3)", DeleteOption::Terminate));
        assert!(!terminate_before_delete("Running:3 (R:3/3)", DeleteOption::None));
    }

    // --- naming and master VM -----------------------------------------------------------------

    #[test]
    fn names_of_vms() {
        let cases: [(&str, Option<u32>, u32, &[&str]); 6] = [
            ("g1", Some(3), 1, &["g1-1", "g1-2", "g1-3"]),
            ("g1", None, 1, &["g1-1"]),
            ("g1", Some(1), 1, &["g1-1"]),
            ("g1", Some(0), 1, &["g1"]),
            ("g1", Some(2), 4, &["g1-4", "g1-5"]),
            ("My_Group", Some(2), 1, &["my-group-1", "my-group-2"]),
        ];
        for (subgroup, size, start, expected) in cases {
            assert_eq!(vm_names(subgroup, size, start), expected, "{subgroup} {size:?} {start}");
        }
        assert_eq!(vm_names("g", Some(2), u32::MAX), ["g-4294967295", "g-4294967296"]);
        assert_eq!(subgroup_vm_count(None), 1);
        assert_eq!(subgroup_vm_count(Some(0)), 1);
        assert_eq!(subgroup_vm_count(Some(7)), 7);
    }

    fn vm(id: &str, status: &str, ip: &str) -> VmStatusInfo {
        VmStatusInfo {
            id: id.to_string(),
            status: status.to_string(),
            public_ip: ip.to_string(),
            ssh_port: 22,
            ..VmStatusInfo::default()
        }
    }

    #[test]
    fn master_is_first_running_in_key_order() {
        let vms =
            [vm("g2-1", "Running", "10.0.0.3"), vm("g1-2", "Running", "10.0.0.2"), vm("g1-1", "Suspended", "10.0.0.1")];
        assert_eq!(master_vm(&vms).map(|v| v.id.as_str()), Some("g1-2"));
        // Key order is byte order: g1-10 sorts before g1-2.
        let vms = [vm("g1-2", "Running", "b"), vm("g1-10", "Running", "a")];
        assert_eq!(master_vm(&vms).map(|v| v.id.as_str()), Some("g1-10"));
        let none = [vm("g1-1", "Failed", ""), vm("g1-2", "Creating", "")];
        assert_eq!(master_vm(&none), None);
        assert_eq!(master_vm(&[]), None);
    }
}
