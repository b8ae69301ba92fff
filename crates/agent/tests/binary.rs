//! The `tumblebug-agent` binary: flags, bind-port 0, serving, stopping on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_serves_on_the_chosen_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tumblebug-agent"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--work-dir"])
        .arg(dir.path().join("work"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("addr=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the agent never said where it listens");
    })
    .await
    .unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let body: serde_json::Value =
        reqwest::get(format!("http://{addr}/milkyway/install")).await.unwrap().json().await.unwrap();
    assert_eq!(body["result"], "The installation is complete");
    assert!(dir.path().join("work").is_dir());

    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status}");
}
