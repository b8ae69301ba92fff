//! Per-VM command history (reference §6, v0.12.3+): one record per VM per command request,
//! written when the request is accepted (`Queued`) and updated as the VM runs it. Records are
//! stored documents of their own (`/cmdhist/{ns}/{mci}/{vm}/{index}`), so concurrent requests
//! on one VM never contend for the VM record.

use tb_model::command::{
    CommandExecutionStatus, CommandStatusInfo, CommandStatusListResponse, HandlingCommandCountResponse,
    MciHandlingCommandCountResponse,
};

use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

/// Output kept per stream in a record (the last part of it).
const KEPT_OUTPUT: usize = 16 * 1024;
/// Records listed when the request names no limit.
const DEFAULT_LIMIT: usize = 50;

/// Which records `GET .../commandStatus` returns.
#[derive(Debug, Clone, Default)]
pub struct CommandStatusFilter {
    /// Any of these statuses (empty: all).
    pub status: Vec<CommandExecutionStatus>,
    pub x_request_id: Option<String>,
    /// Substring of the requested commands.
    pub command_contains: Option<String>,
    pub index_from: Option<u64>,
    pub index_to: Option<u64>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl CommandStatusFilter {
    fn matches(&self, r: &CommandStatusInfo) -> bool {
        (self.status.is_empty() || self.status.contains(&r.status))
            && self.x_request_id.as_deref().is_none_or(|id| id.is_empty() || r.x_request_id == id)
            && self.command_contains.as_deref().is_none_or(|c| r.command_requested.contains(c))
            && self.index_from.is_none_or(|i| r.index >= i)
            && self.index_to.is_none_or(|i| r.index <= i)
    }
}

/// The last `KEPT_OUTPUT` bytes of `text`, cut at a character boundary.
pub(super) fn tail(text: &str) -> String {
    if text.len() <= KEPT_OUTPUT {
        return text.to_string();
    }
    let mut start = text.len() - KEPT_OUTPUT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

impl Tumblebug {
    /// Appends a `Queued` record for one VM and returns it (with its index).
    pub(super) async fn queue_command(
        &self,
        ns: &str,
        mci: &str,
        vm: &str,
        mut record: CommandStatusInfo,
    ) -> CoreResult<CommandStatusInfo> {
        let prefix = keys::command_history_prefix(ns, mci, vm);
        for _ in 0..repo::MAX_CAS_RETRIES {
            let last =
                self.store.range(&prefix).await?.last().and_then(|kv| kv.key[prefix.len()..].parse::<u64>().ok());
            record.index = last.unwrap_or(0) + 1;
            record.status = CommandExecutionStatus::Queued;
            match repo::create(
                self.store.as_ref(),
                &keys::command_history(ns, mci, vm, record.index),
                &record,
                "record",
            )
            .await
            {
                Ok(_) => return Ok(record),
                // Another request on this VM took the index first.
                Err(CoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::ConcurrentUpdate(format!("command history of VM {vm}")))
    }

    /// Read-modify-write of one record; returns it as stored.
    pub(super) async fn update_command<F>(
        &self,
        ns: &str,
        mci: &str,
        vm: &str,
        index: u64,
        f: F,
    ) -> CoreResult<CommandStatusInfo>
    where
        F: FnMut(&mut CommandStatusInfo) -> CoreResult<()>,
    {
        repo::modify(self.store.as_ref(), &keys::command_history(ns, mci, vm, index), "command record", f).await
    }

    async fn command_records(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<Vec<CommandStatusInfo>> {
        self.vm_doc(ns, mci, vm).await?;
        let prefix = keys::command_history_prefix(ns, mci, vm);
        self.store.range(&prefix).await?.iter().map(|kv| repo::decode(&kv.key, &kv.value)).collect()
    }

    /// `GET /mci/{id}/vm/{vmId}/commandStatus`: matching records, oldest first.
    pub async fn command_status_list(
        &self,
        ns: &str,
        mci: &str,
        vm: &str,
        filter: &CommandStatusFilter,
    ) -> CoreResult<CommandStatusListResponse> {
        let matching: Vec<CommandStatusInfo> =
            self.command_records(ns, mci, vm).await?.into_iter().filter(|r| filter.matches(r)).collect();
        let limit = filter.limit.filter(|&l| l > 0).unwrap_or(DEFAULT_LIMIT);
        let offset = filter.offset.unwrap_or(0);
        let total = matching.len();
        let commands = matching.into_iter().skip(offset).take(limit).collect();
        Ok(CommandStatusListResponse { commands, total, limit, offset })
    }

    /// `GET /mci/{id}/vm/{vmId}/commandStatus/{index}`.
    pub async fn command_status(&self, ns: &str, mci: &str, vm: &str, index: u64) -> CoreResult<CommandStatusInfo> {
        self.vm_doc(ns, mci, vm).await?;
        repo::get(self.store.as_ref(), &keys::command_history(ns, mci, vm, index))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| CoreError::not_found(format!("VM {vm} has no command record {index}")))
    }

    /// `DELETE /mci/{id}/vm/{vmId}/commandStatus/{index}`. A record still queued or running
    /// stays (its request is writing it).
    pub async fn delete_command_status(&self, ns: &str, mci: &str, vm: &str, index: u64) -> CoreResult<()> {
        let key = keys::command_history(ns, mci, vm, index);
        self.vm_doc(ns, mci, vm).await?;
        let Some(doc) = repo::get::<CommandStatusInfo>(self.store.as_ref(), &key).await? else {
            return Err(CoreError::not_found(format!("VM {vm} has no command record {index}")));
        };
        if doc.value.status.is_active() {
            return Err(CoreError::Conflict(format!(
                "command record {index} of VM {vm} is {}; delete it once it has ended",
                doc.value.status.as_str()
            )));
        }
        repo::delete_at(self.store.as_ref(), &key, doc.revision).await
    }

    /// `DELETE /mci/{id}/vm/{vmId}/commandStatusAll`: every ended record; returns how many.
    pub async fn delete_command_status_all(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<usize> {
        self.vm_doc(ns, mci, vm).await?;
        let mut n = 0;
        for kv in self.store.range(&keys::command_history_prefix(ns, mci, vm)).await? {
            let record: CommandStatusInfo = repo::decode(&kv.key, &kv.value)?;
            if !record.status.is_active() && repo::delete_at(self.store.as_ref(), &kv.key, kv.revision).await.is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// `GET /mci/{id}/vm/{vmId}/handlingCount`: records of the VM now running.
    pub async fn handling_count(&self, ns: &str, mci: &str, vm: &str) -> CoreResult<HandlingCommandCountResponse> {
        let records = self.command_records(ns, mci, vm).await?;
        let handling_count = records.iter().filter(|r| r.status == CommandExecutionStatus::Handling).count();
        Ok(HandlingCommandCountResponse { vm_id: vm.to_string(), handling_count })
    }

    /// `GET /mci/{id}/handlingCount`: the same for every VM of the MCI.
    pub async fn mci_handling_count(&self, ns: &str, mci: &str) -> CoreResult<MciHandlingCommandCountResponse> {
        let mut out = MciHandlingCommandCountResponse { mci_id: mci.to_string(), ..Default::default() };
        for vm in self.vm_docs(ns, mci).await? {
            let count = self.handling_count(ns, mci, &vm.id).await?.handling_count;
            out.total_handling_count += count;
            out.vm_handling_counts.insert(vm.id, count);
        }
        Ok(out)
    }

    /// Removes the history of one VM (its record is being deleted).
    pub(crate) async fn drop_command_history(&self, prefix: &str) -> CoreResult<()> {
        for kv in self.store.range(prefix).await? {
            self.store.delete(&kv.key).await?;
        }
        Ok(())
    }

    /// On start: records left `Queued` or `Handling` by the previous process are marked
    /// `Interrupted` (nothing is running them any more).
    pub(crate) async fn mark_interrupted_commands(&self) -> CoreResult<usize> {
        let mut n = 0;
        for kv in self.store.range(keys::COMMAND_HISTORY_PREFIX).await? {
            let record: CommandStatusInfo = repo::decode(&kv.key, &kv.value)?;
            if !record.status.is_active() {
                continue;
            }
            let res = repo::modify(self.store.as_ref(), &kv.key, "command record", |r: &mut CommandStatusInfo| {
                if r.status.is_active() {
                    r.status = CommandExecutionStatus::Interrupted;
                    r.completed_time = crate::now_string();
                    r.error_message = "interrupted by a server restart".into();
                }
                Ok(())
            })
            .await;
            if res.is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_at_a_char_boundary() {
        assert_eq!(tail("short"), "short");
        let long = "é".repeat(KEPT_OUTPUT); // 2 bytes each
        let t = tail(&long);
        assert!(t.starts_with('…'));
        assert!(t.len() <= KEPT_OUTPUT + '…'.len_utf8());
        assert!(t.ends_with('é'));
    }

    #[test]
    fn filter_combines_every_criterion() {
        let r = CommandStatusInfo {
            index: 4,
            x_request_id: "req-1".into(),
            command_requested: "apt-get install nginx".into(),
            status: CommandExecutionStatus::Completed,
            ..Default::default()
        };
        assert!(CommandStatusFilter::default().matches(&r));
        let f = CommandStatusFilter {
            status: vec![CommandExecutionStatus::Failed, CommandExecutionStatus::Completed],
            x_request_id: Some("req-1".into()),
            command_contains: Some("nginx".into()),
            index_from: Some(4),
            index_to: Some(4),
            ..Default::default()
        };
        assert!(f.matches(&r));
        assert!(
            !CommandStatusFilter { status: vec![CommandExecutionStatus::Failed], ..Default::default() }.matches(&r)
        );
        assert!(!CommandStatusFilter { index_from: Some(5), ..Default::default() }.matches(&r));
        assert!(!CommandStatusFilter { command_contains: Some("apache".into()), ..Default::default() }.matches(&r));
        assert!(!CommandStatusFilter { x_request_id: Some("req-2".into()), ..Default::default() }.matches(&r));
    }
}
