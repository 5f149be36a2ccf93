//! The rewards catalogue and redeeming, on both databases: supervisors
//! keep the catalogue (checked field by field), couriers see the active
//! rewards with their balance and redeem them for a pickup code, once per
//! `Idempotency-Key`; refusals are problem+json; supervisors list and hand
//! over pickups. The races are in `redemption_races.rs`.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use civicprobe_tracker::Store;
use common::{actors, assert_problem, call, count, get, post, store, Reply};
use serde_json::{json, Value};

on_both_databases!(
    supervisors_keep_the_catalogue_field_by_field,
    couriers_see_active_rewards_and_their_balance,
    a_redemption_books_once_per_key,
    redemptions_refuse_what_cannot_be_had,
    supervisors_list_and_hand_over_pickups,
);

async fn create(store: &Store, supervisor: &str, name: &str, cost: i64, stock: i64) -> Value {
    let body = json!({"name": name, "cost": cost, "stock": stock});
    let reply = post(store, "/v1/rewards", supervisor, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

async fn patch(store: &Store, uri: &str, token: &str, body: Value) -> Reply {
    call(store, Method::PATCH, uri, Some(token), Some(body)).await
}

/// `POST /v1/rewards/{id}/redeem`, with an `Idempotency-Key` if given.
async fn redeem(store: &Store, token: &str, reward: &Value, key: Option<&str>) -> Reply {
    let uri = format!(
        "/v1/rewards/{}/redeem",
        reward["reward_id"].as_str().unwrap()
    );
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    common::send(store, request.body(Body::empty()).unwrap()).await
}

async fn supervisors_keep_the_catalogue_field_by_field(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let cup = create(&store, &a.supervisor, "  保温杯 Thermos cup ", 30, 5).await;
    assert_eq!(cup["name"], "保温杯 Thermos cup");
    assert_eq!(
        (cup["cost"].as_i64(), cup["stock"].as_i64()),
        (Some(30), Some(5))
    );
    assert_eq!(cup["retired"], false);
    assert!(cup["created_at"].is_string() && cup["updated_at"].is_string());

    for (body, field) in [
        (json!({"name": " ", "cost": 5, "stock": 1}), "name"),
        (
            json!({"name": "奖".repeat(81), "cost": 5, "stock": 1}),
            "name",
        ),
        (json!({"cost": 5, "stock": 1}), "name"),
        (json!({"name": "cup", "cost": 0, "stock": 1}), "cost"),
        (json!({"name": "cup", "cost": 100_001, "stock": 1}), "cost"),
        (json!({"name": "cup", "cost": "ten", "stock": 1}), "cost"),
        (json!({"name": "cup", "cost": 5, "stock": -1}), "stock"),
        (
            json!({"name": "cup", "cost": 5, "stock": 1_000_001}),
            "stock",
        ),
        (json!({"name": "cup", "cost": 5}), "stock"),
        (json!(["not", "an", "object"]), "body"),
    ] {
        let reply = post(&store, "/v1/rewards", &a.supervisor, Some(body.clone())).await;
        assert_problem(&reply, 400, Some(field));
        assert!(reply.body["detail"].is_string(), "{body}: {}", reply.body);
    }
    bounds_are_accepted(&store, &a.supervisor).await;
    for token in [&a.courier, &a.wenquan] {
        let body = json!({"name": "cup", "cost": 5, "stock": 1});
        assert_problem(
            &post(&store, "/v1/rewards", token, Some(body)).await,
            403,
            None,
        );
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rewards").await, 3);

    let uri = format!("/v1/rewards/{}", cup["reward_id"].as_str().unwrap());
    let changed = patch(&store, &uri, &a.supervisor, json!({"stock": 0, "cost": 45})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            changed.body["cost"].as_i64(),
            changed.body["stock"].as_i64()
        ),
        (Some(45), Some(0))
    );
    assert_eq!(
        changed.body["name"], "保温杯 Thermos cup",
        "untouched fields stay"
    );
    let renamed = patch(
        &store,
        &uri,
        &a.supervisor,
        json!({"name": " 不锈钢保温杯 "}),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "不锈钢保温杯");
    assert_eq!(
        (
            renamed.body["cost"].as_i64(),
            renamed.body["stock"].as_i64()
        ),
        (Some(45), Some(0))
    );
    assert_problem(
        &patch(&store, &uri, &a.supervisor, json!({})).await,
        400,
        Some("body"),
    );
    assert_problem(
        &patch(&store, &uri, &a.supervisor, json!({"cost": -1})).await,
        400,
        Some("cost"),
    );
    assert_problem(
        &patch(&store, &uri, &a.courier, json!({"stock": 9})).await,
        403,
        None,
    );
    let unknown = format!("/v1/rewards/{}", uuid::Uuid::new_v4());
    assert_problem(
        &patch(&store, &unknown, &a.supervisor, json!({"stock": 9})).await,
        404,
        None,
    );
    assert_problem(
        &patch(
            &store,
            "/v1/rewards/nope",
            &a.supervisor,
            json!({"stock": 9}),
        )
        .await,
        400,
        Some("reward_id"),
    );

    let retired = post(&store, &format!("{uri}/retire"), &a.supervisor, None).await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    assert_eq!(retired.body["retired"], true);
    assert_problem(
        &post(&store, &format!("{uri}/retire"), &a.wenquan, None).await,
        403,
        None,
    );
    let unknown_retire = format!("/v1/rewards/{}/retire", uuid::Uuid::new_v4());
    assert_problem(
        &post(&store, &unknown_retire, &a.supervisor, None).await,
        404,
        None,
    );
}

/// The bounds themselves are accepted: 80 characters, cost 1 and 100000,
/// stock 0 and 1000000.
async fn bounds_are_accepted(store: &Store, supervisor: &str) {
    let low = create(store, supervisor, &"奖".repeat(80), 1, 0).await;
    assert_eq!(low["name"].as_str().unwrap().chars().count(), 80);
    let high = create(store, supervisor, "雨衣 raincoat", 100_000, 1_000_000).await;
    assert_eq!(
        (high["cost"].as_i64(), high["stock"].as_i64()),
        (Some(100_000), Some(1_000_000))
    );
}

async fn couriers_see_active_rewards_and_their_balance(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    common::grant(&store, a.courier_id, 42).await;
    let cup = create(&store, &a.supervisor, "保温杯", 30, 5).await;
    let old = create(&store, &a.supervisor, "旧雨衣", 10, 5).await;
    let uri = format!("/v1/rewards/{}/retire", old["reward_id"].as_str().unwrap());
    assert_eq!(post(&store, &uri, &a.supervisor, None).await.status, 200);

    let mine = get(&store, "/v1/rewards", &a.courier).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["balance"], 42);
    let names: Vec<&str> = mine.body["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["保温杯"], "retired rewards are not offered");
    assert_eq!(mine.body["rewards"][0]["reward_id"], cup["reward_id"]);

    let all = get(&store, "/v1/rewards", &a.supervisor).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body["balance"].is_null());
    let flags: Vec<bool> = all.body["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["retired"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true]);
    assert_problem(&get(&store, "/v1/rewards", &a.wenquan).await, 403, None);
    let anonymous = call(&store, Method::GET, "/v1/rewards", None, None).await;
    assert_problem(&anonymous, 401, None);
}

async fn a_redemption_books_once_per_key(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    common::grant(&store, a.courier_id, 100).await;
    let cup = create(&store, &a.supervisor, "保温杯", 30, 5).await;
    let first = redeem(&store, &a.courier, &cup, Some("tap-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let code = first.body["pickup_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert_eq!(first.body["balance"], 70);
    assert_eq!(
        (
            first.body["cost"].as_i64(),
            first.body["reward_name"].as_str()
        ),
        (Some(30), Some("保温杯"))
    );
    assert_eq!(first.body["reward_id"], cup["reward_id"]);
    assert!(first.body["at"].is_string() && first.body["redemption_id"].is_string());

    let again = redeem(&store, &a.courier, &cup, Some("tap-1")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    for field in ["redemption_id", "pickup_code", "at", "cost"] {
        assert_eq!(again.body[field], first.body[field], "{field}");
    }
    assert_eq!(again.body["balance"], 70);
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 70);
    let spent = "SELECT COUNT(*) FROM points_ledger WHERE kind = 'redemption' AND points = -30";
    assert_eq!(count(&store, spent).await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM redemptions").await, 1);
    assert_eq!(count(&store, "SELECT stock FROM rewards").await, 4);

    // Another key is another redemption; the same key for another reward is refused.
    let second = redeem(&store, &a.courier, &cup, Some("tap-2")).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["balance"], 40);
    assert_ne!(second.body["pickup_code"], first.body["pickup_code"]);
    let other = create(&store, &a.supervisor, "雨衣", 5, 5).await;
    assert_problem(
        &redeem(&store, &a.courier, &other, Some("tap-1")).await,
        400,
        Some("Idempotency-Key"),
    );
    let unkeyed = redeem(&store, &a.courier, &other, None).await;
    assert_eq!(unkeyed.status, 201, "{}", unkeyed.body);
    assert_eq!(unkeyed.body["balance"], 35);
    let long_key = "k".repeat(129);
    assert_problem(
        &redeem(&store, &a.courier, &other, Some(&long_key)).await,
        400,
        Some("Idempotency-Key"),
    );
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 35);
}

async fn redemptions_refuse_what_cannot_be_had(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    common::grant(&store, a.courier_id, 20).await;
    let dear = create(&store, &a.supervisor, "电动车头盔 helmet", 80, 5).await;
    let poor = redeem(&store, &a.courier, &dear, None).await;
    assert_problem(&poor, 409, None);
    assert_eq!(poor.body["type"], "/problems/insufficient-points");
    assert_eq!(
        (poor.body["balance"].as_i64(), poor.body["cost"].as_i64()),
        (Some(20), Some(80))
    );

    let gone = create(&store, &a.supervisor, "雨衣", 5, 0).await;
    let sold_out = redeem(&store, &a.courier, &gone, None).await;
    assert_problem(&sold_out, 409, None);
    assert_eq!(sold_out.body["type"], "/problems/out-of-stock");

    let old = create(&store, &a.supervisor, "旧款", 5, 3).await;
    let uri = format!("/v1/rewards/{}/retire", old["reward_id"].as_str().unwrap());
    assert_eq!(post(&store, &uri, &a.supervisor, None).await.status, 200);
    let retired = redeem(&store, &a.courier, &old, None).await;
    assert_problem(&retired, 409, None);
    assert_eq!(retired.body["type"], "/problems/reward-retired");

    let unknown = json!({"reward_id": uuid::Uuid::new_v4().to_string()});
    assert_problem(&redeem(&store, &a.courier, &unknown, None).await, 404, None);
    let cheap = create(&store, &a.supervisor, "贴纸", 5, 3).await;
    for token in [&a.wenquan, &a.supervisor] {
        assert_problem(&redeem(&store, token, &cheap, None).await, 403, None);
    }
    // Nothing above booked or took anything.
    assert_eq!(store.courier_points(a.courier_id).await.unwrap(), 20);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM redemptions").await, 0);
    assert_eq!(
        count(&store, "SELECT CAST(SUM(stock) AS BIGINT) FROM rewards").await,
        5 + 3 + 3
    );
}

async fn supervisors_list_and_hand_over_pickups(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (other_id, other) = store.add_courier("Wang Fang").await.unwrap();
    common::grant(&store, a.courier_id, 50).await;
    common::grant(&store, other_id, 50).await;
    let cup = create(&store, &a.supervisor, "保温杯", 10, 10).await;
    let mine = redeem(&store, &a.courier, &cup, None).await.body;
    let theirs = redeem(&store, &other, &cup, None).await.body;
    let latest = redeem(&store, &a.courier, &cup, None).await.body;

    let own = get(&store, "/v1/redemptions", &a.courier).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let ids: Vec<&Value> = own.body["redemptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["redemption_id"])
        .collect();
    assert_eq!(
        ids,
        [&latest["redemption_id"], &mine["redemption_id"]],
        "their own, newest first"
    );
    assert!(!own.body.to_string().contains(&other_id.to_string()));
    assert!(own.body["redemptions"][0]["courier_id"].is_null());

    let all = get(&store, "/v1/redemptions", &a.supervisor).await.body;
    let rows = all["redemptions"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["redemption_id"], theirs["redemption_id"]);
    assert_eq!(rows[1]["courier_id"], other_id.to_string());
    assert_eq!(rows[1]["courier_name"], "Wang Fang");
    assert_eq!(rows[1]["pickup_code"], theirs["pickup_code"]);
    let one = get(&store, "/v1/redemptions?limit=1", &a.supervisor)
        .await
        .body;
    assert_eq!(one["redemptions"].as_array().unwrap().len(), 1);
    for bad in ["0", "1001", "x"] {
        let reply = get(
            &store,
            &format!("/v1/redemptions?limit={bad}"),
            &a.supervisor,
        )
        .await;
        assert_problem(&reply, 400, Some("limit"));
    }
    assert_problem(&get(&store, "/v1/redemptions", &a.wenquan).await, 403, None);

    let collect = format!(
        "/v1/redemptions/{}/collect",
        theirs["redemption_id"].as_str().unwrap()
    );
    assert_problem(&post(&store, &collect, &other, None).await, 403, None);
    let handed = post(&store, &collect, &a.supervisor, None).await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    assert!(handed.body["collected_at"].is_string());
    let twice = post(&store, &collect, &a.supervisor, None).await;
    assert_problem(&twice, 409, None);
    assert_eq!(twice.body["type"], "/problems/already-collected");
    let unknown = format!("/v1/redemptions/{}/collect", uuid::Uuid::new_v4());
    assert_problem(
        &post(&store, &unknown, &a.supervisor, None).await,
        404,
        None,
    );
    let listed = get(&store, "/v1/redemptions", &other).await.body;
    assert!(listed["redemptions"][0]["collected_at"].is_string());
}
