//! Answers one request at a time: end-of-time windows, control
//! characters, stored control characters in XML, the public URL, /metrics.

use crate::harness::{self, read, WENQUAN};
use civicprobe::ops::MetricsToken;
use civicprobe_model::nats::{MSG_ID_HEADER, REPORT_SUBMITTED};
use civicprobe_model::{CourierId, Location, ReportId, ReportSubmitted, PROBLEM_JSON};
use time::OffsetDateTime;

const METRICS_TOKEN: &str = "scrape-me-please-0123456789";

/// Open311's error document: JSON `[{code, description}]` or XML.
fn open311_error(kind: &str, body: &str, code: u16) {
    if kind.starts_with("text/xml") {
        assert!(
            body.contains(&format!("<errors><error><code>{code}</code>")),
            "{body}"
        );
    } else {
        assert_eq!(kind, "application/json", "{body}");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(v[0]["code"], code, "{body}");
    }
}

/// A problem+json of `status` naming `field` (when given).
fn problem(answer: &(u16, String, String), status: u16, field: Option<&str>) {
    let (got, kind, body) = answer;
    assert_eq!((*got, kind.as_str()), (status, PROBLEM_JSON), "{body}");
    let p: civicprobe_model::Problem = serde_json::from_str(body).expect("a problem");
    assert_eq!(p.status, status);
    if let Some(field) = field {
        assert_eq!(p.field.as_deref(), Some(field), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_at_the_end_of_time_is_a_400_and_the_server_lives_on() {
    let h = harness::start(|_| {}).await;
    for endpoint in ["requests", "servicerequestupdates"] {
        for (param, value) in [
            ("start_date", "9999-12-31T23:59:59Z"),
            ("start_date", "9999-12-01T00:00:00+00:00"),
        ] {
            for ext in ["json", "xml"] {
                let url = format!("{}/open311/v2/{endpoint}.{ext}?{param}={value}", h.base);
                let r = h
                    .http
                    .get(&url)
                    .send()
                    .await
                    .expect("an answer, not a reset");
                let (status, kind, body) = read(r).await;
                assert!(status == 400, "{url}: {status} {body}");
                open311_error(&kind, &body, 400);
            }
        }
    }
    let r = h.http.get(format!("{}/healthz", h.base)).send().await;
    assert_eq!(r.expect("alive").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_methods_and_rejections_are_problems() {
    let h = harness::start(|_| {}).await;
    let get = |path: &str| h.http.get(format!("{}{path}", h.base)).send();
    problem(&read(get("/nowhere/zq41").await.unwrap()).await, 404, None);
    problem(
        &read(get("/assets/zq41.js").await.unwrap()).await,
        404,
        None,
    );
    let r = h.http.delete(format!("{}/healthz", h.base)).send().await;
    let answer = read(r.unwrap()).await;
    problem(&answer, 405, None);
    let r = get("/v1/offices/wenquan/tickets?limit=zq41&limit=x");
    let answer = read(r.await.unwrap()).await;
    assert!(!answer.2.contains("zq41"), "{}", answer.2);
    // Open311: a path rejection is its error document, not text/plain.
    let (status, kind, body) = read(get("/open311/v2/media/zq41/zq41").await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    open311_error(&kind, &body, 400);
    assert!(!body.contains("zq41"), "{body}");
    let (status, kind, body) = read(get("/open311/v2/nothing/at/all.xml").await.unwrap()).await;
    assert_eq!(status, 404);
    open311_error(&kind, &body, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_in_every_text_field() {
    let h = harness::start(|_| {}).await;
    let report = format!(
        r#"{{"lat":{},"lon":{},"text":"a\u001b[2Jb"}}"#,
        WENQUAN.0, WENQUAN.1
    );
    let (status, body) = h.submit_raw(&report).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#""field":"text""#), "{body}");
    let form = [
        ("api_key", h.courier.as_str()),
        ("service_code", "manhole"),
        ("lat", "29.8413"),
        ("long", "114.3225"),
        ("description", "井盖\u{7}丢失"),
    ];
    let r = h.http.post(format!("{}/open311/v2/requests.json", h.base));
    let (status, kind, body) = read(r.form(&form).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    open311_error(&kind, &body, 400);
    assert!(
        body.contains("description must not contain control"),
        "{body}"
    );
    let post = |path: String, token: &str, json: &str| {
        h.http
            .post(format!("{}{path}", h.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(json.to_owned())
            .send()
    };
    let t = h.ticket;
    let resolve = post(
        format!("/v1/tickets/{t}/resolve"),
        &h.office,
        r#"{"note":"x\u0000"}"#,
    );
    problem(&read(resolve.await.unwrap()).await, 400, Some("note"));
    let reject = r#"{"reason":"duplicate\u0001"}"#;
    let reject = post(format!("/v1/tickets/{t}/reject"), &h.office, reject);
    problem(&read(reject.await.unwrap()).await, 400, Some("reason"));
    let reroute = r#"{"office_id":"fushan","note":"\u001f"}"#;
    let reroute = post(format!("/v1/tickets/{t}/reroute"), &h.supervisor, reroute);
    problem(&read(reroute.await.unwrap()).await, 400, Some("note"));
    // Tab, line feed and carriage return stay allowed.
    let ok = post(
        format!("/v1/tickets/{t}/acknowledge"),
        &h.office,
        r#"{"note":"seen\r\n\tby Wang"}"#,
    );
    assert_eq!(ok.await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_xml_stays_well_formed_over_stored_control_characters() {
    let h = harness::start(|_| {}).await;
    // A report accepted before the rule, straight onto REPORTS.
    let report = ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: CourierId::new(),
        location: Location::new(WENQUAN.0, WENQUAN.1).unwrap(),
        position_as_sent: None,
        accuracy_m: None,
        category_hint: Some(civicprobe_model::Category::Elevator),
        text: Some("电梯\u{0}困人\u{1b}[31m\u{7f}\u{b}".into()),
        reported_at: None,
        received_at: OffsetDateTime::now_utc(),
        photos: Vec::new(),
        evidence: Default::default(),
        open311: None,
    };
    let (_client, js) = h.nats.connect().await.expect("nats");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, report.report_id.to_string().as_str());
    let payload = serde_json::to_vec(&report).unwrap();
    let ack = js.publish_with_headers(REPORT_SUBMITTED, headers, payload.into());
    ack.await.expect("sent").await.expect("acked");
    h.routed(report.report_id).await;
    for path in [
        "/open311/v2/requests.xml".to_owned(),
        format!("/open311/v2/requests/{}.xml", report.report_id),
        "/open311/v2/servicerequestupdates.xml".to_owned(),
    ] {
        let r = h.http.get(format!("{}{path}", h.base)).send().await;
        let (status, _, xml) = read(r.unwrap()).await;
        assert_eq!(status, 200, "{xml}");
        if path.contains("requests") {
            assert!(xml.contains("电梯\u{fffd}困人"), "{path}: {xml}");
        }
        well_formed(&xml);
    }
}

/// Parses the whole document as XML 1.0 (control characters refused).
fn well_formed(xml: &str) {
    assert!(
        !xml.chars()
            .any(civicprobe_model::text::is_forbidden_control),
        "{xml:?}"
    );
    let mut reader = quick_xml::Reader::from_str(xml);
    while !matches!(
        reader.read_event().expect("well-formed XML"),
        quick_xml::events::Event::Eof
    ) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_url_sets_absolute_urls_whatever_the_host_says() {
    let h = harness::start(|c| c.public_url = Some("https://civic.example/".into())).await;
    let r = h
        .http
        .get(format!("{}/open311/v2/discovery.json", h.base))
        .header("host", "evil.example")
        .send()
        .await;
    let (_, _, body) = read(r.unwrap()).await;
    assert!(
        body.contains("\"https://civic.example/open311/v2\""),
        "{body}"
    );
    assert!(!body.contains("evil"), "{body}");
    let url = format!("{}/open311/v2/requests/{}.json", h.base, h.report);
    let r = h.http.get(url).header("host", "evil.example").send().await;
    let (_, _, body) = read(r.unwrap()).await;
    let media = format!("\"https://civic.example/open311/v2/media/{}/0\"", h.report);
    assert!(body.contains(&media), "{body}");
    // Sign-in: Origin must be the public origin; the cookie is Secure.
    let sign_in = |origin: &'static str| {
        h.http
            .post(format!("{}/session", h.base))
            .header("origin", origin)
            .json(&serde_json::json!({"token": h.courier}))
            .send()
    };
    let local = h.base.clone().leak();
    assert_eq!(sign_in(local).await.unwrap().status(), 403);
    let r = sign_in("https://civic.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert!(!cookies.is_empty());
    assert!(cookies
        .iter()
        .all(|c| c.to_str().unwrap().contains("; Secure")));
    // Without a public URL the listen address is the base, not the Host.
    let plain = harness::start(|_| {}).await;
    let url = format!("{}/open311/v2/discovery.json", plain.base);
    let r = plain
        .http
        .get(url)
        .header("host", "evil.example")
        .send()
        .await;
    let (_, _, body) = read(r.unwrap()).await;
    assert!(
        body.contains(&format!("\"{}/open311/v2\"", plain.base)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_are_off_without_one() {
    let off = harness::start(|_| {}).await;
    let r = off.http.get(format!("{}/metrics", off.base)).send().await;
    problem(&read(r.unwrap()).await, 404, None);
    let token = MetricsToken::new(METRICS_TOKEN).unwrap();
    let h = harness::start(|c| c.metrics_token = Some(token)).await;
    let url = format!("{}/metrics", h.base);
    problem(
        &read(h.http.get(&url).send().await.unwrap()).await,
        401,
        None,
    );
    let wrong = h.http.get(&url).bearer_auth(&h.supervisor).send().await;
    problem(&read(wrong.unwrap()).await, 401, None);
    let r = h.http.get(&url).bearer_auth(METRICS_TOKEN).send().await;
    let (status, _, body) = read(r.unwrap()).await;
    assert_eq!(status, 200);
    assert!(body.contains("civicprobe_"), "{body}");
    let health = h.http.get(format!("{}/healthz", h.base)).send().await;
    assert_eq!(health.unwrap().status(), 200);
}
