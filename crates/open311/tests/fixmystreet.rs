//! The requests FixMyStreet's Open311 client sends, byte for byte
//! ([`fms`]), against the real pipeline (a real nats-server, the router,
//! the tracker's consumer) on SQLite and PostgreSQL, answers read as that
//! client reads them; and the same reads in JSON. The cases beside it:
//! `fixmystreet_cases.rs`.

mod common;
#[path = "common/fms.rs"]
mod fms;
#[path = "common/fms_client.rs"]
mod fms_client;

use civicprobe_model::TicketAction;
use common::*;
use fms_client::{act, ticket, FORM};
use time::OffsetDateTime;

async fn fixmystreet_client(kind: &str) {
    civicprobe_testkit::init_tracing();
    let h = harness(kind).await;
    let id = h.fms_post(29.840000, 114.320000, "井盖丢失，很危险").await;
    let routed = h.routed(&id).await;
    assert_eq!(routed[0]["agency_responsible"], "温泉街道");
    // attribute[…] is kept with the report.
    let details = h
        .store
        .request_details(id.parse().expect("id"))
        .await
        .expect("details")
        .expect("some");
    assert_eq!(details.attributes["title"], ["井盖丢失"]);
    assert_eq!(
        details.attributes["report_url"],
        ["https://fms.example/report/1"]
    );
    // tokens/{token}.xml, polled as the client does.
    let (status, xml) = h.get(&format!("/open311/v2/tokens/{id}.xml")).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        fms::items(&xml, "service_requests", "request")[0]["service_request_id"],
        id
    );
    // requests.xml over the last hour, as the client fetches new reports.
    let now = OffsetDateTime::now_utc();
    let path = format!(
        "/open311/v2/requests.xml?jurisdiction_id={JURISDICTION}&start_date={}&end_date={}",
        fms::w3c(now - time::Duration::hours(1)),
        fms::w3c(now + time::Duration::minutes(1)),
    );
    let (status, xml) = h.get(&path).await;
    assert_eq!(status, 200, "{xml}");
    let listed = fms::items(&xml, "service_requests", "request");
    assert!(
        listed.iter().any(|r| r["service_request_id"] == id),
        "{xml}"
    );

    readable_updates(&h, &id).await;
    resident_updates(&h, &id).await;
}

/// Sentences in Chinese by default, English on request, with the office's
/// note; external_status_code the state; escalations and reroutes listed.
async fn readable_updates(h: &Harness, id: &str) {
    act(h, id, TicketAction::Acknowledge, Some("马上派人")).await;
    let zh = h.updates_xml("", id).await;
    let statuses: Vec<&str> = zh.iter().map(|u| u["status"].as_str()).collect();
    assert_eq!(statuses, ["OPEN", "INVESTIGATING"], "{zh:?}");
    assert_eq!(
        zh[0]["description"],
        "您的报告已送达温泉街道，将按时限处理。"
    );
    assert_eq!(zh[1]["description"], "温泉街道已受理。说明：马上派人");
    assert_eq!(zh[1]["external_status_code"], "acknowledged");
    let en = h.updates_xml("en-GB,en;q=0.9", id).await;
    assert_eq!(
        en[1]["description"],
        "温泉街道 has taken it on. Note: 马上派人"
    );
    // Each step's own time.
    let events = h
        .store
        .ticket_events(ticket(h, id).await.ticket_id)
        .await
        .expect("events");
    let ack = events
        .iter()
        .find(|e| e.kind == "acknowledged")
        .expect("ack");
    assert_eq!(
        zh[1]["updated_datetime"],
        civicprobe_open311::requests::iso(ack.at)
    );
    // An escalation (the SLA clock a month later) is an update too.
    let late = h
        .store
        .clone()
        .with_clock(Arc::new(civicprobe_tracker::MockClock::at(
            OffsetDateTime::now_utc() + time::Duration::days(30),
        )));
    assert!(!late.escalate_overdue().await.expect("escalate").is_empty());
    let after = h.updates_xml("en", id).await;
    let escalated = after
        .iter()
        .find(|u| u["description"].contains("escalated"))
        .expect("escalated");
    assert_eq!(escalated["status"], "INVESTIGATING");
    assert_eq!(escalated["external_status_code"], "acknowledged");
    // JSON says the same.
    let (status, body) = h
        .get_lang(
            &format!("/open311/v2/servicerequestupdates.json?service_request_id={id}"),
            "en",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v[1]["description"],
        "温泉街道 has taken it on. Note: 马上派人"
    );
    assert_eq!(v[1]["external_status_code"], "acknowledged");
}

