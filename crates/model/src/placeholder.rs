//! `$$Func(...)` placeholders in remote commands (reference §6).
//!
//! Before a command runs on a VM, every `$$Func(Name(key=value, ...))` in it is replaced by a
//! value computed for that VM. The rules below are those of CB-Tumblebug's `processCommand`,
//! `extractFunctionAndParams`, `splitParams` and the `replaceWith*` helpers in
//! `src/core/infra/remoteCommand.go` (v0.12.5, the last release spelling MCI/VM; from v0.12.10
//! the same code speaks of Infra/Node), and of `MatchesLabelSelector` in
//! `src/core/common/label/label.go`.
//!
//! Finding a placeholder:
//! - The marker `$$Func(` is matched case-sensitively, anywhere in the text: shell quoting means
//!   nothing to it, so `'$$Func(GetVmId())'` is expanded too.
//! - Its end is found by counting `(` and `)` from the marker on; quotes are not considered, so a
//!   parenthesis inside a quoted value unbalances the count. No closing parenthesis is an error.
//! - The inside must look like `Name(params)`, optionally surrounded by ASCII whitespace: the name
//!   is ASCII letters and digits directly followed by `(`, the last non-blank character is `)`,
//!   and the parameters hold no newline. Anything else (`$$Func(GetVmId)`, `$$Func()`) is an error.
//! - After each replacement the search starts again from the beginning of the text, so a
//!   replacement that itself holds `$$Func(` is expanded in turn (a task list may carry
//!   placeholders). Go gives up after 100 loop passes, the last of which finds nothing: at most
//!   [`MAX_EXPANSIONS`] (98) replacements per command.
//!
//! Parameters:
//! - Split at commas outside single quotes (double quotes are ordinary characters). A piece
//!   without `=` is ignored; otherwise the key is the text before the first `=`, trimmed and
//!   case-sensitive, and the value the text after it, not trimmed, with one pair of surrounding
//!   single quotes removed. A later key overrides an earlier one; unknown keys are ignored.
//!   So `separator=' '` is a space, `prefix= x` keeps its space, and an unquoted comma ends a value.
//! - Function names are case-insensitive. An unknown name is an error naming it.
//!
//! Functions (every one takes `prefix` and `postfix`, default empty, glued around each value,
//! except `AssignTask`):
//! - `GetNsId()`, `GetMciId()`, `GetVmId()`: the ids of the command's namespace, MCI and VM.
//!   `GetInfraId()`/`GetNodeId()` (the v0.12.10+ names) are accepted as the same functions.
//! - `GetPublicIP(target=...)`, `GetPrivateIP(target=...)`: an address of one VM. `target` absent
//!   or `this` (any case) is the VM the command runs on; `mciId.vmId` (exactly one dot) names
//!   another, either part may be `this` (lower case only), an empty part is an error. Any other
//!   value (`vm2`, `a.b.c`) silently means the VM itself: Go does so, and so does this module.
//! - `GetPublicIPs(...)`, `GetPrivateIPs(...)`: the addresses of every VM of an MCI, sorted by VM
//!   id (Go sorts the MCI status that way), each wrapped in prefix/postfix, joined by `separator`
//!   (default `,`). `target` is an MCI id (or `this`, any case; default the command's MCI).
//!   `label` keeps only VMs matching a label selector (see [`matches_label_selector`]); no match
//!   gives an empty string, not an error. Go also requires the VMs to carry the system labels
//!   `sys.namespace`/`sys.mciId`; here the VMs handed in are the MCI's VMs by construction.
//! - `AssignTask(task='a,b,c')`: the task list is split like parameters (commas outside single
//!   quotes, pieces not trimmed, a trailing empty piece dropped) and the VM at position `i` of the
//!   targeted VM list gets task `i % n`. No `task` is an error; an empty list is an error here
//!   (Go divides by zero).
//! - `GetLocationDisplay()`, `GetLocationLatitude()`, `GetLocationLongitude()`: the VM's location;
//!   numbers are printed like Go's `%g` (`37.5665`, `1e-05`). `target` is trimmed; empty or `this`
//!   is the VM itself, `mciId.vmId` as above, anything else is an error.
//!
//! Where this module differs from Go on purpose: IP functions read the addresses in the VM
//! records handed in (Go asks the cloud for the current public IP of the single-VM functions),
//! and a value that is just `'` is kept as is (Go panics).

use std::collections::{BTreeMap, BTreeSet};

use crate::mci::VmInfo;

/// The text that opens a placeholder.
pub const MARKER: &str = "$$Func(";

/// Replacements allowed in one command (Go's bound of 100 loop passes, one spent finding nothing,
/// and an off-by-one in its final check).
pub const MAX_EXPANSIONS: usize = 98;

static NO_OTHER_MCIS: BTreeMap<String, Vec<VmInfo>> = BTreeMap::new();

/// What the expansion can see: the VM the command runs on and the VMs it may refer to.
#[derive(Debug, Clone, Copy)]
pub struct FuncContext<'a> {
    pub ns_id: &'a str,
    pub mci_id: &'a str,
    /// The VM this copy of the command runs on.
    pub vm: &'a VmInfo,
    /// Position of `vm` in the list of VMs the command targets (what `AssignTask` distributes over).
    pub vm_index: usize,
    /// Every VM of the MCI, targeted or not, in any order.
    pub vms: &'a [VmInfo],
    /// VMs of other MCIs of the namespace named by `target` parameters, by MCI id; load the ones
    /// [`referenced_mcis`] lists. An MCI missing here is reported as not found.
    pub other_mcis: &'a BTreeMap<String, Vec<VmInfo>>,
}

