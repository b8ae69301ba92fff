//! HTTP calls to the agents: `GET http://{publicIP}:1324/milkyway/{action}` with a JSON body,
//! as Tumblebug calls CB-Milkyway.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tb_model::mci::VmInfo;

use super::AGENT_PORT;

/// Longest a single agent call may take (a default benchmark runs for tens of seconds).
const CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The default, or longer when the caller asked the agent for longer runs (`seconds`): a call
/// must not be abandoned while the agent still works (it would queue every later action).
fn call_timeout(query: &[(String, String)]) -> Duration {
    let asked = query.iter().find(|(k, _)| k == "seconds").and_then(|(_, v)| v.parse::<f64>().ok());
    match asked.filter(|s| s.is_finite() && *s > 0.0) {
        Some(seconds) => CALL_TIMEOUT.max(Duration::from_secs_f64((seconds * 2.0 + 60.0).min(86_400.0))),
        None => CALL_TIMEOUT,
    }
}

/// The agent's address of a VM.
pub(super) fn agent_base(vm: &VmInfo) -> String {
    format!("http://{}:{AGENT_PORT}", vm.public_ip)
}

/// One agent call; any failure (unreachable, HTTP error, bad JSON) is a message naming the VM.
pub(super) async fn agent_get<B: Serialize, T: DeserializeOwned>(
    http: &reqwest::Client,
    vm: &VmInfo,
    path: &str,
    query: &[(String, String)],
    body: &B,
) -> Result<T, String> {
    let base = format!("{}{path}", agent_base(vm));
    let url = reqwest::Url::parse_with_params(&base, query)
        .map_err(|e| format!("agent of VM {}: bad address {base}: {e}", vm.id))?;
    let resp = http
        .get(url.clone())
        .json(body)
        .timeout(call_timeout(query))
        .send()
        .await
        .map_err(|e| format!("agent of VM {} at {url} cannot be reached: {e}", vm.id))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("agent of VM {}: {e}", vm.id))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or(text);
        return Err(format!("agent of VM {} answered {status}: {message}", vm.id));
    }
    serde_json::from_str(&text).map_err(|e| format!("agent of VM {} answered unreadable JSON: {e}", vm.id))
}

/// The shared HTTP client (connection pooling, no proxy: agents are reached directly).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_get_a_longer_timeout() {
        let q = |v: &str| vec![("seconds".to_string(), v.to_string())];
        assert_eq!(call_timeout(&[]), CALL_TIMEOUT);
        assert_eq!(call_timeout(&q("2")), CALL_TIMEOUT);
        assert_eq!(call_timeout(&q("3000")), Duration::from_secs(6060));
        assert_eq!(call_timeout(&q("NaN")), CALL_TIMEOUT);
        assert_eq!(call_timeout(&q("-5")), CALL_TIMEOUT);
    }
}
