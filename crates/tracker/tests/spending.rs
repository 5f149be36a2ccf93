//! Points spent and taken back, on both databases, under truly
//! simultaneous requests (tasks released together by a barrier, on one
//! pool): the balance never goes below zero, the stock never below zero,
//! and a fraud reversal racing redemptions takes back at most what is
//! left. Also the fraud reversal's own contract.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use civicprobe_model::CourierId;
use civicprobe_tracker::Store;
use common::{actors, assert_problem, count, grant, grant_for, open_ticket, post, store, Reply};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Barrier;

on_both_databases!(
    simultaneous_redemptions_never_overdraw,
    simultaneous_redemptions_never_oversell,
    fraud_reversal_racing_redemptions_keeps_the_balance,
    fraud_reversal_takes_back_what_is_left_once,
    a_reopen_after_spending_takes_back_only_what_is_left,
    a_report_reversed_as_fraud_is_not_paid_when_verified,
);

/// Tasks released at once.
const TASKS: usize = 20;

async fn reward(store: &Store, supervisor: &str, cost: i64, stock: i64) -> String {
    let body = json!({"name": "保温杯 cup", "cost": cost, "stock": stock});
    let reply = post(store, "/v1/rewards", supervisor, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["reward_id"].as_str().unwrap().to_owned()
}

async fn redeem(store: &Store, token: &str, reward_id: &str) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/rewards/{reward_id}/redeem"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    common::send(store, request).await
}