impl<'a> FuncContext<'a> {
    /// A context that knows no other MCI.
    pub fn new(ns_id: &'a str, mci_id: &'a str, vm: &'a VmInfo, vm_index: usize, vms: &'a [VmInfo]) -> Self {
        Self { ns_id, mci_id, vm, vm_index, vms, other_mcis: &NO_OTHER_MCIS }
    }

    pub fn with_other_mcis(self, other_mcis: &'a BTreeMap<String, Vec<VmInfo>>) -> Self {
        Self { other_mcis, ..self }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("built-in function error in command: no matching parenthesis for the $$Func( at byte {at}")]
    Unclosed { at: usize },
    #[error("built-in function error in command: no function found in $$Func({call})")]
    NoFunction { call: String },
    #[error("built-in function error in command: unknown function: {name}")]
    UnknownFunction { name: String },
    #[error("built-in function {func} error: target {target:?} is invalid; expected \"this\" or \"mciId.vmId\"")]
    InvalidTarget { func: &'static str, target: String },
    #[error("built-in function AssignTask error: no task list provided")]
    NoTaskList,
    #[error("built-in function AssignTask error: the task list is empty")]
    EmptyTaskList,
    #[error("built-in function {func} error: MCI {mci_id:?} not found")]
    MciNotFound { func: &'static str, mci_id: String },
    #[error("built-in function {func} error: VM {vm_id:?} not found in MCI {mci_id:?}")]
    VmNotFound { func: &'static str, mci_id: String, vm_id: String },
    #[error("built-in function error: more than {max} replacements, possible infinite loop", max = MAX_EXPANSIONS)]
    TooManyExpansions,
}

/// Whether the command holds at least one placeholder marker.
pub fn has_placeholders(command: &str) -> bool {
    command.contains(MARKER)
}

/// The command with every placeholder replaced by its value for `ctx.vm`.
pub fn expand(command: &str, ctx: &FuncContext<'_>) -> Result<String, PlaceholderError> {
    let mut text = command.to_owned();
    let mut replacements = 0;
    while let Some(start) = text.find(MARKER) {
        if replacements == MAX_EXPANSIONS {
            return Err(PlaceholderError::TooManyExpansions);
        }
        let call = locate_call(&text, start)?;
        let value = evaluate(&parse_call(&text[call.inside.clone()])?, ctx)?;
        text.replace_range(start..call.end, &value);
        replacements += 1;
    }
    Ok(text)
}

/// Ids of MCIs other than `mci_id` that the command's placeholders name in a `target`, so the
/// caller can load their VMs into [`FuncContext::other_mcis`] first. Placeholders nested in
/// parameters are scanned too; ones that do not parse are skipped (expansion reports them).
pub fn referenced_mcis(command: &str, mci_id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (start, _) in command.match_indices(MARKER) {
        let Ok(located) = locate_call(command, start) else { continue };
        let Ok(call) = parse_call(&command[located.inside]) else { continue };
        let Some(func) = Func::from_name(call.name) else { continue };
        let Some(target) = call.param("target") else { continue };
        let named = match func {
            Func::PublicIp | Func::PrivateIp => two_part_target(target).map(|(mci, _)| mci),
            Func::LocationDisplay | Func::LocationLatitude | Func::LocationLongitude => {
                two_part_target(target.trim()).map(|(mci, _)| mci)
            }
            Func::PublicIps | Func::PrivateIps => (!target.eq_ignore_ascii_case("this")).then_some(target),
            Func::AssignTask | Func::NsId | Func::MciId | Func::VmId => None,
        };
        if let Some(named) = named.filter(|m| !m.is_empty() && *m != "this" && *m != mci_id) {
            out.insert(named.to_owned());
        }
    }
    out
}

/// CB-Tumblebug's label selector: conditions separated by commas, all of which must hold.
/// Each (trimmed) is tested in this order: `k!=v` (k present with another value), `k=v`,
/// `k in (v)`, `k notin (v)` (holds when k is absent), `k exists`, `k !exists`; anything else,
/// an empty condition included, never holds. Because the split at commas comes first, `in` and
/// `notin` see a single value: `k in (a,b)` never holds (as in Go).
pub fn matches_label_selector(labels: &BTreeMap<String, String>, selector: &str) -> bool {
    selector.split(',').all(|condition| condition_holds(labels, condition.trim()))
}

fn condition_holds(labels: &BTreeMap<String, String>, condition: &str) -> bool {
    let value_of = |key: &str| labels.get(key.trim()).map(String::as_str);
    let listed = |list: &str, value: &str| {
        list.trim_matches(|c| c == '(' || c == ')').split(',').any(|item| item.trim() == value)
    };
    if let Some((key, value)) = condition.split_once("!=") {
        value_of(key).is_some_and(|v| v != value.trim())
    } else if let Some((key, value)) = condition.split_once('=') {
        value_of(key) == Some(value.trim())
    } else if let Some((key, list)) = condition.split_once(" in ") {
        value_of(key).is_some_and(|v| listed(list, v))
    } else if let Some((key, list)) = condition.split_once(" notin ") {
        value_of(key).is_none_or(|v| !listed(list, v))
    } else if let Some(key) = condition.strip_suffix(" exists") {
        value_of(key).is_some()
    } else if let Some(key) = condition.strip_suffix(" !exists") {
        value_of(key).is_none()
    } else {
        false
    }
}

/// Where a placeholder starting at a marker ends, and where its `Name(params)` lies.
struct Located {
    inside: std::ops::Range<usize>,
    /// One past the closing parenthesis.
    end: usize,
}

fn locate_call(text: &str, start: usize) -> Result<Located, PlaceholderError> {
    let inside_start = start + MARKER.len();
    let mut depth = 1usize;
    for (offset, byte) in text.as_bytes()[inside_start..].iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    let close = inside_start + offset;
                    return Ok(Located { inside: inside_start..close, end: close + 1 });
                }
            }
            _ => {}
        }
    }
    Err(PlaceholderError::Unclosed { at: start })
}

