//! Tracked operations: every long request (MCI create, control) is recorded under
//! `/request/{reqId}` with its progress and result, so `GET /tumblebug/request/{reqId}` can be
//! answered while it runs, after it ends, and after a restart.

use std::time::{Duration, Instant};

use serde::Serialize;
use tb_model::request::{REQUEST_ERROR, REQUEST_HANDLING, REQUEST_SUCCESS, RequestDetails, RequestInfo};
use tokio::sync::Mutex;

use crate::{CoreError, CoreResult, Tumblebug, now_string, repo};

pub const REQUEST_PREFIX: &str = "/request/";

/// Progress is written at most this often; start and end are always written.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

fn key(id: &str) -> String {
    format!("{REQUEST_PREFIX}{id}")
}

/// A request being tracked. Dropping it without `finish` leaves it `Handling`; a restart marks
/// such requests as interrupted.
pub struct Tracked {
    tb: Tumblebug,
    id: String,
    last_write: Mutex<Option<Instant>>,
}

impl Tracked {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records progress text; persisted at most every `PROGRESS_EVERY`.
    pub async fn progress(&self, text: impl Into<String>) {
        let text = text.into();
        let mut last = self.last_write.lock().await;
        if last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        drop(last);
        let _ = self.update(|d| d.progress = text.clone()).await;
    }

    pub async fn succeed<T: Serialize>(&self, value: &T) {
        let data = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        let _ = self
            .update(|d| {
                d.status = REQUEST_SUCCESS.into();
                d.end_time = now_string();
                d.response_data = data.clone();
            })
            .await;
    }

    pub async fn fail(&self, error: &str) {
        let _ = self
            .update(|d| {
                d.status = REQUEST_ERROR.into();
                d.end_time = now_string();
                d.error_response = error.to_string();
            })
            .await;
    }

    async fn update(&self, f: impl Fn(&mut RequestDetails)) -> CoreResult<()> {
        let res = repo::modify(self.tb.store.as_ref(), &key(&self.id), "request", |d: &mut RequestDetails| {
            f(d);
            Ok(())
        })
        .await;
        if let Err(e) = &res {
            tracing::warn!(request_id = %self.id, error = %e, "could not record request progress");
        }
        res.map(|_| ())
    }
}

impl Tumblebug {
    /// Starts tracking a request under the id the HTTP layer gave it.
    pub async fn track(&self, id: &str, method: &str, url: &str, body: serde_json::Value) -> CoreResult<Tracked> {
        if id.is_empty() || id.contains('/') {
            return Err(CoreError::invalid(format!("request id {id:?} is not usable")));
        }
        let details = RequestDetails {
            start_time: now_string(),
            status: REQUEST_HANDLING.into(),
            request_info: RequestInfo { method: method.into(), url: url.into(), body, ..RequestInfo::default() },
            ..RequestDetails::default()
        };
        repo::create(self.store.as_ref(), &key(id), &details, &format!("request {id}")).await?;
        Ok(Tracked { tb: self.clone(), id: id.to_string(), last_write: Mutex::new(None) })
    }

    pub async fn request(&self, id: &str) -> CoreResult<RequestDetails> {
        repo::get(self.store.as_ref(), &key(id))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| CoreError::not_found(format!("request {id} is not known")))
    }

    /// All tracked requests, optionally only those with `status`.
    pub async fn requests(&self, status: Option<&str>) -> CoreResult<Vec<(String, RequestDetails)>> {
        let mut out = Vec::new();
        for kv in self.store.range(REQUEST_PREFIX).await? {
            let d: RequestDetails = repo::decode(&kv.key, &kv.value)?;
            if status.is_none_or(|s| d.status.eq_ignore_ascii_case(s)) {
                out.push((kv.key[REQUEST_PREFIX.len()..].to_string(), d));
            }
        }
        Ok(out)
    }

    pub async fn delete_request(&self, id: &str) -> CoreResult<()> {
        self.store.delete(&key(id)).await?;
        Ok(())
    }

    pub async fn delete_requests(&self) -> CoreResult<usize> {
        let all = self.store.range(REQUEST_PREFIX).await?;
        for kv in &all {
            self.store.delete(&kv.key).await?;
        }
        Ok(all.len())
    }

    /// After a restart, requests that were still running can no longer answer; their intents
    /// are resumed by the reconciler.
    pub(crate) async fn mark_interrupted_requests(&self) -> CoreResult<usize> {
        let mut n = 0;
        for (id, d) in self.requests(Some(REQUEST_HANDLING)).await? {
            let _ = d;
            let res = repo::modify(self.store.as_ref(), &key(&id), "request", |d: &mut RequestDetails| {
                d.status = REQUEST_ERROR.into();
                d.end_time = now_string();
                d.error_response =
                    "interrupted by a server restart; the recorded intent is resumed by the reconciler".into();
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
