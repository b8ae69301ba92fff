//! The connection pool against real OpenSSH servers on loopback addresses.
//!
//! Which connection a command ran on is read from `$SSH_CONNECTION` (its client port), and how
//! many connections a server accepted from the server's own log.

mod support;

use std::time::{Duration, Instant};

use support::{Lab, Sshd, fingerprint, free_port, keygen};
use tb_ssh::{Bastion, HostKeyCheck, SshError, SshPool, SshTarget};

const TIMEOUT: Duration = Duration::from_secs(10);
const WHO: &str = "echo $SSH_CONNECTION";

fn tofu() -> HostKeyCheck {
    HostKeyCheck::TrustOnFirstUse { known: None }
}

/// The client port of the connection `echo $SSH_CONNECTION` ran on.
fn client_port(stdout: &str) -> u16 {
    stdout.split_whitespace().nth(1).and_then(|port| port.parse().ok()).unwrap_or_else(|| panic!("{stdout:?}"))
}

/// Runs `echo $SSH_CONNECTION` through `pool` and returns the client port it reports.
async fn port_via(pool: &SshPool, target: &SshTarget, bastion: Option<&Bastion>, check: &HostKeyCheck) -> u16 {
    let outcome = pool.run_commands(target, bastion, check, &[WHO.to_owned()], TIMEOUT).await.unwrap();
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    client_port(&outcome.results[0].stdout)
}

/// Waits until `sshd` logged `needle` (it logs asynchronously).
async fn wait_for_log(sshd: &Sshd, needle: &str) {
    let started = Instant::now();
    while !sshd.log_text().contains(needle) {
        assert!(started.elapsed() < TIMEOUT, "`{needle}` never logged:\n{}", sshd.log_text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn runs_and_transfers_reuse_one_connection() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target = lab.target(&sshd);
    let pool = SshPool::default();

    let first = pool.run_commands(&target, None, &tofu(), &[WHO.to_owned()], TIMEOUT).await.unwrap();
    assert_eq!(first.host_key.fingerprint, fingerprint(&sshd.host_key_pub));
    let port = client_port(&first.results[0].stdout);

    let path = lab.path().join("sub dir/file.bin");
    let remote = path.to_str().unwrap();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let key = pool.upload(&target, None, &tofu(), remote, &bytes, TIMEOUT).await.unwrap();
    assert_eq!(key, first.host_key);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(pool.download(&target, None, &tofu(), remote, bytes.len(), TIMEOUT).await.unwrap().bytes, bytes);

    // A failing command is the command's failure, not the connection's: run once, not retried.
    let counter = lab.path().join("counter");
    let failing = format!("echo ran >> '{}'; exit 3", counter.display());
    let failed = pool.run_commands(&target, None, &tofu(), &[failing], TIMEOUT).await.unwrap();
    assert!(failed.error.as_deref().unwrap().contains("status 3"), "{:?}", failed.error);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "ran\n");

    assert_eq!(port_via(&pool, &target, None, &tofu()).await, port);
    assert_eq!(sshd.accepted_logins(), 1, "{}", sshd.log_text());
    assert_eq!(pool.len(), 1);
}

#[tokio::test]
async fn thirty_targets_behind_one_bastion_share_one_bastion_connection() {
    let lab = Lab::new();
    // Thirty logins, each a distinct target for the pool (the key is part of its identity).
    let keys: Vec<_> = (0..30).map(|i| lab.add_user_key(&format!("user{i}"))).collect();
    let bastion_sshd = lab.sshd("bastion", "127.0.0.2", "");
    // Thirty concurrent handshakes must not trip the target's own start-up limit.
    let target_sshd = lab.sshd("target", "127.0.0.3", "MaxStartups 100:30:200");
    let bastion = Bastion { target: lab.target(&bastion_sshd), check: tofu() };
    let pool = SshPool::default();

    let runs: Vec<_> = keys
        .iter()
        .map(|key| {
            let (pool, bastion) = (pool.clone(), bastion.clone());
            let target = SshTarget { private_key: key.private.clone(), ..lab.target(&target_sshd) };
            tokio::spawn(async move {
                pool.run_commands(&target, Some(&bastion), &tofu(), &[WHO.to_owned()], TIMEOUT).await
            })
        })
        .collect();
    for run in runs {
        let outcome = run.await.unwrap().unwrap();
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.host_key.fingerprint, fingerprint(&target_sshd.host_key_pub));
    }

    // The default MaxStartups (10:30:100) would have dropped many of 30 concurrent handshakes.
    assert_eq!(bastion_sshd.accepted_logins(), 1, "{}", bastion_sshd.log_text());
    let tunnels = bastion_sshd.log_text().matches("server_request_direct_tcpip").count();
    assert!(tunnels >= 30, "{tunnels} tunnels logged");
    assert_eq!(target_sshd.accepted_logins(), 30);
    assert_eq!(pool.len(), 31);
}

