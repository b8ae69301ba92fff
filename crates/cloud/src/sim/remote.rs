//! The sim as its own process, so that a crash of Tumblebug leaves the clouds as they were.
//!
//! The API is one JSON call per request: `POST /v1/call` with a body naming the operation and
//! its arguments, e.g.
//!
//! ```text
//! {"op": "get_vm", "conn": {"name": "aws-us-east-1", "provider": "aws", "region": "us-east-1"},
//!  "csp_id": "i-0123456789abcdef0"}
//! {"op": "set_faults", "faults": {"capacity": [{"scope": "aws", "zone": "us-east-1a"}]}}
//! ```
//!
//! answered by `{"ok": <result>}` or `{"error": <CloudError>}` (with an HTTP status that fits
//! the error), so [`SimHttpDriver`] re-creates exactly the error the engine returned.
//! `GET /healthz` answers `ok`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::config::{FaultConfig, SimConfig};
use super::driver::SimAdmin;
use super::engine::SimCloud;
use crate::{
    CloudDriver, CloudError, CloudImage, CloudResult, CloudSpec, Connection, FirewallRule, KeyPairHandle, KeyPairSpec,
    SecurityGroupHandle, SecurityGroupSpec, SubnetHandle, SubnetSpec, VNetHandle, VNetSpec, VmHandle, VmSpec,
};

/// Path of the one call endpoint.
const CALL_PATH: &str = "/v1/call";

/// How long the HTTP driver waits for an answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Every operation of [`CloudDriver`] and [`SimAdmin`], as sent over the wire.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Call {
    CreateVnet { conn: Connection, spec: VNetSpec },
    DeleteVnet { conn: Connection, csp_id: String },
    CreateSecurityGroup { conn: Connection, spec: SecurityGroupSpec },
    DeleteSecurityGroup { conn: Connection, csp_id: String },
    CreateKeyPair { conn: Connection, spec: KeyPairSpec },
    DeleteKeyPair { conn: Connection, csp_id: String },
    CreateSubnet { conn: Connection, vnet_csp_id: String, spec: SubnetSpec },
    DeleteSubnet { conn: Connection, vnet_csp_id: String, subnet_csp_id: String },
    SetSecurityGroupRules { conn: Connection, csp_id: String, rules: Vec<FirewallRule> },
    GetVnet { conn: Connection, csp_id: String },
    GetSecurityGroup { conn: Connection, csp_id: String },
    GetKeyPair { conn: Connection, csp_id: String },
    LookupSpec { conn: Connection, name: String },
    ListSpecs { conn: Connection },
    LookupImage { conn: Connection, name: String },
    ListImages { conn: Connection },
    CreateVm { conn: Connection, spec: VmSpec },
    FindVmByToken { conn: Connection, token: String },
    GetVm { conn: Connection, csp_id: String },
    ListVms { conn: Connection },
    SuspendVm { conn: Connection, csp_id: String },
    ResumeVm { conn: Connection, csp_id: String },
    RebootVm { conn: Connection, csp_id: String },
    TerminateVm { conn: Connection, csp_id: String },
    Config,
    SetFaults { faults: FaultConfig },
    SetTimeFactor { time_factor: f64 },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ok(serde_json::Value),
    Error(CloudError),
}

/// The HTTP API over `cloud`.
pub fn router(cloud: Arc<SimCloud>) -> Router {
    Router::new().route(CALL_PATH, post(handle_call)).route("/healthz", get(|| async { "ok" })).with_state(cloud)
}

/// Serves the HTTP API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, cloud: Arc<SimCloud>) -> std::io::Result<()> {
    axum::serve(listener, router(cloud)).await
}

/// Serves the HTTP API on `listener` until `shutdown` completes, then finishes the calls in
/// flight and returns.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    cloud: Arc<SimCloud>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(cloud)).with_graceful_shutdown(shutdown).await
}

