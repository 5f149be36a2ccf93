//! Arbitrary input at every endpoint of a running stack: query strings,
//! path segments, JSON, form and multipart values, with each kind of
//! token. Never a 5xx; every error is a problem (an Open311 error
//! document under `/open311/`) and none repeats the input. Deterministic:
//! a fixed seed, a fixed number of cases.

use crate::harness::{self, Harness};
use crate::routes::{endpoints, Body, Endpoint};
use civicprobe::ops::MetricsToken;
use civicprobe_model::{Problem, PROBLEM_JSON};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Where the injected text goes.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The `n`th path segment marked `{}`.
    Segment(usize),
    /// The value of the `n`th query key (or an unknown key).
    Query(usize),
    /// The `n`th body field.
    Field(usize),
    /// The whole body.
    Raw,
}

/// One generated request.
#[derive(Clone, Debug)]
struct Case {
    endpoint: usize,
    token: usize,
    slot: Slot,
    payload: String,
}

/// Payloads every endpoint gets in every slot: the marker plain and with
/// specials, and values at the edges of what parsers take (the end of
/// time, overflowing numbers, NaN).
const FIXED: [&str; 9] = [
    "zq9plain",
    "zq9<b>\"'&\u{1b}\0x",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00-23:59",
    "18446744073709551616",
    "-1",
    "NaN",
    "1e309",
    "",
];

/// The start of every injected text; no answer holds it but by echo.
const MARKER: &str = "zq9";

/// A distinctive marker, then anything (control characters, quotes,
/// markup, any script).
fn payload() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '<', '>', '&', '\'', '"', '\\', '/', '%', '\0', '\u{1b}', ' ',
    ]);
    let piece = prop_oneof![any::<char>(), special, prop::char::range('a', 'z')];
    prop::collection::vec(piece, 0..14)
        .prop_map(|cs| format!("{MARKER}{}", cs.into_iter().collect::<String>()))
}

fn case(n_endpoints: usize) -> impl Strategy<Value = Case> {
    let slot = prop_oneof![
        (0usize..3).prop_map(Slot::Segment),
        (0usize..8).prop_map(Slot::Query),
        (0usize..8).prop_map(Slot::Field),
        Just(Slot::Raw),
    ];
    (0..n_endpoints, 0usize..5, slot, payload()).prop_map(|(endpoint, token, slot, payload)| Case {
        endpoint,
        token,
        slot,
        payload,
    })
}

/// Percent-encodes everything but unreserved characters.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A valid value for the `n`th path segment of `path`.
fn valid_segment(h: &Harness, path: &str, n: usize) -> String {
    let is = |p: &str| path.starts_with(p);
    match (n, path) {
        (_, _) if is("/v1/offices/") => "wenquan".into(),
        (0, _) if is("/v1/reports/") || is("/v1/unrouted/") => h.report.to_string(),
        (0, _) if is("/v1/tickets/") => h.ticket.to_string(),
        (1, _) if path.contains("proof-photos") => "0".repeat(64),
        (0, _) if is("/open311/v2/media/") => h.report.to_string(),
        (1, _) => "0".into(),
        (0, _) if is("/open311/v2/requests/") || is("/open311/v2/tokens/") => {
            format!("{}.json", h.report)
        }
        (0, _) if is("/open311/v2/services/") => "manhole.xml".into(),
        (0, "/open311/v2/{}") => "requests.json".into(),
        (0, _) if is("/assets/") => "common.js".into(),
        _ => "x".into(),
    }
}

/// The request a case describes.
fn build(h: &Harness, (method, path, keys, body): &Endpoint, c: &Case) -> reqwest::RequestBuilder {
    let mut segment = 0;
    let mut url = h.base.clone();
    for (i, part) in path.split("{}").enumerate() {
        if i > 0 {
            let value = match c.slot {
                Slot::Segment(n) if n == segment => c.payload.clone(),
                _ => valid_segment(h, path, segment),
            };
            url.push_str(&encode(&value));
            segment += 1;
        }
        url.push_str(part);
    }
    let key = |n: usize| keys.get(n).copied().unwrap_or("zz_unknown");
    if let Slot::Query(n) = c.slot {
        url.push_str(&format!("?{}={}", key(n), encode(&c.payload)));
    }
    let tokens = [
        "",
        "junk-token-0123456789",
        &h.courier,
        &h.office,
        &h.supervisor,
    ];
    let mut request = h.http.request(method.clone(), url);
    if c.token > 0 {
        request = request.bearer_auth(tokens[c.token]);
    }
    with_body(request, *body, c, &h.courier)
}

