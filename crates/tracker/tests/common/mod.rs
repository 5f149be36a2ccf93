//! Shared helpers of the tracker's tests: a store on a fresh database of
//! either kind, event builders, and a one-request HTTP client.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use civicprobe_model::{
    Category, CourierId, Deadlines, EventId, Location, OfficeId, ReportId, ReportSubmitted,
    ReportUnrouted, TicketId, TicketOpened,
};
use civicprobe_testkit::TestDb;
use civicprobe_tracker::Store;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

/// Writes each listed `async fn name(kind: &str)` as two tests, one per
/// database: `sqlite::name` and `postgres::name` (the testkit's macro).
#[macro_export]
macro_rules! on_both_databases {
    ($($t:tt)*) => { civicprobe_testkit::on_both_databases!($($t)*); };
}

/// The `TICKETS` stream, as every service creates it.
pub async fn tickets_stream(js: &async_nats::jetstream::Context) {
    civicprobe_jetstream::ensure_tickets_stream(js, &Default::default())
        .await
        .expect("the TICKETS stream");
}

/// A migrated store on a fresh database; keep the `TestDb` alive.
pub async fn store(kind: &str) -> (TestDb, Store) {
    civicprobe_testkit::init_tracing();
    let db = TestDb::of_kind(kind).await.expect("test database");
    let store = Store::connect(db.url())
        .await
        .expect("connecting the store");
    (db, store)
}

/// 2025-06-01 08:00 UTC: the tests' clock.
pub fn base_time() -> OffsetDateTime {
    time::macros::datetime!(2025-06-01 08:00 UTC)
}

pub fn office(id: &str) -> OfficeId {
    OfficeId::parse(id).unwrap()
}

/// A report by `courier`, received at `received_at`.
pub fn report(courier: CourierId, received_at: OffsetDateTime) -> ReportSubmitted {
    ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: courier,
        location: Location::new(29.84, 114.32).unwrap(),
        position_as_sent: None,
        accuracy_m: Some(8.5),
        category_hint: Some(Category::Manhole),
        text: Some("井盖缺失 missing manhole cover".into()),
        reported_at: Some(received_at - Duration::seconds(3)),
        received_at,
        photos: vec![civicprobe_model::PhotoRef {
            sha256: civicprobe_model::Sha256::from([0xab; 32]),
            media_type: "image/jpeg".into(),
            width: 640,
            height: 480,
            bytes: 12_345,
            phash: None,
            thumbnail_sha256: None,
        }],
        evidence: Default::default(),
        open311: None,
    }
}

/// The router's `TicketOpened` for a new report in `office`; acknowledge
/// is due `ack_due` after receipt, resolving a day after.
pub fn opened(
    office_id: &str,
    courier: CourierId,
    received_at: OffsetDateTime,
    ack_due: Duration,
) -> TicketOpened {
    let report = report(courier, received_at);
    let ticket_id = TicketId::for_report(report.report_id);
    TicketOpened {
        event_id: EventId::derived(ticket_id.0, "opened"),
        ticket_id,
        office_id: office(office_id),
        office_name: format!("{office_id} street office"),
        category: Category::Manhole,
        urgent: true,
        opened_at: received_at + Duration::seconds(1),
        deadlines: Deadlines {
            acknowledge_by: received_at + ack_due,
            make_safe_by: received_at + ack_due + Duration::hours(2),
            resolve_by: received_at + Duration::days(1),
        },
        confidence: None,
        needs_triage: false,
        boundary: false,
        model_version: None,
        report,
    }
}

/// The router's `ReportUnrouted` for a new report.
pub fn unrouted(courier: CourierId) -> ReportUnrouted {
    let report = report(courier, base_time());
    ReportUnrouted {
        event_id: EventId::derived(report.report_id.0, "unrouted"),
        category: Category::ElectricalBox,
        urgent: false,
        at: base_time() + Duration::seconds(1),
        report,
    }
}

/// One HTTP exchange against `app(store)`.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

pub async fn call(
    store: &Store,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    send(store, request.body(body).unwrap()).await
}

/// Sends a request built by the test (extra headers and all) to `app(store)`.
pub async fn send(store: &Store, request: Request<Body>) -> Reply {
    let response = civicprobe_tracker::app(store.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Reply {
        status,
        content_type,
        body,
    }
}

pub async fn get(store: &Store, uri: &str, token: &str) -> Reply {
    call(store, Method::GET, uri, Some(token), None).await
}

pub async fn post(store: &Store, uri: &str, token: &str, body: Option<Value>) -> Reply {
    call(store, Method::POST, uri, Some(token), body).await
}

/// Asserts a problem+json reply with `status` (and `field`, if given).
pub fn assert_problem(reply: &Reply, status: u16, field: Option<&str>) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], status);
    assert!(reply.body["type"]
        .as_str()
        .unwrap()
        .starts_with("/problems/"));
    if let Some(field) = field {
        assert_eq!(reply.body["field"], field, "{}", reply.body);
    }
}

