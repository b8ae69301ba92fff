use serde_json::Value;

use crate::common::{TestApp, assert_error};

const NS: &str = "/tumblebug/ns/ns01/resources";

#[tokio::test]
async fn vnet_and_subnets() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    // Old script spelling: capitalised subnet keys.
    let r = app
        .post(
            &format!("{NS}/vNet"),
            r#"{"name":"vnet01","connectionName":"aws-ap-northeast-2","cidrBlock":"10.1.0.0/16",
               "subnetInfoList":[{"Name":"sn1","IPv4_CIDR":"10.1.0.0/18","Zone":"ap-northeast-2a"},
                                 {"Name":"sn2","IPv4_CIDR":"10.1.64.0/18"}]}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "Available");
    assert_eq!(r.body["connectionConfig"]["configName"], "aws-ap-northeast-2");
    assert!(r.body["cspResourceId"].as_str().unwrap().starts_with("vpc-"), "{}", r.body["cspResourceId"]);
    let subnets = r.body["subnetInfoList"].as_array().unwrap();
    assert_eq!(subnets.len(), 2);
    assert_eq!(subnets[0]["zone"], "ap-northeast-2a");
    assert!(!subnets[1]["zone"].as_str().unwrap().is_empty(), "the cloud picks a zone");
    assert!(subnets.iter().all(|s| !s["cspResourceId"].as_str().unwrap().is_empty()));

    assert_error(&app.post(&format!("{NS}/vNet"), r#"{"name":"vnet01","connectionName":"aws-ap-northeast-2","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24"}]}"#).await, 409, "already exists");
    for (body, needle) in [
        (
            r#"{"name":"v2","connectionName":"aws-nowhere-1","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24"}]}"#,
            "aws-nowhere-1",
        ),
        (
            r#"{"name":"v2","connectionName":"aws-ap-northeast-2","cidrBlock":"10.0.0.0/33","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24"}]}"#,
            "CIDR",
        ),
        (
            r#"{"name":"v2","connectionName":"aws-ap-northeast-2","cidrBlock":"10.0.0.0/16","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.9.0.0/24"}]}"#,
            "outside",
        ),
        (
            r#"{"name":"v2","connectionName":"aws-ap-northeast-2","cidrBlock":"10.0.0.0/16","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24"},{"name":"b","ipv4_CIDR":"10.0.0.128/25"}]}"#,
            "overlaps",
        ),
        (
            r#"{"name":"v2","connectionName":"aws-ap-northeast-2","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24","zone":"eu-west-1a"}]}"#,
            "zone",
        ),
        (r#"{"name":"v2","connectionName":"aws-ap-northeast-2"}"#, "subnet"),
    ] {
        assert_error(&app.post(&format!("{NS}/vNet"), body).await, 400, needle);
    }

    // Subnets.
    let r = app.post(&format!("{NS}/vNet/vnet01/subnet"), r#"{"name":"sn3","ipv4_CIDR":"10.1.128.0/24"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "Available");
    assert_error(
        &app.post(&format!("{NS}/vNet/vnet01/subnet"), r#"{"name":"sn4","ipv4_CIDR":"10.1.128.0/25"}"#).await,
        400,
        "overlaps",
    );
    let r = app.get(&format!("{NS}/vNet/vnet01/subnet")).await;
    assert_eq!(r.body["subnetInfoList"].as_array().unwrap().len(), 3);
    assert_eq!(app.get(&format!("{NS}/vNet/vnet01/subnet/sn3")).await.body["ipv4_CIDR"], "10.1.128.0/24");
    let r = app.delete(&format!("{NS}/vNet/vnet01/subnet/sn3")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&app.get(&format!("{NS}/vNet/vnet01/subnet/sn3")).await, 404, "sn3");

    // Listing options.
    let r = app
        .post(&format!("{NS}/vNet"), r#"{"name":"vnet02","connectionName":"gcp-us-central1","subnetInfoList":[{"name":"a","ipv4_CIDR":"10.0.0.0/24"}]}"#)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get(&format!("{NS}/vNet?option=id")).await;
    assert_eq!(r.body["output"], serde_json::json!(["vnet01", "vnet02"]));
    let r = app.get(&format!("{NS}/vNet?filterKey=connectionName&filterVal=gcp-us-central1")).await;
    let list = r.body["vNet"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "vnet02");
    let r = app.get(&format!("{NS}/vNet")).await;
    assert_eq!(r.body["vNet"].as_array().unwrap().len(), 2);

    // Bulk delete with match.
    let r = app.delete(&format!("{NS}/vNet?match=02")).await;
    assert_eq!(r.body["output"], serde_json::json!(["vnet02"]));
    assert_eq!(app.get("/tumblebug/ns/ns01/checkResource/vNet/vnet02").await.body["exists"], false);
    assert_eq!(app.get("/tumblebug/ns/ns01/checkResource/vNet/vnet01").await.body["exists"], true);
    assert_error(&app.get("/tumblebug/ns/ns01/checkResource/bucket/x").await, 400, "resourceType");
    assert_error(&app.get("/tumblebug/ns/nons/resources/vNet").await, 404, "nons");
}

#[tokio::test]
async fn security_groups_and_rules() {
    let app = TestApp::new().await;
    app.ns_with_vnet("ns01", "azure-koreacentral").await;
    let r = app
        .post(
            &format!("{NS}/securityGroup"),
            r#"{"name":"sg01","connectionName":"azure-koreacentral","vNetId":"vnet01",
               "firewallRules":[{"Ports":"22,80,1000-2000","Protocol":"TCP","Direction":"inbound","CIDR":"0.0.0.0/0"},
                                {"FromPort":"-1","ToPort":"-1","IPProtocol":"icmp","Direction":"inbound"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rules = r.body["firewallRules"].as_array().unwrap();
    let ports: Vec<&str> = rules.iter().map(|r| r["Port"].as_str().unwrap()).collect();
    assert_eq!(ports, ["22", "80", "1000-2000", ""]);
    assert_eq!(rules[3]["Protocol"], "ICMP");
    assert!(!r.body["cspResourceId"].as_str().unwrap().is_empty());

    assert_error(
        &app.post(&format!("{NS}/securityGroup"), r#"{"name":"sg02","vNetId":"nope","firewallRules":[]}"#).await,
        400,
        "nope",
    );
    assert_error(
        &app.post(&format!("{NS}/securityGroup"), r#"{"name":"sg02","vNetId":"vnet01","firewallRules":[{"Ports":"22","Protocol":"GRE","Direction":"inbound"}]}"#).await,
        400,
        "protocol",
    );

    let r = app
        .post(
            &format!("{NS}/securityGroup/sg01/rules"),
            r#"{"firewallRules":[{"Ports":"443","Protocol":"tcp","Direction":"inbound"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["previous"]["firewallRules"].as_array().unwrap().len(), 4);
    assert_eq!(r.body["updated"]["firewallRules"].as_array().unwrap().len(), 5);
    let r = app
        .delete_with(
            &format!("{NS}/securityGroup/sg01/rules"),
            r#"{"firewallRules":[{"Ports":"22","Protocol":"TCP","Direction":"inbound"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ports: Vec<String> = app.get(&format!("{NS}/securityGroup/sg01")).await.body["firewallRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Port"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ports, ["80", "1000-2000", "", "443"]);
    assert_error(
        &app.delete_with(
            &format!("{NS}/securityGroup/sg01/rules"),
            r#"{"firewallRules":[{"Ports":"9999","Protocol":"TCP","Direction":"inbound"}]}"#,
        )
        .await,
        400,
        "not in the security group",
    );
    let r = app
        .put(
            &format!("{NS}/securityGroup/sg01"),
            r#"{"firewallRules":[{"Ports":"8080","Protocol":"UDP","Direction":"outbound"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["updated"]["firewallRules"][0]["Protocol"], "UDP");

    // The vNet cannot go while the security group uses it.
    assert_error(&app.delete(&format!("{NS}/vNet/vnet01")).await, 409, "sg01");
    assert_eq!(app.delete(&format!("{NS}/securityGroup/sg01")).await.status, 200);
    assert_eq!(app.delete(&format!("{NS}/vNet/vnet01")).await.status, 200);
}

#[tokio::test]
async fn ssh_keys_are_real_key_pairs() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let r = app
        .post(&format!("{NS}/sshKey"), r#"{"name":"key01","connectionName":"gcp-asia-northeast3","username":"ubuntu"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let private = r.body["privateKey"].as_str().unwrap();
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"), "{private}");
    assert!(r.body["publicKey"].as_str().unwrap().starts_with("ssh-ed25519 "));
    assert!(r.body["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    assert_eq!(r.body["username"], "ubuntu");
    assert!(!r.body["cspResourceId"].as_str().unwrap().is_empty());
    let stored = app.get(&format!("{NS}/sshKey/key01")).await;
    assert_eq!(stored.body["privateKey"], r.body["privateKey"]);

    let r = app.post(&format!("{NS}/sshKey"), r#"{"name":"key02","connectionName":"gcp-asia-northeast3"}"#).await;
    assert_eq!(r.body["username"], "cb-user", "default user");
    let r = app.put(&format!("{NS}/sshKey/key02"), r#"{"verifiedUsername":"root","description":"d"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["verifiedUsername"], "root");
    assert_error(&app.put(&format!("{NS}/sshKey/key02"), r#"{"privateKey":"not a key"}"#).await, 400, "privateKey");
    assert_error(&app.put(&format!("{NS}/sshKey/key09"), r#"{"description":"x"}"#).await, 404, "key09");
    let r = app.get(&format!("{NS}/sshKey?filterKey=username&filterVal=ubuntu")).await;
    assert_eq!(r.body["sshKey"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn association_guard() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    app.post(&format!("{NS}/sshKey"), r#"{"name":"key01","connectionName":"aws-us-east-1"}"#).await;
    let r = app.put("/tumblebug/ns/ns01/testAddObjectAssociation/sshKey/key01", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["associatedObjectCount"], 1);
    assert_eq!(
        app.get("/tumblebug/ns/ns01/testGetAssociatedObjectCount/sshKey/key01").await.body["associatedObjectCount"],
        1
    );
    assert_error(&app.delete(&format!("{NS}/sshKey/key01")).await, 409, "Deletion is not allowed");
    assert_error(&app.delete(&format!("{NS}/sshKey")).await, 409, "key01");
    let r = app.put("/tumblebug/ns/ns01/testDeleteObjectAssociation/sshKey/key01", "").await;
    assert_eq!(r.body["associatedObjectCount"], 0);
    app.put("/tumblebug/ns/ns01/testAddObjectAssociation/sshKey/key01", "").await;
    let r = app.delete(&format!("{NS}/sshKey/key01?force=true")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&app.get(&format!("{NS}/sshKey/key01")).await, 404, "key01");
}

#[tokio::test]
async fn images_and_specs_registration() {
    let app = TestApp::new().await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let images = app.post("/tumblebug/lookupImages", r#"{"connectionName":"aws-ap-northeast-2"}"#).await;
    let csp_image = images.body["image"][0]["Name"].as_str().unwrap().to_string();

    let r = app
        .post(
            &format!("{NS}/image?action=registerWithId"),
            &format!(r#"{{"name":"img01","connectionName":"aws-ap-northeast-2","cspImageName":"{csp_image}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["cspImageName"], csp_image.as_str());
    assert_eq!(r.body["providerName"], "aws");
    assert_error(
        &app.post(
            &format!("{NS}/image?action=registerWithId"),
            &format!(r#"{{"name":"img01","connectionName":"aws-ap-northeast-2","cspImageName":"{csp_image}"}}"#),
        )
        .await,
        409,
        "already exists",
    );
    let r = app
        .post(&format!("{NS}/image?action=registerWithId&update=true"), &format!(r#"{{"name":"img01","connectionName":"aws-ap-northeast-2","cspImageName":"{csp_image}","description":"again"}}"#))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(
            &format!("{NS}/image?action=registerWithInfo"),
            r#"{"name":"img02","osType":"Ubuntu 22.04","cspImageName":"custom-1"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["osType"], "Ubuntu 22.04");
    assert_error(&app.post(&format!("{NS}/image?action=fetch"), "{}").await, 400, "registerWithInfo");
    assert_error(
        &app.post(
            &format!("{NS}/image?action=registerWithId"),
            r#"{"name":"img03","connectionName":"aws-ap-northeast-2","cspImageName":"ami-nope"}"#,
        )
        .await,
        404,
        "ami-nope",
    );
    let r = app.put(&format!("{NS}/image/img02"), r#"{"description":"updated"}"#).await;
    assert_eq!(r.body["description"], "updated");

    let r = app
        .post(
            &format!("{NS}/spec?action=registerWithCspResourceId"),
            r#"{"name":"spec01","connectionName":"aws-ap-northeast-2","cspSpecName":"m5.large"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["vCPU"], 2);
    assert_eq!(r.body["memoryGiB"], 8.0);
    assert!(r.body["costPerHour"].as_f64().unwrap() > 0.05, "price from the catalog");
    let r = app
        .post(
            &format!("{NS}/spec?action=registerWithInfo"),
            r#"{"name":"spec02","vCPU":"4","memoryGiB":"16","costPerHour":0.2}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["vCPU"], 4, "numeric strings accepted");
    let r = app.put(&format!("{NS}/spec/spec02"), r#"{"costPerHour":0.25,"description":"cheaper elsewhere"}"#).await;
    assert_eq!(r.body["costPerHour"], 0.25);
    let ids: Vec<String> = app.get(&format!("{NS}/spec?option=id")).await.body["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    assert_eq!(ids, ["spec01", "spec02"]);
    assert_eq!(app.delete(&format!("{NS}/spec/spec01")).await.status, 200);
}

#[tokio::test]
async fn register_existing_cloud_resources() {
    let app = TestApp::new().await;
    app.ns_with_vnet("ns01", "aws-ap-northeast-2").await;
    let vnet = app.get(&format!("{NS}/vNet/vnet01")).await.body;
    let sg = app
        .post(&format!("{NS}/securityGroup"), r#"{"name":"sg01","vNetId":"vnet01","firewallRules":[{"Ports":"22","Protocol":"TCP","Direction":"inbound"}]}"#)
        .await
        .body;
    let key = app.post(&format!("{NS}/sshKey"), r#"{"name":"key01","connectionName":"aws-ap-northeast-2"}"#).await.body;

    // Another namespace adopts the same cloud objects by their CSP ids.
    app.post("/tumblebug/ns", r#"{"name":"ns02"}"#).await;
    let ns2 = "/tumblebug/ns/ns02/resources";
    let r = app
        .post(
            &format!("{ns2}/vNet?option=register"),
            &format!(
                r#"{{"name":"adopted","connectionName":"aws-ap-northeast-2","cspResourceId":"{}"}}"#,
                vnet["cspResourceId"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["cidrBlock"], "10.0.0.0/16", "read back from the cloud");
    assert_eq!(r.body["subnetInfoList"].as_array().unwrap().len(), 2);
    let r = app
        .post(
            &format!("{ns2}/securityGroup?option=register"),
            &format!(
                r#"{{"name":"adopted-sg","connectionName":"aws-ap-northeast-2","vNetId":"adopted","cspResourceId":"{}"}}"#,
                sg["cspResourceId"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["firewallRules"][0]["Port"], "22");
    let r = app
        .post(
            &format!("{ns2}/sshKey?option=register"),
            &format!(
                r#"{{"name":"adopted-key","connectionName":"aws-ap-northeast-2","cspResourceId":"{}","privateKey":{}}}"#,
                key["cspResourceId"].as_str().unwrap(),
                serde_json::to_string(&key["privateKey"]).unwrap()
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["fingerprint"], key["fingerprint"]);

    // Unknown CSP ids are refused clearly, and nothing is stored.
    let r = app
        .post(
            &format!("{ns2}/vNet?option=register"),
            r#"{"name":"ghost","connectionName":"aws-ap-northeast-2","cspResourceId":"vpc-00000000"}"#,
        )
        .await;
    assert_error(&r, 404, "vpc-00000000");
    assert_eq!(app.get("/tumblebug/ns/ns02/checkResource/vNet/ghost").await.body["exists"], false);
    assert_error(
        &app.post(&format!("{ns2}/vNet?option=register"), r#"{"name":"g2","connectionName":"aws-ap-northeast-2"}"#)
            .await,
        400,
        "cspResourceId",
    );
}

#[tokio::test]
async fn concurrent_updates_lose_nothing() {
    let app = TestApp::new().await;
    app.ns_with_vnet("ns01", "aws-ap-northeast-2").await;
    app.post(&format!("{NS}/securityGroup"), r#"{"name":"sg01","vNetId":"vnet01","firewallRules":[]}"#).await;
    // 20 concurrent rule additions, each a different port: every one must land.
    let mut tasks = Vec::new();
    for port in 1000..1020 {
        let router = app.router.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let body = format!(r#"{{"firewallRules":[{{"Ports":"{port}","Protocol":"TCP","Direction":"inbound"}}]}}"#);
            let req = axum::http::Request::post("/tumblebug/ns/ns01/resources/securityGroup/sg01/rules")
                .body(axum::body::Body::from(body))
                .unwrap();
            router.oneshot(req).await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let rules = app.get(&format!("{NS}/securityGroup/sg01")).await.body["firewallRules"].as_array().unwrap().len();
    assert_eq!(rules, ok, "every acknowledged addition is stored, no lost update ({statuses:?})");
    assert!(ok >= 1);
}
