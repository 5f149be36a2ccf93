//! Merged duplicates on both databases: an urgent duplicate makes its
//! ticket urgent (deadlines tighten, never loosen, a `triaged` event goes
//! out); every report's text, pin, photos, courier and evidence are kept
//! and shown to the office, while a merged courier still sees only their
//! own report.

mod common;

use civicprobe_model::{
    nats, Category, CourierId, Deadlines, EventKind, EvidenceFlag, Location, MergeReason, OfficeId,
    PhotoExif, SlaPolicy, TicketChanged, TicketMerged, TicketOpened,
};
use civicprobe_tracker::Store;
use common::{actors, base_time, count, get, merged, opened, store};
use time::Duration;

on_both_databases!(
    an_urgent_duplicate_makes_a_routine_ticket_urgent,
    deadlines_tighten_but_never_loosen,
    the_office_sees_every_report_with_its_evidence,
);

/// Degrees of latitude per metre.
const M: f64 = 1.0 / 111_195.0;

/// Deadlines this long after the tests' receipt time.
fn due(acknowledge: Duration, make_safe: Duration, resolve: Duration) -> Deadlines {
    Deadlines {
        acknowledge_by: base_time() + acknowledge,
        make_safe_by: base_time() + make_safe,
        resolve_by: base_time() + resolve,
    }
}

/// "井盖有点松": a routine manhole ticket with the default policy's
/// routine deadlines.
async fn routine_ticket(store: &Store, courier: CourierId) -> TicketOpened {
    let mut ev = opened("wenquan", courier, base_time(), Duration::hours(4));
    ev.urgent = false;
    ev.report.text = Some("井盖有点松".into());
    ev.deadlines = SlaPolicy::default().deadlines(Category::Manhole, false, base_time());
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    ev
}

/// "井盖整个掉下去了，露出大洞" 11 m away, classified urgent.
fn urgent_duplicate(ev: &TicketOpened) -> TicketMerged {
    let mut dup = merged(ev, CourierId::new(), false);
    dup.urgent = true;
    dup.report.text = Some("井盖整个掉下去了，露出大洞".into());
    dup.report.location = Location::new(29.84 + 11.0 * M, 114.32).unwrap();
    dup.reason = MergeReason::Nearby { distance_m: 11.0 };
    dup
}

async fn an_urgent_duplicate_makes_a_routine_ticket_urgent(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = routine_ticket(&store, CourierId::new()).await;
    let before = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(
        before.deadlines.acknowledge_by,
        base_time() + Duration::hours(4)
    );
    let dup = urgent_duplicate(&ev);
    assert!(store.record_merged(&dup).await.unwrap());
    assert!(!store.record_merged(&dup).await.unwrap(), "redelivery");

    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert!(ticket.urgent);
    assert_eq!(
        ticket.deadlines,
        due(
            Duration::minutes(15),
            Duration::hours(2),
            Duration::hours(24)
        )
    );
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["opened", "merged", "triaged"]);
    let triaged = &events[2];
    assert_eq!(
        (triaged.actor.as_str(), triaged.role.as_str()),
        ("router", "system")
    );
    assert_eq!(triaged.reason.as_deref(), Some("urgent_duplicate"));
    let note = triaged.note.as_deref().unwrap();
    assert!(note.contains(&dup.report.report_id.to_string()), "{note}");
    assert!(note.contains("urgent false→true"), "{note}");
    assert!(store.verify_chain().await.unwrap().is_intact());

    let queued = store.unsent_outbox(10).await.unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let office = OfficeId::parse("wenquan").unwrap();
    let triaged = nats::ticket_subject(&office, Category::Manhole, EventKind::Triaged);
    assert_eq!(queued[0].subject, triaged);
    let changed: TicketChanged = serde_json::from_str(&queued[0].payload).unwrap();
    assert!(changed.urgent);
    assert_eq!(changed.deadlines, Some(ticket.deadlines));
    assert_eq!(changed.reason.as_deref(), Some("urgent_duplicate"));

    // A second urgent duplicate changes nothing more.
    assert!(store.record_merged(&urgent_duplicate(&ev)).await.unwrap());
    let triaged = "SELECT COUNT(*) FROM ticket_events WHERE kind = 'triaged'";
    assert_eq!(count(&store, triaged).await, 1);
    // A routine duplicate of a routine ticket changes nothing either.
    let other = routine_ticket(&store, CourierId::new()).await;
    assert!(store
        .record_merged(&merged(&other, CourierId::new(), false))
        .await
        .unwrap());
    assert!(!store.ticket(other.ticket_id).await.unwrap().unwrap().urgent);
}