struct Call<'s> {
    name: &'s str,
    params: BTreeMap<&'s str, &'s str>,
}

impl<'s> Call<'s> {
    fn param(&self, key: &str) -> Option<&'s str> {
        self.params.get(key).copied()
    }

    fn param_or(&self, key: &str, default: &'s str) -> &'s str {
        self.param(key).unwrap_or(default)
    }
}

/// Go's regexp `\s` (RE2's Perl class), which is narrower than Unicode whitespace.
fn is_regex_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

fn parse_call(inside: &str) -> Result<Call<'_>, PlaceholderError> {
    let no_function = || PlaceholderError::NoFunction { call: inside.to_owned() };
    let body = inside.trim_start_matches(is_regex_space);
    let name_len = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
    let (name, rest) = body.split_at(name_len);
    let params = rest
        .strip_prefix('(')
        .and_then(|rest| rest.trim_end_matches(is_regex_space).strip_suffix(')'))
        .filter(|params| !name.is_empty() && !params.contains('\n'))
        .ok_or_else(no_function)?;
    let params = split_params(params)
        .into_iter()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.trim(), unquote(value)))
        .collect();
    Ok(Call { name, params })
}

/// Splits at commas outside single quotes, keeping the quotes; a trailing empty piece is dropped.
fn split_params(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut in_quotes = false;
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'\'' => in_quotes = !in_quotes,
            b',' if !in_quotes => {
                pieces.push(&text[piece_start..i]);
                piece_start = i + 1;
            }
            _ => {}
        }
    }
    if piece_start < text.len() {
        pieces.push(&text[piece_start..]);
    }
    pieces
}

fn unquote(value: &str) -> &str {
    value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    PublicIp,
    PrivateIp,
    PublicIps,
    PrivateIps,
    AssignTask,
    NsId,
    MciId,
    VmId,
    LocationDisplay,
    LocationLatitude,
    LocationLongitude,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, Func); 13] = [
            ("GetPublicIP", Func::PublicIp),
            ("GetPrivateIP", Func::PrivateIp),
            ("GetPublicIPs", Func::PublicIps),
            ("GetPrivateIPs", Func::PrivateIps),
            ("AssignTask", Func::AssignTask),
            ("GetNsId", Func::NsId),
            ("GetMciId", Func::MciId),
            ("GetInfraId", Func::MciId),
            ("GetVmId", Func::VmId),
            ("GetNodeId", Func::VmId),
            ("GetLocationDisplay", Func::LocationDisplay),
            ("GetLocationLatitude", Func::LocationLatitude),
            ("GetLocationLongitude", Func::LocationLongitude),
        ];
        NAMES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, func)| *func)
    }

    fn name(self) -> &'static str {
        match self {
            Func::PublicIp => "GetPublicIP",
            Func::PrivateIp => "GetPrivateIP",
            Func::PublicIps => "GetPublicIPs",
            Func::PrivateIps => "GetPrivateIPs",
            Func::AssignTask => "AssignTask",
            Func::NsId => "GetNsId",
            Func::MciId => "GetMciId",
            Func::VmId => "GetVmId",
            Func::LocationDisplay => "GetLocationDisplay",
            Func::LocationLatitude => "GetLocationLatitude",
            Func::LocationLongitude => "GetLocationLongitude",
        }
    }
}

