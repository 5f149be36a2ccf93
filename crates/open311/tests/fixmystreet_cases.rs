//! FixMyStreet's client against the real pipeline, on SQLite and
//! PostgreSQL: a merged duplicate, a request outside every area, the
//! spec's parameters, photo parts, and a request read straight after its
//! POST (see `fixmystreet.rs` for the client's main flow).

mod common;
#[path = "common/fms.rs"]
mod fms;
#[path = "common/fms_client.rs"]
mod fms_client;

use civicprobe_model::{ReportId, TicketAction, TicketId};
use common::*;
use fms_client::{act, ticket, FORM};

async fn cases(kind: &str) {
    civicprobe_testkit::init_tracing();
    let h = harness(kind).await;
    let id = h.fms_post(29.84, 114.32, "井盖丢失").await;
    h.routed(&id).await;
    merged_duplicate(&h).await;
    outside_every_area(&h).await;
    parameters(&h, &id).await;
    photos(&h).await;
}

#[tokio::test]
async fn sqlite_fixmystreet_cases() {
    cases("sqlite").await;
}

#[tokio::test]
async fn postgres_fixmystreet_cases() {
    cases("postgres").await;
}

/// A merged duplicate answers under its own id; DUPLICATE first, then the
/// ticket's FIXED reaches it.
async fn merged_duplicate(h: &Harness) {
    let first = h.fms_post(29.845, 114.315, "井盖没了").await;
    h.routed(&first).await;
    let second = h.fms_post(29.84501, 114.31501, "这里井盖没了").await;
    let report: ReportId = second.parse().expect("id");
    let mut merged = None;
    for _ in 0..200 {
        if let Some(found) = h.store.report_ticket(report).await.expect("lookup") {
            merged = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ticket_id, _) = merged.expect("merged");
    assert_eq!(
        ticket_id,
        ticket(h, &first).await.ticket_id,
        "merged into the first"
    );
    let (status, body) = h
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={second}"
        ))
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v[0]["service_request_id"], second.as_str(), "{body}");
    act(h, &first, TicketAction::Acknowledge, None).await;
    act(h, &first, TicketAction::Resolve, Some("新井盖已装")).await;
    let updates = h.updates_xml("", &second).await;
    let statuses: Vec<&str> = updates.iter().map(|u| u["status"].as_str()).collect();
    assert_eq!(statuses.first(), Some(&"DUPLICATE"), "{updates:?}");
    assert_eq!(statuses.last(), Some(&"FIXED"), "{updates:?}");
    let primary = h.updates_xml("", &first).await;
    assert_ne!(
        primary.last().expect("fixed")["update_id"],
        updates.last().expect("fixed")["update_id"]
    );
}

