//! Disputes on both databases, over HTTP through `app`, with a mock clock:
//! a `not_our_area` rejection waits in the supervisors' queue and stays on
//! the overdue clock (listed, escalated) until a supervisor reroutes the
//! ticket or upholds the rejection; other rejections open none.

mod common;

use civicprobe_model::TicketId;
use civicprobe_tracker::{Error, MockClock, Store};
use common::{actors, assert_problem, base_time, count, get, open_ticket, post, store, Actors};
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;

on_both_databases!(
    not_our_area_waits_for_a_supervisor_on_the_clock,
    a_reroute_settles_it_and_a_new_rejection_disputes_anew,
    upholding_keeps_it_rejected_and_takes_it_off_the_clock,
    uphold_refuses_bad_calls,
    other_rejections_open_no_dispute,
    uphold_and_a_reroute_raced_one_wins,
);

const NOTE: &str = "路东是福山街道的 the east side is Fushan's";

async fn with_clock(kind: &str) -> (civicprobe_testkit::TestDb, Store, MockClock, Actors) {
    let (db, store) = store(kind).await;
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    let a = actors(&store).await;
    (db, store, clock, a)
}

/// Office wenquan rejects the ticket with `reason`; the ticket JSON.
async fn reject(store: &Store, a: &Actors, id: TicketId, reason: &str) -> Value {
    let body = json!({"reason": reason, "note": NOTE});
    let reply = post(
        store,
        &format!("/v1/tickets/{id}/reject"),
        &a.wenquan,
        Some(body),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// `GET /v1/disputes?state=…` as the supervisor.
async fn disputes(store: &Store, a: &Actors, state: &str) -> Vec<Value> {
    let reply = get(store, &format!("/v1/disputes?state={state}"), &a.supervisor).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], state);
    reply.body["disputes"].as_array().unwrap().clone()
}

/// The ticket ids in `GET /v1/audit/overdue` for `token`.
async fn overdue(store: &Store, token: &str) -> Vec<Value> {
    let reply = get(store, "/v1/audit/overdue", token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["tickets"].as_array().unwrap().clone()
}

async fn uphold(store: &Store, token: &str, id: &str, body: Value) -> common::Reply {
    post(
        store,
        &format!("/v1/disputes/{id}/uphold"),
        token,
        Some(body),
    )
    .await
}

async fn not_our_area_waits_for_a_supervisor_on_the_clock(kind: &str) {
    let (_db, store, clock, a) = with_clock(kind).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    clock.set(base_time() + Duration::minutes(5));
    let ticket = reject(&store, &a, ev.ticket_id, "not_our_area").await;
    assert_eq!(ticket["state"], "rejected");
    assert_eq!(ticket["dispute"]["state"], "open");
    assert_eq!(ticket["dispute"]["office_id"], "wenquan");
    assert_eq!(ticket["dispute"]["note"], NOTE);

    let list = disputes(&store, &a, "open").await;
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d["ticket_id"], ev.ticket_id.to_string());
    assert_eq!(
        (d["office_id"].as_str(), d["office_name"].as_str()),
        (Some("wenquan"), Some("温泉"))
    );
    assert!(
        d["raised_by"]
            .as_str()
            .unwrap()
            .starts_with("office:wenquan"),
        "{d}"
    );
    assert_eq!(d["note"], NOTE);
    assert_eq!(d["ticket"]["category"], "manhole");
    assert_eq!(d["ticket"]["urgent"], true);
    assert!(d["ticket"]["text"].as_str().unwrap().contains("井盖"));
    assert!(d["ticket"]["location"]["lat"].is_number());
    assert!(d["ticket"]["deadlines"]["acknowledge_by"].is_string());
    assert_eq!(d["late_s"], 0, "nothing is due yet");
    assert!(overdue(&store, &a.supervisor).await.is_empty());
    for token in [&a.wenquan, &a.fushan, &a.courier] {
        assert_problem(&get(&store, "/v1/disputes", token).await, 403, None);
    }
    assert_eq!(disputes(&store, &a, "settled").await.len(), 0);

    // Acknowledging was due 30 min after receipt: the rejection does not stop the clock.
    clock.set(base_time() + Duration::minutes(31));
    let late = overdue(&store, &a.supervisor).await;
    assert_eq!(late.len(), 1);
    assert_eq!(
        (late[0]["state"].as_str(), late[0]["disputed"].as_bool()),
        (Some("rejected"), Some(true))
    );
    assert_eq!(late[0]["late_s"], 60);
    let own = overdue(&store, &a.wenquan).await;
    assert_eq!(own.len(), 1, "the rejecting office still sees it");
    assert!(overdue(&store, &a.fushan).await.is_empty());
    assert_eq!(
        store.escalate_overdue().await.unwrap(),
        vec![(ev.ticket_id, "acknowledge")]
    );
    let d = &disputes(&store, &a, "open").await[0];
    assert_eq!(
        (d["late_s"].as_i64(), d["waiting_s"].as_i64()),
        (Some(60), Some(26 * 60))
    );
    assert_eq!(d["breaches"][0]["step"], "acknowledge");
}

