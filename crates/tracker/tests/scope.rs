//! Who may act on and see what, over HTTP on both databases: a merged
//! duplicate's courier sees only their own report; only the opener (or a
//! supervisor) reopens and closes; a resolve cites only an uploaded proof
//! photo; reroutes go only to known offices; supervisors hide photos.

mod common;

use civicprobe_model::{CourierId, OfficeId, TicketMerged, TicketOpened};
use civicprobe_tracker::Store;
use common::{
    actors, assert_problem, base_time, count, get, merged, open_ticket, post, store, unrouted,
    Actors,
};
use serde_json::{json, Value};

on_both_databases!(
    a_merged_courier_sees_only_their_own_report,
    only_the_opener_or_a_supervisor_reopens_and_closes,
    a_resolve_cites_only_a_proof_photo_uploaded_for_the_ticket,
    reroute_and_route_go_only_to_known_offices,
    supervisors_hide_and_unhide_a_photo,
);

/// A ticket opened by `a.courier` in wenquan, a second courier's duplicate
/// merged into it (own text and photo), and that courier's token.
async fn merged_pair(store: &Store, a: &Actors) -> (TicketOpened, TicketMerged, String) {
    let ev = open_ticket(store, "wenquan", a.courier_id).await;
    let (second_id, second) = store.add_courier("second courier").await.unwrap();
    let mut dup = merged(&ev, second_id, false);
    dup.report.text = Some("second courier's words".into());
    dup.report.photos[0].sha256 = civicprobe_model::Sha256::from([0xef; 32]);
    assert!(store.record_merged(&dup).await.unwrap());
    (ev, dup, second)
}

async fn ok(store: &Store, uri: &str, token: &str, body: Value) -> Value {
    let reply = post(store, uri, token, Some(body)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    reply.body
}

async fn a_merged_courier_sees_only_their_own_report(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, dup, second) = merged_pair(&store, &a).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    let note = json!({"note": "crew on the way"});
    ok(&store, &format!("{t}/start"), &a.wenquan, note).await;
    let note = json!({"note": "cover replaced"});
    ok(&store, &format!("{t}/resolve"), &a.wenquan, note).await;
    let first_words = json!({"note": "first courier: still wobbly"});
    ok(&store, &format!("{t}/reopen"), &a.courier, first_words).await;

    let reply = get(&store, &t, &second).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let view = reply.body;
    let raw = view.to_string();
    for secret in [
        a.courier_id.to_string(),
        ev.report.report_id.to_string(),
        ev.report.text.clone().unwrap(),
        ev.report.photos[0].sha256.to_string(),
        "still wobbly".to_owned(),
    ] {
        assert!(!raw.contains(&secret), "{secret} leaked: {raw}");
    }
    assert_eq!(view["report_id"], dup.report.report_id.to_string());
    assert_eq!(view["opened_it"], false);
    assert_eq!(view["text"], "second courier's words");
    assert_eq!(view["photos"][0]["sha256"], "ef".repeat(32));
    assert_eq!(
        (view["state"].as_str(), view["office_id"].as_str()),
        (Some("reopened"), Some("wenquan"))
    );
    assert!(view["deadlines"]["resolve_by"].is_string(), "{view}");
    let events = view["events"].as_array().unwrap();
    assert!(events
        .iter()
        .filter(|e| e["role"] == "courier")
        .all(|e| e.get("actor").is_none()));
    assert!(events.iter().any(|e| e["role"] == "courier"), "{view}");
    assert!(events.iter().any(|e| e["actor"]
        .as_str()
        .is_some_and(|a| a.starts_with("office:wenquan/"))));
    assert!(raw.contains("crew on the way"), "office notes are shown");

    // The opener sees their own report the same way.
    let mine = get(&store, &t, &a.courier).await.body;
    assert_eq!(mine["opened_it"], true);
    assert_eq!(mine["report_id"], ev.report.report_id.to_string());
    assert!(!mine.to_string().contains("second courier's words"));
    // Staff still see the whole ticket.
    let full = get(&store, &t, &a.wenquan).await.body;
    assert_eq!(full["courier_id"], a.courier_id.to_string());
    // And /v1/couriers/me lists the second courier's own report only.
    let me = get(&store, "/v1/couriers/me", &second).await.body;
    assert_eq!(me["reports"].as_array().unwrap().len(), 1);
    assert_eq!(
        me["reports"][0]["report_id"],
        dup.report.report_id.to_string()
    );
    assert!(!me.to_string().contains(&a.courier_id.to_string()));
}

async fn only_the_opener_or_a_supervisor_reopens_and_closes(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, _, second) = merged_pair(&store, &a).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    let resolve = || async {
        ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
        let note = json!({"note": "done"});
        ok(&store, &format!("{t}/resolve"), &a.wenquan, note).await;
    };
    resolve().await;
    let (_, stranger) = store.add_courier("stranger").await.unwrap();
    for action in ["reopen", "close"] {
        let uri = format!("{t}/{action}");
        assert_problem(&post(&store, &uri, &second, None).await, 403, None);
        assert_problem(&post(&store, &uri, &stranger, None).await, 404, None);
    }
    let events = "SELECT COUNT(*) FROM ticket_events";
    let before = count(&store, events).await;
    assert_problem(
        &post(&store, &format!("{t}/close"), &second, None).await,
        403,
        None,
    );
    assert_eq!(count(&store, events).await, before, "no half-write");
    let body = ok(&store, &format!("{t}/reopen"), &a.courier, json!({})).await;
    assert_eq!(body["state"], "reopened");
    resolve().await;
    let body = ok(&store, &format!("{t}/close"), &a.courier, json!({})).await;
    assert_eq!(body["state"], "closed");
    let other = open_ticket(&store, "wenquan", CourierId::new()).await;
    let uri = format!("/v1/tickets/{}", other.ticket_id);
    ok(&store, &format!("{uri}/acknowledge"), &a.wenquan, json!({})).await;
    ok(
        &store,
        &format!("{uri}/resolve"),
        &a.wenquan,
        json!({"note": "x"}),
    )
    .await;
    let body = ok(&store, &format!("{uri}/close"), &a.supervisor, json!({})).await;
    assert_eq!(body["state"], "closed");
}

