//! The points ledger on both databases: awards on verification (never on
//! resolve, issue 13) shared with merged duplicates (none for photo
//! reuse), nothing for rejections, reversals on reopen of what a resolve
//! paid before verification existed, never an update; `GET /v1/couriers/me` and the
//! supervisors' leaderboard.

mod common;

use civicprobe_model::CourierId;
use civicprobe_tracker::Store;
use common::{actors, assert_problem, get, merged, open_ticket, post, store};
use serde_json::{json, Value};

on_both_databases!(
    duplicates_share_reuse_earns_nothing_reopen_reverses,
    couriers_see_their_points_and_supervisors_the_leaderboard,
);

async fn ok(store: &Store, uri: &str, token: &str, body: Value) {
    let reply = post(store, uri, token, Some(body)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
}

async fn points(store: &Store, courier: CourierId) -> i64 {
    store.courier_points(courier).await.unwrap()
}

async fn duplicates_share_reuse_earns_nothing_reopen_reverses(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (second, reuser) = (CourierId::new(), CourierId::new());
    let (third, third_token) = store.add_courier("Zhao Lei").await.unwrap();
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    for (courier, reuse) in [(second, false), (third, false), (reuser, true)] {
        assert!(store
            .record_merged(&merged(&ev, courier, reuse))
            .await
            .unwrap());
    }
    // Redelivery of a merge changes nothing.
    let again = merged(&ev, second, false);
    assert!(store.record_merged(&again).await.unwrap());
    assert!(!store.record_merged(&again).await.unwrap());

    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/resolve"),
        &a.wenquan,
        json!({"note": "fixed"}),
    )
    .await;
    // Verification before points: nothing is paid on resolve.
    for c in [a.courier_id, second, third, reuser] {
        assert_eq!(points(&store, c).await, 0);
    }
    // Not fixed: reopened, still nothing paid and nothing to reverse.
    ok(
        &store,
        &format!("{t}/reopen"),
        &a.courier,
        json!({"reason": "not_fixed"}),
    )
    .await;
    let rows = common::count(&store, "SELECT COUNT(*) FROM points_ledger").await;
    assert_eq!(rows, 0);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{t}/resolve"),
        &a.wenquan,
        json!({"note": "fixed, really"}),
    )
    .await;
    ok(
        &store,
        &format!("{t}/verify"),
        &a.courier,
        json!({"fixed": true}),
    )
    .await;
    // 10 points over 4 eligible reports (second reported twice): 3, 3, 2, 2.
    assert_eq!(points(&store, a.courier_id).await, 3);
    assert_eq!(points(&store, second).await, 3 + 2);
    assert_eq!(points(&store, third).await, 2);
    assert_eq!(points(&store, reuser).await, 0);
    let awards = "SELECT COUNT(*) FROM points_ledger WHERE kind = 'award'";
    assert_eq!(common::count(&store, awards).await, 4);

    // A ticket paid on resolve before verification existed: a reopen
    // reverses what is outstanding, nothing deleted.
    let legacy = open_ticket(&store, "wenquan", third).await;
    let l = format!("/v1/tickets/{}", legacy.ticket_id);
    ok(&store, &format!("{l}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{l}/resolve"),
        &a.wenquan,
        json!({"note": "x"}),
    )
    .await;
    common::exec(
        &store,
        &format!(
            "INSERT INTO points_ledger (entry_id, courier_id, ticket_id, report_id, points, kind, \
             event_id, at) VALUES ('legacy', '{third}', '{}', '{}', 10, 'award', 'e', 0)",
            legacy.ticket_id, legacy.report.report_id
        ),
    )
    .await;
    assert_eq!(points(&store, third).await, 12);
    ok(&store, &format!("{l}/reopen"), &third_token, json!({})).await;
    assert_eq!(points(&store, third).await, 2);
    let reversals = "SELECT COUNT(*) FROM points_ledger WHERE kind = 'reversal'";
    assert_eq!(common::count(&store, reversals).await, 1);

    // A rejected ticket earns nothing.
    let rejected = open_ticket(&store, "wenquan", third).await;
    let uri = format!("/v1/tickets/{}/reject", rejected.ticket_id);
    ok(&store, &uri, &a.wenquan, json!({"reason": "not_a_hazard"})).await;
    assert_eq!(points(&store, third).await, 2);

    // The ledger is never updated in place.
    let update = sqlx::query("UPDATE points_ledger SET points = 100")
        .execute(store.pool())
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM points_ledger")
        .execute(store.pool())
        .await;
    assert!(delete.is_err());
}

async fn couriers_see_their_points_and_supervisors_the_leaderboard(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (dup_id, dup) = store.add_courier("Wang Fang").await.unwrap();
    let first = open_ticket(&store, "wenquan", a.courier_id).await;
    let second = open_ticket(&store, "fushan", a.courier_id).await;
    assert!(store
        .record_merged(&merged(&first, dup_id, false))
        .await
        .unwrap());
    for (ev, office) in [(&first, &a.wenquan), (&second, &a.fushan)] {
        let t = format!("/v1/tickets/{}", ev.ticket_id);
        ok(&store, &format!("{t}/acknowledge"), office, json!({})).await;
        ok(
            &store,
            &format!("{t}/resolve"),
            office,
            json!({"note": "fixed"}),
        )
        .await;
        let me = get(&store, "/v1/couriers/me", &a.courier).await.body;
        assert_eq!(me["points"], 0, "nothing is paid before verification");
    }
    for ev in [&first, &second] {
        let t = format!("/v1/tickets/{}/verify", ev.ticket_id);
        ok(&store, &t, &a.supervisor, json!({"fixed": true})).await;
    }

    let me = get(&store, "/v1/couriers/me", &a.courier).await.body;
    assert_eq!(me["points"], 5 + 10);
    let reports = me["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r["state"] == "closed"));
    let mine = get(&store, "/v1/couriers/me", &dup).await.body;
    assert_eq!(mine["points"], 5);
    assert_eq!(mine["reports"][0]["ticket_id"], first.ticket_id.to_string());
    assert_eq!(mine["reports"][0]["points"], 5);

    let board = get(&store, "/v1/audit/couriers", &a.supervisor).await;
    assert_eq!(board.status, 200, "{}", board.body);
    let rows = board.body["couriers"].as_array().unwrap();
    let summary: Vec<(&str, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["points"].as_i64().unwrap(),
                r["reports"].as_i64().unwrap(),
                r["fixed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("Li Wei", 15, 2, 2), ("Wang Fang", 5, 1, 1)]);
    assert_problem(
        &get(&store, "/v1/audit/couriers", &a.wenquan).await,
        403,
        None,
    );
    assert_problem(
        &get(&store, "/v1/audit/couriers", &a.courier).await,
        403,
        None,
    );
}
