//! `civicprobe audit …` as a user types it: the storage options after any
//! audit subcommand (or before it), and the anchor end to end through the
//! binary: a key made by `audit keygen`, the head published by `audit
//! anchor --publish` on a real nats-server that requires a password (the
//! services' NATS options, as flags or from the environment), and `audit
//! verify` holding the chain to it.

mod common;

use civicprobe_testkit::NatsServer;
use common::civicprobe;
use std::path::Path;

fn ok(args: &[&str]) -> String {
    ok_with(args, &[])
}

/// [`ok`] with environment variables set.
fn ok_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = civicprobe()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run civicprobe");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn storage_options_follow_any_audit_subcommand() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let subcommands: [&[&str]; 6] = [
        &["audit"],
        &["audit", "verify"],
        &["audit", "kpis"],
        &["audit", "kpis", "--json"],
        &[
            "audit",
            "export",
            "--from",
            "2025-06-01",
            "--to",
            "2025-06-30",
        ],
        &["audit", "--csv"],
    ];
    for (i, sub) in subcommands.iter().enumerate() {
        let after = tmp.path().join(format!("after-{i}"));
        let mut args = sub.to_vec();
        args.extend(["--data-dir", path(&after)]);
        ok(&args);
        assert!(
            after.join("civicprobe.db").exists(),
            "{args:?} used the --data-dir given after it"
        );

        let url = format!("sqlite://{}/url-{i}.db?mode=rwc", path(tmp.path()));
        let mut args = sub.to_vec();
        args.extend(["--database-url", &url]);
        ok(&args);
        assert!(tmp.path().join(format!("url-{i}.db")).exists(), "{args:?}");
    }
    let before = tmp.path().join("before");
    ok(&["audit", "--data-dir", path(&before), "verify"]);
    assert!(before.join("civicprobe.db").exists());
}

#[test]
fn the_binary_anchors_and_verifies_against_the_published_head() {
    let nats =
        NatsServer::start_with(&["--user", "civic", "--pass", "s3cret"]).expect("nats-server");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let key = tmp.path().join("district.key");
    let public = ok(&["audit", "keygen", "--out", path(&key)]);
    let public = public.trim();
    assert_eq!(public.len(), 64);
    let pub_file = std::fs::read_to_string(tmp.path().join("district.key.pub")).expect("pub");
    assert_eq!(pub_file.trim(), public);
    let refused = civicprobe()
        .args(["audit", "keygen", "--out", path(&key)])
        .output()
        .expect("run");
    assert!(!refused.status.success(), "keygen never overwrites a key");

    let url = nats.url();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "verify",
            "--data-dir",
            path(&data),
            "--nats-url",
            &url,
            "--nats-user",
            "civic",
            "--nats-password",
            "s3cret",
        ];
        args.extend(extra);
        ok(&args)
    };
    let text = verify(&["--anchor-public-key", public]);
    assert!(
        text.contains("UNANCHORED: no chain head has been published"),
        "{text}"
    );

    // A wrong password is an error that says so, not a hang.
    let refused = civicprobe()
        .args(["audit", "verify", "--data-dir", path(&data)])
        .args(["--anchor-public-key", public, "--nats-url", &url])
        .env("NATS_USER", "civic")
        .env("NATS_PASSWORD", "wrong")
        .output()
        .expect("run");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        said.contains("authoriz") || said.contains("credential"),
        "{said}"
    );

    // The credentials from the environment, as a service's env file has them.
    let printed = ok_with(
        &[
            "audit",
            "anchor",
            "--publish",
            "--anchor-key",
            path(&key),
            "--nats-url",
            &url,
            "--data-dir",
            path(&data),
        ],
        &[("NATS_USER", "civic"), ("NATS_PASSWORD", "s3cret")],
    );
    let head: serde_json::Value = serde_json::from_str(printed.trim()).expect("json head");
    assert_eq!(head["public_key"], public);
    assert_eq!(head["signature"].as_str().map(str::len), Some(128));

    let text = verify(&["--anchor-public-key", public]);
    assert!(text.contains("anchor holds"), "{text}");
    let text = verify(&["--anchor-key", path(&key)]);
    assert!(
        text.contains("anchor holds"),
        "the key file's public half: {text}"
    );
}