/// Runs every request at once; their replies in order.
async fn all_at_once(
    requests: Vec<(String, Option<String>)>,
    store: &Store,
    reward_id: &str,
    supervisor: &str,
) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(token, reversed_report)| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let (reward_id, supervisor) = (reward_id.to_owned(), supervisor.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                match reversed_report {
                    None => redeem(&store, &token, &reward_id).await,
                    Some(report) => {
                        let uri = format!("/v1/reports/{report}/points/reverse");
                        post(
                            &store,
                            &uri,
                            &supervisor,
                            Some(json!({"reason": "photo staged"})),
                        )
                        .await
                    }
                }
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

fn kinds(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .map(|r| match r.status.as_u16() {
            201 => "201".to_owned(),
            200 => "200".to_owned(),
            _ => r.body["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

fn tally(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

async fn simultaneous_redemptions_never_overdraw(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    grant(&store, a.courier_id, 50).await;
    let reward_id = reward(&store, &a.supervisor, 10, 1000).await;
    let requests = vec![(a.courier.clone(), None); TASKS];
    let replies = all_at_once(requests, &store, &reward_id, &a.supervisor).await;
    let kinds = kinds(&replies);
    assert_eq!(tally(&kinds, "201"), 5, "{kinds:?}");
    assert_eq!(
        tally(&kinds, "/problems/insufficient-points"),
        TASKS - 5,
        "{kinds:?}"
    );
    for r in replies.iter().filter(|r| r.status == 201) {
        assert!(r.body["balance"].as_i64().unwrap() >= 0, "{}", r.body);
    }
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM redemptions").await, 5);
    assert_eq!(count(&store, "SELECT stock FROM rewards").await, 1000 - 5);
    let codes = "SELECT COUNT(DISTINCT pickup_code) FROM redemptions";
    assert_eq!(count(&store, codes).await, 5);
}

async fn simultaneous_redemptions_never_oversell(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let reward_id = reward(&store, &a.supervisor, 10, 7).await;
    let mut requests = Vec::new();
    let mut couriers: Vec<CourierId> = Vec::new();
    for n in 0..TASKS {
        let (id, token) = store.add_courier(&format!("rider {n}")).await.unwrap();
        grant(&store, id, 100).await;
        couriers.push(id);
        requests.push((token, None));
    }
    let replies = all_at_once(requests, &store, &reward_id, &a.supervisor).await;
    let kinds = kinds(&replies);
    assert_eq!(tally(&kinds, "201"), 7, "{kinds:?}");
    assert_eq!(
        tally(&kinds, "/problems/out-of-stock"),
        TASKS - 7,
        "{kinds:?}"
    );
    assert_eq!(count(&store, "SELECT stock FROM rewards").await, 0);
    let mut spent = 0;
    for id in couriers {
        let balance = store.courier_points(id).await.unwrap();
        assert!(balance == 100 || balance == 90, "{balance}");
        spent += 100 - balance;
    }
    assert_eq!(spent, 7 * 10, "each item paid for once");
}

async fn fraud_reversal_racing_redemptions_keeps_the_balance(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let reward_id = reward(&store, &a.supervisor, 10, 1000).await;
    for round in 0..4 {
        let (courier_id, token) = store.add_courier(&format!("rider {round}")).await.unwrap();
        let ticket = open_ticket(&store, "wenquan", courier_id).await;
        let on = Some((ticket.ticket_id, ticket.report.report_id));
        grant_for(&store, courier_id, 10, on).await;
        grant(&store, courier_id, 10).await;
        // 20 points: the report's 10 and 10 more; one reversal, four redemptions.
        let mut requests = vec![(token.clone(), None); 4];
        requests.insert(
            round % 4,
            (String::new(), Some(ticket.report.report_id.to_string())),
        );
        let replies = all_at_once(requests, &store, &reward_id, &a.supervisor).await;
        let kinds = kinds(&replies);
        let reversal = &replies
            .iter()
            .find(|r| r.status == 200)
            .expect("the reversal")
            .body;
        let (reversed, unrecovered) = (
            reversal["reversed"].as_i64().unwrap(),
            reversal["unrecovered"].as_i64().unwrap(),
        );
        let redeemed = i64::try_from(tally(&kinds, "201")).unwrap();
        let balance = store.courier_points(courier_id).await.unwrap();
        assert!(balance >= 0, "round {round}: {balance} {kinds:?}");
        assert_eq!(reversed + unrecovered, 10, "round {round}: {reversal}");
        assert_eq!(
            reversed + 10 * redeemed + balance,
            20,
            "round {round}: {kinds:?} {reversal}"
        );
        assert_eq!(
            balance, 0,
            "round {round}: every point was either spent or reversed"
        );
        assert_eq!(
            tally(&kinds, "/problems/insufficient-points") + tally(&kinds, "201"),
            4
        );
    }
}

async fn fraud_reversal_takes_back_what_is_left_once(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ticket = open_ticket(&store, "wenquan", a.courier_id).await;
    let report = ticket.report.report_id;
    grant_for(&store, a.courier_id, 10, Some((ticket.ticket_id, report))).await;
    let reward_id = reward(&store, &a.supervisor, 6, 5).await;
    assert_eq!(redeem(&store, &a.courier, &reward_id).await.status, 201);

    let uri = format!("/v1/reports/{report}/points/reverse");
    let why = json!({"reason": "同一张照片 reused photo"});
    for token in [&a.courier, &a.wenquan] {
        assert_problem(
            &post(&store, &uri, token, Some(why.clone())).await,
            403,
            None,
        );
    }
    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "x".repeat(501)}),
        json!({"reason": 5}),
        json!({"reason": "staged\u{1}"}),
    ] {
        assert_problem(
            &post(&store, &uri, &a.supervisor, Some(body)).await,
            400,
            Some("reason"),
        );
    }
    let bad_id = post(
        &store,
        "/v1/reports/nope/points/reverse",
        &a.supervisor,
        Some(why.clone()),
    )
    .await;
    assert_problem(&bad_id, 400, Some("report_id"));
    let unknown = format!("/v1/reports/{}/points/reverse", uuid::Uuid::new_v4());
    assert_problem(
        &post(&store, &unknown, &a.supervisor, Some(why.clone())).await,
        404,
        None,
    );

    let first = post(&store, &uri, &a.supervisor, Some(why.clone())).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let expect: Value = json!({
        "report_id": report.to_string(), "courier_id": a.courier_id.to_string(),
        "reversed": 4, "unrecovered": 6, "balance": 0, "already_reversed": false,
    });
    assert_eq!(first.body, expect);
    let second = post(&store, &uri, &a.supervisor, Some(why)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        (
            second.body["reversed"].as_i64(),
            second.body["already_reversed"].as_bool()
        ),
        (Some(0), Some(true))
    );
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 0);
    let entry = "SELECT COUNT(*) FROM points_ledger WHERE kind = 'fraud_reversal' AND points = -4";
    assert_eq!(
        count(&store, &format!("{entry} AND report_id = '{report}'")).await,
        1
    );
    let who = "SELECT COUNT(*) FROM fraud_reversals WHERE actor LIKE 'supervisor:%' \
               AND reason = '同一张照片 reused photo' AND unrecovered = 6";
    assert_eq!(count(&store, who).await, 1);
}

/// Acknowledges and resolves `ticket` as its office.
async fn resolve(store: &Store, office: &str, ticket: &str) {
    let ack = post(
        store,
        &format!("/v1/tickets/{ticket}/acknowledge"),
        office,
        None,
    )
    .await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    let body = json!({"note": "换了新井盖 new cover"});
    let done = post(
        store,
        &format!("/v1/tickets/{ticket}/resolve"),
        office,
        Some(body),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
}

/// A ticket paid on resolve (before verification existed), its points
/// spent, then reopened as not fixed: the reversal takes back what is left,
/// never more.
async fn a_reopen_after_spending_takes_back_only_what_is_left(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ticket = open_ticket(&store, "wenquan", a.courier_id).await;
    let (id, report) = (ticket.ticket_id, ticket.report.report_id);
    resolve(&store, &a.wenquan, &id.to_string()).await;
    grant_for(&store, a.courier_id, 10, Some((id, report))).await;
    let reward_id = reward(&store, &a.supervisor, 6, 5).await;
    assert_eq!(redeem(&store, &a.courier, &reward_id).await.status, 201);

    let verdict = json!({"fixed": false, "note": "井盖还是没有"});
    let reply = post(
        &store,
        &format!("/v1/tickets/{id}/verify"),
        &a.courier,
        Some(verdict),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "reopened", "{}", reply.body);
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 0);
    let taken = "SELECT CAST(SUM(points) AS BIGINT) FROM points_ledger WHERE kind = 'reversal'";
    assert_eq!(count(&store, taken).await, -4);
}

/// A report reversed as fraud before its ticket is verified earns nothing
/// when it is.
async fn a_report_reversed_as_fraud_is_not_paid_when_verified(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ticket = open_ticket(&store, "wenquan", a.courier_id).await;
    let (id, report) = (ticket.ticket_id, ticket.report.report_id);
    resolve(&store, &a.wenquan, &id.to_string()).await;
    let uri = format!("/v1/reports/{report}/points/reverse");
    let why = json!({"reason": "staged photo"});
    let reversed = post(&store, &uri, &a.supervisor, Some(why)).await;
    assert_eq!(reversed.status, 200, "{}", reversed.body);

    let verdict = json!({"fixed": true});
    let reply = post(
        &store,
        &format!("/v1/tickets/{id}/verify"),
        &a.supervisor,
        Some(verdict),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "closed", "{}", reply.body);
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 0);
    let awards = format!(
        "SELECT COUNT(*) FROM points_ledger WHERE kind = 'award' AND report_id = '{report}'"
    );
    assert_eq!(count(&store, &awards).await, 0);
}