async fn a_reroute_settles_it_and_a_new_rejection_disputes_anew(kind: &str) {
    let (_db, store, clock, a) = with_clock(kind).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    reject(&store, &a, ev.ticket_id, "not_our_area").await;
    clock.set(base_time() + Duration::hours(1));
    let uri = format!("/v1/tickets/{}/reroute", ev.ticket_id);
    let body = json!({"office_id": "fushan", "note": "east side of the road"});
    let reply = post(&store, &uri, &a.supervisor, Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        (
            reply.body["state"].as_str(),
            reply.body["office_id"].as_str()
        ),
        (Some("open"), Some("fushan"))
    );
    assert_eq!(reply.body["dispute"]["state"], "settled");
    assert_eq!(reply.body["dispute"]["outcome"], "rerouted");

    assert!(disputes(&store, &a, "open").await.is_empty());
    let settled = disputes(&store, &a, "settled").await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["outcome"], "rerouted");
    assert!(settled[0]["settled_by"]
        .as_str()
        .unwrap()
        .starts_with("supervisor:"));
    assert_eq!(settled[0]["settled_note"], "east side of the road");
    assert_eq!(settled[0]["waiting_s"], 3600);
    assert_eq!(
        settled[0]["office_id"], "wenquan",
        "the office that rejected it"
    );
    // Overdue now counts against fushan, as an ordinary open ticket.
    let late = overdue(&store, &a.fushan).await;
    assert_eq!(
        (late.len(), late[0]["disputed"].as_bool()),
        (1, Some(false))
    );

    // Fushan rejects it too: a second dispute, of fushan's.
    let body = json!({"reason": "not_our_area"});
    let reply = post(
        &store,
        &format!("/v1/tickets/{}/reject", ev.ticket_id),
        &a.fushan,
        Some(body),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let open = disputes(&store, &a, "open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["office_id"].as_str(), open[0]["note"].as_str()),
        (Some("fushan"), None)
    );
    assert_eq!(disputes(&store, &a, "all").await.len(), 2);
    let t = get(
        &store,
        &format!("/v1/tickets/{}", ev.ticket_id),
        &a.supervisor,
    )
    .await;
    assert_eq!(
        (
            t.body["dispute"]["state"].as_str(),
            t.body["dispute"]["office_id"].as_str()
        ),
        (Some("open"), Some("fushan"))
    );
    assert!(store.verify_chain().await.unwrap().is_intact());
}

async fn upholding_keeps_it_rejected_and_takes_it_off_the_clock(kind: &str) {
    let (_db, store, clock, a) = with_clock(kind).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    reject(&store, &a, ev.ticket_id, "not_our_area").await;
    clock.set(base_time() + Duration::minutes(40));
    assert_eq!(overdue(&store, &a.supervisor).await.len(), 1);
    let id = ev.ticket_id.to_string();
    let note = "属于邻区 belongs to the next district";
    let reply = uphold(&store, &a.supervisor, &id, json!({"note": note})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "rejected");
    assert_eq!(
        (
            reply.body["dispute"]["state"].as_str(),
            reply.body["dispute"]["outcome"].as_str()
        ),
        (Some("settled"), Some("upheld"))
    );

    assert!(overdue(&store, &a.supervisor).await.is_empty());
    assert!(overdue(&store, &a.wenquan).await.is_empty());
    clock.set(base_time() + Duration::days(2));
    assert!(
        store.escalate_overdue().await.unwrap().is_empty(),
        "off the clock"
    );
    assert!(disputes(&store, &a, "open").await.is_empty());
    let settled = &disputes(&store, &a, "settled").await[0];
    assert_eq!(
        (
            settled["outcome"].as_str(),
            settled["settled_note"].as_str()
        ),
        (Some("upheld"), Some(note))
    );
    assert_eq!(
        settled["waiting_s"],
        40 * 60,
        "waiting stops at the settlement"
    );

    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.role.as_str()),
        ("dispute_upheld", "supervisor")
    );
    assert!(last.actor.starts_with("supervisor:"));
    assert_eq!(
        (last.note.as_deref(), last.reason.as_deref()),
        (Some(note), Some("not_our_area"))
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE subject LIKE '%.dispute_upheld'"
        )
        .await,
        1
    );
    assert!(store.verify_chain().await.unwrap().is_intact());
}