#[tokio::test]
async fn a_pooled_connection_dropped_by_the_server_is_replaced() {
    let lab = Lab::new();
    let host_key = keygen(lab.path(), "vm_host_key");
    let port = free_port("127.0.0.4");
    let mut sshd = lab.sshd_with("vm", "127.0.0.4", port, &host_key.private_path, "");
    let target = lab.target(&sshd);
    let pool = SshPool::default();
    let before = port_via(&pool, &target, None, &tofu()).await;

    // The machine "reboots": its connections die and sshd comes back on the same address.
    sshd.kill_connections();
    sshd.stop();
    let restarted = lab.sshd_with("vm-again", "127.0.0.4", port, &host_key.private_path, "");

    let after = port_via(&pool, &target, None, &tofu()).await;
    assert_ne!(after, before);
    assert_eq!(restarted.accepted_logins(), 1);
    assert_eq!(port_via(&pool, &target, None, &tofu()).await, after);
    assert_eq!(pool.len(), 1);
}

#[tokio::test]
async fn a_pooled_connection_refusing_a_session_is_replaced_and_the_run_retried_once() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.5", "MaxSessions 1");
    let target = lab.target(&sshd);
    let pool = SshPool::default();
    let first = port_via(&pool, &target, None, &tofu()).await;
    // sshd frees a closed session a moment after closing it.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Hold the connection's only session...
    let long = {
        let (pool, target) = (pool.clone(), target.clone());
        tokio::spawn(
            async move { pool.run_commands(&target, None, &tofu(), &[format!("sleep 1; {WHO}")], TIMEOUT).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so the server refuses the next one on that connection: evicted, run on a new one.
    let second = port_via(&pool, &target, None, &tofu()).await;
    assert_ne!(second, first);

    let long = long.await.unwrap().unwrap();
    assert!(long.error.is_none(), "{:?}", long.error);
    assert_eq!(client_port(&long.results[0].stdout), first);
    // The new connection is the pooled one now.
    assert_eq!(port_via(&pool, &target, None, &tofu()).await, second);
    assert_eq!(sshd.accepted_logins(), 2);
    assert_eq!(pool.len(), 1);
}

#[tokio::test]
async fn more_concurrent_runs_than_sessions_per_connection_overflow_to_own_connections() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.6", "MaxStartups 100:30:200");
    let target = lab.target(&sshd);
    let pool = SshPool::default();

    let runs: Vec<_> = (0..15)
        .map(|i| {
            let (pool, target) = (pool.clone(), target.clone());
            let command = format!("sleep 1; echo {i}");
            tokio::spawn(async move { pool.run_commands(&target, None, &tofu(), &[command], TIMEOUT).await })
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let outcome = run.await.unwrap().unwrap();
        assert!(outcome.error.is_none(), "run {i}: {:?}", outcome.error);
        assert_eq!(outcome.results[0].stdout, format!("{i}\n"));
    }
    // Eight sessions share the pooled connection; the other seven got connections of their
    // own, closed afterwards.
    assert_eq!(sshd.accepted_logins(), 8, "{}", sshd.log_text());
    assert_eq!(pool.len(), 1);
}

#[tokio::test]
async fn idle_connections_are_closed_and_used_ones_kept() {
    let lab = Lab::new();
    let bastion_sshd = lab.sshd("bastion", "127.0.0.7", "");
    let target_sshd = lab.sshd("target", "127.0.0.8", "");
    let bastion = Bastion { target: lab.target(&bastion_sshd), check: tofu() };
    let target = lab.target(&target_sshd);
    let idle = Duration::from_millis(400);
    let pool = SshPool::new(idle);

    let port = port_via(&pool, &target, Some(&bastion), &tofu()).await;
    assert_eq!(pool.len(), 2, "the target and its bastion");
    // Use keeps it open past the idle time.
    for _ in 0..3 {
        tokio::time::sleep(idle / 2).await;
        assert_eq!(port_via(&pool, &target, Some(&bastion), &tofu()).await, port);
    }

    let last_use = Instant::now();
    while !pool.is_empty() {
        assert!(last_use.elapsed() < Duration::from_secs(5), "still {} connections", pool.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last_use.elapsed() >= idle, "closed after {:?}", last_use.elapsed());
    // Closed politely, both of them.
    wait_for_log(&target_sshd, "Received disconnect").await;
    wait_for_log(&bastion_sshd, "Received disconnect").await;

    assert_ne!(port_via(&pool, &target, Some(&bastion), &tofu()).await, port);
    assert_eq!((bastion_sshd.accepted_logins(), target_sshd.accepted_logins()), (2, 2));
}

#[tokio::test]
async fn another_key_user_or_host_key_policy_gets_another_connection() {
    let lab = Lab::new();
    let second_key = lab.add_user_key("second_user_key");
    let sshd = lab.sshd("vm", "127.0.0.10", "");
    let target = lab.target(&sshd);
    let pool = SshPool::default();

    let first = pool.run_commands(&target, None, &tofu(), &[WHO.to_owned()], TIMEOUT).await.unwrap();
    let port = client_port(&first.results[0].stdout);
    let other_key = SshTarget { private_key: second_key.private.clone(), ..target.clone() };
    let pinned = HostKeyCheck::TrustOnFirstUse { known: Some(first.host_key.clone()) };
    let ports = [
        port_via(&pool, &other_key, None, &tofu()).await,
        port_via(&pool, &target, None, &HostKeyCheck::Ignore).await,
        port_via(&pool, &target, None, &pinned).await,
    ];
    for other in ports {
        assert_ne!(other, port);
    }
    assert_eq!(port_via(&pool, &target, None, &tofu()).await, port);
    assert_eq!(sshd.accepted_logins(), 4);

    // Another user must log in on its own, and is refused, though a connection for the same
    // host and key is open.
    let stranger = SshTarget { user: "tb-no-such-user".into(), ..target.clone() };
    let error = pool.run_commands(&stranger, None, &tofu(), &[WHO.to_owned()], TIMEOUT).await.unwrap_err();
    assert!(matches!(error, SshError::Auth { ref user, .. } if user == "tb-no-such-user"), "{error:?}");

    // A changed host key is still caught by a new connection with a mismatching record.
    let wrong = tb_ssh::KnownHostKey { fingerprint: "SHA256:not-this-one".into(), ..first.host_key.clone() };
    let refused = HostKeyCheck::TrustOnFirstUse { known: Some(wrong) };
    let error = pool.run_commands(&target, None, &refused, &[WHO.to_owned()], TIMEOUT).await.unwrap_err();
    assert!(matches!(error, SshError::HostKeyChanged { .. }), "{error:?}");

    assert_eq!(pool.len(), 4);
    pool.clear();
    assert_eq!(pool.len(), 0);
    assert_ne!(port_via(&pool, &target, None, &tofu()).await, port);
}

#[tokio::test]
async fn beyond_capacity_the_least_recently_used_connection_goes() {
    let lab = Lab::new();
    let keys = [lab.add_user_key("a"), lab.add_user_key("b"), lab.add_user_key("c")];
    let sshd = lab.sshd("vm", "127.0.0.11", "");
    let targets: Vec<_> =
        keys.iter().map(|key| SshTarget { private_key: key.private.clone(), ..lab.target(&sshd) }).collect();
    let pool = SshPool::with_capacity(Duration::from_secs(60), 2);

    let a = port_via(&pool, &targets[0], None, &tofu()).await;
    let b = port_via(&pool, &targets[1], None, &tofu()).await;
    assert_eq!(port_via(&pool, &targets[0], None, &tofu()).await, a, "a is now the most recently used");
    let c = port_via(&pool, &targets[2], None, &tofu()).await;
    assert_eq!(pool.len(), 2);
    assert_eq!(port_via(&pool, &targets[0], None, &tofu()).await, a);
    assert_eq!(port_via(&pool, &targets[2], None, &tofu()).await, c);
    assert_ne!(port_via(&pool, &targets[1], None, &tofu()).await, b, "b was evicted");
    assert_eq!(sshd.accepted_logins(), 4);
}
