//! The Open311 test harness: a real NATS server, the router and the
//! tracker's consumer on a fresh database, the Open311 routes over HTTP.
//! `api_key` is checked as in a split deployment: the tracker's token
//! feed publishes the tokens on `TOKENS`, ingest's directory follows it.
#![allow(dead_code)]

pub use civicprobe_ingest::IngestState;
pub use civicprobe_model::OfficeId;
pub use civicprobe_open311::{app, Open311State};
pub use civicprobe_testkit::db::TestDb;
pub use civicprobe_testkit::nats::NatsServer;
pub use civicprobe_tracker::Store;
pub use serde_json::Value;
pub use std::sync::Arc;
pub use std::time::Duration;

/// The `jurisdiction_id` the harness serves.
pub const JURISDICTION: &str = "city.example";

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");

pub struct Harness {
    pub base: String,
    pub store: Store,
    pub ingest: IngestState,
    pub courier: String,
    pub office: String,
    pub http: reqwest::Client,
    pub _nats: NatsServer,
    pub _db: TestDb,
    pub _data: tempfile::TempDir,
}

pub async fn harness(kind: &str) -> Harness {
    harness_with(kind, true).await
}

/// The harness, with or without the router (without it, nothing is ever
/// routed: a request stays "being routed").
pub async fn harness_with(kind: &str, routing: bool) -> Harness {
    let nats = NatsServer::start().expect("nats");
    let db = TestDb::of_kind(kind).await.expect("db");
    let data = tempfile::tempdir().expect("tempdir");
    let (_client, js) = nats.connect().await.expect("connect");
    civicprobe_jetstream::ensure_reports_stream(&js, &Default::default())
        .await
        .expect("REPORTS");
    civicprobe_jetstream::ensure_tickets_stream(&js, &Default::default())
        .await
        .expect("TICKETS");
    let store = Store::connect(db.url()).await.expect("store");
    let (_, courier) = store.add_courier("app").await.expect("courier");
    let wenquan: OfficeId = "wenquan".parse().expect("office id");
    let office = store
        .add_office(&wenquan, Some("温泉街道"))
        .await
        .expect("office");
    let config = civicprobe_router::Config {
        jurisdictions: format!("{FIXTURES}/jurisdictions.geojson").into(),
        jurisdictions_datum: None,
    };
    let options = civicprobe_router::Options {
        classifier_corpus: format!("{FIXTURES}/reports/train.jsonl").into(),
        policy: format!("{FIXTURES}/policy.toml").into(),
        categories: format!("{FIXTURES}/categories.toml").into(),
        ..Default::default()
    };
    let router = civicprobe_router::Router::from_options(&config, &options).expect("router");
    if routing {
        tokio::spawn(civicprobe_router::run(
            js.clone(),
            Arc::new(router),
            Default::default(),
            futures::future::pending(),
        ));
    }
    tokio::spawn(civicprobe_tracker::run_consumer(
        js.clone(),
        store.clone(),
        Default::default(),
        futures::future::pending(),
    ));
    let ingest_config = civicprobe_ingest::Config {
        storage: civicprobe_ingest::Storage {
            data_dir: data.path().to_owned(),
            ..Default::default()
        },
        ..Default::default()
    };
    tokio::spawn(civicprobe_tracker::run_token_feed(
        js.clone(),
        store.clone(),
        1,
        futures::future::pending(),
    ));
    let directory = civicprobe_ingest::CredentialDirectory::open(data.path());
    tokio::spawn(civicprobe_ingest::credentials::follow(
        directory.clone(),
        js.clone(),
        futures::future::pending(),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while directory.principal(&courier).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "TOKENS never named the courier"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ingest = IngestState::new(ingest_config, js, directory);
    tokio::spawn(ingest.clone().run(std::future::pending()));
    let state = Open311State::new(
        store.clone(),
        ingest.clone(),
        civicprobe_router::Categories::builtin(),
    )
    .with_places(
        civicprobe_open311::Places::load(format!("{FIXTURES}/places.toml").as_ref())
            .expect("places"),
    )
    .with_jurisdiction(Some(JURISDICTION.to_owned()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    Harness {
        base,
        store,
        ingest,
        courier,
        office,
        http: reqwest::Client::new(),
        _nats: nats,
        _db: db,
        _data: data,
    }
}

impl Harness {
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    pub async fn post(&self, ext: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/open311/v2/requests.{ext}", self.base))
            .form(form)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// Polls `requests/{id}.json` until the router has opened the ticket
    /// (before that it answers "being routed", with no agency).
    pub async fn routed(&self, id: &str) -> Value {
        for _ in 0..200 {
            let (status, body) = self.get(&format!("/open311/v2/requests/{id}.json")).await;
            assert!(status == 200 || status == 404, "{body}");
            if status == 200 {
                let v: Value = serde_json::from_str(&body).expect("json");
                if v[0]["agency_responsible"] != "" {
                    return v;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("request {id} was never routed");
    }
}

/// Parses the whole document; panics unless it is well-formed.
pub fn well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0i32;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(_) => depth += 1,
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{xml}");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
}

pub fn error_code(body: &str) -> u64 {
    let v: Value = serde_json::from_str(body).expect("json errors");
    assert!(v[0]["description"].is_string(), "{body}");
    v[0]["code"].as_u64().expect("code")
}

pub fn spec_form<'a>(key: &'a str, description: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", key),
        ("jurisdiction_id", "city.example"),
        ("service_code", "manhole"),
        ("lat", "29.84"),
        ("long", "114.32"),
        ("address_id", ""),
        ("email", "smit333@example.org"),
        ("device_id", "tt222111"),
        ("account_id", "123456"),
        ("first_name", "john"),
        ("last_name", "smith"),
        ("phone", "111111111"),
        ("description", description),
        ("media_url", "http://example.org/photo.jpg"),
    ]
}
