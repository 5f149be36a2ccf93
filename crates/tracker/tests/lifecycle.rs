//! The whole ticket life cycle over HTTP on both databases: every action
//! is an event with actor, role, time and reason; couriers reopen and
//! confirm their own tickets; supervisors reroute; races lose with 409.

mod common;

use civicprobe_model::{Role, TicketAction, TicketState};
use civicprobe_tracker::{Error, Store, Transition};
use common::{
    actors, assert_problem, base_time, get, merged, office, open_ticket, post, store, unrouted,
};
use serde_json::{json, Value};
use time::Duration;

on_both_databases!(
    a_full_life_records_every_step,
    only_reporters_and_supervisors_reopen_and_close,
    reroute_moves_a_ticket_and_routes_an_unrouted_report,
    every_action_raced_on_a_stale_read_has_one_winner,
    racing_http_actions_one_wins_one_is_409,
);

fn kinds(ticket: &Value) -> Vec<String> {
    ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn ok(store: &Store, uri: &str, token: &str, body: Value) -> Value {
    let reply = post(store, uri, token, Some(body)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    reply.body
}

async fn a_full_life_records_every_step(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/start"),
        &a.wenquan,
        json!({"note": "crew sent"}),
    )
    .await;
    let body = ok(&store, &format!("{t}/make_safe"), &a.wenquan, json!({})).await;
    assert!(body["made_safe_at"].is_string());
    let proof = civicprobe_model::Sha256::from([0xcd; 32]);
    store
        .record_proof_photo(ev.ticket_id, proof, "office:wenquan", base_time())
        .await
        .unwrap();
    let body = json!({"note": "cover replaced", "proof_photo_sha256": proof});
    assert_eq!(
        ok(&store, &format!("{t}/resolve"), &a.wenquan, body).await["state"],
        "resolved"
    );
    let body = ok(
        &store,
        &format!("{t}/reopen"),
        &a.courier,
        json!({"reason": "not_fixed", "note": "still open"}),
    )
    .await;
    assert_eq!(
        (body["state"].as_str(), body["reopen_count"].as_i64()),
        (Some("reopened"), Some(1))
    );
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/resolve"),
        &a.wenquan,
        json!({"note": "welded shut"}),
    )
    .await;
    let body = ok(&store, &format!("{t}/close"), &a.courier, json!({})).await;
    assert_eq!(body["state"], "closed");
    assert!(body["closed_at"].is_string());

    let ticket = get(&store, &t, &a.supervisor).await.body;
    let want = [
        "opened",
        "acknowledged",
        "started",
        "made_safe",
        "resolved",
        "reopened",
        "acknowledged",
        "resolved",
        "verified",
    ];
    assert_eq!(kinds(&ticket), want);
    let events = ticket["events"].as_array().unwrap();
    assert_eq!(events[4]["proof_photo_sha256"], "cd".repeat(32));
    assert_eq!(events[5]["actor"], format!("courier:{}", a.courier_id));
    assert_eq!(events[5]["role"], "courier");
    assert_eq!(events[5]["reason"], "not_fixed");
    assert_eq!(events[8]["reason"], "verified_by_reporter");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i + 1);
        assert!(e["at"].is_string() && e["hash"].as_str().unwrap().len() == 64);
        assert_eq!(e["office_id"], "wenquan");
    }
    // Closed is final; a proof photo must name a stored photo.
    let reply = post(&store, &format!("{t}/reopen"), &a.supervisor, None).await;
    assert_problem(&reply, 409, None);
    assert_eq!(reply.body["state"], "closed");
    let other = open_ticket(&store, "wenquan", a.courier_id).await;
    let uri = format!("/v1/tickets/{}/resolve", other.ticket_id);
    ok(
        &store,
        &format!("/v1/tickets/{}/acknowledge", other.ticket_id),
        &a.wenquan,
        json!({}),
    )
    .await;
    let bad = json!({"note": "x", "proof_photo_sha256": "../../etc/passwd"});
    assert_problem(
        &post(&store, &uri, &a.wenquan, Some(bad)).await,
        400,
        Some("proof_photo_sha256"),
    );
}

