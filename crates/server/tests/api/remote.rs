//! Remote commands through the API on real local VMs (sshd processes): history, live events,
//! asynchronous requests, placeholders, and VMs that cannot be reached.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};

/// The `data` of every server-sent event in `body`, with its event name.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if !data.is_empty() {
            out.push((name, serde_json::from_str(&data).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn async_command_streams_events_and_keeps_history() {
    let app = TestApp::with_local(211).await;
    app.local_mci("ns01", "web", 211, 2).await;
    let cmd = json!({"command": ["echo one; echo two 1>&2", "echo three"]}).to_string();
    let r = app
        .request(
            "POST",
            "/tumblebug/ns/ns01/cmd/mci/web?async=true",
            Some(&cmd),
            &[("content-type", "application/json"), ("x-request-id", "req-stream-1")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["xRequestId"], "req-stream-1");

    // Subscribing after the answer still yields every event, ending with the summary.
    let s = app.get("/tumblebug/ns/ns01/stream/cmd/mci/web?xRequestId=req-stream-1").await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert!(s.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events = sse_events(&s.text);
    let (last_name, last) = events.last().unwrap();
    assert_eq!(last_name, "CommandDone");
    assert_eq!(
        last["summary"],
        json!({"totalVms": 2, "completedVms": 2, "failedVms": 0, "elapsedSeconds": last["summary"]["elapsedSeconds"]})
    );
    for vm in ["g1-1", "g1-2"] {
        let statuses: Vec<&str> = events
            .iter()
            .filter(|(n, e)| n == "CommandStatus" && e["vmId"] == vm)
            .map(|(_, e)| e["status"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["Queued", "Handling", "Completed"], "{vm}: {events:?}");
        let lines: Vec<(String, String, u64)> = events
            .iter()
            .filter(|(n, e)| n == "CommandLog" && e["vmId"] == vm)
            .map(|(_, e)| {
                let log = &e["log"];
                (
                    log["stream"].as_str().unwrap().into(),
                    log["line"].as_str().unwrap().into(),
                    log["lineNumber"].as_u64().unwrap(),
                )
            })
            .collect();
        let stdout: Vec<_> = lines.iter().filter(|l| l.0 == "stdout").map(|l| (l.1.as_str(), l.2)).collect();
        assert_eq!(stdout, [("one", 1), ("three", 2)], "{vm}: {lines:?}");
        assert!(lines.contains(&("stderr".into(), "two".into(), 1)), "{lines:?}");
    }

    // The tracked request holds the results (recorded right after the last event).
    let mut req = app.get("/tumblebug/request/req-stream-1").await;
    for _ in 0..100 {
        if req.body["status"] != "Handling" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        req = app.get("/tumblebug/request/req-stream-1").await;
    }
    assert_eq!(req.body["status"], "Success", "{}", req.text);
    assert_eq!(req.body["responseData"]["results"].as_array().unwrap().len(), 2, "{}", req.text);

    // History: one record per VM per request.
    let h = app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus").await;
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body["total"], 1);
    let rec = &h.body["commands"][0];
    assert_eq!(rec["index"], 1);
    assert_eq!(rec["status"], "Completed");
    assert_eq!(rec["xRequestId"], "req-stream-1");
    assert_eq!(rec["commandRequested"], "echo one; echo two 1>&2\necho three");
    assert_eq!(rec["stdout"], "one\nthree\n");
    assert_eq!(rec["stderr"], "two\n");
    assert!(!rec["completedTime"].as_str().unwrap().is_empty());

    // A failing request adds a Failed record; filters and deletion.
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/web?vmId=g1-1", &json!({"command": ["exit 4"]}).to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["results"][0]["err"].as_str().unwrap().contains("status 4"), "{}", r.text);
    let failed = app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus?status=Failed").await;
    assert_eq!(failed.body["total"], 1, "{}", failed.text);
    assert_eq!(failed.body["commands"][0]["index"], 2);
    let one = app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus/2").await;
    assert_eq!(one.body["status"], "Failed", "{}", one.text);
    assert!(one.body["errorMessage"].as_str().unwrap().contains("status 4"));
    assert_error(&app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus?status=Nope").await, 400, "Nope");
    assert_error(&app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus/9").await, 404, "9");
    let count = app.get("/tumblebug/ns/ns01/mci/web/handlingCount").await;
    assert_eq!(
        count.body,
        json!({"mciId": "web", "vmHandlingCounts": {"g1-1": 0, "g1-2": 0}, "totalHandlingCount": 0})
    );
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus/1").await.status, 200);
    let left = app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus").await;
    assert_eq!(left.body["total"], 1);
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatusAll").await.status, 200);
    assert_eq!(app.get("/tumblebug/ns/ns01/mci/web/vm/g1-1/commandStatus").await.body["total"], 0);
    // g1-2 kept its own.
    assert_eq!(app.get("/tumblebug/ns/ns01/mci/web/vm/g1-2/commandStatus").await.body["total"], 1);

    // Streams of unknown requests, or without an id, are refused.
    assert_error(&app.get("/tumblebug/ns/ns01/stream/cmd/mci/web?xRequestId=nope").await, 404, "nope");
    assert_error(&app.get("/tumblebug/ns/ns01/stream/cmd/mci/web").await, 400, "xRequestId");
    let r = app.delete("/tumblebug/ns/ns01/mci/web?option=terminate").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn placeholders_expand_per_vm() {
    let app = TestApp::with_local(212).await;
    let mci = app.local_mci("ns01", "pl", 212, 3).await;
    let ips: Vec<String> = {
        let mut v: Vec<(String, String)> = mci["vm"]
            .as_array()
            .unwrap()
            .iter()
            .map(|vm| (vm["id"].as_str().unwrap().to_string(), vm["publicIP"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, ip)| ip).collect()
    };
    let cmd = json!({"command": [
        "echo $$Func(GetVmId()) $$Func(GetMciId()) $$Func(GetNsId())",
        "echo $$Func(GetPublicIPs(separator=' '))",
        "echo $$Func(GetPublicIP(target=this, prefix='http://', postfix=':80'))",
        "echo $$Func(AssignTask(task='alpha,beta'))",
    ]});
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/pl", &cmd.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (i, res) in results.iter().enumerate() {
        let vm = res["vmId"].as_str().unwrap();
        assert!(res["err"].is_null(), "{res}");
        assert_eq!(res["stdout"]["0"], format!("{vm} pl ns01\n"));
        assert_eq!(res["stdout"]["1"], format!("{}\n", ips.join(" ")));
        assert_eq!(res["stdout"]["2"], format!("http://{}:80\n", ips[i]));
        assert_eq!(res["stdout"]["3"], format!("{}\n", ["alpha", "beta"][i % 2]));
        // The result shows the command as it ran.
        assert_eq!(res["command"]["0"], format!("echo {vm} pl ns01"));
    }
    // The history keeps both forms.
    let h = app.get("/tumblebug/ns/ns01/mci/pl/vm/g1-2/commandStatus/1").await;
    assert!(h.body["commandRequested"].as_str().unwrap().contains("$$Func(GetVmId())"), "{}", h.text);
    assert!(h.body["commandExecuted"].as_str().unwrap().contains("echo g1-2 pl ns01"), "{}", h.text);
    // A bad placeholder fails the whole request before anything runs.
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/pl", &json!({"command": ["echo $$Func(NoSuch())"]}).to_string()).await;
    assert_error(&r, 400, "NoSuch");
    assert_eq!(app.get("/tumblebug/ns/ns01/mci/pl/vm/g1-1/commandStatus").await.body["total"], 1);
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/pl?option=terminate").await.status, 200);
}

#[tokio::test]
async fn an_unreachable_vm_gets_its_own_error() {
    let app = TestApp::with_local(213).await;
    app.local_mci("ns01", "mix", 213, 2).await;
    // A simulated VM in the same MCI (its addresses are made up and never contacted).
    let (spec, image) = crate::mci::spec_and_image(&app, "aws-ap-northeast-2", "aws").await;
    let sim = json!({"specId": spec, "imageId": image, "name": "s", "subGroupSize": 1});
    let r = app.post("/tumblebug/ns/ns01/mci/mix/subGroupDynamic", &sim.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The VM that is not its subnet's bastion is stopped (the bastion carries the others).
    let bastion = app.get("/tumblebug/ns/ns01/mci/mix/vm/g1-1/bastion").await;
    let bastion = bastion.body[0]["vmId"].as_str().unwrap_or_else(|| panic!("{}", bastion.text)).to_string();
    let (down, up) = if bastion == "g1-1" { ("g1-2", "g1-1") } else { ("g1-1", "g1-2") };
    let access = app.get("/tumblebug/ns/ns01/mci/mix?option=accessinfo").await;
    let g1 = access.body["MciSubGroupAccessInfo"].as_array().unwrap().iter().find(|g| g["SubGroupId"] == "g1").unwrap();
    assert_eq!(g1["BastionVmId"], bastion.as_str(), "{}", access.text);
    let r = app.get(&format!("/tumblebug/ns/ns01/control/mci/mix/vm/{down}?action=suspend")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/mix", &json!({"command": ["echo alive"]}).to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let by_vm: std::collections::BTreeMap<String, Value> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["vmId"].as_str().unwrap().to_string(), x.clone()))
        .collect();
    assert_eq!(by_vm.len(), 3, "{}", r.text);
    // Reached directly or through the bastion, the error names the address that refused.
    let addr = format!("{}:", by_vm[down]["vmIp"].as_str().unwrap());
    assert!(by_vm[down]["err"].as_str().unwrap().contains(&addr), "{}", r.text);
    assert!(by_vm["s-1"]["err"].as_str().unwrap().contains("simulated"), "{}", r.text);
    assert!(by_vm[up]["err"].is_null(), "{}", r.text);
    assert_eq!(by_vm[up]["stdout"]["0"], "alive\n");
    // With the bastion down too, the message names it.
    let r = app.get(&format!("/tumblebug/ns/ns01/control/mci/mix/vm/{up}?action=suspend")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(&format!("/tumblebug/ns/ns01/cmd/mci/mix?vmId={down}"), &json!({"command": ["true"]}).to_string())
        .await;
    assert!(r.body["results"][0]["err"].as_str().unwrap().contains("bastion"), "{}", r.text);
    let rec = app.get(&format!("/tumblebug/ns/ns01/mci/mix/vm/{down}/commandStatus/1")).await;
    assert_eq!(rec.body["status"], "Failed", "{}", rec.text);
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/mix?option=terminate").await.status, 200);
}

/// `GET /` over plain HTTP/1.0, the body of the answer.
async fn http_get(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{addr}: {e}"));
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or(answer)
}

/// The README's demo, with the very request files it uses: one call deploys a web server on
/// every VM, and each answers over HTTP with its own page. Needs nginx (the test script
/// installs nginx-light) or python3.
#[tokio::test]
async fn web_demo_serves_a_page_from_every_vm() {
    let app = TestApp::with_local(214).await;
    let mci = app.local_mci("demo", "web", 214, 3).await;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/web-demo");
    let deploy = std::fs::read_to_string(format!("{examples}/deploy.json")).unwrap();
    let r = app.post("/tumblebug/ns/demo/cmd/mci/web", &deploy).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for res in r.body["results"].as_array().unwrap() {
        assert!(res["err"].is_null(), "{res}");
    }
    for vm in mci["vm"].as_array().unwrap() {
        let (id, ip) = (vm["id"].as_str().unwrap(), vm["publicIP"].as_str().unwrap());
        let page = http_get(&format!("{ip}:8080")).await;
        assert_eq!(page.trim(), format!("Hello from {id} of MCI web at {ip}"));
    }
    let stop = std::fs::read_to_string(format!("{examples}/stop.json")).unwrap();
    let r = app.post("/tumblebug/ns/demo/cmd/mci/web", &stop).await;
    assert!(r.body["results"].as_array().unwrap().iter().all(|x| x["err"].is_null()), "{}", r.text);
    assert_eq!(app.delete("/tumblebug/ns/demo/mci/web?option=terminate").await.status, 200);
}

/// A running request is cancelled: VMs record `Cancelled`, the stream ends, and the command
/// on the VMs is killed (it would have left a marker file).
#[tokio::test]
async fn a_running_command_task_is_cancelled() {
    let app = TestApp::with_local(216).await;
    app.local_mci("ns01", "c", 216, 2).await;
    let marker = std::env::temp_dir().join(format!("tb-cancel-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let cmd = json!({"command": [format!("sleep 3; touch {}", marker.display())]}).to_string();
    let r = app
        .request(
            "POST",
            "/tumblebug/ns/ns01/cmd/mci/c?async=true",
            Some(&cmd),
            &[("content-type", "application/json"), ("x-request-id", "req-cancel")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    // Wait until both VMs run it.
    for _ in 0..200 {
        if app.get("/tumblebug/ns/ns01/mci/c/handlingCount").await.body["totalHandlingCount"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let task = app.get("/tumblebug/ns/ns01/cmd/mci/c/task/req-cancel").await;
    assert_eq!(task.body["status"], "Handling", "{}", task.text);
    let r = app.post("/tumblebug/ns/ns01/cmd/mci/c/task/req-cancel/cancel", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = app.get("/tumblebug/ns/ns01/stream/cmd/mci/c?xRequestId=req-cancel").await;
    let events = sse_events(&s.text);
    let (name, done) = events.last().unwrap();
    assert_eq!(name, "CommandDone");
    assert_eq!(done["summary"]["failedVms"], 2, "{done}");
    for vm in ["g1-1", "g1-2"] {
        let rec = app.get(&format!("/tumblebug/ns/ns01/mci/c/vm/{vm}/commandStatus/1")).await;
        assert_eq!(rec.body["status"], "Cancelled", "{}", rec.text);
    }
    let tasks = app.get("/tumblebug/ns/ns01/cmd/mci/c/task").await;
    assert_eq!(tasks.body[0]["status"], "Cancelled", "{}", tasks.text);
    assert_error(&app.post("/tumblebug/ns/ns01/cmd/mci/c/task/req-cancel/cancel", "").await, 409, "ended");
    assert_error(&app.post("/tumblebug/ns/ns01/cmd/mci/c/task/nope/cancel", "").await, 404, "nope");
    // The commands were killed on the VMs, not only abandoned.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert!(!marker.exists(), "the cancelled command kept running");
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/c?option=terminate").await.status, 200);
}
