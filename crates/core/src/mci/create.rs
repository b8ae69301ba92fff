//! MCI creation: validate the request, resolve every resource, write the MCI, its subgroups
//! and every VM record (with its uid and intent) in one transaction, then provision.

use std::collections::BTreeMap;

use tb_model::lifecycle::{self, STATUS_COMPLETE};
use tb_model::mci::{CreateSubGroupReq, MciCreationErrors, MciInfo, MciReq, SubGroupInfo, VmInfo};
use tb_model::resource::{ImageInfo, SecurityGroupInfo, SpecInfo, SshKeyInfo, VNetInfo};
use tb_model::{TargetAction, VmStatus, check_name, to_lower};
use tb_store::{Compare, Op, TxnOutcome};

use super::mci_not_found;
use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, SYSTEM_NS, Tumblebug, new_uid, now_string, repo};

/// Largest subgroup accepted in one request.
const MAX_SUBGROUP_SIZE: u32 = 5000;
/// Most VMs one request may create (all subgroups together).
const MAX_VMS_PER_REQUEST: u32 = 10_000;
const MAX_TXN_RETRIES: usize = 8;

/// How a create request behaves.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `option=hold`: write the records, then wait for `continue` or `withdraw`.
    pub hold: bool,
}

/// `policyOnPartialFailure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailurePolicy {
    Continue,
    Rollback,
    Refine,
}

impl FailurePolicy {
    pub(crate) fn parse(s: &str) -> CoreResult<FailurePolicy> {
        match s.to_ascii_lowercase().as_str() {
            "" | "continue" => Ok(FailurePolicy::Continue),
            "rollback" => Ok(FailurePolicy::Rollback),
            "refine" => Ok(FailurePolicy::Refine),
            other => Err(CoreError::invalid(format!(
                "policyOnPartialFailure {other:?} must be one of continue, rollback, refine"
            ))),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Continue => "continue",
            FailurePolicy::Rollback => "rollback",
            FailurePolicy::Refine => "refine",
        }
    }
}

/// A create whose records are written; `run` provisions the VMs.
pub struct CreatePlan {
    tb: Tumblebug,
    ns: String,
    mci: String,
    vm_ids: Vec<String>,
    policy: FailurePolicy,
    hold: bool,
}

impl CreatePlan {
    pub fn mci_id(&self) -> &str {
        &self.mci
    }

    /// Provisions (unless held) and returns the MCI.
    pub async fn run(self) -> CoreResult<MciInfo> {
        if self.hold {
            return self.tb.get_mci(&self.ns, &self.mci).await;
        }
        let info = self.tb.provision_and_settle(&self.ns, &self.mci, &self.vm_ids, self.policy).await?;
        if info.post_command.command.iter().all(|c| c.trim().is_empty()) {
            return Ok(info);
        }
        self.tb.run_post_command(&self.ns, &self.mci, info).await
    }
}

/// A VM record to write plus the resource documents it uses.
pub(crate) struct PlannedVm {
    pub vm: VmInfo,
    pub uses: Vec<(ResourceKind, String)>,
}

