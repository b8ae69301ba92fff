//! Linux process inspection and signals, by pid, for sshd processes the driver may not have
//! spawned itself (re-adopted after a restart).

use std::collections::HashMap;
use std::fs;

/// True while `pid` runs (not a zombie) and its command line contains `marker` — the VM's
/// sshd config path — so a recycled pid is never mistaken for the VM.
pub fn is_running(pid: u32, marker: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] ..."), so
    // the marker is searched in the whole command line rather than compared per argument.
    let marker = marker.as_bytes();
    let matches = !marker.is_empty() && cmdline.windows(marker.len()).any(|window| window == marker);
    matches && stat_fields(pid).is_some_and(|(state, _)| state != 'Z')
}

/// `(state, parent pid)` from `/proc/{pid}/stat`; the command name may hold spaces and
/// parentheses, so fields are read after its last `)`.
fn stat_fields(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Every process below `pid`: sshd's per-connection processes and the shells and commands
/// they run. A stopped VM must not keep running them.
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((_, parent)) = stat_fields(child) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for &child in children.get(&next).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// Sends `signal` to `pid`; a process that is already gone is not an error worth reporting.
pub fn signal(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // Never signal 0 or negative pids: those address whole process groups.
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; pid is a positive single process.
    unsafe {
        libc::kill(pid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_itself_and_its_children() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id();
        assert!(descendants(me).contains(&child.id()));
        // Right after fork the child's command line is still ours until `exec` completes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !is_running(child.id(), "5") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(is_running(child.id(), "5"));
        assert!(!is_running(child.id(), "not-an-argument"));
        signal(child.id(), libc::SIGKILL);
        child.wait().unwrap();
        assert!(!is_running(child.id(), "5"));
    }
}
