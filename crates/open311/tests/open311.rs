//! GeoReport v2 end to end: a real NATS server, the router and the
//! tracker's consumer, both databases, the Open311 routes over HTTP.

use civicprobe_ingest::{BoxError, CourierDirectory, IngestState};
use civicprobe_model::{CourierId, OfficeId, Role, TicketAction, TicketId};
use civicprobe_open311::{app, Open311State};
use civicprobe_testkit::db::TestDb;
use civicprobe_testkit::nats::NatsServer;
use civicprobe_tracker::{Store, Transition};
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");

/// Open311 does not use ingest's bearer tokens.
struct NoCouriers;

impl CourierDirectory for NoCouriers {
    fn courier_for_token<'a>(
        &'a self,
        _token: &'a str,
    ) -> BoxFuture<'a, Result<Option<CourierId>, BoxError>> {
        Box::pin(async { Ok(None) })
    }
}

struct Harness {
    base: String,
    store: Store,
    ingest: IngestState,
    courier: String,
    office: String,
    http: reqwest::Client,
    _nats: NatsServer,
    _db: TestDb,
    _data: tempfile::TempDir,
}

async fn harness(kind: &str) -> Harness {
    let nats = NatsServer::start().expect("nats");
    let db = TestDb::of_kind(kind).await.expect("db");
    let data = tempfile::tempdir().expect("tempdir");
    let (_client, js) = nats.connect().await.expect("connect");
    civicprobe_ingest::ensure_reports_stream(&js)
        .await
        .expect("REPORTS");
    civicprobe_router::ensure_tickets_stream(&js)
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
    };
    let options = civicprobe_router::Options {
        classifier_corpus: format!("{FIXTURES}/reports/train.jsonl").into(),
        policy: format!("{FIXTURES}/policy.toml").into(),
        categories: format!("{FIXTURES}/categories.toml").into(),
        ..Default::default()
    };
    let router = civicprobe_router::Router::from_options(&config, &options).expect("router");
    tokio::spawn(civicprobe_router::run(
        js.clone(),
        Arc::new(router),
        futures::future::pending(),
    ));
    tokio::spawn(civicprobe_tracker::run_consumer(
        js.clone(),
        store.clone(),
        futures::future::pending(),
    ));
    let ingest_config = civicprobe_ingest::Config {
        data_dir: data.path().to_owned(),
        ..Default::default()
    };
    let ingest = IngestState::new(ingest_config, js, Arc::new(NoCouriers));
    let state = Open311State::new(
        store.clone(),
        ingest.clone(),
        civicprobe_router::Categories::builtin(),
    )
    .with_places(
        civicprobe_open311::Places::load(format!("{FIXTURES}/places.toml").as_ref())
            .expect("places"),
    );
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
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    async fn post(&self, ext: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/open311/v2/requests.{ext}", self.base))
            .form(form)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// Polls `requests/{id}.json` until the router has opened the ticket.
    async fn routed(&self, id: &str) -> Value {
        for _ in 0..200 {
            let (status, body) = self.get(&format!("/open311/v2/requests/{id}.json")).await;
            if status == 200 {
                return serde_json::from_str(&body).expect("json");
            }
            assert_eq!(status, 404, "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("request {id} was never routed");
    }
}

/// Parses the whole document; panics unless it is well-formed.
fn well_formed(xml: &str) {
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

fn error_code(body: &str) -> u64 {
    let v: Value = serde_json::from_str(body).expect("json errors");
    assert!(v[0]["description"].is_string(), "{body}");
    v[0]["code"].as_u64().expect("code")
}

fn spec_form<'a>(key: &'a str, description: &'a str) -> Vec<(&'a str, &'a str)> {
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

async fn end_to_end(kind: &str) {
    civicprobe_testkit::init_tracing();
    let h = harness(kind).await;
    // The spec's POST example, JSON: [{"service_request_id": "…", …}].
    let (status, body) = h
        .post("json", &spec_form(&h.courier, "井盖丢失 <b>&</b>"))
        .await;
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).expect("json");
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id as string")
        .to_owned();
    let request = h.routed(&id).await;
    let r = &request[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "manhole");
    assert_eq!(r["agency_responsible"], "温泉街道");
    assert_eq!(r["description"], "井盖丢失 <b>&</b>");
    assert_eq!(r["lat"], 29.84);
    assert_eq!(r["long"], 114.32);
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let t = r[field].as_str().expect(field);
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| panic!("{field} {t}"));
    }
    // It is a ticket in the right office's queue.
    let report: civicprobe_model::ReportId = id.parse().expect("report id");
    let ticket_id = TicketId::for_report(report);
    let queue = h
        .store
        .office_queue(&"wenquan".parse().expect("office"), None, 50)
        .await
        .expect("queue");
    assert!(queue.iter().any(|t| t.ticket_id == ticket_id));

    // The same request in XML: well-formed, the spec's element names, escaped.
    let (status, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")), "{xml}");
    assert!(
        xml.contains("<description>井盖丢失 &lt;b&gt;&amp;&lt;/b&gt;</description>"),
        "{xml}"
    );
    assert!(xml.contains("<agency_responsible>温泉街道</agency_responsible>"));

    lists_and_tokens(&h, &id).await;
    updates(&h, &id, ticket_id).await;
    refusals(&h).await;
    multipart_media(&h).await;
    idempotency(&h).await;
}

async fn lists_and_tokens(h: &Harness, id: &str) {
    let (status, body) = h
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={id},{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v.as_array().expect("array").len(), 1);
    let (_, body) = h
        .get("/open311/v2/requests.json?service_code=manhole&status=open")
        .await;
    assert!(body.contains(id), "{body}");
    let (_, body) = h.get("/open311/v2/requests.json?status=closed").await;
    assert_eq!(body, "[]");
    let (_, body) = h
        .get("/open311/v2/requests.json?service_code=elevator")
        .await;
    assert_eq!(body, "[]");
    let (_, body) = h.get("/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00%2B08:00").await;
    assert_eq!(body, "[]");
    let (status, xml) = h.get("/open311/v2/requests.xml?status=open,closed").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")));
    let (status, body) = h.get(&format!("/open311/v2/tokens/{id}.json")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v[0]["service_request_id"], id);
    assert_eq!(v[0]["token"], id);
    let (status, xml) = h.get(&format!("/open311/v2/tokens/{id}.xml")).await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<token>{id}</token>")));
}

async fn updates(h: &Harness, id: &str, ticket_id: TicketId) {
    let ticket = h
        .store
        .ticket(ticket_id)
        .await
        .expect("ticket")
        .expect("some");
    let ack = Transition {
        action: TicketAction::Acknowledge,
        actor: "office:wenquan".into(),
        role: Role::Office,
        at: h.store.now(),
        reason: None,
        note: Some("on our way".into()),
        proof_photo_sha256: None,
    };
    h.store.apply(&ticket, &ack).await.expect("acknowledge");
    let (status, body) = h
        .get(&format!(
            "/open311/v2/servicerequestupdates.json?service_request_id={id}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let statuses: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["OPEN", "INVESTIGATING"]);
    assert_eq!(v[1]["description"], "on our way");
    assert!(v[1]["update_id"].is_string());
    let (status, xml) = h.get("/open311/v2/servicerequestupdates.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(
        xml.contains("<service_requests_updates><request_update><update_id>"),
        "{xml}"
    );
    assert!(xml.contains("<status>INVESTIGATING</status>"));

    // A supervisor's reroute is an update too: updated_datetime follows it.
    let acknowledged = h
        .store
        .ticket(ticket_id)
        .await
        .expect("ticket")
        .expect("some");
    let fushan: OfficeId = "fushan".parse().expect("office id");
    h.store
        .reroute(&acknowledged, &fushan, "supervisor:zhang", None)
        .await
        .expect("reroute");
    let events = h.store.ticket_events(ticket_id).await.expect("events");
    let rerouted = events.last().expect("an event");
    assert_eq!(rerouted.kind, "rerouted");
    let (status, body) = h.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v[0]["updated_datetime"],
        rerouted
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format"),
        "{body}"
    );
}

async fn refusals(h: &Harness) {
    // 403: no api_key, an unknown one, an office's token.
    for key in ["", "0123", h.office.as_str()] {
        let (status, body) = h.post("json", &spec_form(key, "x")).await;
        assert_eq!((status, error_code(&body)), (403, 403), "{body}");
    }
    let (status, xml) = h.post("xml", &spec_form("nope", "x")).await;
    assert_eq!(status, 403);
    well_formed(&xml);
    assert!(
        xml.contains("<errors><error><code>403</code><description>"),
        "{xml}"
    );
    // 400: an unknown place, a bad latitude, an unknown service, a bad date.
    let key = h.courier.as_str();
    let address = [
        ("api_key", key),
        ("service_code", "other"),
        ("address_string", "1 Main St"),
    ];
    let (status, body) = h.post("json", &address).await;
    assert_eq!(status, 400);
    assert!(body.contains("is not a known place"), "{body}");
    let bad_lat = [
        ("api_key", key),
        ("service_code", "other"),
        ("lat", "91"),
        ("long", "1"),
    ];
    assert_eq!(h.post("json", &bad_lat).await.0, 400);
    let bad_code = [
        ("api_key", key),
        ("service_code", "fire"),
        ("lat", "1"),
        ("long", "1"),
    ];
    let (status, xml) = h.post("xml", &bad_code).await;
    assert_eq!(status, 400);
    well_formed(&xml);
    let (status, body) = h
        .get("/open311/v2/requests.json?start_date=yesterday")
        .await;
    assert_eq!((status, error_code(&body)), (400, 400));
    // 404: unknown ids, services, endpoints, tokens.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/open311/v2/requests/{unknown}.json"),
        "/open311/v2/requests/not-an-id.json".to_owned(),
        "/open311/v2/services/fire.json".to_owned(),
        format!("/open311/v2/tokens/{unknown}.json"),
        "/open311/v2/nothing.json".to_owned(),
    ] {
        let (status, body) = h.get(&path).await;
        assert_eq!((status, error_code(&body)), (404, 404), "{path}");
    }
    let (status, xml) = h.get(&format!("/open311/v2/requests/{unknown}.xml")).await;
    assert_eq!(status, 404);
    well_formed(&xml);
}

async fn multipart_media(h: &Harness) {
    let photo = civicprobe_testkit::photos::jpeg(64, 48);
    let form = reqwest::multipart::Form::new()
        .text("api_key", h.courier.clone())
        .text("service_code", "electrical_box")
        .text("lat", "29.84")
        .text("long", "114.32")
        .text("description", "配电箱冒烟")
        .part(
            "media",
            reqwest::multipart::Part::bytes(photo)
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let r = h
        .http
        .post(format!("{}/open311/v2/requests.xml", h.base))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 201);
    let xml = r.text().await.expect("body");
    well_formed(&xml);
    let id = xml
        .split("<service_request_id>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("id")
        .to_owned();
    let request = h.routed(&id).await;
    let media = request[0]["media_url"].as_str().expect("media_url");
    assert!(
        media.ends_with(&format!("/open311/v2/media/{id}/0")),
        "{media}"
    );
    // Fetchable without a token, like the request itself.
    let fetched = h.http.get(media).send().await.expect("media");
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    let bytes = fetched.bytes().await.expect("bytes");
    assert!(image::load_from_memory(&bytes).is_ok());
    let missing = h
        .http
        .get(format!("{}/open311/v2/media/{id}/7", h.base))
        .send()
        .await
        .expect("media");
    assert_eq!(missing.status().as_u16(), 404);
    // A photo that is not one is refused by ingest's checks.
    let form = reqwest::multipart::Form::new()
        .text("api_key", h.courier.clone())
        .text("service_code", "other")
        .text("lat", "29.84")
        .text("long", "114.32")
        .part(
            "media",
            reqwest::multipart::Part::bytes(b"not a photo".to_vec()),
        );
    let r = h
        .http
        .post(format!("{}/open311/v2/requests.json", h.base))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert!(r.status().is_client_error(), "{}", r.status());
}

#[tokio::test]
async fn sqlite_end_to_end() {
    end_to_end("sqlite").await;
}

#[tokio::test]
async fn postgres_end_to_end() {
    end_to_end("postgres").await;
}

/// The spec's `services`, `services/{code}` and `discovery` examples.
#[tokio::test]
async fn services_and_discovery_in_both_formats() {
    let h = harness("sqlite").await;
    let (status, body) = h.get("/open311/v2/services.json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    let codes: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["service_code"].as_str().expect("string code"))
        .collect();
    assert_eq!(codes, ["manhole", "elevator", "electrical_box", "other"]);
    assert_eq!(v[0]["service_name"], "Manhole cover / 井盖");
    assert_eq!(v[0]["metadata"], false);
    assert_eq!(v[0]["type"], "realtime");
    let (status, xml) = h.get("/open311/v2/services.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<services><service><service_code>manhole</service_code><service_name>Manhole cover / 井盖</service_name>"), "{xml}");
    assert!(xml.contains("<metadata>false</metadata><type>realtime</type>"));

    let (status, body) = h.get("/open311/v2/services/elevator.json").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"service_code":"elevator","attributes":[]}"#);
    let (status, xml) = h.get("/open311/v2/services/elevator.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<service_definition><service_code>elevator</service_code><attributes/></service_definition>"), "{xml}");

    let (status, body) = h.get("/open311/v2/discovery.json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(v["endpoints"][0]["formats"][1], "application/json");
    assert!(v["endpoints"][0]["url"]
        .as_str()
        .expect("url")
        .ends_with("/open311/v2"));
    let (status, xml) = h.get("/open311/v2/discovery.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>"), "{xml}");
    assert!(
        xml.contains(
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        ),
        "{xml}"
    );
    let (status, _) = h.get("/open311/v2/services.html").await;
    assert_eq!(status, 404);
}