fn with_body(
    request: reqwest::RequestBuilder,
    body: Body,
    c: &Case,
    courier: &str,
) -> reqwest::RequestBuilder {
    let value = |fields: &[&str], n: usize, name: &str| match c.slot {
        Slot::Field(k) if fields.get(k) == Some(&name) || (k >= fields.len() && n == 0) => {
            c.payload.clone()
        }
        _ => valid_field(name, courier),
    };
    let object = |fields: &[&str]| {
        let map: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .enumerate()
            .map(|(n, f)| ((*f).to_owned(), value(fields, n, f).into()))
            .collect();
        serde_json::Value::Object(map).to_string()
    };
    let raw = matches!(c.slot, Slot::Raw);
    match body {
        Body::None if raw => request.body(c.payload.clone()),
        Body::None => request,
        Body::Json(fields) => {
            let text = if raw {
                c.payload.clone()
            } else {
                object(fields)
            };
            request
                .header("content-type", "application/json")
                .body(text)
        }
        Body::Form(_) if raw => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(c.payload.clone()),
        Body::Form(fields) => {
            let pairs: Vec<(String, String)> = fields
                .iter()
                .enumerate()
                .map(|(n, f)| ((*f).to_owned(), value(fields, n, f)))
                .collect();
            request.form(&pairs)
        }
        Body::Report(fields) => {
            let mut report: serde_json::Value = serde_json::from_str(&object(fields)).unwrap();
            report["lat"] = harness::WENQUAN.0.into();
            report["lon"] = harness::WENQUAN.1.into();
            let part = if raw {
                c.payload.clone()
            } else {
                report.to_string()
            };
            let photo = civicprobe_testkit::photos::jpeg(32, 24);
            let form = reqwest::multipart::Form::new().text("report", part).part(
                "photo",
                reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
            );
            request
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .multipart(form)
        }
        Body::Photo => {
            let part =
                reqwest::multipart::Part::bytes(c.payload.clone().into_bytes()).file_name("p.jpg");
            request.multipart(reqwest::multipart::Form::new().part("photo", part))
        }
    }
}

fn valid_field(name: &str, courier: &str) -> String {
    match name {
        "api_key" | "token" => courier.to_owned(),
        "service_code" | "category_hint" => "manhole".into(),
        "lat" => harness::WENQUAN.0.to_string(),
        "long" => harness::WENQUAN.1.to_string(),
        "office_id" => "fushan".into(),
        "reason" => "duplicate".into(),
        "reported_at" => "2026-11-30T08:00:00+08:00".into(),
        "proof_photo_sha256" | "address_string" => String::new(),
        _ => "井盖缺失".into(),
    }
}

/// The properties of one answer.
async fn check(h: &Harness, endpoint: &Endpoint, c: &Case) -> Result<(), TestCaseError> {
    let answer = build(h, endpoint, c).send().await;
    let answer = answer.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let (status, kind, body) = harness::read(answer).await;
    let at = format!(
        "{} {} {c:?}: {status} {kind} {body}",
        endpoint.0, endpoint.1
    );
    prop_assert!(status < 500, "5xx: {}", at);
    if status < 400 {
        return Ok(());
    }
    // Any trace of the marker is an echo: escaped, quoted or cut short.
    prop_assert!(!body.contains(MARKER), "echoes its input: {}", at);
    if endpoint.1.starts_with("/open311/") {
        let xml = kind.starts_with("text/xml") && body.contains("<errors><error><code>");
        let json = kind == "application/json"
            && serde_json::from_str::<serde_json::Value>(&body)
                .is_ok_and(|v| v[0]["code"] == status);
        prop_assert!(xml || json, "not an Open311 error: {}", at);
    } else {
        prop_assert_eq!(kind.as_str(), PROBLEM_JSON, "{}", at);
        let problem = serde_json::from_str::<Problem>(&body);
        prop_assert!(
            problem.is_ok_and(|p| p.status == status),
            "not a problem: {}",
            at
        );
    }
    Ok(())
}

#[test]
fn arbitrary_input_at_every_endpoint_is_answered_in_shape() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let token = MetricsToken::new("fuzz-metrics-token-0123456789").unwrap();
    let h = rt.block_on(harness::start(|c| c.metrics_token = Some(token)));
    let endpoints = endpoints();
    // Every endpoint, each slot, with a plain and a special payload.
    let slots = [Slot::Segment(0), Slot::Query(0), Slot::Field(0), Slot::Raw];
    let fixed = slots
        .into_iter()
        .flat_map(|slot| FIXED.map(|payload| (slot, payload)));
    let fixed: Vec<_> = fixed.collect();
    for (endpoint, e) in endpoints.iter().enumerate() {
        for (slot, payload) in &fixed {
            let c = Case {
                endpoint,
                token: 4,
                slot: *slot,
                payload: (*payload).into(),
            };
            rt.block_on(check(&h, e, &c))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // Then generated cases, from a fixed seed.
    let config = Config {
        cases: 1000,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case(endpoints.len()), |c| {
        rt.block_on(check(&h, &endpoints[c.endpoint], &c))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
