//! Reaching NATS as operators run it, through the one connection builder
//! every service uses: user and password, a token, an NKey seed, a `.creds`
//! file (operator mode), TLS with a CA file, a server
//! list with a dead first entry, refusals said as refusals, and `up`'s own
//! server only when nothing is configured. Real nats-server processes;
//! the client's log is captured at TRACE and must never carry a secret.

mod common;

use civicprobe::broker::{Broker, Refused};
use civicprobe::nats_config::NatsConfig;
use civicprobe_testkit::NatsServer;
use common::dead_nats_url;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Every log line written while the guard lives, at TRACE.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's log (the tests run on a current-thread
    /// runtime, so the client's tasks log here too).
    fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }

    /// The log is really at TRACE, and no line holds `secret`.
    fn assert_clean_of(&self, secret: &str) {
        let text = self.text();
        assert!(text.contains("TRACE") || text.contains("DEBUG"), "{text}");
        let leaked: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "{secret} in the log: {leaked:#?}");
    }
}

/// `connect` must fail with a [`Refused`] naming the server, not a secret.
async fn assert_refused(config: &NatsConfig, secret: &str) {
    let error = Broker::connect(config)
        .await
        .expect_err("wrong credentials");
    assert!(error.downcast_ref::<Refused>().is_some(), "{error:#}");
    let text = format!("{error:#}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(!text.contains(secret), "{text}");
}

#[tokio::test]
async fn user_and_password_accepted_and_a_wrong_password_refused() {
    let (log, _guard) = Captured::start();
    let server =
        NatsServer::start_with(&["--user", "civic", "--pass", "pw-R1ght@9"]).expect("nats");
    let by_flags = NatsConfig {
        nats_user: Some("civic".into()),
        nats_password: Some("pw-R1ght@9".into()),
        ..NatsConfig::from_url(server.url())
    };
    let broker = Broker::connect(&by_flags).await.expect("user and password");
    broker
        .client
        .publish("probe.ping", "x".into())
        .await
        .expect("publish");
    broker.stop().await;
    let in_url = NatsConfig::from_url(
        server
            .url()
            .replace("nats://", "nats://civic:pw-R1ght%409@"),
    );
    Broker::connect(&in_url)
        .await
        .expect("in the URL")
        .stop()
        .await;
    let wrong = NatsConfig {
        nats_password: Some("pw-Wr0ng".into()),
        ..by_flags.clone()
    };
    assert_refused(&wrong, "pw-Wr0ng").await;
    assert_refused(&NatsConfig::from_url(server.url()), "pw-R1ght").await;
    log.assert_clean_of("pw-R1ght");
    log.assert_clean_of("pw-Wr0ng");
}

#[tokio::test]
async fn a_token_accepted_and_a_wrong_one_refused() {
    let (log, _guard) = Captured::start();
    let server = NatsServer::start_with(&["--auth", "t0ken-S3cret"]).expect("nats");
    let right = NatsConfig {
        nats_token: Some("t0ken-S3cret".into()),
        ..NatsConfig::from_url(server.url())
    };
    Broker::connect(&right).await.expect("token").stop().await;
    let wrong = NatsConfig {
        nats_token: Some("t0ken-Wr0ng".into()),
        ..right.clone()
    };
    assert_refused(&wrong, "t0ken-Wr0ng").await;
    // A service waits for a server that is not there, not for one that
    // refuses it.
    let error = Broker::connect_or_wait(&wrong)
        .await
        .expect_err("refused, not waited for");
    assert!(error.downcast_ref::<Refused>().is_some(), "{error:#}");
    log.assert_clean_of("t0ken-S3cret");
    log.assert_clean_of("t0ken-Wr0ng");
}

#[tokio::test]
async fn an_nkey_seed_file_accepted() {
    let (log, _guard) = Captured::start();
    let key = nkeys::KeyPair::new_user();
    let seed = key.seed().expect("seed");
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("nats.conf");
    let users = format!(
        "authorization {{ users = [ {{ nkey: {} }} ] }}\n",
        key.public_key()
    );
    std::fs::write(&conf, users).expect("config");
    let seed_file = dir.path().join("civic.nk");
    std::fs::write(&seed_file, format!("{seed}\n")).expect("seed file");
    let server = NatsServer::start_with(&["-c", conf.to_str().expect("utf-8")]).expect("nats");
    let config = NatsConfig {
        nats_nkey: Some(seed_file),
        ..NatsConfig::from_url(server.url())
    };
    Broker::connect(&config).await.expect("nkey").stop().await;
    let other = dir.path().join("other.nk");
    std::fs::write(&other, nkeys::KeyPair::new_user().seed().expect("seed")).expect("other");
    let wrong = NatsConfig {
        nats_nkey: Some(other),
        ..config.clone()
    };
    assert_refused(&wrong, &seed).await;
    log.assert_clean_of(&seed);
}

#[tokio::test]
async fn a_list_whose_first_server_is_down_reaches_the_second() {
    let server = NatsServer::start().expect("nats");
    let dead = dead_nats_url();
    let config = NatsConfig {
        urls: vec![dead.clone(), server.url()],
        ..NatsConfig::default()
    };
    let broker = Broker::connect(&config).await.expect("the second server");
    assert!(broker.url.contains(&dead[7..]), "{}", broker.url);
    broker.stop().await;
    let other_dead = dead_nats_url();
    let none = NatsConfig {
        urls: vec![dead.clone(), other_dead.clone()],
        ..NatsConfig::default()
    };
    let error = format!("{:#}", Broker::connect(&none).await.expect_err("all dead"));
    assert!(error.contains("no NATS server answers at"), "{error}");
    assert!(
        error.contains(&dead[7..]) && error.contains(&other_dead[7..]),
        "{error}"
    );
}

#[tokio::test]
async fn up_starts_its_own_server_only_when_none_is_configured() {
    let data = tempfile::tempdir().expect("tempdir");
    let nothing_configured = NatsConfig {
        default_url: dead_nats_url(),
        ..NatsConfig::default()
    };
    let broker = Broker::connect_or_start(&nothing_configured, data.path())
        .await
        .expect("a server of its own");
    assert!(broker.started_here());
    assert!(
        data.path().join("nats").is_dir(),
        "store not in the data dir"
    );
    broker.stop().await;

    // A configured server that does not answer is waited for, never
    // stood in for.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let configured = NatsConfig::from_url(dead_nats_url());
    let waiting = Broker::connect_or_start(&configured, elsewhere.path())
        .await
        .expect("a configured server that does not answer yet is waited for");
    assert!(!waiting.started_here());
    assert_ne!(
        waiting.client.connection_state(),
        async_nats::connection::State::Connected
    );
    waiting.stop().await;
    assert!(!elsewhere.path().join("nats").exists());

    // A server at the default address that refuses is no reason either.
    let guarded = NatsServer::start_with(&["--auth", "t0k"]).expect("nats");
    let refusing_default = NatsConfig {
        default_url: guarded.url(),
        ..NatsConfig::default()
    };
    let error = Broker::connect_or_start(&refusing_default, elsewhere.path())
        .await
        .expect_err("refused");
    assert!(error.downcast_ref::<Refused>().is_some(), "{error:#}");
    assert!(!elsewhere.path().join("nats").exists());
}

/// A CA and a certificate for 127.0.0.1 signed by it, made by `openssl`.
fn test_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let subject = |cn: &str| format!("/CN={cn}");
    let ca = subject("civicprobe test CA");
    let host = subject("127.0.0.1");
    run(&[
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", &ca,
    ]);
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        &host,
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext",
    ]);
}

