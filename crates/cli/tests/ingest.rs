//! A crash between accept and publish loses nothing: `civicprobe ingest`
//! (which knows the courier from the tracker's `TOKENS` stream, not from
//! any database) accepts reports while NATS is down, is killed with SIGKILL before it
//! could publish them, and a new process publishes each exactly once.
//! Also: `civicprobe load` against an in-process stack, and the photo
//! endpoint scoped by the tracker like tickets.

mod common;

use civicprobe::load;
use common::{admin, civicprobe};

use civicprobe_model::nats::REPORTS_STREAM;
use civicprobe_testkit::{photos, NatsServer};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// An in-process stack with the repository's fixtures.
fn stack_config(data: &Path, nats_url: String) -> civicprobe::stack::StackConfig {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    civicprobe::stack::StackConfig::new(data.join("stack"), nats_url, &fixtures)
}

/// `civicprobe courier add` in `data`; returns the token.
fn add_courier(data: &Path) -> String {
    admin(data, &["courier", "add", "ada"])
}

/// `civicprobe ingest` on `port`, once it answers.
async fn ingest(data: &Path, nats_url: &str, port: u16) -> Child {
    let mut child = civicprobe()
        .args([
            "ingest",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--nats-url",
            nats_url,
        ])
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn ingest");
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("http://127.0.0.1:{port}/healthz");
    while reqwest::get(&url).await.is_err() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("ingest exited early: {status}");
        }
        assert!(Instant::now() < deadline, "ingest never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

async fn submit(port: u16, token: &str, key: &str, photo: Vec<u8>) -> u16 {
    let form = reqwest::multipart::Form::new()
        .text(
            "report",
            r#"{"lat":29.8413,"lon":114.3225,"text":"井盖缺失"}"#,
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
        );
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/reports"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .multipart(form)
        .send()
        .await
        .expect("submit")
        .status()
        .as_u16()
}

/// The `Nats-Msg-Id`s on `REPORTS` once it holds `n` messages.
async fn msg_ids(nats: &NatsServer, n: u64) -> Vec<String> {
    let (_client, js) = nats.connect().await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = match js.get_stream(REPORTS_STREAM).await {
            Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if count >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "REPORTS never held {n} messages (has {count})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stream = js.get_stream(REPORTS_STREAM).await.expect("stream");
    let total = stream.get_info().await.expect("info").state.messages;
    let mut ids = Vec::new();
    for seq in 1..=total {
        let msg = stream.get_raw_message(seq).await.expect("message");
        ids.push(
            msg.headers
                .get("Nats-Msg-Id")
                .expect("msg id")
                .as_str()
                .to_owned(),
        );
    }
    ids
}

/// What a tracker does for ingest: the live tokens of `data`'s database
/// published once on `TOKENS`.
async fn publish_tokens(data: &Path, nats: &NatsServer) {
    let url = civicprobe_tracker::Config { database_url: None }.database_url_or_default(data);
    let store = civicprobe_tracker::Store::connect(&url)
        .await
        .expect("store");
    let (_client, js) = nats.connect().await.expect("connect");
    civicprobe_tracker::ensure_tokens_stream(&js, 1)
        .await
        .expect("TOKENS");
    let mut published = Default::default();
    let sent = civicprobe_tracker::identity::feed::publish_changes(&js, &store, &mut published)
        .await
        .expect("published");
    assert_eq!(sent, 1, "one courier token");
}

/// Waits until ingest wrote its local copy of the tokens with one grant.
async fn until_tokens_copied(data: &Path) {
    let copy = data.join(civicprobe_ingest::credentials::LOCAL_COPY);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let grants = std::fs::read(&copy).ok().and_then(|b| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b).ok()
        });
        if grants.is_some_and(|g| g.len() == 1) {
            return;
        }
        assert!(Instant::now() < deadline, "ingest never copied the tokens");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn reports_accepted_before_a_kill_are_published_once_after_restart() {
    let mut nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let token = add_courier(data.path());
    publish_tokens(data.path(), &nats).await;
    let port = civicprobe_testkit::nats::free_port().expect("port");
    let mut first = ingest(data.path(), &nats.url(), port).await;
    until_tokens_copied(data.path()).await;

    nats.stop();
    let keys: Vec<String> = (0..5).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (i, key) in keys.iter().enumerate() {
        let photo = photos::jpeg(40 + u32::try_from(i).expect("small"), 30);
        assert_eq!(submit(port, &token, key, photo).await, 202, "report {i}");
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");

    nats.restart().expect("restart nats");
    assert_eq!(
        msg_ids(&nats, 0).await,
        Vec::<String>::new(),
        "published before the kill"
    );
    let mut second = ingest(data.path(), &nats.url(), port).await;
    let ids = msg_ids(&nats, 5).await;
    assert_eq!(ids.len(), 5, "each accepted report exactly once: {ids:?}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5);
    // A retry after the crash gets the original answer, not a new report.
    let photo = photos::jpeg(40, 30);
    assert_eq!(submit(port, &token, &keys[0], photo).await, 202);
    assert_eq!(msg_ids(&nats, 5).await.len(), 5);
    second.kill().expect("SIGKILL");
    second.wait().expect("reap");
}

#[tokio::test]
async fn load_submits_at_its_rate_and_measures_the_way_to_the_queue() {
    use civicprobe::stack::Stack;
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let stack = Stack::start(stack_config(data.path(), nats.url()))
        .await
        .expect("stack");
    // One courier per report: a courier may have only two uploads in
    // flight, and a loaded machine answers slower than the rate.
    let mut tokens = String::new();
    for i in 0..12 {
        let name = format!("c{i}");
        tokens += &stack.store.add_courier(&name).await.expect("courier").1;
        tokens.push('\n');
    }
    let supervisor = stack.store.add_supervisor("s").await.expect("supervisor");
    // The points lie in Wenquan: its console's event stream sees them.
    let wenquan = civicprobe_model::OfficeId::parse("wenquan").expect("id");
    let office = stack
        .store
        .add_office(&wenquan, None)
        .await
        .expect("office");
    // The alerts of the offices around the points go to the load's receiver.
    let hook: std::net::SocketAddr = format!(
        "127.0.0.1:{}",
        civicprobe_testkit::nats::free_port().unwrap()
    )
    .parse()
    .unwrap();
    for office in ["xiangyanghu", "guanbuqiao", "wenquan", "yongan", "fushan"] {
        let url = format!("http://{hook}/");
        let new = civicprobe_tracker::alerts::NewChannel::parse(
            civicprobe_tracker::alerts::Audience::Office(office.parse().unwrap()),
            &url,
            "json",
            None,
            None,
        )
        .unwrap();
        stack.store.add_alert_channel(&new).await.expect("channel");
    }
    let folder = data.path().join("photos");
    std::fs::create_dir_all(&folder).expect("folder");
    for i in 0..12u32 {
        // Distinct pictures (the gradient repeats every 256 px), so that
        // reports do not merge as the same photo.
        let img = photos::jpeg(200 + 37 * i, 150 + 23 * i);
        std::fs::write(folder.join(format!("{i:02}.jpg")), img).expect("photo");
    }
    std::fs::write(folder.join("notes.txt"), "not a photo").expect("notes");
    let token_file = data.path().join("tokens");
    std::fs::write(&token_file, tokens).expect("tokens");
    let args = load::LoadArgs {
        url: stack.base_url(),
        photos: folder,
        tokens: token_file,
        rate: 10.0,
        duration: 1.2,
        viewer_token: Some(supervisor),
        lat: 29.84,
        lon: 114.32,
        spread_m: 300.0,
        events_token: Some(office),
        webhook_listen: Some(hook),
        urgent: true,
        quiet: true,
    };
    let summary = load::measure(&args).await.expect("load");
    assert_eq!(summary.sent, 12);
    assert_eq!(summary.accepted, 12, "{summary:?}");
    assert!(summary.errors.is_empty(), "{summary:?}");
    assert!(summary.submit_ms.0 > 0.0 && summary.submit_ms.1 >= summary.submit_ms.0);
    let (p50, p99) = summary.to_ticket_ms.expect("tickets measured");
    assert!(p50 > 0.0 && p99 >= p50, "{summary:?}");
    assert!(
        summary.no_ticket <= 2,
        "most reports open a ticket: {summary:?}"
    );
    let events = summary.to_event_ms.clone().expect("events measured");
    assert!(events.ms.1 >= events.ms.0, "{summary:?}");
    assert!(
        events.missing <= 2,
        "every ticket reaches the office's stream: {summary:?}"
    );
    let alerts = summary.to_webhook_ms.clone().expect("alerts measured");
    let (p50, p99) = alerts.ms;
    assert!(p50 > 0.0 && p99 >= p50, "{summary:?}");
    assert!(
        alerts.missing <= 2,
        "every urgent ticket is alerted: {summary:?}"
    );
    stack.stop().await.expect("stop");
}

/// The README's load figures (release build, photos made first):
///
/// ```text
/// cargo run --release -p civicprobe-ingest --example photo_bench -- make /tmp/load-photos 300 2048 1536
/// CIVICPROBE_LOAD_PHOTOS=/tmp/load-photos CIVICPROBE_LOAD_RATE=10 CIVICPROBE_LOAD_SECONDS=30 \
///   cargo test --release -p civicprobe --test ingest -- --ignored --nocapture sustained
/// ```
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: needs CIVICPROBE_LOAD_PHOTOS and a release build"]
async fn sustained_load_figures() {
    use civicprobe::stack::Stack;
    let env = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let photos = std::env::var("CIVICPROBE_LOAD_PHOTOS").expect("CIVICPROBE_LOAD_PHOTOS");
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let stack = Stack::start(stack_config(data.path(), nats.url()))
        .await
        .expect("stack");
    let mut tokens = String::new();
    for i in 0..100 {
        tokens += &stack
            .store
            .add_courier(&format!("c{i}"))
            .await
            .expect("courier")
            .1;
        tokens.push('\n');
    }
    let token_file = data.path().join("tokens");
    std::fs::write(&token_file, tokens).expect("tokens");
    let args = load::LoadArgs {
        url: stack.base_url(),
        photos: photos.into(),
        tokens: token_file,
        rate: env("CIVICPROBE_LOAD_RATE", 10.0),
        duration: env("CIVICPROBE_LOAD_SECONDS", 30.0),
        viewer_token: Some(stack.store.add_supervisor("s").await.expect("supervisor")),
        lat: 29.84,
        lon: 114.32,
        spread_m: 1500.0,
        events_token: None,
        webhook_listen: None,
        urgent: false,
        quiet: false,
    };
    load::run(args).await.expect("load");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn the_tracker_scopes_report_photos_like_tickets() {
    use civicprobe::stack::Stack;
    use civicprobe_model::{OfficeId, ReportId, TicketId};
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let stack = Stack::start(stack_config(data.path(), nats.url()))
        .await
        .expect("stack");
    let store = stack.store.clone();
    let (courier_id, courier) = store.add_courier("ada").await.expect("courier");
    let wenquan = store
        .add_office(&OfficeId::parse("wenquan").expect("id"), None)
        .await
        .expect("office");
    let fushan = store
        .add_office(&OfficeId::parse("fushan").expect("id"), None)
        .await
        .expect("office");
    let supervisor = store.add_supervisor("s").await.expect("supervisor");
    let port = stack
        .base_url()
        .rsplit(':')
        .next()
        .expect("port")
        .parse()
        .expect("port");
    let key = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        submit(port, &courier, &key, photos::jpeg(64, 48)).await,
        202
    );
    let report = ReportId::for_submission(courier_id, &key);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .ticket(TicketId::for_report(report))
        .await
        .expect("ticket")
        .is_none()
    {
        assert!(Instant::now() < deadline, "no ticket");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, other_courier) = store.add_courier("bo").await.expect("courier");
    let url = format!("http://127.0.0.1:{port}/v1/reports/{report}/photos/0");
    for (token, expected) in [
        (wenquan.as_str(), 200),
        (supervisor.as_str(), 200),
        (courier.as_str(), 200),
        (fushan.as_str(), 404),
        (other_courier.as_str(), 404),
        ("nobody", 401),
    ] {
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("get photo");
        assert_eq!(response.status().as_u16(), expected, "{token}");
        if expected == 200 {
            let bytes = response.bytes().await.expect("bytes");
            assert!(image::load_from_memory(&bytes).is_ok());
        }
    }
    stack.stop().await.expect("stop");
}