async fn uphold_refuses_bad_calls(kind: &str) {
    let (_db, store, _clock, a) = with_clock(kind).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let undisputed = open_ticket(&store, "wenquan", a.courier_id).await;
    reject(&store, &a, ev.ticket_id, "not_our_area").await;
    let id = ev.ticket_id.to_string();
    let note = json!({"note": "another district"});
    for body in [
        json!({}),
        json!({"note": "   "}),
        json!({"note": "x".repeat(2001)}),
    ] {
        assert_problem(
            &uphold(&store, &a.supervisor, &id, body).await,
            400,
            Some("note"),
        );
    }
    assert_problem(
        &uphold(&store, &a.supervisor, "not-a-uuid", note.clone()).await,
        400,
        Some("ticket_id"),
    );
    assert_problem(
        &uphold(&store, &a.courier, &id, note.clone()).await,
        403,
        None,
    );
    assert_problem(
        &uphold(&store, &a.wenquan, &id, note.clone()).await,
        403,
        None,
    );
    assert_problem(
        &uphold(
            &store,
            &a.supervisor,
            &TicketId::new().to_string(),
            note.clone(),
        )
        .await,
        404,
        None,
    );
    assert_problem(
        &uphold(
            &store,
            &a.supervisor,
            &undisputed.ticket_id.to_string(),
            note.clone(),
        )
        .await,
        404,
        None,
    );
    assert_problem(
        &get(&store, "/v1/disputes?state=closed", &a.supervisor).await,
        400,
        Some("state"),
    );
    // None of that changed anything.
    assert_eq!(disputes(&store, &a, "open").await.len(), 1);
    assert_eq!(store.ticket_events(ev.ticket_id).await.unwrap().len(), 2);

    assert_eq!(
        uphold(&store, &a.supervisor, &id, note.clone())
            .await
            .status,
        200
    );
    assert_problem(
        &uphold(&store, &a.supervisor, &id, note.clone()).await,
        409,
        None,
    );
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let upheld = events.iter().filter(|e| e.kind == "dispute_upheld");
    assert_eq!((events.len(), upheld.count()), (3, 1), "upheld once");
}

async fn other_rejections_open_no_dispute(kind: &str) {
    let (_db, store, clock, a) = with_clock(kind).await;
    let duplicate = open_ticket(&store, "wenquan", a.courier_id).await;
    let not_a_hazard = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = reject(&store, &a, duplicate.ticket_id, "duplicate").await;
    assert!(t.get("dispute").is_none(), "{t}");
    reject(&store, &a, not_a_hazard.ticket_id, "not_a_hazard").await;
    assert!(disputes(&store, &a, "all").await.is_empty());
    clock.set(base_time() + Duration::hours(3));
    assert!(overdue(&store, &a.supervisor).await.is_empty());
    assert!(store.escalate_overdue().await.unwrap().is_empty());
    assert_problem(
        &uphold(
            &store,
            &a.supervisor,
            &duplicate.ticket_id.to_string(),
            json!({"note": "x"}),
        )
        .await,
        404,
        None,
    );
}

async fn uphold_and_a_reroute_raced_one_wins(kind: &str) {
    let (_db, store, _clock, a) = with_clock(kind).await;
    for _ in 0..4 {
        let ev = open_ticket(&store, "wenquan", a.courier_id).await;
        reject(&store, &a, ev.ticket_id, "not_our_area").await;
        let read = store.ticket(ev.ticket_id).await.unwrap().unwrap();
        let fushan = common::office("fushan");
        let (upheld, rerouted) = tokio::join!(
            store.uphold_dispute(ev.ticket_id, "supervisor:a", "another district"),
            store.reroute(&read, &fushan, "supervisor:b", None),
        );
        let outcome = match (&upheld, &rerouted) {
            (Ok(t), Err(Error::ConcurrentUpdate(_))) => {
                assert_eq!(t.state.as_str(), "rejected");
                "upheld"
            }
            (Err(Error::DisputeSettled(_)), Ok(t)) => {
                assert_eq!(t.office_id.as_str(), "fushan");
                "rerouted"
            }
            other => panic!("not exactly one winner: {other:?}"),
        };
        let mark = store.dispute_mark(ev.ticket_id).await.unwrap().unwrap();
        assert_eq!(mark.outcome.as_deref(), Some(outcome));
    }
    let settled = "SELECT COUNT(*) FROM disputes WHERE settled_at IS NOT NULL";
    assert_eq!(count(&store, settled).await, 4);
    assert!(store.verify_chain().await.unwrap().is_intact());
}