#[tokio::test]
async fn tls_with_a_ca_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    test_certificates(dir.path());
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let server = NatsServer::start_with(&[
        "--tls",
        "--tlscert",
        &path("server.pem"),
        "--tlskey",
        &path("server.key"),
    ])
    .expect("nats");
    let tls_url = server.url().replace("nats://", "tls://");
    let trusted = NatsConfig {
        nats_tls_ca: Some(dir.path().join("ca.pem")),
        ..NatsConfig::from_url(tls_url.clone())
    };
    Broker::connect(&trusted).await.expect("TLS").stop().await;
    let error = format!(
        "{:#}",
        Broker::connect(&NatsConfig::from_url(tls_url))
            .await
            .expect_err("an unknown CA")
    );
    assert!(error.contains("TLS with the NATS server"), "{error}");
}

/// A JWT as nsc makes it: `claims` with `iss`/`sub`, signed by `issuer`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, nats: serde_json::Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("civicprobe-test-{subject}"),
        "iat": 1_700_000_000,
        "iss": issuer.public_key(),
        "name": "civicprobe test",
        "sub": subject,
        "nats": nats,
    });
    let signing_input = format!("{header}.{}", b64.encode(claims.to_string()));
    let signature = issuer.sign(signing_input.as_bytes()).expect("sign");
    format!("{signing_input}.{}", b64.encode(signature))
}

/// A decentralized-auth server setup as nsc makes it, in `dir`: an
/// operator, a system account, an account with a user; returns the
/// server's config file, the user's `.creds` file and the user's seed.
fn operator_mode(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let (operator, system, account, user) = (
        nkeys::KeyPair::new_operator(),
        nkeys::KeyPair::new_account(),
        nkeys::KeyPair::new_account(),
        nkeys::KeyPair::new_user(),
    );
    let unlimited = serde_json::json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
        "exports": -1, "wildcards": true, "conn": -1, "leaf": -1});
    let account_claims = serde_json::json!({"type": "account", "version": 2, "limits": unlimited});
    let op = jwt(
        &operator,
        &operator.public_key(),
        serde_json::json!({"type": "operator", "version": 2}),
    );
    let sys = jwt(&operator, &system.public_key(), account_claims.clone());
    let acct = jwt(&operator, &account.public_key(), account_claims);
    let user_claims = serde_json::json!({"type": "user", "version": 2,
        "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1});
    let user_jwt = jwt(&account, &user.public_key(), user_claims);
    let (sys_key, acct_key) = (system.public_key(), account.public_key());
    let conf = dir.join("nats.conf");
    let text = format!(
        "operator: {op}\nsystem_account: {sys_key}\nresolver: MEMORY\n\
        resolver_preload: {{ {sys_key}: {sys}, {acct_key}: {acct} }}\n"
    );
    std::fs::write(&conf, text).expect("config");
    let seed = user.seed().expect("seed");
    let creds = dir.join("civic.creds");
    let text = format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
        -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    );
    std::fs::write(&creds, text).expect("creds");
    (conf, creds, seed)
}

#[tokio::test]
async fn a_creds_file_accepted() {
    let (log, _guard) = Captured::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (conf, creds, seed) = operator_mode(dir.path());
    let server = NatsServer::start_with(&["-c", conf.to_str().expect("utf-8")]).expect("nats");
    let config = NatsConfig {
        nats_creds: Some(creds),
        ..NatsConfig::from_url(server.url())
    };
    Broker::connect(&config).await.expect("creds").stop().await;
    assert_refused(&NatsConfig::from_url(server.url()), &seed).await;
    log.assert_clean_of(&seed);
}
