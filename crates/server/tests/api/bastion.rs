//! Bastions per subnet through the HTTP API: registration, errors and clean-up against the
//! simulated clouds, and the SSH path itself against real local VMs (sshd processes on
//! loopback addresses; needs openssh-server).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Resp, TestApp, assert_error};

/// `[(mciId, vmId)]` of a bastion list answer.
fn nodes(r: &Resp) -> Vec<(String, String)> {
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body.as_array().unwrap_or_else(|| panic!("not an array: {}", r.text));
    list.iter().map(|n| (n["mciId"].as_str().unwrap().to_string(), n["vmId"].as_str().unwrap().to_string())).collect()
}

fn node(mci: &str, vm: &str) -> (String, String) {
    (mci.to_string(), vm.to_string())
}

/// Every bastion node listed in any subnet of the namespace's vNets.
async fn all_listed(app: &TestApp, ns: &str) -> Vec<Value> {
    let r = app.get(&format!("/tumblebug/ns/{ns}/resources/vNet")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let vnets = r.body["vNet"].as_array().cloned().unwrap_or_default();
    vnets
        .iter()
        .flat_map(|v| v["subnetInfoList"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s["bastionNodes"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// A small catalog spec of the connection and an image of its provider.
async fn spec_and_image(app: &TestApp, conn: &str, provider: &str) -> (String, String) {
    let r = app.get(&format!("/tumblebug/ns/system/resources/spec?filterKey=connectionName&filterVal={conn}")).await;
    let spec = r.body["spec"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["acceleratorCount"] == 0 && s["vCPU"].as_u64().unwrap_or(0) >= 1)
        .min_by_key(|s| s["vCPU"].as_u64())
        .unwrap_or_else(|| panic!("no spec for {conn}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get(&format!("/tumblebug/ns/system/resources/image?filterKey=providerName&filterVal={provider}")).await;
    let image = r.body["image"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["isGPUImage"] == false && (i["regionList"][0] == "all" || i["connectionName"] == conn))
        .unwrap_or_else(|| panic!("no image for {provider}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    (spec, image)
}

#[tokio::test]
async fn bastion_registration_errors_and_cleanup_on_simulated_clouds() {
    let app = TestApp::new().await;
    assert_eq!(app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await.status, 200);
    // No GCP capacity: g2-1 fails and never gets an address.
    assert_eq!(app.put("/tumblebug/sim/faults", r#"{"capacity":[{"scope":"gcp"}]}"#).await.status, 200);
    let (aws_spec, aws_image) = spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let (gcp_spec, gcp_image) = spec_and_image(&app, "gcp-us-central1", "gcp").await;
    let req = json!({"name": "m1", "policyOnPartialFailure": "continue", "subGroups": [
        {"name": "g1", "subGroupSize": "2", "specId": aws_spec, "imageId": aws_image},
        {"name": "g2", "subGroupSize": "1", "specId": gcp_spec, "imageId": gcp_image}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/tumblebug/ns/ns01/mci/m1/vm/g2-1").await.body["status"], "Failed");

    // The first running VM of the AWS subnet became its bastion; the same list for both VMs.
    let b1 = nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion").await);
    assert_eq!(b1.len(), 1, "{b1:?}");
    assert!(b1[0] == node("m1", "g1-1") || b1[0] == node("m1", "g1-2"), "{b1:?}");
    assert_eq!(nodes(&app.get("/tumblebug/ns/ns01/mcis/m1/vm/g1-2/bastion").await), b1);
    // The failed VM registered nothing in its (GCP) subnet.
    assert!(nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g2-1/bastion").await).is_empty());

    // 400: a bastion needs a public IP.
    let r = app.put("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion/g2-1", "").await;
    assert_error(&r, 400, "bastion VM (ID: g2-1) does not have a public IP address");
    // 404s: unknown MCI, target, bastion.
    assert_error(&app.put("/tumblebug/ns/ns01/mci/nope/vm/g1-1/bastion/g1-2", "").await, 404, "nope");
    assert_error(&app.put("/tumblebug/ns/ns01/mci/m1/vm/g9-9/bastion/g1-2", "").await, 404, "g9-9");
    assert_error(&app.put("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion/g9-9", "").await, 404, "g9-9");
    assert_error(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g9-9/bastion").await, 404, "g9-9");
    assert_error(&app.get("/tumblebug/ns/ns01/mci/nope/vm/g1-1/bastion").await, 404, "nope");
    assert_error(&app.delete("/tumblebug/ns/ns01/mci/nope/bastion/g1-1").await, 404, "nope");
    assert_error(&app.delete("/tumblebug/ns/ns01/mci/m1/bastion/g9-9").await, 404, "g9-9");

    // PUT makes the VM the bastion in use (first); again, it is already there.
    let r = app.put("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion/g1-2", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains("g1-2") && (msg.starts_with("Successfully set") || msg.contains("already exists")), "{msg}");
    assert_eq!(nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion").await)[0], node("m1", "g1-2"));
    let r = app.put("/tumblebug/ns/ns01/mcis/m1/vm/g1-1/bastion/g1-2", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("already exists"), "{}", r.text);
    // A bastion may serve a subnet of another vNet.
    let r = app.put("/tumblebug/ns/ns01/mci/m1/vm/g2-1/bastion/g1-2", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g2-1/bastion").await), [node("m1", "g1-2")]);

    // DELETE removes it from every subnet that lists it.
    let r = app.delete("/tumblebug/ns/ns01/mcis/m1/bastion/g1-2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["message"], "Successfully removed the bastion (ID: g1-2) in MCI (ID: m1) from all subnets");
    assert!(nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g2-1/bastion").await).is_empty());
    assert!(!nodes(&app.get("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion").await).contains(&node("m1", "g1-2")));

    // Deleting a VM takes it off the lists; deleting the MCI takes all of its VMs off.
    let r = app.put("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion/g1-2", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.delete("/tumblebug/ns/ns01/mci/m1/vm/g1-2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = all_listed(&app, "ns01").await;
    assert!(!listed.iter().any(|n| n["vmId"] == "g1-2"), "{listed:?}");
    let r = app.put("/tumblebug/ns/ns01/mci/m1/vm/g1-1/bastion/g1-1", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!all_listed(&app, "ns01").await.is_empty());
    let r = app.delete("/tumblebug/ns/ns01/mci/m1?option=terminate").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(all_listed(&app, "ns01").await, Vec::<Value>::new());
}

/// `echo ok` on one VM: `Ok(stdout)` or `Err(err)` of its result.
async fn echo_on(app: &TestApp, vm: &str) -> Result<String, String> {
    let r = app.post(&format!("/tumblebug/ns/bn/cmd/mci/m1?vmId={vm}"), r#"{"command":["echo ok"]}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let result = &r.body["results"][0];
    assert_eq!(result["vmId"], vm, "{}", r.text);
    match result["err"].as_str() {
        Some(e) if !e.is_empty() => Err(e.to_string()),
        _ => Ok(result["stdout"]["0"].as_str().unwrap_or_default().to_string()),
    }
}

/// Logins the sshd of a local VM accepted so far (its log is in the driver's state directory).
async fn logins(app: &TestApp, vm: &str) -> usize {
    let r = app.get(&format!("/tumblebug/ns/bn/mci/m1/vm/{vm}")).await;
    let csp_id = r.body["cspResourceId"].as_str().unwrap_or_else(|| panic!("no cspResourceId: {}", r.text));
    let log = app.dir.path().join("local/vms").join(csp_id).join("sshd.log");
    std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .matches("Accepted publickey")
        .count()
}

async fn wait_status(app: &TestApp, vm: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.get(&format!("/tumblebug/ns/bn/mci/m1/vm/{vm}")).await;
        if r.body["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "{vm} never became {want}: {}", r.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_go_through_the_bastion_of_the_subnet_on_local_vms() {
    // VMs on 127.203.1.n.
    let app = TestApp::with_local(203).await;
    app.local_mci("bn", "m1", 203, 2).await;

    // Auto-registered: the first VM of the subnet to run.
    let auto = nodes(&app.get("/tumblebug/ns/bn/mci/m1/vm/g1-2/bastion").await);
    assert_eq!(auto.len(), 1, "{auto:?}");
    assert!(auto[0] == node("m1", "g1-1") || auto[0] == node("m1", "g1-2"), "{auto:?}");

    let r = app.put("/tumblebug/ns/bn/mci/m1/vm/g1-2/bastion/g1-1", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(nodes(&app.get("/tumblebug/ns/bn/mci/m1/vm/g1-2/bastion").await)[0], node("m1", "g1-1"));
    let before = logins(&app, "g1-1").await;
    assert_eq!(echo_on(&app, "g1-2").await, Ok("ok\n".to_string()));
    // The bastion's sshd saw the login that carried the tunnel.
    assert!(logins(&app, "g1-1").await > before);
    // Trust on first use covers the bastion too: its key was kept on its own record.
    let bastion_vm = app.get("/tumblebug/ns/bn/mci/m1/vm/g1-1").await;
    assert!(
        bastion_vm.body["sshHostKeyInfo"]["fingerprint"].as_str().is_some_and(|f| f.starts_with("SHA256:")),
        "{}",
        bastion_vm.text
    );
    // The bastion itself is reached directly.
    assert_eq!(echo_on(&app, "g1-1").await, Ok("ok\n".to_string()));

    // With its bastion down, g1-2 is unreachable although it has an address of its own.
    let r = app.get("/tumblebug/ns/bn/control/mci/m1/vm/g1-1?action=suspend").await;
    assert_eq!(r.status, 200, "{}", r.text);
    wait_status(&app, "g1-1", "Suspended").await;
    let err = echo_on(&app, "g1-2").await.unwrap_err();
    assert!(err.contains("bastion g1-1") && err.contains("Suspended"), "{err}");

    // Without the bastion, g1-2 is reached directly again.
    let r = app.delete("/tumblebug/ns/bn/mci/m1/bastion/g1-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let left = nodes(&app.get("/tumblebug/ns/bn/mci/m1/vm/g1-2/bastion").await);
    assert!(!left.contains(&node("m1", "g1-1")), "{left:?}");
    assert_eq!(echo_on(&app, "g1-2").await, Ok("ok\n".to_string()));

    let r = app.get("/tumblebug/ns/bn/control/mci/m1/vm/g1-1?action=resume").await;
    assert_eq!(r.status, 200, "{}", r.text);
    wait_status(&app, "g1-1", "Running").await;
    // Back as bastion: the tunnel works again (same address, port and host key).
    let r = app.put("/tumblebug/ns/bn/mci/m1/vm/g1-2/bastion/g1-1", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = logins(&app, "g1-1").await;
    assert_eq!(echo_on(&app, "g1-2").await, Ok("ok\n".to_string()));
    assert!(logins(&app, "g1-1").await > before);

    let r = app.delete("/tumblebug/ns/bn/mci/m1?option=terminate").await;
    assert_eq!(r.status, 200, "{}", r.text);
}
