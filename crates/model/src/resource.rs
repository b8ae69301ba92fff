//! Wire and stored objects of namespaces, connections and resources (reference §1.2–§1.4),
//! in the v0.11/v0.12 JSON spelling. Requests take `#[serde(default)]` everywhere because
//! Go's decoder fills absent fields with zero values; validation happens in `core`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"message": ...}`: the body of every error and of simple acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SimpleMsg {
    pub message: String,
}

impl SimpleMsg {
    pub fn new(message: impl Into<String>) -> Self {
        SimpleMsg { message: message.into() }
    }
}

/// `{"output": [...]}`: id lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct IdList {
    pub output: Vec<String>,
}

/// `{"exists": bool}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Exists {
    pub exists: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// Namespace

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NsReq {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NsInfo {
    pub resource_type: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct NsList {
    pub ns: Vec<NsInfo>,
}

// ---------------------------------------------------------------------------------------------
// Connections and regions

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Location {
    pub display: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RegionDetail {
    pub region_id: String,
    pub region_name: String,
    pub description: String,
    pub location: Location,
    pub zones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct RegionList {
    pub regions: Vec<RegionDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RegionZoneInfo {
    pub assigned_region: String,
    pub assigned_zone: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnConfig {
    pub config_name: String,
    pub provider_name: String,
    pub driver_name: String,
    pub credential_name: String,
    pub credential_holder: String,
    pub region_zone_info_name: String,
    pub region_zone_info: RegionZoneInfo,
    pub region_detail: RegionDetail,
    pub region_representative: bool,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ConnConfigList {
    pub connectionconfig: Vec<ConnConfig>,
}

// ---------------------------------------------------------------------------------------------
// vNet and subnet

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SubnetReq {
    pub name: String,
    #[serde(rename = "ipv4_CIDR")]
    pub ipv4_cidr: String,
    pub zone: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VNetReq {
    pub name: String,
    pub connection_name: String,
    pub cidr_block: String,
    pub subnet_info_list: Vec<SubnetReq>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BastionNode {
    pub mci_id: String,
    pub vm_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SubnetInfo {
    pub resource_type: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub connection_name: String,
    #[serde(rename = "ipv4_CIDR")]
    pub ipv4_cidr: String,
    pub zone: String,
    pub bastion_nodes: Vec<BastionNode>,
    pub status: String,
    pub description: String,
    pub csp_resource_id: String,
    pub csp_resource_name: String,
    #[serde(rename = "cspVNetId")]
    pub csp_vnet_id: String,
    pub key_value_list: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VNetInfo {
    pub resource_type: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub connection_name: String,
    pub connection_config: ConnConfig,
    pub cidr_block: String,
    pub subnet_info_list: Vec<SubnetInfo>,
    pub description: String,
    pub csp_resource_id: String,
    pub csp_resource_name: String,
    pub status: String,
    pub key_value_list: Vec<KeyValue>,
    pub associated_object_list: Vec<String>,
    pub is_auto_generated: bool,
    pub system_label: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VNetList {
    #[serde(rename = "vNet")]
    pub vnet: Vec<VNetInfo>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubnetList {
    pub subnet_info_list: Vec<SubnetInfo>,
}

// ---------------------------------------------------------------------------------------------
// Security group

/// v0.11+ rule request. Keys are capitalised on the wire (`Ports`, `Protocol`, ...). The older
/// `FromPort`/`ToPort`/`IPProtocol` spelling is accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FirewallRuleReq {
    /// `22`, `80,443`, `1000-2000`, or a mix, comma separated.
    #[serde(rename = "Ports")]
    pub ports: String,
    /// TCP, UDP, ICMP or ALL.
    #[serde(rename = "Protocol")]
    pub protocol: String,
    /// inbound or outbound.
    #[serde(rename = "Direction")]
    pub direction: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
    /// ≤v0.8 spelling.
    #[serde(rename = "FromPort", skip_serializing_if = "String::is_empty")]
    pub from_port: String,
    #[serde(rename = "ToPort", skip_serializing_if = "String::is_empty")]
    pub to_port: String,
    #[serde(rename = "IPProtocol", skip_serializing_if = "String::is_empty")]
    pub ip_protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FirewallRuleInfo {
    /// A single port, a range `from-to`, or empty for ICMP/ALL.
    #[serde(rename = "Port")]
    pub port: String,
    #[serde(rename = "Protocol")]
    pub protocol: String,
    #[serde(rename = "Direction")]
    pub direction: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityGroupReq {
    pub name: String,
    pub connection_name: String,
    #[serde(rename = "vNetId")]
    pub vnet_id: String,
    pub description: String,
    pub firewall_rules: Vec<FirewallRuleReq>,
    pub csp_resource_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityGroupInfo {
    pub resource_type: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub connection_name: String,
    pub connection_config: ConnConfig,
    #[serde(rename = "vNetId")]
    pub vnet_id: String,
    pub description: String,
    pub firewall_rules: Vec<FirewallRuleInfo>,
    pub csp_resource_id: String,
    pub csp_resource_name: String,
    pub key_value_list: Vec<KeyValue>,
    pub associated_object_list: Vec<String>,
    pub is_auto_generated: bool,
    pub system_label: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupList {
    pub security_group: Vec<SecurityGroupInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityGroupUpdateReq {
    pub firewall_rules: Vec<FirewallRuleReq>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupUpdateResponse {
    pub id: String,
    pub name: String,
    pub success: bool,
    pub message: String,
    pub previous: SecurityGroupInfo,
    pub updated: SecurityGroupInfo,
}

// ---------------------------------------------------------------------------------------------
// sshKey

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SshKeyReq {
    pub name: String,
    pub connection_name: String,
    pub description: String,
    pub csp_resource_id: String,
    pub fingerprint: String,
    pub username: String,
    pub verified_username: String,
    pub public_key: String,
    pub private_key: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SshKeyInfo {
    pub resource_type: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub connection_name: String,
    pub connection_config: ConnConfig,
    pub description: String,
    pub csp_resource_id: String,
    pub csp_resource_name: String,
    pub fingerprint: String,
    pub username: String,
    pub verified_username: String,
    pub public_key: String,
    /// Kept for SSH access to the VMs; returned as the reference does.
    pub private_key: String,
    pub key_value_list: Vec<KeyValue>,
    pub associated_object_list: Vec<String>,
    pub is_auto_generated: bool,
    pub system_label: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SshKeyList {
    pub ssh_key: Vec<SshKeyInfo>,
}

// ---------------------------------------------------------------------------------------------
// Image

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageReq {
    pub name: String,
    pub connection_name: String,
    pub csp_image_name: String,
    /// ≤v0.8 spelling of `cspImageName`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_image_id: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageInfo {
    pub resource_type: String,
    pub namespace: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub provider_name: String,
    pub region_list: Vec<String>,
    pub connection_name: String,
    pub csp_image_id: String,
    pub csp_image_name: String,
    pub infra_type: String,
    pub fetched_time: String,
    pub creation_date: String,
    #[serde(rename = "isGPUImage")]
    pub is_gpu_image: bool,
    pub is_kubernetes_image: bool,
    pub is_basic_image: bool,
    pub os_type: String,
    pub os_architecture: String,
    pub os_platform: String,
    pub os_distribution: String,
    pub os_disk_type: String,
    #[serde(rename = "osDiskSizeGB")]
    pub os_disk_size_gb: f64,
    pub image_status: String,
    pub details: Vec<KeyValue>,
    pub associated_object_list: Vec<String>,
    pub system_label: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ImageList {
    pub image: Vec<ImageInfo>,
}

// ---------------------------------------------------------------------------------------------
// Spec

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecReq {
    pub name: String,
    pub connection_name: String,
    pub csp_spec_name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecInfo {
    pub resource_type: String,
    pub namespace: String,
    pub id: String,
    pub uid: String,
    pub name: String,
    pub connection_name: String,
    pub provider_name: String,
    pub region_name: String,
    pub csp_spec_name: String,
    pub infra_type: String,
    pub os_type: String,
    #[serde(rename = "vCPU")]
    pub vcpu: u32,
    #[serde(rename = "memoryGiB")]
    pub memory_gib: f64,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: f64,
    #[serde(rename = "maxTotalStorageTiB")]
    pub max_total_storage_tib: u32,
    pub net_bw_gbps: u32,
    pub accelerator_model: String,
    pub accelerator_count: u32,
    #[serde(rename = "acceleratorMemoryGB")]
    pub accelerator_memory_gb: f64,
    pub accelerator_type: String,
    pub cost_per_hour: f64,
    pub description: String,
    pub order_in_filtered_result: u32,
    pub evaluation_status: String,
    pub evaluation_score01: f64,
    pub evaluation_score02: f64,
    pub evaluation_score03: f64,
    pub evaluation_score04: f64,
    pub evaluation_score05: f64,
    pub evaluation_score06: f64,
    pub evaluation_score07: f64,
    pub evaluation_score08: f64,
    pub evaluation_score09: f64,
    pub evaluation_score10: f64,
    pub root_disk_type: String,
    pub root_disk_size: String,
    pub architecture: String,
    pub region_latitude: f64,
    pub region_longitude: f64,
    pub details: Vec<KeyValue>,
    pub associated_object_list: Vec<String>,
    pub is_auto_generated: bool,
    pub system_label: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpecList {
    pub spec: Vec<SpecInfo>,
}

// ---------------------------------------------------------------------------------------------
// Lookups (CB-Spider shapes, capitalised keys)

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LookupSpecReq {
    pub connection_name: String,
    pub csp_resource_id: String,
    /// ≤v0.8 spelling.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_spec_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LookupImageReq {
    pub connection_name: String,
    pub csp_image_name: String,
    /// ≤v0.8 spelling.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_image_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectionNameReq {
    pub connection_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderVCpuInfo {
    #[serde(rename = "Count")]
    pub count: String,
    #[serde(rename = "ClockGHz")]
    pub clock_ghz: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderGpuInfo {
    #[serde(rename = "Count")]
    pub count: String,
    #[serde(rename = "Mfr")]
    pub mfr: String,
    #[serde(rename = "Model")]
    pub model: String,
    #[serde(rename = "MemSizeGB")]
    pub mem_size_gb: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderSpecInfo {
    #[serde(rename = "Region")]
    pub region: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "VCpu")]
    pub vcpu: SpiderVCpuInfo,
    #[serde(rename = "MemSizeMib")]
    pub mem_size_mib: String,
    #[serde(rename = "DiskSizeGB")]
    pub disk_size_gb: String,
    #[serde(rename = "Gpu")]
    pub gpu: Vec<SpiderGpuInfo>,
    #[serde(rename = "KeyValueList")]
    pub key_value_list: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderSpecList {
    pub vmspec: Vec<SpiderSpecInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderIId {
    #[serde(rename = "NameId")]
    pub name_id: String,
    #[serde(rename = "SystemId")]
    pub system_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderImageInfo {
    #[serde(rename = "IId")]
    pub iid: SpiderIId,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "OSArchitecture")]
    pub os_architecture: String,
    #[serde(rename = "OSPlatform")]
    pub os_platform: String,
    #[serde(rename = "OSDistribution")]
    pub os_distribution: String,
    #[serde(rename = "OSDiskType")]
    pub os_disk_type: String,
    #[serde(rename = "OSDiskSizeGB")]
    pub os_disk_size_gb: String,
    #[serde(rename = "ImageStatus")]
    pub image_status: String,
    #[serde(rename = "KeyValueList")]
    pub key_value_list: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct SpiderImageList {
    pub image: Vec<SpiderImageInfo>,
}

/// `{"associatedObjectCount": n}` of the association test helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociatedObjectCount {
    pub associated_object_count: usize,
}