async fn a_resolve_cites_only_a_proof_photo_uploaded_for_the_ticket(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let other = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(&store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    let this = civicprobe_model::Sha256::from([0xaa; 32]);
    let elsewhere = civicprobe_model::Sha256::from([0xbb; 32]);
    store
        .record_proof_photo(other.ticket_id, elsewhere, "office:wenquan", base_time())
        .await
        .unwrap();
    for sha in [civicprobe_model::Sha256::from([0xcc; 32]), elsewhere] {
        let body = json!({"note": "fixed", "proof_photo_sha256": sha});
        let reply = post(&store, &format!("{t}/resolve"), &a.wenquan, Some(body)).await;
        assert_problem(&reply, 400, Some("proof_photo_sha256"));
    }
    let now = get(&store, &t, &a.wenquan).await.body;
    assert_eq!(
        now["state"], "acknowledged",
        "refused resolves wrote nothing"
    );
    store
        .record_proof_photo(ev.ticket_id, this, "office:wenquan", base_time())
        .await
        .unwrap();
    let body = json!({"note": "fixed", "proof_photo_sha256": this});
    let resolved = ok(&store, &format!("{t}/resolve"), &a.wenquan, body).await;
    assert_eq!(resolved["state"], "resolved");
}

async fn reroute_and_route_go_only_to_known_offices(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}/reroute", ev.ticket_id);
    let nowhere = json!({"office_id": "nowhere"});
    let reply = post(&store, &t, &a.supervisor, Some(nowhere.clone())).await;
    assert_problem(&reply, 400, Some("office_id"));
    let ticket = get(&store, &format!("/v1/tickets/{}", ev.ticket_id), &a.wenquan).await;
    assert_eq!(ticket.status, 200, "still wenquan's");
    assert_eq!(ticket.body["version"], 1);

    let lost = unrouted(a.courier_id);
    store.record_unrouted(&lost).await.unwrap();
    let route = format!("/v1/unrouted/{}/route", lost.report.report_id);
    let reply = post(&store, &route, &a.supervisor, Some(nowhere.clone())).await;
    assert_problem(&reply, 400, Some("office_id"));
    let listed = get(&store, "/v1/unrouted", &a.supervisor).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1, "still unrouted");

    // Offices of a jurisdictions file, once seeded, are known.
    let yongan = OfficeId::parse("yongan").unwrap();
    assert_eq!(store.seed_offices([(&yongan, "永安")]).await.unwrap(), 1);
    let body = ok(&store, &t, &a.supervisor, json!({"office_id": "yongan"})).await;
    assert_eq!(
        (body["office_id"].as_str(), body["office_name"].as_str()),
        (Some("yongan"), Some("永安"))
    );
    let body = ok(
        &store,
        &route,
        &a.supervisor,
        json!({"office_id": "fushan"}),
    )
    .await;
    assert_eq!(body["office_id"], "fushan");
}

async fn supervisors_hide_and_unhide_a_photo(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, dup, _) = merged_pair(&store, &a).await;
    let report = ev.report.report_id;
    let hide = format!("/v1/reports/{report}/photos/0/hide");
    for token in [&a.courier, &a.wenquan] {
        assert_problem(&post(&store, &hide, token, None).await, 403, None);
    }
    let unknown = format!(
        "/v1/reports/{}/photos/0/hide",
        civicprobe_model::ReportId::new()
    );
    assert_problem(
        &post(&store, &unknown, &a.supervisor, None).await,
        404,
        None,
    );
    let beyond = format!("/v1/reports/{report}/photos/1/hide");
    assert_problem(&post(&store, &beyond, &a.supervisor, None).await, 404, None);
    let bad = format!("/v1/reports/{report}/photos/-1/hide");
    assert_problem(
        &post(&store, &bad, &a.supervisor, None).await,
        400,
        Some("n"),
    );
    assert!(store.hidden_photos(report).await.unwrap().is_empty());

    let body = ok(&store, &hide, &a.supervisor, json!({})).await;
    assert_eq!(
        (body["hidden"].as_bool(), body["changed"].as_bool()),
        (Some(true), Some(true))
    );
    let body = ok(&store, &hide, &a.supervisor, json!({})).await;
    assert_eq!(body["changed"], false);
    assert!(store.hidden_photos(report).await.unwrap().contains(&0));
    let merged_photo = format!("/v1/reports/{}/photos/0/hide", dup.report.report_id);
    ok(&store, &merged_photo, &a.supervisor, json!({})).await;
    let unhide = format!("/v1/reports/{report}/photos/0/unhide");
    let body = ok(&store, &unhide, &a.supervisor, json!({})).await;
    assert_eq!(
        (body["hidden"].as_bool(), body["changed"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(store.hidden_photos(report).await.unwrap().is_empty());
    let logged = count(
        &store,
        "SELECT COUNT(*) FROM photo_visibility_log WHERE actor LIKE 'supervisor:%'",
    )
    .await;
    assert_eq!(logged, 4);
}