/// A retry under the same `Idempotency-Key` gets the same id; other
/// content under it is refused.
async fn idempotency(h: &Harness) {
    let key = uuid::Uuid::new_v4().to_string();
    let send = |description: &'static str| {
        h.http
            .post(format!("{}/open311/v2/requests.json", h.base))
            .header("Idempotency-Key", key.clone())
            .form(&spec_form(&h.courier, description))
            .send()
    };
    let first = send("one").await.expect("post").text().await.expect("body");
    let again = send("one").await.expect("post").text().await.expect("body");
    assert_eq!(first, again);
    let other = send("two").await.expect("post");
    assert_eq!(other.status().as_u16(), 409);
}

/// `address_string` alone: a known place is routed like `lat` + `long`
/// and read back as `address`; an unknown one is a `400` in both formats.
async fn address_string(kind: &str) {
    let h = harness(kind).await;
    let form = |address: &'static str| {
        vec![
            ("api_key", h.courier.as_str()),
            ("service_code", "manhole"),
            ("address_string", address),
            ("description", "井盖丢失"),
        ]
    };
    for (ext, address, place, office) in [
        ("json", "温泉路 12号", (29.845, 114.315), "wenquan"),
        ("xml", "咸宁市中百超市门口", (29.865, 114.345), "yongan"),
    ] {
        let (status, body) = h.post(ext, &form(address)).await;
        assert_eq!(status, 201, "{body}");
        let id = body
            .split(['"', '<', '>'])
            .find(|s| s.parse::<civicprobe_model::ReportId>().is_ok())
            .expect("id")
            .to_owned();
        let r = &h.routed(&id).await[0];
        assert_eq!(r["address"], address);
        assert_eq!(r["description"], "井盖丢失");
        assert_eq!(
            (r["lat"].as_f64(), r["long"].as_f64()),
            (Some(place.0), Some(place.1))
        );
        let ticket_id = TicketId::for_report(id.parse().expect("report id"));
        let queue = h
            .store
            .office_queue(&office.parse().expect("office"), None, 50)
            .await
            .expect("queue");
        assert!(queue.iter().any(|t| t.ticket_id == ticket_id), "{office}");
        let (_, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
        well_formed(&xml);
        assert!(
            xml.contains(&format!("<address>{address}</address>")),
            "{xml}"
        );
    }
    let (status, body) = h.post("json", &form("1 Main St")).await;
    assert_eq!((status, error_code(&body)), (400, 400), "{body}");
    assert!(
        body.contains("is not a known place; send lat and long"),
        "{body}"
    );
    let (status, xml) = h.post("xml", &form("火星大道 1号")).await;
    assert_eq!(status, 400, "{xml}");
    well_formed(&xml);
    assert!(xml.contains("<code>400</code>"), "{xml}");
    assert!(
        xml.contains("is not a known place; send lat and long"),
        "{xml}"
    );
}

