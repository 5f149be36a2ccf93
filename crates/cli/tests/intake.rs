//! Intake that cannot be starved, through real HTTP against a running
//! stack (real NATS, SQLite): clients that declare huge bodies and send
//! nothing hold no upload budget, slow headers and stalled bodies are cut,
//! uploads per client and connections are capped, and Open311 checks
//! `api_key` before it reads a body.

use civicprobe::stack::{Stack, StackConfig};
use civicprobe_testkit::{photos, NatsServer};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Declared by the attackers: under the body limit (3 × 16 MiB + 80 KiB).
const HUGE: usize = 40 * 1024 * 1024;

/// Inside the fixtures' district.
const REPORT: &str = r#"{"lat":29.8413,"lon":114.3225,"text":"井盖缺失"}"#;

struct Running {
    stack: Stack,
    courier: String,
    _nats: NatsServer,
    _data: tempfile::TempDir,
}

impl Running {
    fn addr(&self) -> String {
        self.stack.addr.to_string()
    }

    fn free_kib(&self) -> usize {
        self.stack.ingest.upload_budget_free_kib()
    }

    /// Waits up to 10 s for `check` on the free KiB.
    async fn until_free(&self, what: &str, check: impl Fn(usize) -> bool) {
        for _ in 0..1000 {
            if check(self.free_kib()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: free KiB is {}", self.free_kib());
    }

    /// A courier's real photo report, answered within 10 s.
    async fn report(&self, token: &str) -> reqwest::Response {
        self.report_under(token, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// A report under Idempotency-Key `key`.
    async fn report_under(&self, token: &str, key: &str) -> reqwest::Response {
        let form = reqwest::multipart::Form::new().text("report", REPORT).part(
            "photo",
            reqwest::multipart::Part::bytes(photos::jpeg(320, 240)).file_name("p.jpg"),
        );
        reqwest::Client::new()
            .post(format!("{}/v1/reports", self.stack.base_url()))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .multipart(form)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("answered within 10 s")
    }
}

async fn start(adjust: impl FnOnce(&mut StackConfig)) -> Running {
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut config = StackConfig::new(data.path().join("stack"), nats.url(), &fixtures);
    adjust(&mut config);
    let stack = Stack::start(config).await.expect("stack");
    let (_, courier) = stack.store.add_courier("ada").await.expect("courier");
    Running {
        stack,
        courier,
        _nats: nats,
        _data: data,
    }
}

/// A raw connection that sent `head` and `body`, and nothing more.
async fn raw(addr: &str, head: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    stream
}

/// A POST head declaring `length` bytes of multipart body.
fn post_head(path: &str, extra: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\n{extra}\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// What the server sent until it closed (or `within` passed: `None`).
async fn answer(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await
        .ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn anonymous_connections_declaring_huge_bodies_do_not_delay_a_courier() {
    let app = start(|_| {}).await;
    let full = app.free_kib();
    let mut held = Vec::new();
    for _ in 0..64 {
        let head = post_head("/open311/v2/requests.json", "", HUGE);
        held.push(raw(&app.addr(), &head, b"").await);
    }
    for _ in 0..16 {
        let head = post_head("/v1/reports", "Authorization: Bearer junk\r\n", HUGE);
        held.push(raw(&app.addr(), &head, b"").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.free_kib(), full, "declared lengths take nothing");
    let response = app.report(&app.courier).await;
    assert_eq!(response.status().as_u16(), 202);
    app.until_free("the report gave its KiB back", |f| f == full)
        .await;
    // The junk tokens were refused without waiting for their bodies.
    for stream in &mut held[64..] {
        let text = answer(stream, Duration::from_secs(5))
            .await
            .expect("answered");
        assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    }
    drop(held);
    app.stack.stop().await.expect("stop");
}

#[tokio::test]
async fn a_half_sent_header_is_cut_after_the_header_read_timeout() {
    let app = start(|c| c.http.header_read_timeout = Duration::from_secs(1)).await;
    let mut slow = raw(&app.addr(), "POST /v1/reports HTTP/1.1\r\nHost: te", b"").await;
    let closed = answer(&mut slow, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "the connection was not closed");
    // A connection that sends nothing at all is cut the same way.
    let mut silent = raw(&app.addr(), "", b"").await;
    assert!(answer(&mut silent, Duration::from_secs(10)).await.is_some());
    app.stack.stop().await.expect("stop");
}

/// The start of a `photo` part, `n` bytes long in all.
fn photo_part_start(n: usize) -> Vec<u8> {
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\
Content-Type: image/jpeg\r\n\r\n"
        .to_vec();
    body.resize(n, 0xAB);
    body
}

fn courier_head(token: &str, length: usize) -> String {
    let extra = format!(
        "Authorization: Bearer {token}\r\nIdempotency-Key: {}\r\n",
        uuid::Uuid::new_v4()
    );
    post_head("/v1/reports", &extra, length)
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_gives_its_budget_back() {
    let app = start(|c| c.http.body_idle_timeout = Duration::from_secs(1)).await;
    let full = app.free_kib();
    let head = courier_head(&app.courier, 1_000_000);
    let mut stalled = raw(&app.addr(), &head, &photo_part_start(200_000)).await;
    app.until_free("the bytes sent are held", |f| f <= full - 190)
        .await;
    let text = answer(&mut stalled, Duration::from_secs(10))
        .await
        .expect("answered");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("/problems/body-timeout"), "{text}");
    app.until_free("the budget is given back", |f| f == full)
        .await;
    app.stack.stop().await.expect("stop");
}

#[tokio::test]
async fn uploads_over_the_per_client_cap_are_429() {
    let app = start(|c| c.ingest.max_uploads_per_client = 2).await;
    let full = app.free_kib();
    let accepted_key = uuid::Uuid::new_v4().to_string();
    let accepted = app.report_under(&app.courier, &accepted_key).await;
    assert_eq!(accepted.status().as_u16(), 202);
    let accepted: serde_json::Value = accepted.json().await.expect("json");
    let mut held = Vec::new();
    for _ in 0..2 {
        let head = courier_head(&app.courier, 1_000_000);
        held.push(raw(&app.addr(), &head, &photo_part_start(100_000)).await);
    }
    app.until_free("both uploads are in flight", |f| f <= full - 190)
        .await;
    let response = app.report(&app.courier).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["type"], "/problems/too-many-uploads", "{body}");
    // A retry of the report already accepted is answered all the same: a
    // phone that lost the 202 is not told to wait for its stuck attempts.
    let retry = app.report_under(&app.courier, &accepted_key).await;
    assert_eq!(retry.status().as_u16(), 202);
    let retry: serde_json::Value = retry.json().await.expect("json");
    assert_eq!(retry["report_id"], accepted["report_id"]);
    let (_, other) = app.stack.store.add_courier("bob").await.expect("bob");
    assert_eq!(app.report(&other).await.status().as_u16(), 202);
    drop(held);
    app.until_free("the stalled uploads ended", |f| f == full)
        .await;
    assert_eq!(app.report(&app.courier).await.status().as_u16(), 202);
    app.stack.stop().await.expect("stop");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let app = start(|c| {
        c.http.max_connections = 4;
        c.http.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(raw(&app.addr(), "", b"").await);
    }
    let health = format!("{}/healthz", app.stack.base_url());
    let client = reqwest::Client::new();
    let waited = client
        .get(&health)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(waited.is_err(), "a fifth connection was served: {waited:?}");
    drop(open.pop());
    let served = client
        .get(&health)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served once a connection closed");
    assert_eq!(served.status().as_u16(), 200);
    drop(open);
    app.stack.stop().await.expect("stop");
}

/// The spec's form fields for a report inside the district.
const SPEC_FORM: [(&str, &str); 3] = [
    ("service_code", "manhole"),
    ("lat", "29.8413"),
    ("long", "114.3225"),
];

#[tokio::test]
async fn open311_takes_api_key_from_the_query_a_header_or_the_form() {
    let app = start(|_| {}).await;
    let url = format!("{}/open311/v2/requests.json", app.stack.base_url());
    let http = reqwest::Client::new();
    let key = app.courier.as_str();
    let with_key: Vec<_> = SPEC_FORM
        .iter()
        .copied()
        .chain([("api_key", key)])
        .collect();
    let posts = [
        (
            "query",
            http.post(format!("{url}?api_key={key}")).form(&SPEC_FORM),
        ),
        (
            "X-Api-Key",
            http.post(&url).header("X-Api-Key", key).form(&SPEC_FORM),
        ),
        ("Bearer", http.post(&url).bearer_auth(key).form(&SPEC_FORM)),
        ("form", http.post(&url).form(&with_key)),
        ("none", http.post(&url).form(&SPEC_FORM)),
        (
            "junk query",
            http.post(format!("{url}?api_key=junk")).form(&with_key),
        ),
        (
            "junk header",
            http.post(&url).header("X-Api-Key", "junk").form(&SPEC_FORM),
        ),
        ("junk form", http.post(&url).form(&[("api_key", "junk")])),
    ];
    let mut statuses = Vec::new();
    for (how, post) in posts {
        statuses.push((how, post.send().await.expect("post").status().as_u16()));
    }
    let expected = [201, 201, 201, 201, 403, 403, 403, 403];
    let got: Vec<u16> = statuses.iter().map(|(_, s)| *s).collect();
    assert_eq!(got, expected, "{statuses:?}");
    // Multipart: `api_key` counts before the first `media` part only.
    let media = || reqwest::multipart::Part::bytes(photos::jpeg(64, 48)).file_name("m.jpg");
    let mut first = reqwest::multipart::Form::new().text("api_key", app.courier.clone());
    let mut late = reqwest::multipart::Form::new().part("media", media());
    for (k, v) in SPEC_FORM {
        first = first.text(k, v);
        late = late.text(k, v);
    }
    let first = first.part("media", media());
    let late = late.text("api_key", app.courier.clone());
    let status = |form| async {
        http.post(&url)
            .multipart(form)
            .send()
            .await
            .expect("post")
            .status()
    };
    assert_eq!(status(first).await.as_u16(), 201);
    assert_eq!(status(late).await.as_u16(), 403);
    app.stack.stop().await.expect("stop");
}

#[tokio::test]
async fn open311_refuses_a_bad_key_before_reading_the_body() {
    let app = start(|_| {}).await;
    let full = app.free_kib();
    let path = "/open311/v2/requests.json?api_key=junk";
    let mut junk = raw(&app.addr(), &post_head(path, "", HUGE), b"").await;
    let text = answer(&mut junk, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    // No key yet, and a photo comes first: refused at its part header.
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\n".to_vec();
    body.resize(300_000, 0);
    let head = post_head("/open311/v2/requests.json", "", HUGE);
    let mut early = raw(&app.addr(), &head, &body).await;
    let text = answer(&mut early, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert_eq!(app.free_kib(), full, "nothing was taken for them");
    app.stack.stop().await.expect("stop");
}