async fn handle_call(State(cloud): State<Arc<SimCloud>>, body: Bytes) -> Response {
    let reply = match serde_json::from_slice::<Call>(&body) {
        Ok(call) => dispatch(&cloud, call).await,
        Err(e) => Err(CloudError::InvalidRequest(format!("bad sim call: {e}"))),
    };
    match reply {
        Ok(value) => (StatusCode::OK, axum::Json(Reply::Ok(value))).into_response(),
        Err(error) => (status_of(&error), axum::Json(Reply::Error(error))).into_response(),
    }
}

fn status_of(e: &CloudError) -> StatusCode {
    match e {
        CloudError::Capacity { .. } => StatusCode::INSUFFICIENT_STORAGE,
        CloudError::Quota { .. } => StatusCode::FORBIDDEN,
        CloudError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        CloudError::Transient(_) => StatusCode::SERVICE_UNAVAILABLE,
        CloudError::NotFound { .. } | CloudError::UnknownConnection(_) => StatusCode::NOT_FOUND,
        CloudError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        CloudError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        CloudError::Unreachable(_) => StatusCode::BAD_GATEWAY,
    }
}

fn value<T: Serialize>(r: CloudResult<T>) -> CloudResult<serde_json::Value> {
    r.and_then(|v| serde_json::to_value(v).map_err(|e| CloudError::Transient(format!("encoding reply: {e}"))))
}

async fn dispatch(cloud: &SimCloud, call: Call) -> CloudResult<serde_json::Value> {
    match call {
        Call::CreateVnet { conn, spec } => value(cloud.create_vnet(&conn, spec).await),
        Call::DeleteVnet { conn, csp_id } => value(cloud.delete_vnet(&conn, &csp_id).await),
        Call::CreateSecurityGroup { conn, spec } => value(cloud.create_security_group(&conn, spec).await),
        Call::DeleteSecurityGroup { conn, csp_id } => value(cloud.delete_security_group(&conn, &csp_id).await),
        Call::CreateKeyPair { conn, spec } => value(cloud.create_key_pair(&conn, spec).await),
        Call::DeleteKeyPair { conn, csp_id } => value(cloud.delete_key_pair(&conn, &csp_id).await),
        Call::CreateSubnet { conn, vnet_csp_id, spec } => value(cloud.create_subnet(&conn, &vnet_csp_id, spec).await),
        Call::DeleteSubnet { conn, vnet_csp_id, subnet_csp_id } => {
            value(cloud.delete_subnet(&conn, &vnet_csp_id, &subnet_csp_id).await)
        }
        Call::SetSecurityGroupRules { conn, csp_id, rules } => {
            value(cloud.set_security_group_rules(&conn, &csp_id, rules).await)
        }
        Call::GetVnet { conn, csp_id } => value(cloud.get_vnet(&conn, &csp_id).await),
        Call::GetSecurityGroup { conn, csp_id } => value(cloud.get_security_group(&conn, &csp_id).await),
        Call::GetKeyPair { conn, csp_id } => value(cloud.get_key_pair(&conn, &csp_id).await),
        Call::LookupSpec { conn, name } => value(cloud.lookup_spec(&conn, &name).await),
        Call::ListSpecs { conn } => value(cloud.list_specs(&conn).await),
        Call::LookupImage { conn, name } => value(cloud.lookup_image(&conn, &name).await),
        Call::ListImages { conn } => value(cloud.list_images(&conn).await),
        Call::CreateVm { conn, spec } => value(cloud.create_vm(&conn, spec).await),
        Call::FindVmByToken { conn, token } => value(cloud.find_vm_by_token(&conn, &token).await),
        Call::GetVm { conn, csp_id } => value(cloud.get_vm(&conn, &csp_id).await),
        Call::ListVms { conn } => value(cloud.list_vms(&conn).await),
        Call::SuspendVm { conn, csp_id } => value(cloud.suspend_vm(&conn, &csp_id).await),
        Call::ResumeVm { conn, csp_id } => value(cloud.resume_vm(&conn, &csp_id).await),
        Call::RebootVm { conn, csp_id } => value(cloud.reboot_vm(&conn, &csp_id).await),
        Call::TerminateVm { conn, csp_id } => value(cloud.terminate_vm(&conn, &csp_id).await),
        Call::Config => value(Ok(cloud.config())),
        Call::SetFaults { faults } => value(cloud.set_faults(faults)),
        Call::SetTimeFactor { time_factor } => value(cloud.set_time_factor(time_factor)),
    }
}

