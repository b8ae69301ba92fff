//! The MCI lifecycle through the HTTP API against the simulated clouds, with four CSPs'
//! native state machines in one MCI.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};

/// First catalog spec and image of a connection, as ids usable in `mciDynamic`.
pub(crate) async fn spec_and_image(app: &TestApp, conn: &str, provider: &str) -> (String, String) {
    let r = app.get(&format!("/tumblebug/ns/system/resources/spec?filterKey=connectionName&filterVal={conn}")).await;
    let specs = r.body["spec"].as_array().unwrap();
    // A small, cheap shape keeps vCPU quotas out of the way.
    let spec = specs
        .iter()
        .filter(|s| s["acceleratorCount"] == 0 && s["vCPU"].as_u64().unwrap_or(0) >= 1)
        .min_by(|a, b| a["vCPU"].as_u64().cmp(&b["vCPU"].as_u64()))
        .unwrap_or_else(|| panic!("no spec for {conn}"));
    let r = app.get(&format!("/tumblebug/ns/system/resources/image?filterKey=providerName&filterVal={provider}")).await;
    let images = r.body["image"].as_array().unwrap();
    let image = images
        .iter()
        .find(|i| i["isGPUImage"] == false && (i["regionList"][0] == "all" || i["connectionName"] == conn))
        .unwrap_or_else(|| panic!("no image for {provider}"));
    (spec["id"].as_str().unwrap().to_string(), image["id"].as_str().unwrap().to_string())
}