fn evaluate(call: &Call<'_>, ctx: &FuncContext<'_>) -> Result<String, PlaceholderError> {
    let func =
        Func::from_name(call.name).ok_or_else(|| PlaceholderError::UnknownFunction { name: call.name.into() })?;
    let wrap = |value: &str| format!("{}{value}{}", call.param_or("prefix", ""), call.param_or("postfix", ""));
    match func {
        Func::NsId => Ok(wrap(ctx.ns_id)),
        Func::MciId => Ok(wrap(ctx.mci_id)),
        Func::VmId => Ok(wrap(&ctx.vm.id)),
        Func::PublicIp | Func::PrivateIp => {
            let (mci_id, vm_id) = ip_target(ctx, func, call.param("target"))?;
            let vm = find_vm(ctx, func, mci_id, vm_id)?;
            Ok(wrap(if func == Func::PublicIp { &vm.public_ip } else { &vm.private_ip }))
        }
        Func::PublicIps | Func::PrivateIps => {
            let mci_id = match call.param("target") {
                Some(target) if !target.eq_ignore_ascii_case("this") => target,
                _ => ctx.mci_id,
            };
            let label = call.param_or("label", "");
            let mut vms: Vec<&VmInfo> = mci_vms(ctx, func, mci_id)?
                .iter()
                .filter(|vm| label.is_empty() || matches_label_selector(&vm.label, label))
                .collect();
            vms.sort_by(|a, b| a.id.cmp(&b.id));
            let ips: Vec<String> = vms
                .iter()
                .map(|vm| wrap(if func == Func::PublicIps { &vm.public_ip } else { &vm.private_ip }))
                .collect();
            Ok(ips.join(call.param_or("separator", ",")))
        }
        Func::AssignTask => {
            let tasks = split_params(call.param("task").ok_or(PlaceholderError::NoTaskList)?);
            if tasks.is_empty() {
                return Err(PlaceholderError::EmptyTaskList);
            }
            Ok(tasks[ctx.vm_index % tasks.len()].to_owned())
        }
        Func::LocationDisplay | Func::LocationLatitude | Func::LocationLongitude => {
            let (mci_id, vm_id) = location_target(ctx, func, call.param("target"))?;
            let location = &find_vm(ctx, func, mci_id, vm_id)?.location;
            Ok(match func {
                Func::LocationDisplay => wrap(&location.display),
                Func::LocationLatitude => wrap(&format_go_g(location.latitude)),
                _ => wrap(&format_go_g(location.longitude)),
            })
        }
    }
}

/// `mciId.vmId` split at its only dot; `None` for no dot or several.
fn two_part_target(target: &str) -> Option<(&str, &str)> {
    target.split_once('.').filter(|(_, vm)| !vm.contains('.'))
}

/// Resolves `this` parts of a two-part target against the context.
fn resolve_two_parts<'x>(
    ctx: &FuncContext<'x>,
    func: Func,
    target: &str,
    (mci, vm): (&'x str, &'x str),
) -> Result<(&'x str, &'x str), PlaceholderError> {
    let mci = if mci == "this" { ctx.mci_id } else { mci };
    let vm = if vm == "this" { ctx.vm.id.as_str() } else { vm };
    if mci.is_empty() || vm.is_empty() {
        return Err(PlaceholderError::InvalidTarget { func: func.name(), target: target.into() });
    }
    Ok((mci, vm))
}

fn ip_target<'x>(
    ctx: &FuncContext<'x>,
    func: Func,
    target: Option<&'x str>,
) -> Result<(&'x str, &'x str), PlaceholderError> {
    match target.and_then(|t| two_part_target(t).map(|parts| (t, parts))) {
        Some((target, parts)) => resolve_two_parts(ctx, func, target, parts),
        // Go ignores every other target value, `this` or not.
        None => Ok((ctx.mci_id, ctx.vm.id.as_str())),
    }
}

fn location_target<'x>(
    ctx: &FuncContext<'x>,
    func: Func,
    target: Option<&'x str>,
) -> Result<(&'x str, &'x str), PlaceholderError> {
    let target = target.map(str::trim).unwrap_or_default();
    if target.is_empty() || target.eq_ignore_ascii_case("this") {
        return Ok((ctx.mci_id, ctx.vm.id.as_str()));
    }
    match two_part_target(target) {
        Some(parts) => resolve_two_parts(ctx, func, target, parts),
        None => Err(PlaceholderError::InvalidTarget { func: func.name(), target: target.into() }),
    }
}

fn mci_vms<'x>(ctx: &FuncContext<'x>, func: Func, mci_id: &str) -> Result<&'x [VmInfo], PlaceholderError> {
    if mci_id == ctx.mci_id {
        return Ok(ctx.vms);
    }
    ctx.other_mcis
        .get(mci_id)
        .map(Vec::as_slice)
        .ok_or_else(|| PlaceholderError::MciNotFound { func: func.name(), mci_id: mci_id.into() })
}

fn find_vm<'x>(ctx: &FuncContext<'x>, func: Func, mci_id: &str, vm_id: &str) -> Result<&'x VmInfo, PlaceholderError> {
    if mci_id == ctx.mci_id && vm_id == ctx.vm.id {
        return Ok(ctx.vm);
    }
    mci_vms(ctx, func, mci_id)?.iter().find(|vm| vm.id == vm_id).ok_or_else(|| PlaceholderError::VmNotFound {
        func: func.name(),
        mci_id: mci_id.into(),
        vm_id: vm_id.into(),
    })
}

