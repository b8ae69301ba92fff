//! The in-process faces of the sim: [`SimDriver`] (a `CloudDriver`) and the [`SimAdmin`]
//! run-time knobs.

use std::sync::Arc;

use async_trait::async_trait;

use super::config::{FaultConfig, SimConfig};
use super::engine::SimCloud;
use crate::{
    CloudDriver, CloudError, CloudImage, CloudResult, CloudSpec, Connection, FirewallRule, KeyPairHandle, KeyPairSpec,
    SecurityGroupHandle, SecurityGroupSpec, SubnetHandle, SubnetSpec, VNetHandle, VNetSpec, VmHandle, VmSpec,
};

/// Run-time knobs of a simulated cloud, in process or over HTTP.
#[async_trait]
pub trait SimAdmin: Send + Sync {
    async fn config(&self) -> Result<SimConfig, CloudError>;
    async fn set_faults(&self, faults: FaultConfig) -> Result<(), CloudError>;
    async fn set_time_factor(&self, factor: f64) -> Result<(), CloudError>;
}

#[async_trait]
impl SimAdmin for SimCloud {
    async fn config(&self) -> Result<SimConfig, CloudError> {
        Ok(SimCloud::config(self))
    }

    async fn set_faults(&self, faults: FaultConfig) -> Result<(), CloudError> {
        SimCloud::set_faults(self, faults)
    }

    async fn set_time_factor(&self, factor: f64) -> Result<(), CloudError> {
        SimCloud::set_time_factor(self, factor)
    }
}

/// A [`CloudDriver`] over an in-process [`SimCloud`].
#[derive(Clone)]
pub struct SimDriver {
    cloud: Arc<SimCloud>,
}

impl SimDriver {
    /// A driver serving every connection of `cloud`.
    pub fn new(cloud: Arc<SimCloud>) -> SimDriver {
        SimDriver { cloud }
    }

    /// The engine behind the driver.
    pub fn cloud(&self) -> &Arc<SimCloud> {
        &self.cloud
    }
}

#[async_trait]
impl SimAdmin for SimDriver {
    async fn config(&self) -> Result<SimConfig, CloudError> {
        Ok(self.cloud.config())
    }

    async fn set_faults(&self, faults: FaultConfig) -> Result<(), CloudError> {
        self.cloud.set_faults(faults)
    }

    async fn set_time_factor(&self, factor: f64) -> Result<(), CloudError> {
        self.cloud.set_time_factor(factor)
    }
}

#[async_trait]
impl CloudDriver for SimDriver {
    fn vms_reachable(&self) -> bool {
        false
    }

    async fn create_vnet(&self, conn: &Connection, spec: VNetSpec) -> CloudResult<VNetHandle> {
        self.cloud.create_vnet(conn, spec).await
    }

    async fn delete_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.delete_vnet(conn, csp_id).await
    }

    async fn create_security_group(
        &self,
        conn: &Connection,
        spec: SecurityGroupSpec,
    ) -> CloudResult<SecurityGroupHandle> {
        self.cloud.create_security_group(conn, spec).await
    }

    async fn delete_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.delete_security_group(conn, csp_id).await
    }

    async fn create_key_pair(&self, conn: &Connection, spec: KeyPairSpec) -> CloudResult<KeyPairHandle> {
        self.cloud.create_key_pair(conn, spec).await
    }

    async fn delete_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.delete_key_pair(conn, csp_id).await
    }

    async fn create_subnet(&self, conn: &Connection, vnet_csp_id: &str, spec: SubnetSpec) -> CloudResult<SubnetHandle> {
        self.cloud.create_subnet(conn, vnet_csp_id, spec).await
    }

    async fn delete_subnet(&self, conn: &Connection, vnet_csp_id: &str, subnet_csp_id: &str) -> CloudResult<()> {
        self.cloud.delete_subnet(conn, vnet_csp_id, subnet_csp_id).await
    }

    async fn set_security_group_rules(
        &self,
        conn: &Connection,
        csp_id: &str,
        rules: Vec<FirewallRule>,
    ) -> CloudResult<SecurityGroupHandle> {
        self.cloud.set_security_group_rules(conn, csp_id, rules).await
    }

    async fn get_vnet(&self, conn: &Connection, csp_id: &str) -> CloudResult<VNetHandle> {
        self.cloud.get_vnet(conn, csp_id).await
    }

    async fn get_security_group(&self, conn: &Connection, csp_id: &str) -> CloudResult<SecurityGroupHandle> {
        self.cloud.get_security_group(conn, csp_id).await
    }

    async fn get_key_pair(&self, conn: &Connection, csp_id: &str) -> CloudResult<KeyPairHandle> {
        self.cloud.get_key_pair(conn, csp_id).await
    }

    async fn lookup_spec(&self, conn: &Connection, name: &str) -> CloudResult<CloudSpec> {
        self.cloud.lookup_spec(conn, name).await
    }

    async fn list_specs(&self, conn: &Connection) -> CloudResult<Vec<CloudSpec>> {
        self.cloud.list_specs(conn).await
    }

    async fn lookup_image(&self, conn: &Connection, name: &str) -> CloudResult<CloudImage> {
        self.cloud.lookup_image(conn, name).await
    }

    async fn list_images(&self, conn: &Connection) -> CloudResult<Vec<CloudImage>> {
        self.cloud.list_images(conn).await
    }

    async fn create_vm(&self, conn: &Connection, spec: VmSpec) -> CloudResult<VmHandle> {
        self.cloud.create_vm(conn, spec).await
    }

    async fn find_vm_by_token(&self, conn: &Connection, token: &str) -> CloudResult<Option<VmHandle>> {
        self.cloud.find_vm_by_token(conn, token).await
    }

    async fn get_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<VmHandle> {
        self.cloud.get_vm(conn, csp_id).await
    }

    async fn list_vms(&self, conn: &Connection) -> CloudResult<Vec<VmHandle>> {
        self.cloud.list_vms(conn).await
    }

    async fn suspend_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.suspend_vm(conn, csp_id).await
    }

    async fn resume_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.resume_vm(conn, csp_id).await
    }

    async fn reboot_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.reboot_vm(conn, csp_id).await
    }

    async fn terminate_vm(&self, conn: &Connection, csp_id: &str) -> CloudResult<()> {
        self.cloud.terminate_vm(conn, csp_id).await
    }
}