async fn four_csp_request(app: &TestApp, name: &str, policy: &str) -> Value {
    let mut sgs = Vec::new();
    for (i, (conn, provider, size)) in [
        ("aws-ap-northeast-2", "aws", 3),
        ("gcp-us-central1", "gcp", 2),
        ("azure-koreacentral", "azure", 2),
        ("alibaba-ap-northeast-1", "alibaba", 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (spec, image) = spec_and_image(app, conn, provider).await;
        sgs.push(
            json!({"name": format!("g{}", i + 1), "subGroupSize": size.to_string(), "specId": spec, "imageId": image}),
        );
    }
    json!({"name": name, "policyOnPartialFailure": policy, "subGroups": sgs})
}

fn status_of(r: &Value) -> &str {
    r["status"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn four_csp_lifecycle_with_exact_statuses() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let req = four_csp_request(&app, "mci01", "").await;
    let r = app
        .request("POST", "/tumblebug/ns/ns01/mciDynamic", Some(&req.to_string()), &[("x-request-id", "create-1")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:9 (R:9/9)", "{}", r.text);
    assert_eq!(r.body["statusCount"]["countRunning"], 9);
    assert_eq!(r.body["statusCount"]["countTotal"], 9);
    assert_eq!(r.body["targetAction"], "None");
    let vms = r.body["vm"].as_array().unwrap();
    let ids: Vec<&str> = vms.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["g1-1", "g1-2", "g1-3", "g2-1", "g2-2", "g3-1", "g3-2", "g4-1", "g4-2"]);
    for vm in vms {
        assert_eq!(vm["status"], "Running");
        assert!(!vm["cspResourceId"].as_str().unwrap().is_empty());
        assert!(!vm["publicIP"].as_str().unwrap().is_empty());
        assert!(vm["location"]["latitude"].as_f64().unwrap() != 0.0);
    }
    // The request was tracked.
    let t = app.get("/tumblebug/request/create-1").await;
    assert_eq!(t.body["status"], "Success", "{}", t.text);

    // Shared resources were made once per connection and are in use.
    let r = app.get("/tumblebug/ns/ns01/resources/vNet?option=id").await;
    assert_eq!(r.body["output"].as_array().unwrap().len(), 4);
    assert_error(
        &app.delete("/tumblebug/ns/ns01/resources/sshKey/ns01-shared-aws-ap-northeast-2").await,
        409,
        "in use",
    );

    // Status view.
    let r = app.get("/tumblebug/ns/ns01/mci/mci01?option=status").await;
    let st = &r.body["status"];
    assert_eq!(st["status"], "Running:9 (R:9/9)");
    assert_eq!(st["masterVmId"], "g1-1");
    assert!(!st["masterIp"].as_str().unwrap().is_empty());
    assert_eq!(st["vm"].as_array().unwrap().len(), 9);

    // Suspend: every CSP's stopped state maps to Suspended.
    let r = app.get("/tumblebug/ns/ns01/control/mci/mci01?action=suspend").await;
    assert_eq!(r.body["message"], "Suspending the MCI", "{}", r.text);
    let r = app.get("/tumblebug/ns/ns01/mci/mci01").await;
    assert_eq!(status_of(&r.body), "Suspended:9 (R:0/9)", "{}", r.text);
    assert_eq!(r.body["statusCount"]["countSuspended"], 9);
    // A suspended VM cannot be suspended again.
    assert_error(
        &app.get("/tumblebug/ns/ns01/control/mci/mci01/vm/g2-1?action=suspend").await,
        409,
        "suspend is not allowed for VM under Suspended",
    );
    // Mixed: one VM resumed.
    let r = app.get("/tumblebug/ns/ns01/control/mci/mci01/vm/g2-1?action=resume").await;
    assert_eq!(r.body["message"], "Working on resume", "{}", r.text);
    let r = app.get("/tumblebug/ns/ns01/mci/mci01?option=status").await;
    assert_eq!(r.body["status"]["status"], "Partial-Suspended:8 (R:1/9)", "{}", r.text);
    assert_eq!(r.body["status"]["masterVmId"], "g2-1");

    let r = app.get("/tumblebug/ns/ns01/control/mci/mci01?action=resume").await;
    assert_eq!(r.body["message"], "Resuming the MCI");
    assert_eq!(status_of(&app.get("/tumblebug/ns/ns01/mci/mci01").await.body), "Running:9 (R:9/9)");
    let r = app.get("/tumblebug/ns/ns01/control/mci/mci01?action=reboot").await;
    assert_eq!(r.body["message"], "Rebooting the MCI");
    assert_eq!(status_of(&app.get("/tumblebug/ns/ns01/mci/mci01").await.body), "Running:9 (R:9/9)");
    assert_error(
        &app.get("/tumblebug/ns/ns01/control/mci/mci01?action=explode").await,
        400,
        "'action' should be one of these",
    );

    // Deleting a running MCI is refused with the reference's message.
    assert_error(
        &app.delete("/tumblebug/ns/ns01/mci/mci01").await,
        409,
        "MCI mci01 is Running:9 (R:9/9) and not Terminated/Undefined/Failed, Deletion is not allowed (use option=force for force deletion)",
    );
    let r = app.get("/tumblebug/ns/ns01/control/mci/mci01?action=terminate").await;
    assert_eq!(r.body["message"], "Terminated the MCI", "{}", r.text);
    let r = app.get("/tumblebug/ns/ns01/mci/mci01").await;
    assert_eq!(status_of(&r.body), "Terminated:9 (R:0/9)", "{}", r.text);
    assert!(
        r.body["vm"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["targetStatus"] == "Terminated" && v["targetAction"] == "Terminate")
    );
    // Terminated VMs released their resources.
    assert_eq!(
        app.get("/tumblebug/ns/ns01/testGetAssociatedObjectCount/sshKey/ns01-shared-aws-ap-northeast-2").await.body["associatedObjectCount"],
        0
    );
    let r = app.delete("/tumblebug/ns/ns01/mci/mci01").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&str> = r.body["output"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(keys.iter().all(|k| k.ends_with(" [Done]")));
    assert!(keys.contains(&"/ns/ns01/mci/mci01 [Done]"));
    assert_eq!(app.get("/tumblebug/ns/ns01/checkMci/mci01").await.body["exists"], false);
}

#[tokio::test]
async fn partial_failure_policies() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    // No GCP capacity anywhere.
    let r = app.put("/tumblebug/sim/faults", r#"{"capacity":[{"scope":"gcp"}]}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // continue: the MCI keeps its failed VMs and says so.
    let req = four_csp_request(&app, "cont", "continue").await;
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Partial-Running:7 (R:7/9)", "{}", r.text);
    assert_eq!(r.body["statusCount"]["countFailed"], 2);
    let errs = &r.body["creationErrors"];
    assert_eq!(errs["failedVmCount"], 2);
    assert_eq!(errs["successfulVmCount"], 7);
    assert_eq!(errs["totalVmCount"], 9);
    assert_eq!(errs["failureHandlingStrategy"], "continue");
    let failed: Vec<&str> =
        errs["vmCreationErrors"].as_array().unwrap().iter().map(|e| e["vmName"].as_str().unwrap()).collect();
    assert_eq!(failed, ["g2-1", "g2-2"]);
    assert!(errs["vmCreationErrors"][0]["error"].as_str().unwrap().contains("capacity"));
    assert_eq!(errs["vmCreationErrors"][0]["phase"], "vm_creation");
    let g21 = app.get("/tumblebug/ns/ns01/mci/cont/vm/g2-1").await;
    assert_eq!(g21.body["status"], "Failed");
    assert!(g21.body["systemMessage"].as_str().unwrap().contains("capacity"));
    // refine drops the failed records.
    let r = app.get("/tumblebug/ns/ns01/control/mci/cont?action=refine").await;
    assert_eq!(r.body["message"], "Refined the MCI", "{}", r.text);
    assert_eq!(status_of(&app.get("/tumblebug/ns/ns01/mci/cont").await.body), "Running:7 (R:7/7)");

    // refine policy: the failed VMs are gone right away.
    let req = four_csp_request(&app, "refined", "refine").await;
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(status_of(&r.body), "Running:7 (R:7/7)", "{}", r.text);
    assert_eq!(r.body["creationErrors"]["failedVmCount"], 2);

    // rollback: nothing is left, in Tumblebug or in the clouds.
    let req = four_csp_request(&app, "rolled", "rollback").await;
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_error(&r, 409, "rolled back");
    assert_eq!(app.get("/tumblebug/ns/ns01/checkMci/rolled").await.body["exists"], false);

    // All VMs failing: the create call reports plain Failed; later reads decorate it.
    let r = app.put("/tumblebug/sim/faults", r#"{"capacity":[{"scope":""}]}"#).await;
    assert_eq!(r.status, 200);
    let req = four_csp_request(&app, "doomed", "continue").await;
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(status_of(&r.body), "Failed", "{}", r.text);
    assert_eq!(status_of(&app.get("/tumblebug/ns/ns01/mci/doomed").await.body), "Failed:9 (R:0/9)");
    // A failed MCI may be deleted as it is.
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/doomed").await.status, 200);
}

#[tokio::test]
async fn static_create_scale_out_and_legacy_paths() {
    let app = TestApp::new().await;
    app.ns_with_vnet("ns01", "aws-ap-northeast-2").await;
    let ns = "/tumblebug/ns/ns01";
    app.post(
        &format!("{ns}/resources/securityGroup"),
        r#"{"name":"sg01","vNetId":"vnet01","firewallRules":[{"Ports":"22","Protocol":"TCP","Direction":"inbound"}]}"#,
    )
    .await;
    app.post(&format!("{ns}/resources/sshKey"), r#"{"name":"key01","connectionName":"aws-ap-northeast-2"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let sg = |name: &str, size: &str| {
        json!({"name": name, "subGroupSize": size, "specId": spec, "imageId": image, "vNetId": "vnet01",
               "subnetId": "subnet01", "securityGroupIds": ["sg01"], "sshKeyId": "key01"})
    };
    let req = json!({"name": "mci01", "subGroups": [sg("web", "2")]});
    let r = app.post(&format!("{ns}/mci"), &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:2 (R:2/2)");
    assert_eq!(r.body["vm"][0]["sshKeyId"], "key01");
    assert_eq!(r.body["vm"][0]["vmUserName"], "cb-user");
    assert_error(&app.post(&format!("{ns}/mci"), &req.to_string()).await, 409, "already exists");

    // Scale out continues the numbering.
    let r = app.post(&format!("{ns}/mci/mci01/subgroup/web"), r#"{"numVMsToAdd":"2"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:4 (R:4/4)");
    let r = app.get(&format!("{ns}/mci/mci01/subgroup/web")).await;
    assert_eq!(r.body["output"], json!(["web-1", "web-2", "web-3", "web-4"]));
    // A second subgroup, and a duplicate one.
    let r = app.post(&format!("{ns}/mci/mci01/vm"), &sg("db", "1").to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:5 (R:5/5)");
    assert_error(
        &app.post(&format!("{ns}/mci/mci01/vm"), &sg("db", "1").to_string()).await,
        409,
        "Duplicated SubGroup ID",
    );
    assert_eq!(app.get(&format!("{ns}/mci/mci01/subgroup")).await.body["output"], json!(["db", "web"]));

    // The older spelling and its envelope.
    let r = app.get(&format!("{ns}/mcis")).await;
    assert_eq!(r.body["mcis"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(app.get(&format!("{ns}/mci?option=status")).await.body["mci"][0]["status"], "Running:5 (R:5/5)");
    assert_eq!(app.get(&format!("{ns}/mcis?option=id")).await.body["output"], json!(["mci01"]));
    let r = app.get(&format!("{ns}/control/mcis/mci01?action=suspend")).await;
    assert_eq!(r.body["message"], "Suspending the MCI");
    assert_eq!(
        app.get(&format!("{ns}/mcis/mci01?option=status")).await.body["status"]["status"],
        "Suspended:5 (R:0/5)"
    );

    // Reads of one VM and access info.
    let r = app.get(&format!("{ns}/mci/mci01/vm/web-1?option=status")).await;
    assert_eq!(r.body["status"], "Suspended");
    assert_eq!(r.body["nativeStatus"], "stopped");
    let r = app.get(&format!("{ns}/mci/mci01?option=accessinfo&accessInfoOption=showSshKey")).await;
    assert_eq!(r.body["MciId"], "mci01", "{}", r.text);
    let groups = r.body["MciSubGroupAccessInfo"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert!(groups[0]["MciVmAccessInfo"][0]["privateKey"].as_str().unwrap().contains("OPENSSH PRIVATE KEY"));
    let r = app.get(&format!("{ns}/mci/mci01/associatedResources")).await;
    assert_eq!(r.body["sshKeyIds"], json!(["key01"]), "{}", r.text);
    assert_eq!(app.get(&format!("{ns}/mci/mci01/checkVm/web-4")).await.body["exists"], true);
    assert_eq!(app.get(&format!("{ns}/mci/mci01?option=id")).await.body["output"].as_array().unwrap().len(), 5);

    // Delete one VM, then the rest with option=terminate.
    let r = app.delete(&format!("{ns}/mci/mci01/vm/db-1")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&format!("{ns}/mci/mci01/subgroup")).await.body["output"], json!(["web"]));
    let r = app.delete(&format!("{ns}/mci/mci01?option=terminate")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Resources are free again.
    assert_eq!(app.delete(&format!("{ns}/resources/sshKey/key01")).await.status, 200);
}

#[tokio::test]
async fn busy_mci_refuses_other_actions_and_async_requests_are_tracked() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let req =
        json!({"name": "slow", "subGroups": [{"name": "g1", "subGroupSize": 2, "specId": spec, "imageId": image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(status_of(&r.body), "Running:2 (R:2/2)", "{}", r.text);
    // Realistic durations scaled down: a stop takes a few hundred milliseconds.
    app.put("/tumblebug/sim/timeFactor", r#"{"timeFactor": 0.05}"#).await;
    let r = app
        .request(
            "GET",
            "/tumblebug/ns/ns01/control/mci/slow?action=suspend&async=true",
            None,
            &[("x-request-id", "sus-1")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["xRequestId"], "sus-1");
    assert_error(
        &app.get("/tumblebug/ns/ns01/control/mci/slow?action=reboot").await,
        409,
        "MCI slow is under Suspend, please try later",
    );
    // Wait for the tracked request, then for the VMs.
    let mut done = Value::Null;
    for _ in 0..400 {
        done = app.get("/tumblebug/request/sus-1").await.body;
        if done["status"] != "Handling" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(done["responseData"]["message"], "Suspending the MCI");
    let mut status = String::new();
    for _ in 0..400 {
        status = status_of(&app.get("/tumblebug/ns/ns01/mci/slow").await.body).to_string();
        if status == "Suspended:2 (R:0/2)" {
            break;
        }
        assert!(status.contains("Suspend"), "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status, "Suspended:2 (R:0/2)");
    let all = app.get("/tumblebug/requests?status=Success").await;
    assert!(all.body.get("sus-1").is_some(), "{}", all.text);
}

#[tokio::test]
async fn hold_continue_withdraw_review_and_register() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let req =
        json!({"name": "held", "subGroups": [{"name": "g1", "subGroupSize": 2, "specId": spec, "imageId": image}]});

    // Review first: nothing is created.
    let r = app.post("/tumblebug/ns/ns01/mciDynamicReview", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["overallStatus"], "Ready", "{}", r.text);
    assert_eq!(r.body["creationViable"], true);
    assert_eq!(r.body["totalVmCount"], 2);
    assert!(r.body["estimatedCost"].as_str().unwrap().starts_with('$'));
    assert_eq!(r.body["vmReviews"][0]["specValidation"]["isAvailable"], true);
    let bad = json!({"name": "x", "subGroups": [{"specId": "aws+ap-northeast-2+nope.huge", "imageId": image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamicReview", &bad.to_string()).await;
    assert_eq!(r.body["overallStatus"], "Error", "{}", r.text);
    assert_eq!(r.body["creationViable"], false);
    assert_eq!(app.get("/tumblebug/ns/ns01/checkMci/x").await.body["exists"], false);

    // Hold: records exist, nothing is created until continue.
    let r = app.post("/tumblebug/ns/ns01/mciDynamic?option=hold", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Creating:2 (R:0/2)", "{}", r.text);
    assert!(
        r.body["vm"].as_array().unwrap().iter().all(|v| v.get("cspResourceId").is_none() || v["cspResourceId"] == "")
    );
    let r = app.get("/tumblebug/ns/ns01/control/mci/held?action=continue").await;
    assert_eq!(r.body["message"], "Continue the holding MCI", "{}", r.text);
    let mut status = String::new();
    for _ in 0..200 {
        status = status_of(&app.get("/tumblebug/ns/ns01/mci/held").await.body).to_string();
        if status == "Running:2 (R:2/2)" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, "Running:2 (R:2/2)");
    assert_error(&app.get("/tumblebug/ns/ns01/control/mci/held?action=continue").await, 409, "not on hold");

    // Withdraw deletes a held MCI.
    let req2 =
        json!({"name": "gone", "subGroups": [{"name": "g1", "subGroupSize": 1, "specId": spec, "imageId": image}]});
    app.post("/tumblebug/ns/ns01/mciDynamic?option=hold", &req2.to_string()).await;
    let r = app.get("/tumblebug/ns/ns01/control/mci/gone?action=withdraw").await;
    assert_eq!(r.body["message"], "Withdraw the holding MCI", "{}", r.text);
    assert_eq!(app.get("/tumblebug/ns/ns01/checkMci/gone").await.body["exists"], false);

    // Register a VM that exists in the cloud (the held MCI's first VM stands in for one made
    // elsewhere) into a new MCI, using the shared resources of its connection.
    let vm = app.get("/tumblebug/ns/ns01/mci/held/vm/g1-1").await.body;
    let shared = "ns01-shared-aws-ap-northeast-2";
    let reg = json!({"name": "adopted", "subGroups": [{"name": "found", "cspResourceId": vm["cspResourceId"], "specId": spec, "imageId": image,
        "vNetId": shared, "subnetId": shared, "securityGroupIds": [shared], "sshKeyId": shared}]});
    let r = app.post("/tumblebug/ns/ns01/registerCspVm", &reg.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:1 (R:1/1)", "{}", r.text);
    assert_eq!(r.body["vm"][0]["id"], "found-1");
    assert_eq!(r.body["vm"][0]["publicIP"], vm["publicIP"]);
    let missing = json!({"name": "ghost", "subGroups": [{"name": "x", "cspResourceId": "i-000000000000", "specId": spec, "imageId": image,
        "vNetId": shared, "subnetId": shared, "securityGroupIds": [shared], "sshKeyId": shared}]});
    let r = app.post("/tumblebug/ns/ns01/registerCspVm", &missing.to_string()).await;
    assert_eq!(status_of(&r.body), "Failed:1 (R:0/1)", "{}", r.text);
    assert!(r.body["vm"][0]["systemMessage"].as_str().unwrap().contains("registration failed"));
}

/// Stable VMs are served from their record and re-read from the cloud only once the status
/// cache interval has passed.
#[tokio::test]
async fn stable_vms_are_not_read_more_often_than_the_cache_interval() {
    use tb_cloud::CloudDriver;
    let dir = tempfile::tempdir().unwrap();
    let engine = tb_core::limits::EngineConfig {
        poll_interval: std::time::Duration::from_millis(5),
        status_cache: std::time::Duration::from_millis(400),
        ..tb_core::limits::EngineConfig::default()
    };
    let (router, cloud) = crate::common::build_with(dir.path(), tb_server::AuthConfig::default(), None, engine).await;
    let app = TestApp { router, dir, auth_header: None };
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "gcp-us-central1", "gcp").await;
    let req = json!({"name": "m", "subGroups": [{"name": "g1", "subGroupSize": 1, "specId": spec, "imageId": image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(status_of(&r.body), "Running:1 (R:1/1)", "{}", r.text);
    // Someone stops the VM behind Tumblebug's back, in the cloud console.
    let vm = &r.body["vm"][0];
    let conn =
        tb_cloud::Connection { name: "gcp-us-central1".into(), provider: "gcp".into(), region: "us-central1".into() };
    let driver = tb_cloud::sim::SimDriver::new(cloud.clone());
    driver.suspend_vm(&conn, vm["cspResourceId"].as_str().unwrap()).await.unwrap();
    // Within the interval the record answers; after it, the cloud does.
    assert_eq!(status_of(&app.get("/tumblebug/ns/ns01/mci/m").await.body), "Running:1 (R:1/1)");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let r = app.get("/tumblebug/ns/ns01/mci/m?option=status").await;
    assert_eq!(r.body["status"]["status"], "Suspended:1 (R:0/1)", "{}", r.text);
    assert_eq!(r.body["status"]["vm"][0]["nativeStatus"], "TERMINATED", "GCP's word for stopped");
}

/// A dynamic create whose preparation fails leaves no shared resources behind (§3.8).
#[tokio::test]
async fn failed_dynamic_preparation_rolls_back_shared_resources() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let req = json!({"name": "m", "subGroups": [
        {"name": "ok", "subGroupSize": 1, "specId": spec, "imageId": image},
        {"name": "bad", "subGroupSize": 1, "specId": "gcp+us-central1+no-such-shape", "imageId": "x"}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_error(&r, 400, "no-such-shape");
    for kind in ["vNet", "securityGroup", "sshKey"] {
        let ids = app.get(&format!("/tumblebug/ns/ns01/resources/{kind}?option=id")).await.body;
        assert_eq!(ids["output"], json!([]), "{kind} rolled back");
    }
    assert_eq!(app.get("/tumblebug/ns/ns01/checkMci/m").await.body["exists"], false);
}

/// Capacity failover (issue 4): another zone, then a larger spec, then the nearest region;
/// failed candidates are remembered.
#[tokio::test]
async fn capacity_failover_moves_vms_to_the_next_candidate() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let spec_name = app.get(&format!("/tumblebug/ns/system/resources/spec/{spec}")).await.body["cspSpecName"]
        .as_str()
        .unwrap()
        .to_string();
    // The spec is out of capacity in every zone of the region.
    let faults = json!({"capacity": [{"scope": "aws-ap-northeast-2", "spec": spec_name}]});
    assert_eq!(app.put("/tumblebug/sim/faults", &faults.to_string()).await.status, 200);

    let req = json!({"name": "fo", "capacityFailover": true,
                     "subGroups": [{"name": "g1", "subGroupSize": 2, "specId": spec, "imageId": image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&r.body), "Running:2 (R:2/2)", "{}", r.text);
    let vm = &r.body["vm"][0];
    assert_ne!(vm["cspSpecName"], spec_name.as_str(), "moved to another spec");
    assert_eq!(vm["connectionName"], "aws-ap-northeast-2", "same region");
    let errs = &r.body["creationErrors"];
    assert!(errs.to_string().contains("failed over to spec"), "{errs}");
    assert_eq!(errs["failedVmCount"], 0);
    let notes: Vec<&Value> =
        errs["vmCreationErrors"].as_array().unwrap().iter().filter(|e| e["phase"] == "failover").collect();
    assert!(notes.len() >= 2, "each VM's moves are recorded: {errs}");

    // A later request skips the exhausted candidate without trying it again.
    let req2 = json!({"name": "fo2", "capacityFailover": true,
                      "subGroups": [{"name": "g1", "subGroupSize": 1, "specId": spec, "imageId": image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req2.to_string()).await;
    assert_eq!(status_of(&r.body), "Running:1 (R:1/1)", "{}", r.text);
    let notes = r.body["creationErrors"]["vmCreationErrors"].to_string();
    assert!(notes.contains("recently out of capacity"), "{notes}");

    // A region-wide quota: zones and specs cannot help, the nearest region can.
    let (gspec, gimage) = spec_and_image(&app, "gcp-asia-northeast3", "gcp").await;
    let faults = json!({"vcpuQuota": [{"scope": "gcp-asia-northeast3", "limit": 0}]});
    assert_eq!(app.put("/tumblebug/sim/faults", &faults.to_string()).await.status, 200);
    let req3 = json!({"name": "fo3", "capacityFailover": true,
                      "subGroups": [{"name": "g1", "subGroupSize": 1, "specId": gspec, "imageId": gimage}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req3.to_string()).await;
    assert_eq!(status_of(&r.body), "Running:1 (R:1/1)", "{}", r.text);
    let vm = &r.body["vm"][0];
    assert_ne!(vm["connectionName"], "gcp-asia-northeast3");
    assert!(vm["connectionName"].as_str().unwrap().starts_with("gcp-asia"), "nearest region: {}", vm["connectionName"]);
    assert!(r.body["creationErrors"].to_string().contains("failed over to region"), "{}", r.body["creationErrors"]);

    // Without the option, the same shortage fails the VM as CB-Tumblebug does.
    let req4 =
        json!({"name": "nofo", "subGroups": [{"name": "g1", "subGroupSize": 1, "specId": gspec, "imageId": gimage}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req4.to_string()).await;
    assert_eq!(status_of(&r.body), "Failed", "{}", r.text);
}

/// Simulated VMs have made-up addresses: commands refuse them per VM instead of connecting.
#[tokio::test]
async fn commands_never_reach_for_simulated_vms() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let (spec, image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let req = json!({"name": "m", "subGroups": [{"name": "g1", "subGroupSize": 2, "specId": spec, "imageId": image}]});
    app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/m", r#"{"command": ["hostname"]}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|x| x["err"].as_str().unwrap().contains("simulated")), "{}", r.text);
    assert_error(&app.post("/tumblebug/ns/ns01/cmd/mci/m", r#"{"command": []}"#).await, 400, "command");
    assert_error(&app.post("/tumblebug/ns/ns01/cmd/mci/m?vmId=nope", r#"{"command": ["x"]}"#).await, 404, "no VM");
    assert_error(
        &app.post("/tumblebug/ns/ns01/cmd/mci/m?labelSelector=broken", r#"{"command": ["x"]}"#).await,
        400,
        "key=value",
    );
}
