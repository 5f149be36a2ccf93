//! A real ingest server on port 0 in front of a real nats-server.

#![allow(dead_code)]

use async_nats::jetstream;
use civicprobe_ingest::{
    app, BoxError, Config, CourierDirectory, IngestState, ReportAccess, Viewer,
};
use civicprobe_model::nats::REPORTS_STREAM;
use civicprobe_model::{CourierId, ReportId, ReportSubmitted, TicketId};
use civicprobe_testkit::NatsServer;
use futures::future::BoxFuture;
use reqwest::multipart::{Form, Part};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The one courier token the test directory knows.
pub const TOKEN: &str = "courier-token-ada";
/// A second courier's token.
pub const TOKEN_2: &str = "courier-token-bob";
/// An office that may see every report's photos.
pub const OFFICE_TOKEN: &str = "office-token-wenquan";
/// An office that may see none.
pub const OTHER_OFFICE_TOKEN: &str = "office-token-elsewhere";

/// A fresh `Idempotency-Key`.
pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The tracker's scoping, as a test stand-in.
struct Offices;

/// The office may see and handle everything; the other office and the
/// couriers nothing; anyone else is unknown.
fn office_scope(token: &str) -> Viewer {
    match token {
        OFFICE_TOKEN => Viewer::Allowed,
        OTHER_OFFICE_TOKEN | TOKEN | TOKEN_2 => Viewer::Denied,
        _ => Viewer::Unknown,
    }
}

impl ReportAccess for Offices {
    fn viewer<'a>(
        &'a self,
        token: &'a str,
        _report: ReportId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        // Couriers are denied: the tracker does not know the reports yet (in flight).
        Box::pin(async move { Ok(office_scope(token)) })
    }

    /// Proof photos: the office may handle every ticket's.
    fn ticket_viewer<'a>(
        &'a self,
        token: &'a str,
        _ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(async move { Ok(office_scope(token)) })
    }
}

/// A token store's stand-in: token → courier.
struct Couriers(HashMap<String, CourierId>);

impl CourierDirectory for Couriers {
    fn courier_for_token<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<CourierId>, BoxError>> {
        Box::pin(async move { Ok(self.0.get(token).copied()) })
    }
}

/// A running ingest with its NATS and data directory.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The real NATS behind it.
    pub nats: NatsServer,
    /// A JetStream context of the test's own.
    pub js: jetstream::Context,
    /// The data directory.
    pub data: tempfile::TempDir,
    /// The courier `TOKEN` belongs to.
    pub courier: CourierId,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The state being served.
    pub state: IngestState,
}

/// Starts NATS, creates `REPORTS`, and serves ingest on a free port.
pub async fn spawn_app(max_photo_bytes: usize, max_photo_pixels: u64) -> TestApp {
    spawn_with(|c| {
        c.max_photo_bytes = max_photo_bytes;
        c.max_photo_pixels = max_photo_pixels;
    })
    .await
}