async fn deadlines_tighten_but_never_loosen(kind: &str) {
    let (_db, store) = store(kind).await;
    let mut ev = opened("wenquan", CourierId::new(), base_time(), Duration::hours(4));
    ev.urgent = false;
    // Set by hand tighter than the urgent policy's resolve (24 h).
    ev.deadlines = due(Duration::hours(4), Duration::hours(6), Duration::hours(12));
    ev.needs_triage = true;
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    assert!(store.record_merged(&urgent_duplicate(&ev)).await.unwrap());
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert!(ticket.urgent);
    assert!(
        ticket.needs_triage,
        "the router's step: still for a person to look at"
    );
    let kept = Duration::hours(12);
    assert_eq!(
        ticket.deadlines,
        due(Duration::minutes(15), Duration::hours(2), kept),
        "resolve kept"
    );
}

async fn the_office_sees_every_report_with_its_evidence(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = routine_ticket(&store, a.courier_id).await;
    let (second_id, second) = store.add_courier("second courier").await.unwrap();
    let mut dup = urgent_duplicate(&ev);
    dup.report.courier_id = second_id;
    dup.report.accuracy_m = Some(4.0);
    dup.report.photos[0].sha256 = civicprobe_model::Sha256::from([0xef; 32]);
    dup.report.evidence.photos = vec![PhotoExif {
        gps: Some(Location::new(29.85, 114.32).unwrap()),
        taken_at: Some(base_time() - Duration::days(3)),
        orientation: Some(6),
        camera: Some("HUAWEI ELS-AN00".into()),
    }];
    dup.report.evidence.flags = vec![EvidenceFlag::FarFromReported {
        photo: 0,
        distance_m: 1100.0,
        threshold_m: 500.0,
    }];
    assert!(store.record_merged(&dup).await.unwrap());
    let uri = format!("/v1/tickets/{}", ev.ticket_id);

    let staff = get(&store, &uri, &a.wenquan).await;
    assert_eq!(staff.status, 200, "{}", staff.body);
    let reports = staff.body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let (first, other) = (&reports[0], &reports[1]);
    assert_eq!(first["report_id"], ev.report.report_id.to_string());
    assert_eq!(first["text"], "井盖有点松");
    assert_eq!(first["courier_id"], a.courier_id.to_string());
    assert!(first.get("merge_reason").is_none() && first.get("distance_m").is_none());
    assert_eq!(first["accuracy_m"], 8.5);
    assert_eq!(other["text"], "井盖整个掉下去了，露出大洞");
    assert_eq!(other["courier_id"], second_id.to_string());
    assert_eq!(other["merge_reason"]["by"], "nearby");
    let d = other["distance_m"].as_f64().unwrap();
    assert!((d - 11.0).abs() < 0.5, "{d}");
    assert_eq!(other["location"]["lat"].as_f64().unwrap(), 29.84 + 11.0 * M);
    assert_eq!(other["accuracy_m"], 4.0);
    assert_eq!(other["photos"][0]["sha256"], "ef".repeat(32));
    let exif = &other["evidence"]["photos"][0];
    assert_eq!(exif["camera"], "HUAWEI ELS-AN00");
    assert_eq!(exif["orientation"], 6);
    assert!(exif["taken_at"].as_str().unwrap().starts_with("2025-05-29"));
    let flag = &other["evidence"]["flags"][0];
    assert_eq!(flag["flag"], "far_from_reported");
    assert_eq!(
        (flag["distance_m"].as_f64(), flag["threshold_m"].as_f64()),
        (Some(1100.0), Some(500.0))
    );
    let supervisor = get(&store, &uri, &a.supervisor).await;
    assert_eq!(supervisor.body["reports"], staff.body["reports"]);

    // The merged courier: their own report, nothing of the first courier's.
    let own = get(&store, &uri, &second).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.get("reports").is_none(), "{}", own.body);
    assert_eq!(own.body["text"], "井盖整个掉下去了，露出大洞");
    let raw = own.body.to_string();
    for secret in [
        "井盖有点松",
        &a.courier_id.to_string(),
        &ev.report.report_id.to_string(),
    ] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    // The opener sees their own words only.
    let opener = get(&store, &uri, &a.courier).await;
    assert_eq!(opener.body["text"], "井盖有点松");
    assert!(!opener.body.to_string().contains("露出大洞"));
}