/// A [`CloudDriver`] and [`SimAdmin`] talking to a sim process over HTTP.
pub struct SimHttpDriver {
    url: String,
    client: Result<reqwest::Client, String>,
    timeout: Duration,
}

impl SimHttpDriver {
    /// A driver for the sim at `base_url` (e.g. `http://127.0.0.1:1400`).
    pub fn new(base_url: impl Into<String>) -> SimHttpDriver {
        let base = base_url.into();
        SimHttpDriver {
            url: format!("{}{CALL_PATH}", base.trim_end_matches('/')),
            client: reqwest::Client::builder().build().map_err(|e| format!("cannot build an HTTP client: {e}")),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Gives up on a call after `timeout` with `CloudError::Timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> SimHttpDriver {
        self.timeout = timeout;
        self
    }

    async fn call<T: DeserializeOwned>(&self, call: &Call) -> CloudResult<T> {
        let client = self.client.as_ref().map_err(|e| CloudError::Unreachable(e.clone()))?;
        let response = client
            .post(&self.url)
            .timeout(self.timeout)
            .json(call)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport_error(e))?;
        match serde_json::from_slice::<Reply>(&body) {
            Ok(Reply::Ok(v)) => serde_json::from_value(v)
                .map_err(|e| CloudError::Transient(format!("unexpected reply from {}: {e}", self.url))),
            Ok(Reply::Error(e)) => Err(e),
            Err(_) => Err(CloudError::Transient(format!("unexpected HTTP {status} from {}", self.url))),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> CloudError {
        if e.is_timeout() {
            CloudError::Timeout(self.timeout.as_secs().max(1))
        } else if e.is_connect() {
            CloudError::Unreachable(format!("{}: {e}", self.url))
        } else {
            CloudError::Transient(format!("{}: {e}", self.url))
        }
    }
}

#[async_trait]
impl SimAdmin for SimHttpDriver {
    async fn config(&self) -> Result<SimConfig, CloudError> {
        self.call(&Call::Config).await
    }

    async fn set_faults(&self, faults: FaultConfig) -> Result<(), CloudError> {
        self.call(&Call::SetFaults { faults }).await
    }

    async fn set_time_factor(&self, factor: f64) -> Result<(), CloudError> {
        self.call(&Call::SetTimeFactor { time_factor: factor }).await
    }
}

#[async_trait]
impl CloudDriver for SimHttpDriver {
    fn vms_reachable(&self) -> bool {
        false
    }

    async fn create_vnet(&self, conn: &Connection, spec: VNetSpec) -> CloudResult<VNetHandle> {
        self.call(&Call::CreateVnet { conn: conn.clone(), spec }).await
    }

    async fn delete_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::DeleteVnet { conn: conn.clone(), csp_id }).await
    }

    async fn create_security_group(
        &self,
        conn: &Connection,
        spec: SecurityGroupSpec,
    ) -> CloudResult<SecurityGroupHandle> {
        self.call(&Call::CreateSecurityGroup { conn: conn.clone(), spec }).await
    }

    async fn delete_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::DeleteSecurityGroup { conn: conn.clone(), csp_id }).await
    }

    async fn create_key_pair(&self, conn: &Connection, spec: KeyPairSpec) -> CloudResult<KeyPairHandle> {
        self.call(&Call::CreateKeyPair { conn: conn.clone(), spec }).await
    }

    async fn delete_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::DeleteKeyPair { conn: conn.clone(), csp_id }).await
    }

    async fn create_subnet(&self, conn: &Connection, vnet_csp_id: &str, spec: SubnetSpec) -> CloudResult<SubnetHandle> {
        let vnet_csp_id = vnet_csp_id.to_string();
        self.call(&Call::CreateSubnet { conn: conn.clone(), vnet_csp_id, spec }).await
    }

    async fn delete_subnet(&self, conn: &Connection, vnet_csp_id: &str, subnet_csp_id: &str) -> CloudResult<()> {
        let (vnet_csp_id, subnet_csp_id) = (vnet_csp_id.to_string(), subnet_csp_id.to_string());
        self.call(&Call::DeleteSubnet { conn: conn.clone(), vnet_csp_id, subnet_csp_id }).await
    }

    async fn set_security_group_rules(
        &self,
        conn: &Connection,
        csp_id: &str,
        rules: Vec<FirewallRule>,
    ) -> CloudResult<SecurityGroupHandle> {
        let csp_id = csp_id.to_string();
        self.call(&Call::SetSecurityGroupRules { conn: conn.clone(), csp_id, rules }).await
    }

    async fn get_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<VNetHandle> {
        let csp_id = csp_id.to_string();
        self.call(&Call::GetVnet { conn: conn.clone(), csp_id }).await
    }

    async fn get_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<SecurityGroupHandle> {
        let csp_id = csp_id.to_string();
        self.call(&Call::GetSecurityGroup { conn: conn.clone(), csp_id }).await
    }

    async fn get_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<KeyPairHandle> {
        let csp_id = csp_id.to_string();
        self.call(&Call::GetKeyPair { conn: conn.clone(), csp_id }).await
    }

    async fn lookup_spec(&self, conn: &Connection, name: &str) -> CloudResult<CloudSpec> {
        let name = name.to_string();
        self.call(&Call::LookupSpec { conn: conn.clone(), name }).await
    }

    async fn list_specs(&self, conn: &Connection) -> CloudResult<Vec<CloudSpec>> {
        self.call(&Call::ListSpecs { conn: conn.clone() }).await
    }

    async fn lookup_image(&self, conn: &Connection, name: &str) -> CloudResult<CloudImage> {
        let name = name.to_string();
        self.call(&Call::LookupImage { conn: conn.clone(), name }).await
    }

    async fn list_images(&self, conn: &Connection) -> CloudResult<Vec<CloudImage>> {
        self.call(&Call::ListImages { conn: conn.clone() }).await
    }

    async fn create_vm(&self, conn: &Connection, spec: VmSpec) -> CloudResult<VmHandle> {
        self.call(&Call::CreateVm { conn: conn.clone(), spec }).await
    }

    async fn find_vm_by_token(&self, conn: &Connection, token: &str) -> CloudResult<Option<VmHandle>> {
        let token = token.to_string();
        self.call(&Call::FindVmByToken { conn: conn.clone(), token }).await
    }

    async fn get_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<VmHandle> {
        let csp_id = csp_id.to_string();
        self.call(&Call::GetVm { conn: conn.clone(), csp_id }).await
    }

    async fn list_vms(&self, conn: &Connection) -> CloudResult<Vec<VmHandle>> {
        self.call(&Call::ListVms { conn: conn.clone() }).await
    }

    async fn suspend_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::SuspendVm { conn: conn.clone(), csp_id }).await
    }

    async fn resume_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::ResumeVm { conn: conn.clone(), csp_id }).await
    }

    async fn reboot_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::RebootVm { conn: conn.clone(), csp_id }).await
    }

    async fn terminate_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        let csp_id = csp_id.to_string();
        self.call(&Call::TerminateVm { conn: conn.clone(), csp_id }).await
    }
}
