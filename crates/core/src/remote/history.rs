//! Per-VM command history (reference §6, v0.12.3+): one record per VM per command request,
//! written when the request is accepted (`Queued`) and updated as the VM runs it. Records are
//! stored documents of their own (`/cmdhist/{ns}/{mci}/{vm}/{index}`), so concurrent requests
//! on one VM never contend for the VM record.

use tb_model::command::{
    CommandExecutionStatus, CommandStatusInfo, CommandStatusListResponse, HandlingCommandCountResponse,
    MciHandlingCommandCountResponse,
};

use tb_store::{Compare, Op};

use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

/// Output kept per stream in a record (the last part of it).
const KEPT_OUTPUT: usize = 16 * 1024;
/// Records kept per VM; older ones are dropped as new ones come.
const KEPT_RECORDS: u64 = 1000;
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

/// The record an active marker stands for: `/cmdactive/{ns}/{mci}/{vm}/{index}` →
/// `/cmdhist/{ns}/{mci}/{vm}/{index}`.
fn record_of_marker(marker: &str) -> String {
    let rest = marker.strip_prefix(keys::COMMAND_ACTIVE_PREFIX).unwrap_or(marker);
    format!("{}{rest}", keys::COMMAND_HISTORY_PREFIX)
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
    /// Appends a `Queued` record for one VM and returns it (with its index). One transaction
    /// takes the next index, writes the record and its active marker, and drops the record
    /// [`KEPT_RECORDS`] places back.
    pub(super) async fn queue_command(
        &self,
        ns: &str,
        mci: &str,
        vm: &str,
        mut record: CommandStatusInfo,
    ) -> CoreResult<CommandStatusInfo> {
        let seq_key = keys::command_sequence(ns, mci, vm);
        record.status = CommandExecutionStatus::Queued;
        for _ in 0..repo::MAX_CAS_RETRIES {
            let (last, seq_revision) = match repo::get::<u64>(self.store.as_ref(), &seq_key).await? {
                Some(doc) => (doc.value, doc.revision),
                None => (0, 0),
            };
            record.index = last + 1;
            let key = keys::command_history(ns, mci, vm, record.index);
            let mut ops = vec![
                Op::Put { key: seq_key.clone(), value: repo::encode(&seq_key, &record.index)? },
                Op::Put { key: key.clone(), value: repo::encode(&key, &record)? },
                Op::Put { key: keys::command_active(ns, mci, vm, record.index), value: Vec::new() },
            ];
            if let Some(old) = record.index.checked_sub(KEPT_RECORDS).filter(|&i| i > 0) {
                ops.push(Op::Delete { key: keys::command_history(ns, mci, vm, old) });
                ops.push(Op::Delete { key: keys::command_active(ns, mci, vm, old) });
            }
            let compares = vec![Compare { key: seq_key.clone(), revision: seq_revision }, Compare { key, revision: 0 }];
            if self.store.txn(compares, ops).await?.is_committed() {
                return Ok(record);
            }
            // Another request on this VM took the index first.
        }
        Err(CoreError::ConcurrentUpdate(format!("command history of VM {vm}")))
    }

    /// The record's end: it is no longer queued or running.
    pub(super) async fn command_ended(&self, ns: &str, mci: &str, vm: &str, index: u64) {
        if let Err(error) = self.store.delete(&keys::command_active(ns, mci, vm, index)).await {
            tracing::warn!(vm, index, %error, "cannot clear the active marker of a command record");
        }
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
        self.vm_doc(ns, mci, vm).await?;
        let handling_count = self.handling_records(&keys::command_active_prefix(ns, mci, vm)).await?.len();
        Ok(HandlingCommandCountResponse { vm_id: vm.to_string(), handling_count })
    }

    /// `GET /mci/{id}/handlingCount`: the same for every VM of the MCI.
    pub async fn mci_handling_count(&self, ns: &str, mci: &str) -> CoreResult<MciHandlingCommandCountResponse> {
        self.mci_doc(ns, mci).await?;
        let mut out = MciHandlingCommandCountResponse { mci_id: mci.to_string(), ..Default::default() };
        for vm in self.vm_docs(ns, mci).await? {
            out.vm_handling_counts.insert(vm.id, 0);
        }
        for record_key in self.handling_records(&keys::mci_command_active_prefix(ns, mci)).await? {
            // /cmdhist/{ns}/{mci}/{vm}/{index}
            let vm = record_key.rsplit('/').nth(1).unwrap_or_default();
            if let Some(count) = out.vm_handling_counts.get_mut(vm) {
                *count += 1;
                out.total_handling_count += 1;
            }
        }
        Ok(out)
    }

    /// Keys of the records under an active-marker prefix that are `Handling` now (markers
    /// mirror record keys: `/cmdactive/...` ↔ `/cmdhist/...`).
    async fn handling_records(&self, active_prefix: &str) -> CoreResult<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.store.range(active_prefix).await? {
            let record_key = record_of_marker(&kv.key);
            let record = repo::get::<CommandStatusInfo>(self.store.as_ref(), &record_key).await?;
            if record.is_some_and(|r| r.value.status == CommandExecutionStatus::Handling) {
                out.push(record_key);
            }
        }
        Ok(out)
    }

    /// Removes the history of one VM (`Some(vm)`) or of every VM of an MCI, whose records are
    /// being deleted: records, active markers and the index.
    pub(crate) async fn drop_command_history(&self, ns: &str, mci: &str, vm: Option<&str>) -> CoreResult<()> {
        let (history, active) = match vm {
            Some(vm) => (keys::command_history_prefix(ns, mci, vm), keys::command_active_prefix(ns, mci, vm)),
            None => (keys::mci_command_history_prefix(ns, mci), keys::mci_command_active_prefix(ns, mci)),
        };
        let mut doomed: Vec<String> = Vec::new();
        for prefix in [history, active] {
            doomed.extend(self.store.range(&prefix).await?.into_iter().map(|kv| kv.key));
        }
        match vm {
            Some(vm) => doomed.push(keys::command_sequence(ns, mci, vm)),
            None => {
                let seq = keys::mci_command_sequence_prefix(ns, mci);
                doomed.extend(self.store.range(&seq).await?.into_iter().map(|kv| kv.key));
            }
        }
        for key in doomed {
            self.store.delete(&key).await?;
        }
        Ok(())
    }

    /// On start: records left `Queued` or `Handling` by the previous process are marked
    /// `Interrupted` (nothing is running them any more). Only the active markers are read.
    pub(crate) async fn mark_interrupted_commands(&self) -> CoreResult<usize> {
        let mut n = 0;
        for kv in self.store.range(keys::COMMAND_ACTIVE_PREFIX).await? {
            let record_key = record_of_marker(&kv.key);
            let res = repo::modify(self.store.as_ref(), &record_key, "command record", |r: &mut CommandStatusInfo| {
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
            self.store.delete(&kv.key).await?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_keeps_the_last_records_and_marks_unfinished_ones_interrupted() {
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.path().join("t.redb")).unwrap());
        let view = Arc::new(crate::CatalogView::new(tb_catalog::Catalog::empty()));
        let tb = Tumblebug::new(store.clone(), view, Arc::new(crate::Clouds::new("sim"))).await.unwrap();
        let total = KEPT_RECORDS + 5;
        for i in 1..=total {
            let r = tb.queue_command("ns", "m", "g1-1", CommandStatusInfo::default()).await.unwrap();
            assert_eq!(r.index, i);
        }
        // Another VM whose id extends this one's keeps its own sequence.
        assert_eq!(tb.queue_command("ns", "m", "g1-10", CommandStatusInfo::default()).await.unwrap().index, 1);
        let records = store.range(&keys::command_history_prefix("ns", "m", "g1-1")).await.unwrap();
        assert_eq!(records.len() as u64, KEPT_RECORDS);
        assert!(records[0].key.ends_with(&format!("{:010}", total - KEPT_RECORDS + 1)), "{}", records[0].key);
        tb.command_ended("ns", "m", "g1-1", total).await;
        // Every unfinished record kept (all but the ended one) becomes Interrupted, once.
        // g1-1: the kept records but the ended one; g1-10: its one record.
        assert_eq!(tb.mark_interrupted_commands().await.unwrap() as u64, (KEPT_RECORDS - 1) + 1);
        assert_eq!(tb.mark_interrupted_commands().await.unwrap(), 0);
        let key = keys::command_history("ns", "m", "g1-1", total - 1);
        let r: CommandStatusInfo = repo::get(store.as_ref(), &key).await.unwrap().unwrap().value;
        assert_eq!(r.status, CommandExecutionStatus::Interrupted);
        let ended = keys::command_history("ns", "m", "g1-1", total);
        let r: CommandStatusInfo = repo::get(store.as_ref(), &ended).await.unwrap().unwrap().value;
        assert_eq!(r.status, CommandExecutionStatus::Queued, "an ended record is not touched");
        tb.drop_command_history("ns", "m", Some("g1-1")).await.unwrap();
        assert!(store.range("/cmdhist/ns/m/g1-1/").await.unwrap().is_empty());
        assert!(store.get(&keys::command_sequence("ns", "m", "g1-10")).await.unwrap().is_some());
    }

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