/// The router's `TicketMerged` attaching a new report by `courier` to
/// `ticket`; `photo_reuse` raises the reuse flag on it.
pub fn merged(
    ticket: &TicketOpened,
    courier: CourierId,
    photo_reuse: bool,
) -> civicprobe_model::TicketMerged {
    let mut report = report(courier, ticket.report.received_at + Duration::minutes(2));
    if photo_reuse {
        report
            .evidence
            .flags
            .push(civicprobe_model::EvidenceFlag::PhotoReuse {
                photo: 0,
                phash: "00ff00ff00ff00ff".parse().expect("a photo hash"),
                earlier_report: ReportId::new(),
                distance_bits: 2,
                threshold_bits: 6,
            });
    }
    civicprobe_model::TicketMerged {
        event_id: EventId::derived(report.report_id.0, "merged"),
        ticket_id: ticket.ticket_id,
        office_id: ticket.office_id.clone(),
        category: ticket.category,
        at: report.received_at + Duration::seconds(1),
        reason: civicprobe_model::MergeReason::Nearby { distance_m: 12.0 },
        urgent: false,
        report,
    }
}

/// Opens a ticket in `office_id` (ack due in 30 min) and returns the event.
pub async fn open_ticket(store: &Store, office_id: &str, courier: CourierId) -> TicketOpened {
    let ev = opened(office_id, courier, base_time(), Duration::minutes(30));
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    ev
}

/// Tokens of two offices, a supervisor and a courier.
pub struct Actors {
    pub wenquan: String,
    pub fushan: String,
    pub supervisor: String,
    pub courier_id: CourierId,
    pub courier: String,
}

pub async fn actors(store: &Store) -> Actors {
    let (courier_id, courier) = store.add_courier("Li Wei").await.unwrap();
    Actors {
        wenquan: store
            .add_office(&office("wenquan"), Some("温泉"))
            .await
            .unwrap(),
        fushan: store.add_office(&office("fushan"), None).await.unwrap(),
        supervisor: store.add_supervisor("zhang").await.unwrap(),
        courier_id,
        courier,
    }
}

/// Runs a statement as an attacker with database access would.
pub async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `SELECT COUNT(*) …`.
pub async fn count(store: &Store, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

/// Office wenquan acknowledges, at `at`.
pub fn wenquan_acknowledges(at: OffsetDateTime) -> civicprobe_tracker::Transition {
    civicprobe_tracker::Transition {
        action: civicprobe_model::TicketAction::Acknowledge,
        actor: "office:wenquan".into(),
        role: civicprobe_model::Role::Office,
        at,
        reason: None,
        note: None,
        proof_photo_sha256: None,
    }
}

/// Books `points` for `courier` as an award on `report` of `ticket`
/// (random ids when `None`): how points are earned is not what the
/// rewards tests are about.
pub async fn grant(store: &Store, courier: CourierId, points: i64) {
    grant_for(store, courier, points, None).await;
}

/// [`grant`] on a given ticket and report.
pub async fn grant_for(
    store: &Store,
    courier: CourierId,
    points: i64,
    on: Option<(TicketId, ReportId)>,
) {
    let (ticket, report) = on.unwrap_or_else(|| (TicketId::new(), ReportId::new()));
    let id = EventId::new().to_string();
    sqlx::query(
        "INSERT INTO points_ledger (entry_id, courier_id, ticket_id, report_id, points, kind, \
         event_id, at) VALUES ($1, $2, $3, $4, $5, 'award', $6, 0)",
    )
    .bind(&id)
    .bind(courier.to_string())
    .bind(ticket.to_string())
    .bind(report.to_string())
    .bind(points)
    .bind(&id)
    .execute(store.pool())
    .await
    .unwrap();
}

/// Lets the attacker change history: drops (SQLite) or disables
/// (PostgreSQL) the append-only triggers.
pub async fn disable_append_only(store: &Store, kind: &str) {
    if kind == "sqlite" {
        exec(store, "DROP TRIGGER ticket_events_no_update").await;
        exec(store, "DROP TRIGGER ticket_events_no_delete").await;
    } else {
        exec(
            store,
            "ALTER TABLE ticket_events DISABLE TRIGGER ticket_events_no_change",
        )
        .await;
    }
}

/// A GET's body as text (CSV, GeoJSON), which must be a 200.
pub async fn get_text(store: &Store, uri: &str, token: &str) -> String {
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = civicprobe_tracker::app(store.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}