/// Outside every area: answered at once with no agency, closed by a
/// supervisor as NOT_COUNCILS_RESPONSIBILITY.
async fn outside_every_area(h: &Harness) {
    let id = h.fms_post(29.84, 114.50, "路灯坏了").await;
    let report: ReportId = id.parse().expect("id");
    let mut body = Value::Null;
    for _ in 0..200 {
        if h.store
            .outside_request(report)
            .await
            .expect("lookup")
            .is_some()
        {
            body = serde_json::from_str(&h.get(&format!("/open311/v2/requests/{id}.json")).await.1)
                .expect("json");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body[0]["agency_responsible"], "", "{body}");
    assert_eq!(body[0]["status"], "open");
    assert!(body[0]["status_notes"]
        .as_str()
        .expect("notes")
        .contains("辖区"));
    h.store
        .close_outside(report, "supervisor:zhang", Some("请联系市政"))
        .await
        .expect("close");
    let (_, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(
        fms::items(&xml, "service_requests", "request")[0]["status"],
        "closed"
    );
    let updates = h.updates_xml("", &id).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["status"], "NOT_COUNCILS_RESPONSIBILITY");
    assert!(updates[0]["description"].ends_with("说明：请联系市政"));
}

/// Comma lists, dates of every precision, jurisdiction_id, api_key in the
/// query string.
async fn parameters(h: &Harness, id: &str) {
    let (status, body) = h
        .get("/open311/v2/requests.json?service_code=elevator,manhole&start_date=2026-11-01&end_date=2026-12")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(id));
    let (_, body) = h
        .get("/open311/v2/requests.json?service_code=elevator&start_date=2026-11")
        .await;
    assert!(!body.contains(id));
    let (status, body) = h.get("/open311/v2/requests.json?end_date=2020-11").await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    let (status, xml) = h
        .get("/open311/v2/requests.xml?jurisdiction_id=other.example")
        .await;
    assert_eq!(status, 404);
    assert!(fms::items(&xml, "errors", "error")[0]["description"].contains("jurisdiction_id"));
    let form = fms::form(&[
        ("service_code", "manhole"),
        ("lat", "29.84"),
        ("long", "114.32"),
    ]);
    let path = format!("/open311/v2/requests.json?api_key={}", h.courier);
    let (status, body) = h.raw(&path, FORM, form.into_bytes()).await;
    assert_eq!(status, 201, "{body}");
    // attribute[code][] lists and a client's media_url, kept and answered.
    let form = fms::form(&[
        ("api_key", &h.courier),
        ("service_code", "elevator"),
        ("lat", "29.841"),
        ("long", "114.321"),
        ("attribute[floors][]", "3"),
        ("attribute[floors][]", "4"),
        ("media_url", "https://fms.example/photo/9.jpeg"),
    ]);
    let (status, body) = h
        .raw("/open311/v2/requests.json", FORM, form.into_bytes())
        .await;
    assert_eq!(status, 201, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let other = v[0]["service_request_id"].as_str().expect("id").to_owned();
    let routed = h.routed(&other).await;
    assert_eq!(routed[0]["media_url"], "https://fms.example/photo/9.jpeg");
    // And in a listing, JSON and XML.
    let (status, body) = h
        .get("/open311/v2/requests.json?service_code=elevator")
        .await;
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("json");
    let listed = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["service_request_id"] == other.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{other} listed: {body}"));
    assert_eq!(listed["media_url"], "https://fms.example/photo/9.jpeg");
    let (status, xml) = h
        .get("/open311/v2/requests.xml?service_code=elevator")
        .await;
    assert_eq!(status, 200, "{xml}");
    let item = fms::items(&xml, "service_requests", "request")
        .into_iter()
        .find(|r| r["service_request_id"] == other)
        .unwrap_or_else(|| panic!("{other} listed: {xml}"));
    assert_eq!(item["media_url"], "https://fms.example/photo/9.jpeg");
    let details = h
        .store
        .request_details(other.parse().expect("id"))
        .await
        .expect("details");
    assert_eq!(details.expect("some").attributes["floors"], ["3", "4"]);
    let bad = fms::form(&[
        ("api_key", &h.courier),
        ("service_code", "other"),
        ("lat", "29.84"),
        ("long", "114.32"),
        ("media_url", "file:///etc/passwd"),
    ]);
    let (status, xml) = h
        .raw("/open311/v2/requests.xml", FORM, bad.into_bytes())
        .await;
    assert_eq!(status, 400);
    assert!(fms::items(&xml, "errors", "error")[0]["description"].starts_with("media_url"));
}

/// Multipart with photo1 and photo2, through the photo pipeline.
async fn photos(h: &Harness) {
    let pairs = [
        ("api_key", h.courier.as_str()),
        ("jurisdiction_id", JURISDICTION),
        ("service_code", "electrical_box"),
        ("lat", "29.84"),
        ("long", "114.32"),
        ("description", "配电箱冒烟"),
    ];
    let jpegs = vec![
        civicprobe_testkit::photos::jpeg(64, 48),
        civicprobe_testkit::photos::jpeg(48, 64),
    ];
    let content = format!("multipart/form-data; boundary={}", fms::BOUNDARY);
    let (status, xml) = h
        .raw(
            "/open311/v2/requests.xml",
            &content,
            fms::multipart(&pairs, &jpegs),
        )
        .await;
    assert_eq!(status, 201, "{xml}");
    let id = fms::items(&xml, "service_requests", "request")[0]["service_request_id"].clone();
    let report: ReportId = id.parse().expect("id");
    h.routed(&id).await;
    let t = h
        .store
        .ticket(TicketId::for_report(report))
        .await
        .expect("ticket")
        .expect("some");
    assert_eq!(t.photos.len(), 2, "both photo parts kept");
    let bad = vec![
        civicprobe_testkit::photos::jpeg(64, 48),
        b"not a photo".to_vec(),
    ];
    let (status, xml) = h
        .raw(
            "/open311/v2/requests.xml",
            &content,
            fms::multipart(&pairs, &bad),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {xml}");
    fms::items(&xml, "errors", "error");
}

/// Straight after the POST, before any router: open, being routed.
async fn answered_at_once(kind: &str) {
    civicprobe_testkit::init_tracing();
    let h = harness_with(kind, false).await;
    let id = h.fms_post(29.84, 114.32, "井盖丢失").await;
    let (status, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(status, 200, "{xml}");
    let r = &fms::items(&xml, "service_requests", "request")[0];
    assert_eq!(r["status"], "open");
    assert_eq!(r["status_notes"], "已收到，正在分派至街道办");
    assert_eq!(r["agency_responsible"], "");
    let (status, body) = h
        .get_lang(&format!("/open311/v2/requests/{id}.json"), "en")
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v[0]["status_notes"],
        "received; being routed to a street office"
    );
    let (status, _) = h.get(&format!("/open311/v2/tokens/{id}.json")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn sqlite_answered_at_once() {
    answered_at_once("sqlite").await;
}

#[tokio::test]
async fn postgres_answered_at_once() {
    answered_at_once("postgres").await;
}