async fn only_reporters_and_supervisors_reopen_and_close(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/resolve"),
        &a.wenquan,
        json!({"note": "done"}),
    )
    .await;

    // The office cannot reopen or close; a stranger courier does not see it.
    assert_problem(
        &post(&store, &format!("{t}/reopen"), &a.wenquan, None).await,
        403,
        None,
    );
    assert_problem(
        &post(&store, &format!("{t}/close"), &a.wenquan, None).await,
        403,
        None,
    );
    let (_, stranger) = store.add_courier("stranger").await.unwrap();
    assert_problem(
        &post(&store, &format!("{t}/reopen"), &stranger, None).await,
        404,
        None,
    );
    // Couriers cannot work tickets; reopen takes only not_fixed.
    assert_problem(
        &post(&store, &format!("{t}/start"), &a.courier, None).await,
        403,
        None,
    );
    let wrong = json!({"reason": "changed_my_mind"});
    assert_problem(
        &post(&store, &format!("{t}/reopen"), &a.courier, Some(wrong)).await,
        400,
        Some("reason"),
    );

    // A courier whose duplicate was merged in sees the ticket but may not
    // steer it: 403, not 404 (it is not hidden from them).
    let (dup_id, dup) = store.add_courier("second reporter").await.unwrap();
    assert!(store
        .record_merged(&merged(&ev, dup_id, false))
        .await
        .unwrap());
    for action in ["reopen", "close"] {
        let reply = post(&store, &format!("{t}/{action}"), &dup, None).await;
        assert_problem(&reply, 403, None);
    }
    assert_eq!(get(&store, &t, &dup).await.body["state"], "resolved");
    let body = ok(&store, &format!("{t}/reopen"), &a.supervisor, json!({})).await;
    assert_eq!(body["state"], "reopened");
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/resolve"),
        &a.wenquan,
        json!({"note": "again"}),
    )
    .await;
    let body = ok(&store, &format!("{t}/close"), &a.supervisor, json!({})).await;
    assert_eq!(body["state"], "closed");
    let ticket = get(&store, &t, &dup).await.body;
    let k = kinds(&ticket);
    assert!(k.contains(&"merged".to_owned()), "{k:?}");
    assert_eq!(
        ticket["events"].as_array().unwrap().last().unwrap()["reason"],
        "verified_by_supervisor"
    );
}

async fn reroute_moves_a_ticket_and_routes_an_unrouted_report(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    let to_fushan = json!({"office_id": "fushan", "note": "their side of the road"});
    assert_problem(
        &post(
            &store,
            &format!("{t}/reroute"),
            &a.wenquan,
            Some(to_fushan.clone()),
        )
        .await,
        403,
        None,
    );
    let body = ok(
        &store,
        &format!("{t}/reroute"),
        &a.supervisor,
        to_fushan.clone(),
    )
    .await;
    assert_eq!(
        (body["office_id"].as_str(), body["state"].as_str()),
        (Some("fushan"), Some("open"))
    );
    assert!(body["acknowledged_at"].is_null());
    assert_problem(&get(&store, &t, &a.wenquan).await, 404, None);
    let queue = get(&store, "/v1/offices/fushan/tickets", &a.fushan)
        .await
        .body;
    assert_eq!(queue["tickets"][0]["ticket_id"], ev.ticket_id.to_string());
    let events = get(&store, &t, &a.fushan).await.body["events"].clone();
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["from_office"].as_str()),
        (Some("rerouted"), Some("wenquan"))
    );
    assert_eq!(last["role"], "supervisor");
    assert_problem(
        &post(
            &store,
            &format!("{t}/reroute"),
            &a.supervisor,
            Some(to_fushan),
        )
        .await,
        400,
        Some("office_id"),
    );
    let bad = json!({"office_id": "No.Such"});
    assert_problem(
        &post(&store, &format!("{t}/reroute"), &a.supervisor, Some(bad)).await,
        400,
        Some("office_id"),
    );

    // An unrouted report becomes a ticket of the chosen office, once.
    let lost = unrouted(a.courier_id);
    store.record_unrouted(&lost).await.unwrap();
    let uri = format!("/v1/unrouted/{}/route", lost.report.report_id);
    let body = ok(&store, &uri, &a.supervisor, json!({"office_id": "wenquan"})).await;
    assert_eq!(
        (body["office_id"].as_str(), body["state"].as_str()),
        (Some("wenquan"), Some("open"))
    );
    assert_eq!(body["report_id"], lost.report.report_id.to_string());
    let listed = get(&store, "/v1/unrouted", &a.supervisor).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 0);
    assert_problem(
        &post(
            &store,
            &uri,
            &a.supervisor,
            Some(json!({"office_id": "fushan"})),
        )
        .await,
        409,
        None,
    );
    let missing = format!("/v1/unrouted/{}/route", civicprobe_model::ReportId::new());
    assert_problem(
        &post(
            &store,
            &missing,
            &a.supervisor,
            Some(json!({"office_id": "fushan"})),
        )
        .await,
        404,
        None,
    );
    let me = get(&store, "/v1/couriers/me", &a.courier).await.body;
    let states: Vec<&str> = me["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert!(!states.contains(&"unrouted"), "{me}");
    let new_ticket = format!("/v1/tickets/{}", body["ticket_id"].as_str().unwrap());
    assert_eq!(
        kinds(&get(&store, &new_ticket, &a.courier).await.body),
        ["rerouted"]
    );
}

