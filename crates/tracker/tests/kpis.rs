//! The KPIs on both databases, checked against figures computed by hand
//! on a known data set (below), by office, by month and by week; as JSON,
//! CSV and the terminal table; and the ticket export for a date range as
//! CSV and GeoJSON, with bad ranges refused naming the field.

mod common;

use civicprobe_model::{RejectReason, Role, TicketAction, TicketId};
use civicprobe_tracker::audit::kpi::Rate;
use civicprobe_tracker::audit::Dimension;
use civicprobe_tracker::cli::{run_with_store, AuditArgs, AuditCommand};
use civicprobe_tracker::{Store, Transition};
use common::{actors, base_time, get, opened, post, store};
use serde_json::json;
use time::{Duration, OffsetDateTime};

on_both_databases!(
    kpis_match_the_hand_computed_figures,
    kpis_as_csv_table_and_http,
    export_streams_the_range_as_csv_and_geojson,
);

async fn step(
    store: &Store,
    id: TicketId,
    action: TicketAction,
    received: OffsetDateTime,
    min: i64,
) {
    let current = store.ticket(id).await.unwrap().unwrap();
    let change = Transition {
        action,
        actor: "office:x".into(),
        role: Role::Office,
        at: received + Duration::minutes(min),
        reason: (action == TicketAction::Reject).then_some(RejectReason::NotAHazard),
        note: None,
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
}

/// The reporter's (`fixed`) or the supervisor's verdict over HTTP.
async fn verdict(store: &Store, id: TicketId, token: &str, fixed: bool) {
    let uri = format!("/v1/tickets/{id}/verify");
    let reply = post(store, &uri, token, Some(json!({ "fixed": fixed }))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Acknowledgement is due 30 min after receipt. Wenquan: W1 on time,
/// resolved, the reporter confirms; W2 late, resolved, the reporter says
/// not fixed, acknowledged and resolved again, a supervisor verifies; W3
/// never acknowledged (overdue); W4 rejected; W5 on time, resolved, found
/// not fixed; W6 (received 31 May) on time, resolved. Fushan: F1 on time,
/// resolved, confirmed; F2 on time.
async fn known_data(store: &Store) -> Vec<TicketId> {
    use TicketAction::{Acknowledge, Reject, Resolve};
    let a = actors(store).await;
    let mut ids = Vec::new();
    let plan: [(&str, i64); 8] = [
        ("wenquan", 0),
        ("wenquan", 1),
        ("wenquan", 2),
        ("wenquan", 3),
        ("wenquan", 4),
        ("wenquan", -1440),
        ("fushan", 5),
        ("fushan", 6),
    ];
    for (i, (office, minutes)) in plan.into_iter().enumerate() {
        let received = base_time() + Duration::minutes(minutes);
        let ev = opened(office, a.courier_id, received, Duration::minutes(30));
        assert!(store.record_ticket_opened(&ev).await.unwrap());
        let id = ev.ticket_id;
        ids.push(id);
        let s = |action, min| step(store, id, action, received, min);
        match i {
            0 | 6 => {
                s(Acknowledge, if i == 0 { 10 } else { 5 }).await;
                s(Resolve, 60).await;
                verdict(store, id, &a.courier, true).await;
            }
            1 => {
                s(Acknowledge, 45).await;
                s(Resolve, 60).await;
                verdict(store, id, &a.courier, false).await;
                s(Acknowledge, 70).await;
                s(Resolve, 90).await;
                verdict(store, id, &a.supervisor, true).await;
            }
            3 => s(Reject, 5).await,
            4 => {
                s(Acknowledge, 20).await;
                s(Resolve, 60).await;
                verdict(store, id, &a.courier, false).await;
            }
            5 => {
                s(Acknowledge, 5).await;
                s(Resolve, 60).await;
            }
            7 => s(Acknowledge, 10).await,
            _ => {}
        }
    }
    ids
}

fn rate(count: u64, of: u64) -> Rate {
    Rate {
        count,
        of,
        rate: (of > 0).then(|| count as f64 / of as f64),
    }
}

async fn kpis_match_the_hand_computed_figures(kind: &str) {
    let (_db, store) = store(kind).await;
    known_data(&store).await;
    let by_office = store.kpis(&[Dimension::Office]).await.unwrap();
    let groups: Vec<&str> = by_office.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["fushan", "wenquan"]);
    let (f, w) = (&by_office.groups[0], &by_office.groups[1]);
    assert_eq!((w.tickets, w.rejected), (6, 1));
    assert_eq!(w.response, rate(3, 5), "W1, W5, W6 on time of five due");
    assert_eq!(w.resolution, rate(4, 5));
    assert_eq!(w.rework, rate(2, 4), "W2 and W5 reopened");
    assert_eq!(
        w.satisfaction,
        rate(1, 4),
        "W1 confirmed; W1, W2 ×2, W5 judged"
    );
    assert_eq!((f.tickets, f.rejected), (2, 0));
    assert_eq!(
        (&f.response, &f.resolution, &f.rework, &f.satisfaction),
        (&rate(2, 2), &rate(1, 2), &rate(0, 1), &rate(1, 1))
    );

    let by_month = store.kpis(&[Dimension::Month]).await.unwrap();
    let groups: Vec<&str> = by_month.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["2025-05", "2025-06"]);
    let (may, june) = (&by_month.groups[0], &by_month.groups[1]);
    assert_eq!(may.tickets, 1);
    assert_eq!(may.satisfaction, rate(0, 0));
    assert_eq!(may.satisfaction.rate, None);
    assert_eq!((june.tickets, june.rejected), (7, 1));
    assert_eq!(june.response, rate(4, 6));
    assert_eq!(june.resolution, rate(4, 6));
    assert_eq!(june.rework, rate(2, 4));
    assert_eq!(june.satisfaction, rate(2, 5));

    let by_week = store
        .kpis(&[Dimension::Week, Dimension::Urgent])
        .await
        .unwrap();
    assert_eq!(
        by_week.groups.len(),
        1,
        "31 May and 1 June are both 2025-W22"
    );
    assert_eq!(by_week.groups[0].group, "2025-W22/urgent");
    assert_eq!(by_week.groups[0].tickets, 8);
    assert_eq!(
        by_week.groups[0].response,
        rate(5, 7),
        "W2 late, W3 overdue"
    );
}

async fn kpis_as_csv_table_and_http(kind: &str) {
    let (_db, store) = store(kind).await;
    known_data(&store).await;
    let args = |csv: bool, json: bool| AuditArgs {
        command: Some(AuditCommand::Kpis { json }),
        csv,
        ..AuditArgs::default()
    };
    let mut out = Vec::new();
    run_with_store(&args(true, false), &store, &mut out)
        .await
        .unwrap();
    let csv = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(lines[2], "wenquan,6,1,3,5,0.6,4,5,0.8,2,4,0.5,1,4,0.25");
    let mut out = Vec::new();
    run_with_store(&args(false, false), &store, &mut out)
        .await
        .unwrap();
    let table = String::from_utf8(out).unwrap();
    assert!(
        table.contains("3/5 60%") && table.contains("1/4 25%"),
        "{table}"
    );

    let a = actors_again(&store).await;
    let reply = get(
        &store,
        "/v1/audit/kpis?group_by=office,month",
        &a.supervisor,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["groups"][0]["group"], "fushan/2025-06");
    assert_eq!(reply.body["groups"][2]["group"], "wenquan/2025-06");
    assert_eq!(
        reply.body["groups"][2]["response"],
        json!({"count": 2, "of": 4, "rate": 0.5}),
        "W1 and W5 on time; W2 late, W3 overdue"
    );
    let csv_http = common::get_text(&store, "/v1/audit/kpis?format=csv", &a.supervisor).await;
    assert_eq!(
        csv_http, csv,
        "the same CSV over HTTP and from the command line"
    );
    let reply = get(&store, "/v1/audit/kpis?group_by=weekday", &a.supervisor).await;
    common::assert_problem(&reply, 400, Some("group_by"));
    common::assert_problem(&get(&store, "/v1/audit/kpis", &a.wenquan).await, 403, None);
}

/// Tokens for the HTTP checks (the known data registered the first set).
async fn actors_again(store: &Store) -> common::Actors {
    let (courier_id, courier) = store.add_courier("Wang Lei").await.unwrap();
    common::Actors {
        wenquan: store
            .add_office(&common::office("wenquan"), None)
            .await
            .unwrap(),
        fushan: store
            .add_office(&common::office("fushan"), None)
            .await
            .unwrap(),
        supervisor: store.add_supervisor("zhao").await.unwrap(),
        courier_id,
        courier,
    }
}

async fn export_streams_the_range_as_csv_and_geojson(kind: &str) {
    let (_db, store) = store(kind).await;
    let ids = known_data(&store).await;
    let a = actors_again(&store).await;
    let csv = common::get_text(
        &store,
        "/v1/audit/export?from=2025-06-01&to=2025-06-01",
        &a.supervisor,
    )
    .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("ticket_id,report_id,office_id,category,urgent,state"));
    assert!(!lines[0].contains("courier"), "no courier ids leave");
    assert_eq!(lines.len(), 1 + 7, "the 31 May ticket is outside: {csv}");
    assert!(!csv.contains(&ids[5].to_string()));
    assert!(csv.contains(&format!("{},", ids[3])) && csv.contains(",rejected,"));
    assert!(
        csv.contains("\"井盖缺失 missing manhole cover\"")
            || csv.contains("井盖缺失 missing manhole cover")
    );

    let uri = "/v1/audit/export?format=geojson&from=2025-05-31&to=2025-06-01&office=fushan";
    let geo: serde_json::Value =
        serde_json::from_str(&common::get_text(&store, uri, &a.supervisor).await).unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(
        features[0]["geometry"]["coordinates"],
        json!([114.32, 29.84])
    );
    assert_eq!(features[0]["properties"]["office_id"], "fushan");
    assert_eq!(features[0]["properties"]["verified_by"], "reporter");

    let mut out = Vec::new();
    let args = AuditArgs {
        command: Some(AuditCommand::Export {
            format: "csv".into(),
            from: "2025-05-31".into(),
            to: "2025-05-31".into(),
            office: None,
        }),
        ..AuditArgs::default()
    };
    run_with_store(&args, &store, &mut out).await.unwrap();
    let cli = String::from_utf8(out).unwrap();
    assert_eq!(cli.lines().count(), 2, "{cli}");
    assert!(cli.contains(&ids[5].to_string()));

    let bad = get(
        &store,
        "/v1/audit/export?from=2025-6-1&to=2025-06-01",
        &a.supervisor,
    )
    .await;
    common::assert_problem(&bad, 400, Some("from"));
    let bad = get(
        &store,
        "/v1/audit/export?from=2025-06-02&to=2025-06-01",
        &a.supervisor,
    )
    .await;
    common::assert_problem(&bad, 400, Some("to"));
    let bad = get(
        &store,
        "/v1/audit/export?from=2025-06-01&to=2025-06-01&format=kml",
        &a.supervisor,
    )
    .await;
    common::assert_problem(&bad, 400, Some("format"));
    let bad = get(&store, "/v1/audit/export?to=2025-06-01", &a.supervisor).await;
    common::assert_problem(&bad, 400, Some("from"));
    common::assert_problem(
        &get(
            &store,
            "/v1/audit/export?from=2025-06-01&to=2025-06-01",
            &a.fushan,
        )
        .await,
        403,
        None,
    );
}
