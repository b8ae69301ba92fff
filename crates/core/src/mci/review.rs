//! `mciDynamicReview`: what a dynamic create would do, without doing it — every subgroup's
//! spec and image checked against the catalog and the cloud, the cost estimated.

use std::collections::BTreeSet;

use tb_model::mci::{
    MciDynamicReq, ReviewMciDynamicReqInfo, ReviewResourceSummary, ReviewResourceValidation,
    ReviewSubGroupDynamicReqInfo,
};

use super::create::FailurePolicy;
use crate::{CoreResult, Tumblebug};

fn policy_description(p: FailurePolicy) -> &'static str {
    match p {
        FailurePolicy::Continue => "continue: VMs that fail are kept as Failed; the MCI is created with the others",
        FailurePolicy::Refine => "refine: VMs that fail are removed at the end; the MCI keeps the others",
        FailurePolicy::Rollback => "rollback: if any VM fails, every VM is terminated and the MCI is deleted",
    }
}

impl Tumblebug {
    pub async fn review_mci_dynamic(&self, ns: &str, req: &MciDynamicReq) -> CoreResult<ReviewMciDynamicReqInfo> {
        self.require_ns(ns).await?;
        let mut out = ReviewMciDynamicReqInfo { mci_name: req.name.clone(), ..ReviewMciDynamicReqInfo::default() };
        let mut errors = 0;
        let mut warnings = 0;
        if let Err(e) = tb_model::check_name(&req.name) {
            out.recommendations.push(format!("choose another MCI name: {e}"));
            errors += 1;
        } else if self.mci_exists(ns, &req.name).await? {
            out.recommendations.push(format!("an MCI named {} already exists in {ns}", req.name));
            errors += 1;
        }
        let policy = match FailurePolicy::parse(&req.policy_on_partial_failure) {
            Ok(p) => p,
            Err(e) => {
                out.recommendations.push(e.to_string());
                errors += 1;
                FailurePolicy::Continue
            }
        };
        out.policy_on_partial_failure = policy.as_str().into();
        out.policy_description = policy_description(policy).into();
        let (mut providers, mut regions, mut conns, mut specs, mut images) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut summary = ReviewResourceSummary::default();
        let mut total_cost = 0.0;
        let mut cost_known = true;
        for (i, sg) in req.sub_groups.iter().enumerate() {
            let size = tb_model::lifecycle::subgroup_vm_count(sg.sub_group_size);
            out.total_vm_count += size as usize;
            let mut r = ReviewSubGroupDynamicReqInfo {
                vm_name: if sg.name.is_empty() { format!("g{}", i + 1) } else { sg.name.clone() },
                sub_group_size: size,
                ..ReviewSubGroupDynamicReqInfo::default()
            };
            match self.find_spec(ns, &sg.spec_id).await {
                Ok((spec, _)) => {
                    let conn = if sg.connection_name.is_empty() {
                        spec.connection_name.clone()
                    } else {
                        sg.connection_name.clone()
                    };
                    r.connection_name = conn.clone();
                    r.provider_name = spec.provider_name.clone();
                    r.region_name = spec.region_name.clone();
                    r.spec_validation = ReviewResourceValidation {
                        resource_id: spec.id.clone(),
                        resource_name: spec.csp_spec_name.clone(),
                        is_available: true,
                        status: "Available".into(),
                        csp_resource_id: spec.csp_spec_name.clone(),
                        ..ReviewResourceValidation::default()
                    };
                    match self.clouds.resolve(&conn) {
                        Ok((c, driver)) => {
                            if let Err(e) = driver.lookup_spec(&c, &spec.csp_spec_name).await {
                                r.spec_validation.is_available = false;
                                r.spec_validation.status = "Unavailable".into();
                                r.spec_validation.message = e.to_string();
                                r.errors.push(format!("spec {}: {e}", spec.id));
                            }
                            let image = match self.find_image(ns, &sg.image_id).await? {
                                Some((img, _)) => img.csp_image_name,
                                None => sg.image_id.clone(),
                            };
                            r.image_validation = match driver.lookup_image(&c, &image).await {
                                Ok(found) => ReviewResourceValidation {
                                    resource_id: sg.image_id.clone(),
                                    resource_name: found.name.clone(),
                                    is_available: true,
                                    status: "Available".into(),
                                    csp_resource_id: found.name,
                                    ..ReviewResourceValidation::default()
                                },
                                Err(e) => {
                                    r.errors.push(format!("image {}: {e}", sg.image_id));
                                    ReviewResourceValidation {
                                        resource_id: sg.image_id.clone(),
                                        status: "Unavailable".into(),
                                        message: e.to_string(),
                                        ..ReviewResourceValidation::default()
                                    }
                                }
                            };
                        }
                        Err(e) => r.errors.push(e.to_string()),
                    }
                    if spec.cost_per_hour >= 0.0 {
                        let cost = spec.cost_per_hour * f64::from(size);
                        total_cost += cost;
                        r.estimated_cost = format!("${cost:.4}/hour");
                    } else {
                        cost_known = false;
                        r.estimated_cost = "unknown".into();
                        r.warnings.push(format!("the price of {} is unknown", spec.id));
                    }
                    providers.insert(spec.provider_name.clone());
                    regions.insert(format!("{}/{}", spec.provider_name, spec.region_name));
                    conns.insert(conn);
                    specs.insert(spec.id.clone());
                }
                Err(e) => {
                    r.spec_validation = ReviewResourceValidation {
                        resource_id: sg.spec_id.clone(),
                        status: "Unavailable".into(),
                        message: e.to_string(),
                        ..ReviewResourceValidation::default()
                    };
                    r.errors.push(e.to_string());
                }
            }
            images.insert(sg.image_id.clone());
            if r.spec_validation.is_available {
                summary.available_specs += 1;
            } else {
                summary.unavailable_specs += 1;
            }
            if r.image_validation.is_available {
                summary.available_images += 1;
            } else {
                summary.unavailable_images += 1;
            }
            r.can_create = r.errors.is_empty();
            r.status = if !r.errors.is_empty() {
                "Error"
            } else if !r.warnings.is_empty() {
                "Warning"
            } else {
                "Ready"
            }
            .into();
            r.message = r.errors.first().or(r.warnings.first()).cloned().unwrap_or_else(|| "ready to create".into());
            errors += r.errors.len();
            warnings += r.warnings.len();
            out.vm_reviews.push(r);
        }
        if req.sub_groups.is_empty() {
            errors += 1;
            out.recommendations.push("add at least one subGroup".into());
        }
        summary.total_providers = providers.len();
        summary.total_regions = regions.len();
        summary.provider_names = providers.into_iter().collect();
        summary.region_names = regions.into_iter().collect();
        summary.connection_names = conns.into_iter().collect();
        summary.unique_specs = specs.into_iter().collect();
        summary.unique_images = images.into_iter().collect();
        out.resource_summary = summary;
        out.creation_viable = errors == 0;
        out.overall_status = if errors > 0 {
            "Error"
        } else if warnings > 0 {
            "Warning"
        } else {
            "Ready"
        }
        .into();
        out.overall_message = match (errors, warnings) {
            (0, 0) => format!("all {} VMs can be created", out.total_vm_count),
            (0, w) => format!("creation is possible with {w} warning(s)"),
            (e, _) => format!("creation would fail: {e} error(s)"),
        };
        out.estimated_cost =
            if cost_known { format!("${total_cost:.4}/hour") } else { format!("at least ${total_cost:.4}/hour") };
        Ok(out)
    }
}
