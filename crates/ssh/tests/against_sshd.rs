//! tb-ssh against real OpenSSH servers started on loopback addresses.

mod support;

use std::time::{Duration, Instant};

use support::{Lab, fingerprint, free_port, keygen, keygen_typed};
use tb_ssh::{
    Bastion, HostKeyCheck, OutputLine, OutputStream, SshError, SshTarget, download, run_commands, run_commands_live,
    upload,
};

const TIMEOUT: Duration = Duration::from_secs(10);

fn cmds(commands: &[&str]) -> Vec<String> {
    commands.iter().map(|c| (*c).to_owned()).collect()
}

fn tofu() -> HostKeyCheck {
    HostKeyCheck::TrustOnFirstUse { known: None }
}

#[tokio::test]
async fn collects_stdout_stderr_and_exit_status_per_command() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let outcome = run_commands(
        &lab.target(&sshd),
        None,
        &tofu(),
        &cmds(&["echo out; echo err >&2", "printf 'a\\nb'; whoami", "echo partial; exit 3"]),
        TIMEOUT,
    )
    .await
    .unwrap();

    let r = &outcome.results;
    assert_eq!(r.len(), 3);
    assert_eq!((r[0].stdout.as_str(), r[0].stderr.as_str(), r[0].exit_status), ("out\n", "err\n", Some(0)));
    assert_eq!(r[1].stdout, format!("a\nb{}\n", lab.user));
    assert_eq!(r[1].exit_status, Some(0));
    assert_eq!(r[2].command, "echo partial; exit 3");
    assert_eq!((r[2].stdout.as_str(), r[2].exit_status), ("partial\n", Some(3)));
    assert!(outcome.error.as_deref().unwrap().contains("status 3"), "{:?}", outcome.error);
    // The returned key is the one sshd really uses.
    assert_eq!(outcome.host_key.fingerprint, fingerprint(&sshd.host_key_pub));
    assert_eq!(outcome.host_key.key_type, "ssh-ed25519");
    assert!(outcome.host_key.host_key.starts_with("ssh-ed25519 AAAA"));
}

#[tokio::test]
async fn stops_at_the_first_failing_command() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let marker = lab.path().join("must-not-exist");
    let third = format!("touch '{}'", marker.display());
    let outcome =
        run_commands(&lab.target(&sshd), None, &tofu(), &cmds(&["true", "false", &third]), TIMEOUT).await.unwrap();

    assert_eq!(outcome.results.len(), 2);
    assert_eq!(outcome.results[1].exit_status, Some(1));
    assert!(outcome.error.is_some());
    assert!(!marker.exists(), "the command after the failure was run");
}

#[tokio::test]
async fn a_command_running_past_the_timeout_is_reported() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let started = Instant::now();
    let slow = "echo started; sleep 5";
    let outcome = run_commands(
        &lab.target(&sshd),
        None,
        &tofu(),
        &cmds(&["echo before", slow, "echo never"]),
        Duration::from_secs(1),
    )
    .await
    .unwrap();

    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(outcome.timed_out);
    assert_eq!(outcome.results.len(), 2);
    assert_eq!(outcome.results[0].stdout, "before\n");
    assert_eq!(outcome.results[1].exit_status, None);
    assert_eq!(outcome.results[1].stdout, "started\n");
    let error = outcome.error.unwrap();
    // The index names the command; its text (which may hold secrets) stays out of errors.
    assert!(error.contains("timed out") && error.contains("command 1") && !error.contains("sleep"), "{error}");
}