impl Tumblebug {
    /// Looks a spec up in the namespace, then in the system namespace (catalog included).
    pub(crate) async fn find_spec(&self, ns: &str, id: &str) -> CoreResult<(SpecInfo, bool)> {
        if let Some(v) = repo::get::<SpecInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::Spec, id)).await?
        {
            return Ok((v.value, true));
        }
        match self.get_resource::<SpecInfo>(SYSTEM_NS, id).await {
            Ok(s) => Ok((s, false)),
            Err(CoreError::NotFound(_)) => Err(CoreError::invalid(format!(
                "specId {id} does not exist in namespace {ns} or in the system catalog"
            ))),
            Err(e) => Err(e),
        }
    }

    /// Looks an image up in the namespace, then in the system namespace (catalog included).
    pub(crate) async fn find_image(&self, ns: &str, id: &str) -> CoreResult<Option<(ImageInfo, bool)>> {
        if let Some(v) =
            repo::get::<ImageInfo>(self.store.as_ref(), &keys::resource(ns, ResourceKind::Image, id)).await?
        {
            return Ok(Some((v.value, true)));
        }
        match self.get_resource::<ImageInfo>(SYSTEM_NS, id).await {
            Ok(i) => Ok(Some((i, false))),
            Err(CoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn ns_resource<T: crate::resource::Resource>(&self, ns: &str, id: &str, field: &str) -> CoreResult<T> {
        match repo::get::<T>(self.store.as_ref(), &keys::resource(ns, T::KIND, id)).await? {
            Some(v) => Ok(v.value),
            None => Err(CoreError::invalid(format!("{field} {id:?} does not exist in namespace {ns}"))),
        }
    }

    /// Resolves a subgroup request into VM records (not yet stored).
    pub(crate) async fn plan_subgroup(
        &self,
        ns: &str,
        mci_id: &str,
        req: &CreateSubGroupReq,
        names: &[String],
    ) -> CoreResult<Vec<PlannedVm>> {
        let sg_name = to_lower(&req.name);
        let (spec, spec_stored) = self.find_spec(ns, &req.spec_id).await?;
        let vnet: VNetInfo = self.ns_resource(ns, &req.vnet_id, "vNetId").await?;
        let connection =
            if req.connection_name.is_empty() { vnet.connection_name.clone() } else { req.connection_name.clone() };
        if connection != vnet.connection_name {
            return Err(CoreError::invalid(format!(
                "subGroup {sg_name}: vNet {} is on connection {}, not {connection}",
                vnet.id, vnet.connection_name
            )));
        }
        if !spec.connection_name.is_empty() && spec.connection_name != connection {
            return Err(CoreError::invalid(format!(
                "subGroup {sg_name}: spec {} is for connection {}, not {connection}",
                spec.id, spec.connection_name
            )));
        }
        let subnet = vnet.subnet_info_list.iter().find(|s| s.id == req.subnet_id).ok_or_else(|| {
            CoreError::invalid(format!("subnetId {:?} does not exist in vNet {}", req.subnet_id, vnet.id))
        })?;
        if req.security_group_ids.is_empty() {
            return Err(CoreError::invalid(format!(
                "subGroup {sg_name}: securityGroupIds must name at least one security group"
            )));
        }
        let mut sgs = Vec::new();
        for id in &req.security_group_ids {
            let sg: SecurityGroupInfo = self.ns_resource(ns, id, "securityGroupId").await?;
            if sg.connection_name != connection {
                return Err(CoreError::invalid(format!(
                    "security group {id} is on connection {}, not {connection}",
                    sg.connection_name
                )));
            }
            sgs.push(sg);
        }
        let key: SshKeyInfo = self.ns_resource(ns, &req.ssh_key_id, "sshKeyId").await?;
        if key.connection_name != connection {
            return Err(CoreError::invalid(format!(
                "sshKey {} is on connection {}, not {connection}",
                key.id, key.connection_name
            )));
        }
        // The image may be a registered/catalog image id or the CSP's own image name.
        let (image_id, csp_image, image_stored) = match self.find_image(ns, &req.image_id).await? {
            Some((img, stored)) => (img.id.clone(), img.csp_image_name.clone(), stored),
            None => (req.image_id.clone(), req.image_id.clone(), false),
        };
        if csp_image.is_empty() {
            return Err(CoreError::invalid(format!("subGroup {sg_name}: imageId is required")));
        }
        let conn_config = self.clouds.config(&connection)?;
        let location = tb_model::resource::Location {
            display: conn_config.region_detail.location.display.clone(),
            latitude: conn_config.region_detail.location.latitude,
            longitude: conn_config.region_detail.location.longitude,
        };
        let mut uses = vec![(ResourceKind::VNet, vnet.id.clone()), (ResourceKind::SshKey, key.id.clone())];
        uses.extend(sgs.iter().map(|s| (ResourceKind::SecurityGroup, s.id.clone())));
        if spec_stored {
            uses.push((ResourceKind::Spec, spec.id.clone()));
        }
        if image_stored {
            uses.push((ResourceKind::Image, image_id.clone()));
        }
        let user = if !req.vm_user_name.is_empty() {
            req.vm_user_name.clone()
        } else if !key.verified_username.is_empty() {
            key.verified_username.clone()
        } else {
            key.username.clone()
        };
        let mut out = Vec::new();
        for name in names {
            let uid = new_uid();
            let mut vm = VmInfo {
                resource_type: "vm".into(),
                id: name.clone(),
                csp_resource_name: self.engine().token(&uid),
                uid,
                name: name.clone(),
                sub_group_id: sg_name.clone(),
                location: location.clone(),
                mon_agent_status: "notInstalled".into(),
                network_agent_status: "notInstalled".into(),
                label: req.label.clone(),
                description: req.description.clone(),
                region: tb_model::mci::RegionInfo {
                    region: conn_config.region_zone_info.assigned_region.clone(),
                    zone: subnet.zone.clone(),
                },
                root_disk_type: req.root_disk_type.clone(),
                root_disk_size: req.root_disk_size,
                connection_name: connection.clone(),
                connection_config: conn_config.clone(),
                spec_id: spec.id.clone(),
                csp_spec_name: spec.csp_spec_name.clone(),
                image_id: image_id.clone(),
                csp_image_name: csp_image.clone(),
                vnet_id: vnet.id.clone(),
                csp_vnet_id: vnet.csp_resource_id.clone(),
                subnet_id: subnet.id.clone(),
                csp_subnet_id: subnet.csp_resource_id.clone(),
                security_group_ids: sgs.iter().map(|s| s.id.clone()).collect(),
                data_disk_ids: req.data_disk_ids.clone(),
                ssh_key_id: key.id.clone(),
                csp_ssh_key_id: key.csp_resource_id.clone(),
                vm_user_name: user.clone(),
                vm_user_password: req.vm_user_password.clone(),
                ..VmInfo::default()
            };
            if let Some(intent) = lifecycle::action_intent(TargetAction::Create) {
                intent.apply_to(&mut vm);
            }
            vm.label.insert("sys.mciId".into(), mci_id.to_string());
            vm.label.insert("sys.subGroupId".into(), sg_name.clone());
            vm.label.insert("sys.uid".into(), vm.uid.clone());
            out.push(PlannedVm { vm, uses: uses.clone() });
        }
        Ok(out)
    }

    /// Writes new VM records (and optionally the MCI and subgroup documents) and the
    /// resources' associations in one transaction.
    pub(crate) async fn write_plan(
        &self,
        ns: &str,
        mci: Option<&MciInfo>,
        mci_id: &str,
        subgroups: &[SubGroupInfo],
        planned: &[PlannedVm],
    ) -> CoreResult<()> {
        for _ in 0..MAX_TXN_RETRIES {
            let mut compares = Vec::new();
            let mut ops = Vec::new();
            if mci.is_none() {
                // Adding to an existing MCI: it must still exist (not deleted meanwhile).
                let key = keys::mci(ns, mci_id);
                let Some(kv) = self.store.get(&key).await? else {
                    return Err(mci_not_found(ns, mci_id));
                };
                compares.push(Compare { key, revision: kv.revision });
            }
            if let Some(m) = mci {
                let key = keys::mci(ns, mci_id);
                compares.push(Compare { key: key.clone(), revision: 0 });
                ops.push(Op::Put { value: repo::encode(&key, m)?, key });
            }
            for sg in subgroups {
                let key = keys::subgroup(ns, mci_id, &sg.id);
                // Subgroups may be rewritten by a scale-out: write them unconditionally.
                ops.push(Op::Put { value: repo::encode(&key, sg)?, key });
            }
            let mut uses: BTreeMap<(ResourceKind, String), Vec<String>> = BTreeMap::new();
            for p in planned {
                let key = keys::vm(ns, mci_id, &p.vm.id);
                compares.push(Compare { key: key.clone(), revision: 0 });
                ops.push(Op::Put { value: repo::encode(&key, &p.vm)?, key: key.clone() });
                for u in &p.uses {
                    uses.entry(u.clone()).or_default().push(key.clone());
                }
            }
            for ((kind, id), vm_keys) in &uses {
                let key = keys::resource(ns, *kind, id);
                let Some(doc) = repo::get::<serde_json::Value>(self.store.as_ref(), &key).await? else {
                    return Err(CoreError::invalid(format!("{kind} {id} was deleted meanwhile")));
                };
                let mut value = doc.value;
                super::super::resource::push_associations(&mut value, vm_keys)?;
                compares.push(Compare { key: key.clone(), revision: doc.revision });
                ops.push(Op::Put { value: repo::encode(&key, &value)?, key });
            }
            match self.store.txn(compares, ops).await? {
                TxnOutcome::Committed(_) => return Ok(()),
                TxnOutcome::Conflict => {
                    if mci.is_some() && self.mci_exists(ns, mci_id).await? {
                        return Err(CoreError::AlreadyExists(format!("The MCI {mci_id} already exists")));
                    }
                    if let Some(p) = planned.first()
                        && mci.is_none()
                        && self.vm_exists(ns, mci_id, &p.vm.id).await?
                    {
                        return Err(CoreError::AlreadyExists(format!("The VM {} already exists", p.vm.id)));
                    }
                }
            }
        }
        Err(CoreError::ConcurrentUpdate(format!("The MCI {mci_id}")))
    }

    /// `POST /ns/{ns}/mci`: creates the MCI and provisions every VM. Returns when every VM has
    /// reached Running or failed (the synchronous CB-Tumblebug behaviour).
    pub async fn create_mci(&self, ns: &str, req: MciReq, opts: CreateOptions) -> CoreResult<MciInfo> {
        self.prepare_create_mci(ns, req, opts).await?.run().await
    }

    /// The part of a create that must happen before answering: validation and the records
    /// (MCI, subgroups, VMs with their intent). [`CreatePlan::run`] does the rest.
    pub async fn prepare_create_mci(&self, ns: &str, req: MciReq, opts: CreateOptions) -> CoreResult<CreatePlan> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        let policy = FailurePolicy::parse(&req.policy_on_partial_failure)?;
        if req.sub_groups.is_empty() {
            return Err(CoreError::invalid("subGroups must contain at least one subgroup"));
        }
        if self.mci_exists(ns, &req.name).await? {
            return Err(CoreError::AlreadyExists(format!("The MCI {} already exists", req.name)));
        }
        let mut subgroups: Vec<SubGroupInfo> = Vec::new();
        let mut total_vms: u32 = 0;
        let mut planned = Vec::new();
        for sg in &req.sub_groups {
            check_name(&sg.name).map_err(|e| CoreError::invalid(format!("subGroup name: {e}")))?;
            let size = lifecycle::subgroup_vm_count(sg.sub_group_size);
            total_vms += size;
            if total_vms > MAX_VMS_PER_REQUEST {
                return Err(CoreError::invalid(format!("a request may create at most {MAX_VMS_PER_REQUEST} VMs")));
            }
            if size > MAX_SUBGROUP_SIZE {
                return Err(CoreError::invalid(format!(
                    "subGroupSize {size} is above the limit of {MAX_SUBGROUP_SIZE}"
                )));
            }
            let sg_id = to_lower(&sg.name);
            if subgroups.iter().any(|s| s.id == sg_id) {
                return Err(CoreError::invalid(format!("Duplicated SubGroup ID: {sg_id}")));
            }
            let names = lifecycle::vm_names(&sg.name, sg.sub_group_size, 1);
            let vms = self.plan_subgroup(ns, &req.name, sg, &names).await?;
            subgroups.push(SubGroupInfo {
                resource_type: "subGroup".into(),
                id: sg_id.clone(),
                uid: new_uid(),
                name: sg_id,
                vm_id: names.clone(),
                sub_group_size: size,
            });
            planned.extend(vms);
        }
        let mut mci = MciInfo {
            resource_type: "mci".into(),
            id: req.name.clone(),
            uid: new_uid(),
            name: req.name.clone(),
            status: VmStatus::Creating.as_str().into(),
            install_mon_agent: req.install_mon_agent.clone(),
            label: req.label.clone(),
            system_label: req.system_label.clone(),
            placement_algo: req.placement_algo.clone(),
            description: req.description.clone(),
            post_command: req.post_command.clone(),
            capacity_failover: req.capacity_failover,
            ..MciInfo::default()
        };
        mci.set_target(TargetAction::Create, VmStatus::Running.as_str());
        mci.label.insert("sys.manager".into(), "tumblebug".into());
        mci.label.insert("sys.namespace".into(), ns.to_string());
        mci.label.insert("sys.id".into(), req.name.clone());
        mci.label.insert("sys.uid".into(), mci.uid.clone());
        mci.status_count.count_total = planned.len();
        if opts.hold {
            mci.system_message.push("held: waiting for continue or withdraw".into());
        }
        self.write_plan(ns, Some(&mci), &req.name, &subgroups, &planned).await?;
        tracing::info!(ns, mci = %req.name, vms = planned.len(), hold = opts.hold, "MCI records written");
        Ok(CreatePlan {
            tb: self.clone(),
            ns: ns.to_string(),
            mci: req.name.clone(),
            vm_ids: planned.iter().map(|p| p.vm.id.clone()).collect(),
            policy,
            hold: opts.hold,
        })
    }

    /// Provisions the given VMs of an MCI, applies the partial-failure policy, clears the
    /// MCI's intent and returns the MCI.
    pub(crate) async fn provision_and_settle(
        &self,
        ns: &str,
        mci_id: &str,
        vm_ids: &[String],
        policy: FailurePolicy,
    ) -> CoreResult<MciInfo> {
        let (errors, moves) = self.provision_vms(ns, mci_id, vm_ids).await;
        let failed: Vec<String> = errors.iter().map(|e| e.vm_name.clone()).collect();
        let total = vm_ids.len();
        let creation_errors = MciCreationErrors {
            vm_object_creation_errors: Vec::new(),
            vm_creation_errors: errors.iter().chain(moves.iter()).cloned().collect(),
            total_vm_count: total,
            successful_vm_count: total - failed.len(),
            failed_vm_count: failed.len(),
            failure_handling_strategy: policy.as_str().into(),
        };
        if !failed.is_empty() {
            tracing::warn!(ns, mci = mci_id, failed = failed.len(), total, policy = policy.as_str(), "some VMs failed");
            match policy {
                FailurePolicy::Continue => {}
                FailurePolicy::Refine => {
                    for vm in &failed {
                        self.delete_vm_record(ns, mci_id, vm).await?;
                    }
                }
                FailurePolicy::Rollback => {
                    let summary = creation_errors
                        .vm_creation_errors
                        .iter()
                        .map(|e| format!("{}: {}", e.vm_name, e.error))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.delete_mci(ns, mci_id, lifecycle::DeleteOption::Terminate).await?;
                    return Err(CoreError::Conflict(format!(
                        "MCI {mci_id} rolled back: {} of {total} VMs failed ({summary})",
                        failed.len()
                    )));
                }
            }
        }
        let key = keys::mci(ns, mci_id);
        let errs = (!failed.is_empty() || !moves.is_empty()).then_some(creation_errors);
        let vm_count = repo::list_child_ids(self.store.as_ref(), &keys::vm_prefix(ns, mci_id)).await?.len();
        repo::modify(self.store.as_ref(), &key, &format!("The MCI {mci_id}"), |m: &mut MciInfo| {
            m.set_target(TargetAction::None, STATUS_COMPLETE);
            // Creation is over: the total is what exists now (refine may have removed VMs),
            // and the stored status no longer says Creating.
            m.status_count.count_total = vm_count;
            m.status.clear();
            if let Some(e) = &errs {
                match &mut m.creation_errors {
                    Some(prev) => {
                        prev.vm_creation_errors.extend(e.vm_creation_errors.iter().cloned());
                        prev.total_vm_count += e.total_vm_count;
                        prev.successful_vm_count += e.successful_vm_count;
                        prev.failed_vm_count += e.failed_vm_count;
                        prev.failure_handling_strategy.clone_from(&e.failure_handling_strategy);
                    }
                    None => m.creation_errors = Some(e.clone()),
                }
            }
            m.system_message.retain(|s| !s.starts_with("held:"));
            Ok(())
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => mci_not_found(ns, mci_id),
            other => other,
        })?;
        let mut info = self.get_mci(ns, mci_id).await?;
        if lifecycle::create_failed_entirely(&info.vm.iter().map(VmInfo::vm_status).collect::<Vec<_>>()) {
            // The plain `Failed` of CB-Tumblebug for the create call itself.
            info.status = VmStatus::Failed.as_str().into();
        }
        Ok(info)
    }

    /// Runs the MCI's `postCommand` on its running VMs after creation and stores the result in
    /// `postCommandResult` (reference §6).
    async fn run_post_command(&self, ns: &str, mci_id: &str, mut info: MciInfo) -> CoreResult<MciInfo> {
        let target = crate::remote::CommandTarget::default();
        let result = self.run_mci_command(ns, mci_id, info.post_command.clone(), target, "").await;
        let (results, message) = match result {
            Ok(results) => (results, None),
            Err(e) => (Vec::new(), Some(format!("postCommand not run: {e}"))),
        };
        let stored = tb_model::mci::MciSshCmdResult { results };
        repo::modify(self.store.as_ref(), &keys::mci(ns, mci_id), "MCI", |m: &mut MciInfo| {
            m.post_command_result = stored.clone();
            if let Some(msg) = &message {
                m.system_message.push(msg.clone());
            }
            Ok(())
        })
        .await?;
        info.post_command_result = stored;
        if let Some(msg) = message {
            info.system_message.push(msg);
        }
        Ok(info)
    }

    /// `POST /mci/{id}/vm` (static) : adds a subgroup to an existing MCI.
    pub async fn add_subgroup(&self, ns: &str, mci_id: &str, req: CreateSubGroupReq) -> CoreResult<MciInfo> {
        self.mci_doc(ns, mci_id).await?;
        check_name(&req.name)?;
        let sg_id = to_lower(&req.name);
        if repo::get::<SubGroupInfo>(self.store.as_ref(), &keys::subgroup(ns, mci_id, &sg_id)).await?.is_some() {
            return Err(CoreError::AlreadyExists(format!("Duplicated SubGroup ID: {sg_id}")));
        }
        let size = lifecycle::subgroup_vm_count(req.sub_group_size);
        if size > MAX_SUBGROUP_SIZE {
            return Err(CoreError::invalid(format!("subGroupSize {size} is above the limit of {MAX_SUBGROUP_SIZE}")));
        }
        let names = lifecycle::vm_names(&req.name, req.sub_group_size, 1);
        let planned = self.plan_subgroup(ns, mci_id, &req, &names).await?;
        let sg = SubGroupInfo {
            resource_type: "subGroup".into(),
            id: sg_id.clone(),
            uid: new_uid(),
            name: sg_id,
            vm_id: names.clone(),
            sub_group_size: size,
        };
        self.set_mci_intent(ns, mci_id, TargetAction::Create, names.len()).await?;
        self.write_plan(ns, None, mci_id, std::slice::from_ref(&sg), &planned).await?;
        self.provision_and_settle(ns, mci_id, &names, FailurePolicy::Continue).await
    }

    /// `POST /mci/{id}/subgroup/{sg}` `{numVMsToAdd}`: scale-out cloning the subgroup's first
    /// VM, numbering on from the current size.
    pub async fn scale_out(&self, ns: &str, mci_id: &str, sg_id: &str, add: u32) -> CoreResult<MciInfo> {
        if add == 0 || add > MAX_SUBGROUP_SIZE {
            return Err(CoreError::invalid(format!("numVMsToAdd must be between 1 and {MAX_SUBGROUP_SIZE}")));
        }
        let mut sg = self.subgroup(ns, mci_id, sg_id).await?;
        let vms = self.vm_docs(ns, mci_id).await?;
        let first = vms
            .iter()
            .find(|v| v.sub_group_id == sg.id)
            .ok_or_else(|| CoreError::conflict(format!("subGroup {sg_id} has no VM to clone")))?;
        let req = CreateSubGroupReq {
            name: sg.id.clone(),
            connection_name: first.connection_name.clone(),
            spec_id: first.spec_id.clone(),
            image_id: first.image_id.clone(),
            vnet_id: first.vnet_id.clone(),
            subnet_id: first.subnet_id.clone(),
            security_group_ids: first.security_group_ids.clone(),
            ssh_key_id: first.ssh_key_id.clone(),
            vm_user_name: first.vm_user_name.clone(),
            root_disk_type: first.root_disk_type.clone(),
            root_disk_size: first.root_disk_size,
            label: first
                .label
                .iter()
                .filter(|(k, _)| !k.starts_with("sys."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            description: first.description.clone(),
            ..CreateSubGroupReq::default()
        };
        // Continue after the highest number in use (VMs may have been deleted in between).
        let prefix = format!("{}-", sg.id);
        let start = vms
            .iter()
            .filter_map(|v| v.id.strip_prefix(&prefix).and_then(|n| n.parse::<u32>().ok()))
            .max()
            .unwrap_or(0)
            + 1;
        let names = lifecycle::vm_names(&sg.id, Some(add), start);
        let planned = self.plan_subgroup(ns, mci_id, &req, &names).await?;
        sg.vm_id.extend(names.iter().cloned());
        sg.sub_group_size = sg.vm_id.len() as u32;
        self.set_mci_intent(ns, mci_id, TargetAction::Create, names.len()).await?;
        self.write_plan(ns, None, mci_id, std::slice::from_ref(&sg), &planned).await?;
        self.provision_and_settle(ns, mci_id, &names, FailurePolicy::Continue).await
    }

    /// Records an MCI-level intent; refused while another intent is pending.
    pub(crate) async fn set_mci_intent(
        &self,
        ns: &str,
        mci_id: &str,
        action: TargetAction,
        new_vms: usize,
    ) -> CoreResult<()> {
        let existing = repo::list_child_ids(self.store.as_ref(), &keys::vm_prefix(ns, mci_id)).await?.len();
        let target = lifecycle::action_intent(action).map(|i| i.target_status.as_str()).unwrap_or(STATUS_COMPLETE);
        repo::modify(self.store.as_ref(), &keys::mci(ns, mci_id), &format!("The MCI {mci_id}"), |m: &mut MciInfo| {
            lifecycle::check_mci_idle(mci_id, m.target_action(), false)
                .map_err(|e| CoreError::conflict(e.to_string()))?;
            m.set_target(action, target);
            if action == TargetAction::Create {
                m.status_count.count_total = existing + new_vms;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `now_string` for records written by the engine.
    pub(crate) fn stamp() -> String {
        now_string()
    }
}

impl Tumblebug {
    /// `POST /ns/{ns}/registerCspVm`: brings VMs that already exist in a cloud under an MCI
    /// (new or existing). Each subgroup names one CSP VM by `cspResourceId`; its vNet, subnet,
    /// security groups and key must be registered in the namespace like for a static create.
    pub async fn register_csp_vms(&self, ns: &str, req: MciReq) -> CoreResult<MciInfo> {
        self.require_ns(ns).await?;
        check_name(&req.name)?;
        if req.sub_groups.is_empty() {
            return Err(CoreError::invalid("subGroups must contain at least one subgroup"));
        }
        let exists = self.mci_exists(ns, &req.name).await?;
        let mut subgroups = Vec::new();
        let mut planned = Vec::new();
        for sg in &req.sub_groups {
            if sg.csp_resource_id.is_empty() {
                return Err(CoreError::invalid(format!(
                    "subGroup {}: cspResourceId (the VM's id in the cloud) is required",
                    sg.name
                )));
            }
            check_name(&sg.name).map_err(|e| CoreError::invalid(format!("subGroup name: {e}")))?;
            let sg_id = to_lower(&sg.name);
            if exists
                && repo::get::<SubGroupInfo>(self.store.as_ref(), &keys::subgroup(ns, &req.name, &sg_id))
                    .await?
                    .is_some()
            {
                return Err(CoreError::AlreadyExists(format!("Duplicated SubGroup ID: {sg_id}")));
            }
            let names = lifecycle::vm_names(&sg.name, Some(1), 1);
            let mut vms = self.plan_subgroup(ns, &req.name, sg, &names).await?;
            for p in &mut vms {
                p.vm.set_status(VmStatus::Registering);
                p.vm.set_target(TargetAction::Register, VmStatus::Running.as_str());
                p.vm.csp_resource_id.clone_from(&sg.csp_resource_id);
                p.vm.csp_resource_name.clear();
            }
            subgroups.push(SubGroupInfo {
                resource_type: "subGroup".into(),
                id: sg_id.clone(),
                uid: new_uid(),
                name: sg_id,
                vm_id: names,
                sub_group_size: 1,
            });
            planned.extend(vms);
        }
        let mci = if exists {
            self.set_mci_intent(ns, &req.name, TargetAction::Register, planned.len()).await?;
            None
        } else {
            let mut m = MciInfo {
                resource_type: "mci".into(),
                id: req.name.clone(),
                uid: new_uid(),
                name: req.name.clone(),
                status: VmStatus::Registering.as_str().into(),
                label: req.label.clone(),
                system_label: "Registered from CSP resource".into(),
                description: req.description.clone(),
                ..MciInfo::default()
            };
            m.set_target(TargetAction::Register, VmStatus::Running.as_str());
            m.status_count.count_total = planned.len();
            Some(m)
        };
        self.write_plan(ns, mci.as_ref(), &req.name, &subgroups, &planned).await?;
        for p in &planned {
            let key = keys::vm(ns, &req.name, &p.vm.id);
            let found = match self.clouds.resolve(&p.vm.connection_name) {
                Ok((conn, driver)) => driver.get_vm(&conn, &p.vm.csp_resource_id).await.map_err(CoreError::from),
                Err(e) => Err(e),
            };
            repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                match &found {
                    Ok(h) => {
                        super::provision::apply_handle(v, h);
                        v.csp_resource_name.clone_from(&h.token);
                        v.set_status(h.status);
                        v.created_time = Tumblebug::stamp();
                        v.system_message = "registered from the cloud".into();
                    }
                    Err(e) => {
                        v.set_status(VmStatus::Failed);
                        v.system_message = format!("registration failed: {e}");
                    }
                }
                v.set_target(TargetAction::None, STATUS_COMPLETE);
                Ok(())
            })
            .await?;
        }
        let vm_count = repo::list_child_ids(self.store.as_ref(), &keys::vm_prefix(ns, &req.name)).await?.len();
        repo::modify(self.store.as_ref(), &keys::mci(ns, &req.name), "MCI", |m: &mut MciInfo| {
            m.set_target(TargetAction::None, STATUS_COMPLETE);
            m.status_count.count_total = vm_count;
            m.status.clear();
            Ok(())
        })
        .await?;
        self.get_mci(ns, &req.name).await
    }
}