/// The same, with the configuration adjusted by `adjust` (its data
/// directory is the test's).
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    civicprobe_testkit::init_tracing();
    let (nats, mut js) = start_nats().await;
    // Short, so the NATS-down tests do not wait the default 5 s per ack.
    js.set_timeout(Duration::from_secs(2));
    civicprobe_jetstream::ensure_reports_stream(&js, &Default::default())
        .await
        .unwrap();
    civicprobe_jetstream::ensure_reports_stream(&js, &Default::default())
        .await
        .unwrap(); // idempotent
    let data = tempfile::tempdir().unwrap();
    let courier = CourierId::new();
    let couriers = Couriers(HashMap::from([
        (TOKEN.to_owned(), courier),
        (TOKEN_2.to_owned(), CourierId::new()),
    ]));
    let mut config = Config {
        rate_per_minute: 6000.0,
        rate_burst: 1000,
        // Many tests send concurrently as one courier; the per-client cap
        // has its own test (crates/cli/tests/intake.rs).
        max_uploads_per_client: 1000,
        ..Config::default()
    };
    adjust(&mut config);
    config.storage.data_dir = data.path().to_path_buf();
    let state = IngestState::new(config, js.clone(), Arc::new(couriers))
        .with_report_access(Arc::new(Offices));
    state.open_store().await.unwrap();
    tokio::spawn(state.clone().run(std::future::pending()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = state.clone();
    tokio::spawn(async move { axum::serve(listener, app(served)).await });
    TestApp {
        base,
        nats,
        js,
        data,
        courier,
        http: reqwest::Client::new(),
        state,
    }
}

impl TestApp {
    /// A second ingest instance on the same NATS, with its own data
    /// directory and the given photo store: its base URL and state (the
    /// folder lives as long as the returned guard). `TOKEN` is the same
    /// courier there.
    pub async fn second_instance(
        &self,
        photo_store: civicprobe_ingest::PhotoBackendKind,
    ) -> (String, IngestState, tempfile::TempDir) {
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            storage: civicprobe_ingest::Storage {
                data_dir: data.path().to_path_buf(),
                photo_store,
            },
            ..Config::default()
        };
        let couriers = Couriers(HashMap::from([(TOKEN.to_owned(), self.courier)]));
        let state = IngestState::new(config, self.js.clone(), Arc::new(couriers))
            .with_report_access(Arc::new(Offices));
        state.open_store().await.unwrap();
        tokio::spawn(state.clone().run(std::future::pending()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = state.clone();
        tokio::spawn(async move { axum::serve(listener, app(served)).await });
        (base, state, data)
    }
}

/// A real nats-server and a JetStream context on it. Retried: the free
/// port the testkit picks can be taken by a parallel test before the
/// server binds it.
async fn start_nats() -> (NatsServer, jetstream::Context) {
    let mut last_error = None;
    for _ in 0..3 {
        let nats = NatsServer::start().unwrap();
        match nats.connect().await {
            Ok((_client, js)) => return (nats, js),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("could not start and connect to nats-server: {last_error:?}");
}

/// A `report` part plus photos, each declared as `image/jpeg` named
/// `photo.jpg` whatever it holds (ingest must judge by the bytes).
pub fn form(report: Option<&str>, photos: &[impl AsRef<[u8]>]) -> Form {
    let mut form = Form::new();
    if let Some(report) = report {
        form = form.part(
            "report",
            Part::text(report.to_owned())
                .mime_str("application/json")
                .unwrap(),
        );
    }
    for photo in photos {
        let part = Part::bytes(photo.as_ref().to_vec())
            .file_name("photo.jpg")
            .mime_str("image/jpeg")
            .unwrap();
        form = form.part("photo", part);
    }
    form
}

/// A report at the Wenquan street office.
pub const REPORT: &str = r#"{"lat":29.8413,"lon":114.3225,"accuracy_m":6.5,
    "category_hint":"manhole","text":"温泉路井盖缺失 manhole cover missing",
    "reported_at":"2025-05-01T08:00:00+08:00"}"#;

impl TestApp {
    /// `POST /v1/reports` with the given token and key.
    pub async fn submit(
        &self,
        token: Option<&str>,
        key: Option<&str>,
        form: Form,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/v1/reports", self.base))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    /// How many messages the `REPORTS` stream holds.
    pub async fn messages_in_stream(&self) -> u64 {
        let mut stream = self.js.get_stream(REPORTS_STREAM).await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    /// The report at `sequence` and its `Nats-Msg-Id`.
    pub async fn message(&self, sequence: u64) -> (ReportSubmitted, String) {
        let stream = self.js.get_stream(REPORTS_STREAM).await.unwrap();
        let msg = stream.get_raw_message(sequence).await.unwrap();
        let msg_id = msg.headers.get("Nats-Msg-Id").unwrap().as_str().to_owned();
        (serde_json::from_slice(&msg.payload).unwrap(), msg_id)
    }

    /// Where the photo named `sha256` must be.
    pub fn photo_path(&self, sha256: &civicprobe_model::Sha256) -> PathBuf {
        let sha256 = sha256.to_string();
        self.data
            .path()
            .join("photos")
            .join(&sha256[..2])
            .join(&sha256)
    }

    /// Every photo file under the data directory (not the local store).
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data.path().join("photos"), &mut out);
        out.sort();
        out
    }

    /// Waits until the stream holds `n` messages (10 s at most), then
    /// checks that it does not grow past `n`.
    pub async fn wait_for_messages(&self, n: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.messages_in_stream().await < n {
            assert!(
                std::time::Instant::now() < deadline,
                "never got {n} messages"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(self.messages_in_stream().await, n);
    }

    /// Accepted reports in the local outbox, published or not.
    pub async fn reports_in_outbox(&self) -> i64 {
        let url = format!(
            "sqlite://{}?mode=ro",
            self.data.path().join("ingest.db").display()
        );
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    /// Bad input leaves no trace: no report, no message, no photo.
    pub async fn assert_nothing_kept(&self) {
        assert_eq!(self.reports_in_outbox().await, 0, "a report was accepted");
        assert_eq!(
            self.messages_in_stream().await,
            0,
            "a message was published"
        );
        assert_eq!(
            self.stored_files(),
            Vec::<PathBuf>::new(),
            "a file was written"
        );
    }

    /// The service still answers: a good report is accepted.
    pub async fn assert_still_answers(&self) {
        let response = self
            .submit(
                Some(TOKEN_2),
                Some(&key()),
                form(Some(REPORT), &[civicprobe_testkit::photos::jpeg(32, 32)]),
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            202,
            "the service no longer accepts"
        );
    }
}

/// Asserts a problem+json answer; returns its body.
pub async fn problem(response: reqwest::Response, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["status"], status, "{body}");
    body
}

/// `jpeg` with a real EXIF APP1 segment (GPS position, DateTimeOriginal,
/// orientation) right after its start-of-image marker.
pub fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    with_app1(
        jpeg,
        &civicprobe_ingest::photo::exif::app1_payload(
            Some((29.8413, 114.3225)),
            Some("2025:05:01 07:55:00"),
            Some(1),
        ),
    )
}

/// `jpeg` with `payload` as an APP1 segment after its start-of-image.
pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    civicprobe_ingest::photo::exif::with_app1(jpeg, payload)
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The odd-EXIF corpus folder (`fixtures/photos/odd-exif/`).
pub const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/photos/odd-exif"
);

/// Where the corpus's sound files say they were taken (Wenquan).
pub const WENQUAN: (f64, f64) = (29.8413, 114.3225);

/// A corpus file's bytes.
pub fn corpus_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The corpus files' names, sorted (its README left out).
pub fn corpus_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    names
}