#[tokio::test]
async fn live_output_arrives_line_by_line_before_the_run_ends() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let target = lab.target(&sshd);
    let run = tokio::spawn(async move {
        run_commands_live(
            &target,
            None,
            &tofu(),
            &cmds(&["echo one; echo two >&2", "echo three; sleep 0.5; echo four"]),
            TIMEOUT,
            tx,
        )
        .await
    });

    let mut lines = Vec::new();
    while let Some(line) = rx.recv().await {
        let is_three = line.line == "three";
        lines.push(line);
        if is_three {
            assert!(!run.is_finished(), "line `three` only arrived after the run ended");
        }
    }
    let outcome = run.await.unwrap().unwrap();
    assert!(outcome.error.is_none());

    let of = |index, stream| -> Vec<&str> {
        lines.iter().filter(|l: &&OutputLine| l.index == index && l.stream == stream).map(|l| l.line.as_str()).collect()
    };
    assert_eq!(of(0, OutputStream::Stdout), ["one"]);
    assert_eq!(of(0, OutputStream::Stderr), ["two"]);
    assert_eq!(of(1, OutputStream::Stdout), ["three", "four"]);
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn reaches_the_target_through_the_bastion() {
    let lab = Lab::new();
    let bastion_sshd = lab.sshd("bastion", "127.0.0.2", "");
    let target_sshd = lab.sshd("target", "127.0.0.3", "");
    let bastion = Bastion { target: lab.target(&bastion_sshd), check: tofu() };
    let outcome =
        run_commands(&lab.target(&target_sshd), Some(&bastion), &tofu(), &cmds(&["echo $SSH_CONNECTION"]), TIMEOUT)
            .await
            .unwrap();

    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let connection: Vec<&str> = outcome.results[0].stdout.split_whitespace().collect();
    assert_eq!(connection[2..], ["127.0.0.3", &target_sshd.port.to_string()]);
    // The key returned is the target's, not the bastion's.
    assert_eq!(outcome.host_key.fingerprint, fingerprint(&target_sshd.host_key_pub));
    // The bastion's sshd opened the TCP connection to the target on our behalf.
    let wanted = format!("target 127.0.0.3 port {}", target_sshd.port);
    let log = bastion_sshd.log_text();
    assert!(log.contains("direct-tcpip") && log.contains(&wanted), "bastion log:\n{log}");
    // (`a_bastion_refusing_forwarding_is_reported_as_a_bastion_error` shows the reverse: no
    // tunnel, no connection.)
}

#[tokio::test]
async fn a_bastion_refusing_forwarding_is_reported_as_a_bastion_error() {
    let lab = Lab::new();
    let bastion_sshd = lab.sshd("bastion", "127.0.0.2", "AllowTcpForwarding no");
    let target_sshd = lab.sshd("target", "127.0.0.3", "");
    let bastion = Bastion { target: lab.target(&bastion_sshd), check: tofu() };
    let error =
        run_commands(&lab.target(&target_sshd), Some(&bastion), &tofu(), &cmds(&["true"]), TIMEOUT).await.unwrap_err();

    match &error {
        SshError::Bastion { bastion, source } => {
            assert_eq!(bastion, &format!("127.0.0.2:{}", bastion_sshd.port));
            assert!(matches!(**source, SshError::Channel { .. }), "{source:?}");
        }
        other => panic!("expected a bastion error, got {other:?}"),
    }
    // Direct access still works, so the refusal above came from the bastion hop.
    let direct = run_commands(&lab.target(&target_sshd), None, &tofu(), &cmds(&["true"]), TIMEOUT).await;
    assert!(direct.unwrap().error.is_none());
}

#[tokio::test]
async fn host_key_is_trusted_on_first_use_and_a_changed_key_is_refused() {
    let lab = Lab::new();
    let first_key = keygen(lab.path(), "first_host_key");
    let port = free_port("127.0.0.1");
    let mut sshd = lab.sshd_with("vm", "127.0.0.1", port, &first_key.private_path, "");
    let target = lab.target(&sshd);
    let commands = cmds(&["true"]);

    let first = run_commands(&target, None, &tofu(), &commands, TIMEOUT).await.unwrap();
    let known = first.host_key.clone();
    assert_eq!(known.fingerprint, fingerprint(&sshd.host_key_pub));
    let pinned = HostKeyCheck::TrustOnFirstUse { known: Some(known.clone()) };
    let second = run_commands(&target, None, &pinned, &commands, TIMEOUT).await.unwrap();
    assert_eq!(second.host_key, known);

    // A record holding only the OpenSSH form is compared by key material.
    let by_key_only = HostKeyCheck::TrustOnFirstUse {
        known: Some(tb_ssh::KnownHostKey { fingerprint: String::new(), ..known.clone() }),
    };
    run_commands(&target, None, &by_key_only, &commands, TIMEOUT).await.unwrap();

    sshd.stop();
    let new_key = keygen(lab.path(), "new_host_key");
    let _restarted = lab.sshd_with("vm", "127.0.0.1", port, &new_key.private_path, "");
    let error = run_commands(&target, None, &pinned, &commands, TIMEOUT).await.unwrap_err();
    match error {
        SshError::HostKeyChanged { expected, got, .. } => {
            assert_eq!(expected, known.fingerprint);
            assert_eq!(got, fingerprint(&new_key.private_path.with_extension("pub")));
        }
        other => panic!("expected HostKeyChanged, got {other:?}"),
    }
    // Ignoring host keys still connects.
    let ignored = run_commands(&target, None, &HostKeyCheck::Ignore, &commands, TIMEOUT).await.unwrap();
    assert_ne!(ignored.host_key, known);
}