/// The stale read every racer starts from, for an action needing `state`.
async fn ticket_in(store: &Store, state: TicketState) -> civicprobe_tracker::Ticket {
    let ev = open_ticket(store, "wenquan", civicprobe_model::CourierId::new()).await;
    let path: &[TicketAction] = match state {
        TicketState::Open => &[],
        TicketState::Acknowledged => &[TicketAction::Acknowledge],
        TicketState::Resolved => &[TicketAction::Acknowledge, TicketAction::Resolve],
        other => panic!("{other}"),
    };
    for action in path {
        let current = store.ticket(ev.ticket_id).await.unwrap().unwrap();
        store.apply(&current, &change(*action)).await.unwrap();
    }
    store.ticket(ev.ticket_id).await.unwrap().unwrap()
}

fn change(action: TicketAction) -> Transition {
    Transition {
        action,
        actor: "supervisor:test".into(),
        role: Role::Supervisor,
        at: base_time() + Duration::minutes(5),
        reason: Some(civicprobe_model::RejectReason::NotAHazard),
        note: Some("done".into()),
        proof_photo_sha256: None,
    }
}

async fn every_action_raced_on_a_stale_read_has_one_winner(kind: &str) {
    let (_db, store) = store(kind).await;
    use TicketAction as A;
    let cases = [
        (TicketState::Open, A::Acknowledge),
        (TicketState::Open, A::Reject),
        (TicketState::Acknowledged, A::Start),
        (TicketState::Acknowledged, A::MakeSafe),
        (TicketState::Acknowledged, A::Resolve),
        (TicketState::Resolved, A::Reopen),
        (TicketState::Resolved, A::Verify),
    ];
    for (state, action) in cases {
        let stale = ticket_in(&store, state).await;
        let step = change(action);
        let (x, y) = tokio::join!(store.apply(&stale, &step), store.apply(&stale, &step));
        let lost = [&x, &y]
            .iter()
            .filter(|r| matches!(r, Err(Error::ConcurrentUpdate(_))))
            .count();
        assert!(x.is_ok() != y.is_ok(), "{action}: {x:?} / {y:?}");
        assert_eq!(lost, 1, "{action}");
        let events = store.ticket_events(stale.ticket_id).await.unwrap();
        assert_eq!(events.last().unwrap().kind, action.event_kind());
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind == action.event_kind())
                .count(),
            1
        );
    }
    let stale = ticket_in(&store, TicketState::Open).await;
    let (fushan, yongan) = (office("fushan"), office("yongan"));
    let (x, y) = tokio::join!(
        store.reroute(&stale, &fushan, "supervisor:a", None),
        store.reroute(&stale, &yongan, "supervisor:b", None)
    );
    assert!(x.is_ok() != y.is_ok(), "{x:?} / {y:?}");
    assert!(matches!(
        (&x, &y),
        (Err(Error::ConcurrentUpdate(_)), _) | (_, Err(Error::ConcurrentUpdate(_)))
    ));
}

async fn racing_http_actions_one_wins_one_is_409(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    for (setup, action, body) in [
        (vec![], "reject", json!({"reason": "duplicate"})),
        (vec!["acknowledge"], "start", json!({})),
        (vec!["acknowledge", "resolve"], "close", json!({})),
        (vec!["acknowledge", "resolve"], "reopen", json!({})),
    ] {
        let ev = open_ticket(&store, "wenquan", a.courier_id).await;
        let t = format!("/v1/tickets/{}", ev.ticket_id);
        for step in setup {
            ok(
                &store,
                &format!("{t}/{step}"),
                &a.supervisor,
                json!({"note": "n"}),
            )
            .await;
        }
        let uri = format!("{t}/{action}");
        let (x, y) = tokio::join!(
            post(&store, &uri, &a.supervisor, Some(body.clone())),
            post(&store, &uri, &a.supervisor, Some(body.clone()))
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{action}: {} / {}", x.body, y.body);
    }
}