/// POST servicerequestupdates.xml: recorded once per update_id, on the
/// ticket for the office, the status mapped, answered with update_id.
async fn resident_updates(h: &Harness, id: &str) {
    let body = |update_id: &str, status: &str, description: &str| {
        fms::form(&[
            ("updated_datetime", "2026-12-01T22:10:00+00:00"),
            ("service_request_id", id),
            ("status", status),
            ("description", description),
            ("first_name", "Mei"),
            ("last_name", "Chen"),
            ("email", "resident@example.org"),
            ("phone", "+86 715 000 0000"),
            ("update_id", update_id),
            ("api_key", &h.courier),
        ])
        .into_bytes()
    };
    let path = "/open311/v2/servicerequestupdates.xml";
    let (status, xml) = h.raw(path, FORM, body("901", "OPEN", "还是没盖上")).await;
    assert_eq!(status, 200, "{xml}");
    let answer = fms::items(&xml, "service_request_updates", "request_update");
    let update_id = answer[0]["update_id"].clone();
    assert!(!update_id.is_empty());
    // A retry answers the same update and records nothing twice.
    let (_, again) = h.raw(path, FORM, body("901", "OPEN", "还是没盖上")).await;
    assert_eq!(
        fms::items(&again, "service_request_updates", "request_update")[0]["update_id"],
        update_id
    );
    let t = ticket(h, id).await;
    let notes: Vec<_> = h
        .store
        .ticket_events(t.ticket_id)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "resident_note")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].note.as_deref(), Some("还是没盖上"));
    assert_eq!(notes[0].event_id.to_string(), update_id);
    assert_eq!(notes[0].reason, None, "OPEN on an open ticket is a comment");
    assert_eq!(
        t.state.as_str(),
        "acknowledged",
        "a resident changes no state"
    );
    // Another body under the same update_id: 409, as an errors document.
    let (status, xml) = h.raw(path, FORM, body("901", "OPEN", "别的话")).await;
    assert_eq!(status, 409);
    assert_eq!(fms::items(&xml, "errors", "error")[0]["code"], "409");
    // FIXED from a resident: recorded as their claim, never a resolve.
    let (status, body_json) = h
        .raw(
            "/open311/v2/servicerequestupdates.json",
            FORM,
            body("902", "FIXED", "修好了"),
        )
        .await;
    assert_eq!(status, 200, "{body_json}");
    let v: Value = serde_json::from_str(&body_json).expect("json");
    assert!(v[0]["update_id"].is_string());
    let events = h.store.ticket_events(t.ticket_id).await.expect("events");
    let fixed = events
        .iter()
        .find(|e| e.note.as_deref() == Some("修好了"))
        .expect("note");
    assert_eq!(fixed.reason.as_deref(), Some("resident_reported_fixed"));
    // No api_key, an office's key, an unknown request, a status no client sends.
    let mut no_key = body("903", "OPEN", "x");
    no_key.truncate(
        String::from_utf8_lossy(&no_key)
            .find("&api_key")
            .expect("key"),
    );
    assert_eq!(h.raw(path, FORM, no_key).await.0, 403);
    let office = String::from_utf8(body("903", "OPEN", "x"))
        .expect("utf8")
        .replace(&h.courier, &h.office);
    assert_eq!(h.raw(path, FORM, office.into_bytes()).await.0, 403);
    let unknown = String::from_utf8(body("903", "OPEN", "x"))
        .expect("utf8")
        .replace(id, &uuid::Uuid::new_v4().to_string());
    let (status, xml) = h.raw(path, FORM, unknown.into_bytes()).await;
    assert_eq!(
        (
            status,
            fms::items(&xml, "errors", "error")[0]["code"].as_str()
        ),
        (404, "404")
    );
    let (status, xml) = h.raw(path, FORM, body("903", "MAYBE", "x")).await;
    assert_eq!(status, 400);
    assert!(fms::items(&xml, "errors", "error")[0]["description"].starts_with("status"));
    // Resident notes are the resident's own words: never listed back.
    assert!(h
        .updates_xml("", id)
        .await
        .iter()
        .all(|u| !u["description"].contains("修好了")));
}

#[tokio::test]
async fn sqlite_fixmystreet_client() {
    fixmystreet_client("sqlite").await;
}

#[tokio::test]
async fn postgres_fixmystreet_client() {
    fixmystreet_client("postgres").await;
}