#[tokio::test]
async fn upload_then_download_round_trips_binary_bytes() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target = lab.target(&sshd);
    // Larger than the 2 MiB SSH window, so flow control is exercised both ways.
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let path = lab.path().join("new dir/it's a file.bin");
    let remote = path.to_str().unwrap();

    let key = upload(&target, None, &tofu(), remote, &bytes, TIMEOUT).await.unwrap();
    assert_eq!(key.fingerprint, fingerprint(&sshd.host_key_pub));
    // Same machine: the file is really there, byte for byte.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let got = download(&target, None, &tofu(), remote, bytes.len(), TIMEOUT).await.unwrap();
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.host_key, key);
}

#[tokio::test]
async fn download_enforces_the_size_limit_and_reports_missing_files() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target = lab.target(&sshd);
    let path = lab.path().join("data.bin");
    std::fs::write(&path, vec![42u8; 1000]).unwrap();
    let remote = path.to_str().unwrap();

    let error = download(&target, None, &tofu(), remote, 999, TIMEOUT).await.unwrap_err();
    assert!(matches!(error, SshError::TooLarge { limit: 999, .. }), "{error:?}");
    let exact = download(&target, None, &tofu(), remote, 1000, TIMEOUT).await.unwrap();
    assert_eq!(exact.bytes.len(), 1000);

    let missing = lab.path().join("missing");
    let error = download(&target, None, &tofu(), missing.to_str().unwrap(), 10, TIMEOUT).await.unwrap_err();
    match error {
        SshError::RemoteCommand { exit_status, stderr, .. } => {
            assert_eq!(exit_status, Some(1));
            assert!(stderr.contains("No such file"), "{stderr}");
        }
        other => panic!("expected RemoteCommand, got {other:?}"),
    }
}

#[tokio::test]
async fn a_key_not_in_authorized_keys_is_an_auth_error() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let stranger = keygen(lab.path(), "stranger");
    let target = SshTarget { private_key: stranger.private, ..lab.target(&sshd) };
    let error = run_commands(&target, None, &tofu(), &cmds(&["true"]), TIMEOUT).await.unwrap_err();
    match error {
        SshError::Auth { user, addr } => {
            assert_eq!(user, lab.user);
            assert_eq!(addr, format!("127.0.0.1:{}", sshd.port));
        }
        other => panic!("expected Auth, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let lab = Lab::new();
    // An address no other test listens on, so no parallel test can take the port meanwhile.
    let port = free_port("127.0.0.9");
    let target =
        SshTarget { host: "127.0.0.9".into(), port, user: lab.user.clone(), private_key: lab.user_key.private.clone() };
    let error = run_commands(&target, None, &tofu(), &cmds(&["true"]), TIMEOUT).await.unwrap_err();
    assert!(matches!(&error, SshError::Connect { addr, .. } if *addr == format!("127.0.0.9:{port}")), "{error:?}");
}

#[tokio::test]
async fn an_unparsable_private_key_is_rejected_without_echoing_it() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target =
        SshTarget { private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-garbage\n".into(), ..lab.target(&sshd) };
    let error = run_commands(&target, None, &tofu(), &cmds(&["true"]), TIMEOUT).await.unwrap_err();
    assert!(matches!(error, SshError::InvalidKey { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret-garbage"));
    assert!(!format!("{target:?}").contains("secret-garbage"));
}

#[tokio::test]
async fn logs_in_with_an_rsa_key() {
    let lab = Lab::new();
    let rsa = keygen_typed(lab.path(), "rsa_user_key", "rsa");
    std::fs::write(lab.path().join("authorized_keys"), &rsa.public).unwrap();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target = SshTarget { private_key: rsa.private, ..lab.target(&sshd) };
    let outcome = run_commands(&target, None, &tofu(), &cmds(&["echo rsa"]), TIMEOUT).await.unwrap();
    assert_eq!(outcome.results[0].stdout, "rsa\n");
}

#[tokio::test]
async fn many_runs_in_parallel_against_one_server() {
    let lab = Lab::new();
    let sshd = lab.sshd("vm", "127.0.0.1", "");
    let target = lab.target(&sshd);
    let runs = (0..8).map(|i| {
        let target = target.clone();
        tokio::spawn(async move { run_commands(&target, None, &tofu(), &[format!("echo {i}")], TIMEOUT).await })
    });
    for (i, run) in runs.collect::<Vec<_>>().into_iter().enumerate() {
        let outcome = run.await.unwrap().unwrap();
        assert_eq!(outcome.results[0].stdout, format!("{i}\n"));
    }
}