/// Go's `fmt.Sprintf("%g", v)`: shortest round-trip digits, exponent form when the decimal
/// exponent is below -4 or at least 6 (`1e-05`, `1.234567e+06`).
fn format_go_g(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0");
    }
    // Rust's `{:e}` yields the same shortest digits as `d.ddde<exp>`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exponent.unsigned_abs());
    }
    // Plain form: the decimal point sits `exponent + 1` digits in.
    let point = exponent + 1;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{plain}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Location;

    fn vm(id: &str, public_ip: &str, private_ip: &str, labels: &[(&str, &str)]) -> VmInfo {
        VmInfo {
            id: id.into(),
            public_ip: public_ip.into(),
            private_ip: private_ip.into(),
            label: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            location: Location { display: format!("Seoul ({id})"), latitude: 37.5665, longitude: 126.978 },
            ..VmInfo::default()
        }
    }

    /// Three VMs deliberately out of id order; g1-2 is the one the command runs on.
    fn fleet() -> Vec<VmInfo> {
        vec![
            vm("g2-1", "3.3.3.3", "10.0.0.3", &[("role", "worker"), ("env", "dev")]),
            vm("g1-1", "1.1.1.1", "10.0.0.1", &[("role", "head")]),
            vm("g1-2", "2.2.2.2", "10.0.0.2", &[("role", "worker"), ("env", "prod")]),
        ]
    }

    fn others() -> BTreeMap<String, Vec<VmInfo>> {
        let mut far = vm("far-1", "9.9.9.9", "172.16.0.9", &[]);
        far.location = Location { display: "Tokyo".into(), latitude: 35.6895, longitude: 139.6917 };
        BTreeMap::from([("mci2".to_string(), vec![far, vm("far-0", "8.8.8.8", "172.16.0.8", &[])])])
    }

    /// Expands for VM g1-2 (position `index` of the targeted list) of `mci1` in `ns1`.
    fn expand_at(command: &str, index: usize) -> Result<String, PlaceholderError> {
        let vms = fleet();
        let other = others();
        let ctx = FuncContext::new("ns1", "mci1", &vms[2], index, &vms).with_other_mcis(&other);
        expand(command, &ctx)
    }

    fn run(command: &str) -> String {
        match expand_at(command, 0) {
            Ok(text) => text,
            Err(err) => panic!("{command:?} failed: {err}"),
        }
    }

    fn fails(command: &str) -> PlaceholderError {
        match expand_at(command, 0) {
            Ok(text) => panic!("{command:?} expanded to {text:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn ids_with_prefix_and_postfix_quoted_or_not() {
        assert_eq!(run("$$Func(GetNsId())"), "ns1");
        assert_eq!(run("$$Func(GetMciId())"), "mci1");
        assert_eq!(run("$$Func(GetVmId())"), "g1-2");
        assert_eq!(run("$$Func(GetVmId(prefix=vm-, postfix=.log))"), "vm-g1-2.log");
        assert_eq!(run("$$Func(GetVmId(prefix='[ ', postfix=' ]'))"), "[ g1-2 ]");
        assert_eq!(run("$$Func(GetInfraId())/$$Func(GetNodeId())"), "mci1/g1-2");
    }

    #[test]
    fn function_names_ignore_case_but_keys_do_not() {
        assert_eq!(run("$$Func(getvmid())"), "g1-2");
        assert_eq!(run("$$Func(GETPUBLICIP())"), "2.2.2.2");
        assert_eq!(run("$$Func(GetVmId(Prefix=x))"), "g1-2");
    }

    #[test]
    fn keys_are_trimmed_values_are_not_and_the_last_key_wins() {
        assert_eq!(run("$$Func(GetVmId( prefix =x))"), "xg1-2");
        assert_eq!(run("$$Func(GetVmId(prefix= x))"), " xg1-2");
        assert_eq!(run("$$Func(GetVmId(prefix= 'x'))"), " 'x'g1-2");
        assert_eq!(run("$$Func(GetVmId(prefix=a, prefix=b))"), "bg1-2");
        assert_eq!(run("$$Func(GetVmId(junk, prefix=a=b))"), "a=bg1-2");
        assert_eq!(run("$$Func(GetVmId(prefix=\"q\"))"), "\"q\"g1-2");
        assert_eq!(run("$$Func(GetVmId(prefix='))"), "'g1-2");
    }

    #[test]
    fn public_and_private_ip_of_this_vm() {
        assert_eq!(run("$$Func(GetPublicIP())"), "2.2.2.2");
        assert_eq!(run("$$Func(GetPrivateIP())"), "10.0.0.2");
        assert_eq!(run("$$Func(GetPublicIP(target=this, prefix=http://, postfix=:3000))"), "http://2.2.2.2:3000");
        assert_eq!(run("$$Func(GetPublicIP(target=THIS))"), "2.2.2.2");
        assert_eq!(run("$$Func(GetPrivateIP(target=this.this))"), "10.0.0.2");
        assert_eq!(run("$$Func(GetPrivateIP(target='mci1.g1-2'))"), "10.0.0.2");
    }

    #[test]
    fn ip_of_another_vm_by_mci_dot_vm() {
        assert_eq!(run("$$Func(GetPublicIP(target=this.g1-1))"), "1.1.1.1");
        assert_eq!(run("$$Func(GetPrivateIP(target=mci1.g2-1))"), "10.0.0.3");
        assert_eq!(run("$$Func(GetPublicIP(target=mci2.far-1))"), "9.9.9.9");
        // `this` as the VM part is the command's VM id, looked up in the named MCI.
        assert_eq!(
            fails("$$Func(GetPrivateIP(target=mci2.this))"),
            PlaceholderError::VmNotFound { func: "GetPrivateIP", mci_id: "mci2".into(), vm_id: "g1-2".into() }
        );
    }

    #[test]
    fn ip_target_other_shapes_fall_back_to_this_vm_as_go_does() {
        assert_eq!(run("$$Func(GetPublicIP(target=g1-1))"), "2.2.2.2");
        assert_eq!(run("$$Func(GetPublicIP(target=a.b.c))"), "2.2.2.2");
        assert_eq!(run("$$Func(GetPublicIP(target=))"), "2.2.2.2");
    }

    #[test]
    fn ip_target_errors() {
        assert!(matches!(fails("$$Func(GetPublicIP(target=.g1-1))"), PlaceholderError::InvalidTarget { .. }));
        assert!(matches!(fails("$$Func(GetPrivateIP(target=mci1.))"), PlaceholderError::InvalidTarget { .. }));
        let err = fails("$$Func(GetPrivateIP(target=mci1.nope))");
        assert_eq!(
            err,
            PlaceholderError::VmNotFound { func: "GetPrivateIP", mci_id: "mci1".into(), vm_id: "nope".into() }
        );
        assert!(err.to_string().contains("GetPrivateIP") && err.to_string().contains("nope"));
        let err = fails("$$Func(GetPublicIP(target=ghost.vm))");
        assert_eq!(err, PlaceholderError::MciNotFound { func: "GetPublicIP", mci_id: "ghost".into() });
        assert!(err.to_string().contains("ghost"));
    }

    #[test]
    fn ip_lists_sorted_by_vm_id_with_default_comma() {
        assert_eq!(run("$$Func(GetPublicIPs())"), "1.1.1.1,2.2.2.2,3.3.3.3");
        assert_eq!(run("$$Func(GetPrivateIPs(target=this))"), "10.0.0.1,10.0.0.2,10.0.0.3");
        assert_eq!(run("$$Func(GetPublicIPs(target=This))"), "1.1.1.1,2.2.2.2,3.3.3.3");
        assert_eq!(run("$$Func(GetPublicIPs(target=mci1))"), "1.1.1.1,2.2.2.2,3.3.3.3");
        // MCI ids are compared exactly.
        assert!(matches!(fails("$$Func(GetPublicIPs(target=MCI1))"), PlaceholderError::MciNotFound { .. }));
    }

    #[test]
    fn ip_lists_separator_prefix_postfix() {
        assert_eq!(run("$$Func(GetPublicIPs(separator=' '))"), "1.1.1.1 2.2.2.2 3.3.3.3");
        assert_eq!(
            run("$$Func(GetPublicIPs(target=this, separator=;, prefix=http://, postfix=:3000))"),
            "http://1.1.1.1:3000;http://2.2.2.2:3000;http://3.3.3.3:3000"
        );
        assert_eq!(run("$$Func(GetPrivateIPs(separator=', '))"), "10.0.0.1, 10.0.0.2, 10.0.0.3");
        assert_eq!(run("$$Func(GetPrivateIPs(separator=))"), "10.0.0.110.0.0.210.0.0.3");
    }

    #[test]
    fn ip_lists_of_another_mci() {
        assert_eq!(run("$$Func(GetPublicIPs(target=mci2))"), "8.8.8.8,9.9.9.9");
        assert_eq!(
            fails("$$Func(GetPrivateIPs(target=ghost))"),
            PlaceholderError::MciNotFound { func: "GetPrivateIPs", mci_id: "ghost".into() }
        );
        assert!(matches!(fails("$$Func(GetPublicIPs(target=))"), PlaceholderError::MciNotFound { .. }));
    }

    #[test]
    fn ip_lists_filtered_by_label() {
        assert_eq!(run("$$Func(GetPublicIPs(label=role=worker))"), "2.2.2.2,3.3.3.3");
        assert_eq!(run("$$Func(GetPrivateIPs(label='role=worker,env=prod'))"), "10.0.0.2");
        // Unquoted, the comma ends the label and `env=prod` becomes an unknown key.
        assert_eq!(run("$$Func(GetPrivateIPs(label=role=worker,env=prod))"), "10.0.0.2,10.0.0.3");
        assert_eq!(run("$$Func(GetPublicIPs(label='env!=prod', separator=' '))"), "3.3.3.3");
        assert_eq!(run("$$Func(GetPublicIPs(label='role=gpu', prefix=x))"), "");
        assert_eq!(run("$$Func(GetPublicIPs(label=''))"), "1.1.1.1,2.2.2.2,3.3.3.3");
    }

    #[test]
    fn label_selector_operators() {
        let labels: BTreeMap<String, String> =
            [("role", "worker"), ("env", "prod")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let table = [
            ("role=worker", true),
            (" role = worker ", true),
            ("role=head", false),
            ("role!=head", true),
            ("role!=worker", false),
            ("gpu!=yes", false),
            ("role in (worker)", true),
            ("role in (head)", false),
            ("role in (head,worker)", false),
            ("role notin (head)", true),
            ("role notin (worker)", false),
            ("gpu notin (yes)", true),
            ("env exists", true),
            ("gpu exists", false),
            ("gpu !exists", true),
            ("env !exists", false),
            ("role=worker,env=prod", true),
            ("role=worker,env=dev", false),
            ("role=worker,", false),
            ("", false),
            ("role", false),
        ];
        for (selector, expected) in table {
            assert_eq!(matches_label_selector(&labels, selector), expected, "selector {selector:?}");
        }
    }

    #[test]
    fn assign_task_round_robin_by_position() {
        let command = "ollama pull $$Func(AssignTask(task='llama3, solar, phi3'))";
        let got: Vec<String> = (0..5).map(|i| expand_at(command, i).unwrap()).collect();
        assert_eq!(
            got,
            [
                "ollama pull llama3",
                "ollama pull  solar",
                "ollama pull  phi3",
                "ollama pull llama3",
                "ollama pull  solar"
            ]
        );
        // Unquoted, the list stops at the first comma.
        assert_eq!(expand_at("$$Func(AssignTask(task=a,b,c))", 1).unwrap(), "a");
        assert_eq!(expand_at("$$Func(AssignTask(task='a,,b,'))", 1).unwrap(), "");
        assert_eq!(expand_at("$$Func(AssignTask(task='a,,b,'))", 2).unwrap(), "b");
        assert_eq!(expand_at("$$Func(AssignTask(task='a,,b,'))", 3).unwrap(), "a");
        // Quotes inside the list close the outer quoting: the value ends at the comma after x.
        assert_eq!(expand_at("$$Func(AssignTask(task=''x,y',z'))", 0).unwrap(), "''x");
    }

    #[test]
    fn assign_task_errors() {
        assert_eq!(fails("$$Func(AssignTask())"), PlaceholderError::NoTaskList);
        assert_eq!(fails("$$Func(AssignTask(tasks='a'))"), PlaceholderError::NoTaskList);
        assert_eq!(fails("$$Func(AssignTask(task=''))"), PlaceholderError::EmptyTaskList);
        assert!(fails("$$Func(AssignTask())").to_string().contains("AssignTask"));
    }

    #[test]
    fn location_of_this_and_other_vms() {
        assert_eq!(run("$$Func(GetLocationDisplay())"), "Seoul (g1-2)");
        assert_eq!(run("$$Func(GetLocationLatitude())"), "37.5665");
        assert_eq!(run("$$Func(GetLocationLongitude(prefix='--longitude '))"), "--longitude 126.978");
        assert_eq!(run("$$Func(GetLocationDisplay(target=this.this))"), "Seoul (g1-2)");
        assert_eq!(run("$$Func(GetLocationDisplay(target=' this '))"), "Seoul (g1-2)");
        assert_eq!(run("$$Func(GetLocationDisplay(target=   ))"), "Seoul (g1-2)");
        assert_eq!(run("$$Func(GetLocationDisplay(target=this.g2-1))"), "Seoul (g2-1)");
        let far = "$$Func(GetLocationLatitude(target=mci2.far-1)),$$Func(GetLocationLongitude(target=mci2.far-1))";
        assert_eq!(run(far), "35.6895,139.6917");
    }

    #[test]
    fn location_target_must_be_this_or_two_parts() {
        let err = fails("$$Func(GetLocationDisplay(target=g2-1))");
        assert_eq!(err, PlaceholderError::InvalidTarget { func: "GetLocationDisplay", target: "g2-1".into() });
        assert!(err.to_string().contains("GetLocationDisplay") && err.to_string().contains("g2-1"));
        assert!(matches!(fails("$$Func(GetLocationLatitude(target=a.b.c))"), PlaceholderError::InvalidTarget { .. }));
        assert!(matches!(fails("$$Func(GetLocationLongitude(target=x.))"), PlaceholderError::InvalidTarget { .. }));
        assert!(matches!(fails("$$Func(GetLocationLongitude(target=mci2.nope))"), PlaceholderError::VmNotFound { .. }));
    }

    #[test]
    fn go_g_float_format() {
        let table = [
            (37.5665, "37.5665"),
            (-122.4194, "-122.4194"),
            (126.978, "126.978"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (100000.0, "100000"),
            (123456.5, "123456.5"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (0.00001, "1e-05"),
            (-1.5e-7, "-1.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, expected) in table {
            assert_eq!(format_go_g(value), expected, "value {value:?}");
        }
    }

    #[test]
    fn several_placeholders_with_text_around() {
        assert_eq!(
            run(
                "echo $$Func(GetVmId()) on $$Func(GetMciId()) at $$Func(GetPublicIP()):22 > /tmp/$$Func(GetNsId()).txt"
            ),
            "echo g1-2 on mci1 at 2.2.2.2:22 > /tmp/ns1.txt"
        );
        assert_eq!(run("$$Func(GetVmId())$$Func(GetVmId())"), "g1-2g1-2");
        assert_eq!(run("$$$Func(GetVmId())$"), "$g1-2$");
    }

    #[test]
    fn placeholders_inside_single_quotes_are_expanded() {
        assert_eq!(run("echo '$$Func(GetVmId())' \"$$Func(GetNsId())\""), "echo 'g1-2' \"ns1\"");
    }

    #[test]
    fn whitespace_around_the_call_but_not_inside_the_name() {
        assert_eq!(run("$$Func(  GetVmId()\t)"), "g1-2");
        assert!(matches!(fails("$$Func(GetVmId ())"), PlaceholderError::NoFunction { .. }));
        assert!(matches!(fails("$$Func(GetVmId(prefix=a\nb))"), PlaceholderError::NoFunction { .. }));
        assert_eq!(run("$$Func(GetVmId()\n)"), "g1-2");
    }

    #[test]
    fn replacements_are_scanned_again() {
        // The chosen task is itself a placeholder, expanded on the next pass.
        assert_eq!(expand_at("$$Func(AssignTask(task='$$Func(GetVmId()),static'))", 0).unwrap(), "g1-2");
        assert_eq!(expand_at("$$Func(AssignTask(task='$$Func(GetVmId()),static'))", 1).unwrap(), "static");
        assert_eq!(run("$$Func(GetVmId(prefix='$$Func(GetNsId())/'))"), "ns1/g1-2");
    }

    #[test]
    fn unknown_function_is_an_error_naming_it() {
        let err = fails("run $$Func(GetSecret(key=x)) now");
        assert_eq!(err, PlaceholderError::UnknownFunction { name: "GetSecret".into() });
        assert!(err.to_string().contains("GetSecret"));
    }

    #[test]
    fn malformed_calls_are_errors() {
        assert_eq!(fails("echo $$Func(GetVmId()"), PlaceholderError::Unclosed { at: 5 });
        assert!(matches!(fails("$$Func(GetVmId"), PlaceholderError::Unclosed { .. }));
        assert!(matches!(fails("$$Func(GetVmId)"), PlaceholderError::NoFunction { .. }));
        assert!(matches!(fails("$$Func()"), PlaceholderError::NoFunction { .. }));
        assert!(matches!(fails("$$Func(Get-VmId())"), PlaceholderError::NoFunction { .. }));
        assert!(matches!(fails("$$Func(GetVmId() x)"), PlaceholderError::NoFunction { .. }));
        // Parentheses are counted without regard to quotes (as in Go).
        assert!(matches!(fails("$$Func(GetVmId(prefix='('))"), PlaceholderError::Unclosed { .. }));
        assert!(fails("$$Func(GetVmId)").to_string().contains("GetVmId"));
    }

    #[test]
    fn an_error_anywhere_fails_the_whole_command() {
        assert!(matches!(fails("$$Func(GetVmId()) $$Func(Nope())"), PlaceholderError::UnknownFunction { .. }));
    }

    #[test]
    fn expansion_count_is_bounded_like_go() {
        let at_limit = "$$Func(GetNsId())".repeat(MAX_EXPANSIONS);
        assert_eq!(run(&at_limit), "ns1".repeat(MAX_EXPANSIONS));
        let over = "$$Func(GetNsId())".repeat(MAX_EXPANSIONS + 1);
        assert_eq!(fails(&over), PlaceholderError::TooManyExpansions);
    }

    #[test]
    fn commands_without_the_marker_are_returned_unchanged() {
        let fixed = [
            "",
            "echo hello",
            "$$Func",
            "$$Func GetVmId()",
            "$Func(GetVmId())",
            "$$func(GetVmId())",
            "$$ Func(GetVmId())",
            "Func(GetVmId())",
            "echo '$$' \"(\" ) ( ,=' 한국어 ✓",
        ];
        // Deterministic pseudo-random strings over the characters placeholders are made of.
        let alphabet: Vec<char> = "$$Func()'=, .\n\tabGetVmId한".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut generated = Vec::new();
        for _ in 0..3000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (state >> 58) as usize;
            let text: String = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    alphabet[(state >> 33) as usize % alphabet.len()]
                })
                .collect();
            generated.push(text);
        }
        let mut checked = 0;
        for text in fixed.iter().map(|s| s.to_string()).chain(generated) {
            if has_placeholders(&text) {
                continue;
            }
            assert_eq!(expand_at(&text, 3).as_deref(), Ok(text.as_str()));
            checked += 1;
        }
        assert!(checked > 2500, "only {checked} strings were checked");
    }

    #[test]
    fn has_placeholders_matches_the_marker_only() {
        assert!(has_placeholders("a $$Func(GetVmId()) b"));
        assert!(has_placeholders("$$Func("));
        assert!(!has_placeholders("$$Func"));
        assert!(!has_placeholders("$$FUNC(GetVmId())"));
    }

    #[test]
    fn referenced_mcis_lists_other_mcis_named_by_targets() {
        let command = "a $$Func(GetPublicIP(target=mci2.vm1)) $$Func(GetPrivateIPs(target=mci3)) \
                       $$Func(GetLocationDisplay(target=' mci4.this ')) \
                       $$Func(AssignTask(task='$$Func(GetPublicIPs(target=mci5)),x')) \
                       $$Func(GetPublicIP(target=this.vm2)) $$Func(GetPublicIP(target=mci1.vm2)) \
                       $$Func(GetPublicIPs(target=THIS)) $$Func(GetPublicIP(target=justvm)) \
                       $$Func(GetVmId(target=mci6.vm)) $$Func(Broken $$Func(GetPrivateIP(target=mci7.a))";
        let got: Vec<String> = referenced_mcis(command, "mci1").into_iter().collect();
        assert_eq!(got, ["mci2", "mci3", "mci4", "mci5", "mci7"]);
        assert!(referenced_mcis("echo $$Func(GetPublicIPs())", "mci1").is_empty());
    }
}