#[tokio::test]
async fn sqlite_address_string() {
    address_string("sqlite").await;
}

#[tokio::test]
async fn postgres_address_string() {
    address_string("postgres").await;
}

/// A post holds its share of ingest's upload budget for the bytes that
/// arrived, like a courier's upload, once its `api_key` is known, and gives
/// it back when it ends; without a key it holds nothing.
#[tokio::test]
async fn posts_share_the_upload_budget() {
    use tokio::io::AsyncWriteExt;
    let h = harness("sqlite").await;
    let free = h.ingest.upload_budget_free_kib();
    let address = h.base.trim_start_matches("http://").to_owned();
    let head = |query: &str| {
        format!(
            "POST /open311/v2/requests.json{query} HTTP/1.1\r\nHost: test\r\n\
             Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 2000000\r\n\r\n"
        )
    };
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\n".to_vec();
    body.resize(300_000, 0);
    let mut upload = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let query = format!("?api_key={}", h.courier);
    upload
        .write_all(head(&query).as_bytes())
        .await
        .expect("send");
    upload.write_all(&body).await.expect("send");
    let held = free - 300_000usize.div_ceil(1024);
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen.push(h.ingest.upload_budget_free_kib());
        if seen.last() == Some(&held) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.last(), Some(&held), "free KiB seen: {seen:?}");
    drop(upload);
    for _ in 0..500 {
        if h.ingest.upload_budget_free_kib() == free {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.ingest.upload_budget_free_kib(), free);
    // No key: a declared length and a text part take nothing.
    let mut anonymous = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    anonymous
        .write_all(head("").as_bytes())
        .await
        .expect("send");
    let text = b"--B\r\nContent-Disposition: form-data; name=\"service_code\"\r\n\r\nother\r\n";
    anonymous.write_all(text).await.expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.ingest.upload_budget_free_kib(), free);
}
