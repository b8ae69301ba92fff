//! Who the driver runs as: decides the login user and whether port 22 is available.

use std::fs;

/// The effective user of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub name: String,
}

impl Account {
    /// Reads the effective uid from `/proc/self/status` and its name from `/etc/passwd`,
    /// falling back to `$USER` when the uid has no entry (e.g. in some containers).
    pub fn current() -> Account {
        let uid = fs::read_to_string("/proc/self/status").ok().and_then(|s| effective_uid(&s)).unwrap_or(u32::MAX);
        let name = fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|passwd| user_name(&passwd, uid))
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| if uid == 0 { "root".into() } else { uid.to_string() });
        Account { uid, name }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// The second field of the `Uid:` line (real, effective, saved, fs).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let entry_uid: u32 = fields.nth(1)?.parse().ok()?;
        (entry_uid == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uid_and_name() {
        let status = "Name:\tx\nUid:\t1000\t1001\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(1001));
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n";
        assert_eq!(user_name(passwd, 1001).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 5), None);
    }
}
