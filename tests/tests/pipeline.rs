//! Courier → ingest → router → tracker → office → audit, end to end, on a
//! real nats-server with SQLite and with PostgreSQL.

mod support;

use civicprobe_model::nats::{REPORTS_STREAM, TICKETS_STREAM};
use civicprobe_testkit::photos;
use serde_json::{json, Value};
use support::{items, Harness, FUSHAN, OUTSIDE, WENQUAN};

on_both_databases!(
    reports_become_tickets_that_offices_handle_and_the_audit_counts,
    a_point_outside_the_district_lands_in_unrouted,
    a_malformed_photo_gets_a_4xx_and_nothing_reaches_nats,
    one_idempotency_key_sent_twice_yields_one_ticket,
    an_office_cannot_see_another_offices_ticket,
);

fn ticket_ids(queue: &Value) -> Vec<String> {
    items(queue)
        .iter()
        .filter_map(|t| t["ticket_id"].as_str().map(str::to_owned))
        .collect()
}

async fn reports_become_tickets_that_offices_handle_and_the_audit_counts(
    db: &str,
) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let fushan = h.office_token("fushan").await?;

    let (s1, r1) = h
        .submit(
            &uuid_key("k-1"),
            WENQUAN,
            "井盖没了 manhole cover missing",
            photos::jpeg(640, 480),
        )
        .await?;
    let (s2, _) = h
        .submit(
            &uuid_key("k-2"),
            WENQUAN,
            "电梯困人 people trapped in lift",
            photos::png(320, 240),
        )
        .await?;
    let (s3, _) = h
        .submit(
            &uuid_key("k-3"),
            FUSHAN,
            "配电箱冒烟 electrical box smoking",
            photos::jpeg(800, 600),
        )
        .await?;
    assert_eq!((s1, s2, s3), (202, 202, 202), "{r1}");
    assert!(r1["report_id"].as_str().is_some(), "{r1}");

    let queue = h
        .wait_for(&wenquan, "/v1/offices/wenquan/tickets", |q| {
            items(q).len() == 2
        })
        .await?;
    let fushan_queue = h
        .wait_for(&fushan, "/v1/offices/fushan/tickets", |q| {
            items(q).len() == 1
        })
        .await?;
    assert_eq!(items(&fushan_queue)[0]["category"], "electrical_box");
    let tickets = items(&queue);
    let categories: Vec<&str> = tickets
        .iter()
        .filter_map(|t| t["category"].as_str())
        .collect();
    assert!(
        categories.contains(&"manhole") && categories.contains(&"elevator"),
        "{queue}"
    );

    let manhole = items(&queue)
        .into_iter()
        .find(|t| t["category"] == "manhole")
        .expect("a manhole ticket");
    let id = manhole["ticket_id"].as_str().expect("ticket_id");
    let (status, acked) = h
        .post(
            &wenquan,
            &format!("/v1/tickets/{id}/acknowledge"),
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    let (status, resolved) = h
        .post(
            &wenquan,
            &format!("/v1/tickets/{id}/resolve"),
            json!({"note": "新井盖已安装"}),
        )
        .await?;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["state"], "resolved");

    let (status, ticket) = h.get(&wenquan, &format!("/v1/tickets/{id}")).await?;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["opened", "acknowledged", "resolved"], "{ticket}");
    assert!(ticket["events"][1]["actor"]
        .as_str()
        .unwrap_or("")
        .contains("wenquan"));

    let (status, audit) = h
        .get(
            &h.supervisor_token,
            "/v1/audit/response-times?group_by=office",
        )
        .await?;
    assert_eq!(status, 200, "{audit}");
    let groups = items(&audit)
        .into_iter()
        .chain(audit["groups"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<_>>();
    let wq = groups
        .iter()
        .find(|g| g["group"] == "wenquan")
        .expect("wenquan group");
    assert_eq!(wq["count"], 2, "{audit}");
    assert_eq!(wq["acknowledge"]["count"], 1, "{audit}");
    assert_eq!(wq["resolve"]["count"], 1, "{audit}");
    assert!(wq["resolve"]["median_s"].as_f64().expect("median") >= 0.0);
    let fs = groups
        .iter()
        .find(|g| g["group"] == "fushan")
        .expect("fushan group");
    assert_eq!(fs["acknowledge"]["count"], 0, "{audit}");

    // The office's action was refused by an office that is not its own and
    // by a courier; the audit is for supervisors only.
    let (status, _) = h
        .get(&wenquan, "/v1/audit/response-times?group_by=office")
        .await?;
    assert_eq!(status, 403);
    h.stop().await
}

async fn a_point_outside_the_district_lands_in_unrouted(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let (status, body) = h
        .submit(
            &uuid_key("far"),
            OUTSIDE,
            "manhole open",
            photos::jpeg(64, 64),
        )
        .await?;
    assert_eq!(status, 202, "{body}");
    let report_id = body["report_id"].as_str().expect("report_id").to_owned();
    let unrouted = h
        .wait_for(&h.supervisor_token, "/v1/unrouted", |u| {
            !items(u).is_empty()
        })
        .await?;
    assert_eq!(items(&unrouted).len(), 1);
    assert_eq!(items(&unrouted)[0]["report_id"], report_id.as_str());
    // No office got it.
    let wenquan = h.office_token("wenquan").await?;
    let (_, queue) = h.get(&wenquan, "/v1/offices/wenquan/tickets").await?;
    assert!(items(&queue).is_empty(), "{queue}");
    h.stop().await
}

async fn a_malformed_photo_gets_a_4xx_and_nothing_reaches_nats(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    for (key, photo) in [
        ("bad-1", photos::truncated_jpeg()),
        ("bad-2", photos::not_a_photo()),
        ("bad-3", Vec::new()),
    ] {
        let (status, body) = h.submit(&uuid_key(key), WENQUAN, "井盖", photo).await?;
        assert!((400..500).contains(&status), "{key}: {status} {body}");
        assert_eq!(body["field"], "photo", "{key}: {body}");
        assert!(body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")));
    }
    let (status, body) = h
        .submit(
            &uuid_key("bad-4"),
            (95.0, 114.3),
            "井盖",
            photos::jpeg(64, 64),
        )
        .await?;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("lat")),
        "{body}"
    );
    assert_eq!(h.stream_messages(REPORTS_STREAM).await?, 0);
    assert_eq!(h.stream_messages(TICKETS_STREAM).await?, 0);
    h.stop().await
}

async fn one_idempotency_key_sent_twice_yields_one_ticket(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let photo = photos::jpeg(320, 240);
    let (s1, first) = h
        .submit(&uuid_key("same-key"), WENQUAN, "井盖缺失", photo.clone())
        .await?;
    let (s2, second) = h
        .submit(&uuid_key("same-key"), WENQUAN, "井盖缺失", photo)
        .await?;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["report_id"], second["report_id"]);
    let queue = h
        .wait_for(&wenquan, "/v1/offices/wenquan/tickets", |q| {
            !items(q).is_empty()
        })
        .await?;
    // A different key is a different report: wait for it, so that a second
    // ticket from the retry would have arrived by then too.
    let (s3, _) = h
        .submit(
            &uuid_key("other-key"),
            WENQUAN,
            "电梯故障",
            photos::jpeg(32, 32),
        )
        .await?;
    assert_eq!(s3, 202);
    let queue_after = h
        .wait_for(&wenquan, "/v1/offices/wenquan/tickets", |q| {
            items(q).len() >= 2
        })
        .await?;
    assert_eq!(ticket_ids(&queue_after).len(), 2, "{queue_after}");
    assert!(ticket_ids(&queue_after).contains(&ticket_ids(&queue)[0]));
    assert_eq!(h.stream_messages(REPORTS_STREAM).await?, 2);
    h.stop().await
}

async fn an_office_cannot_see_another_offices_ticket(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let fushan = h.office_token("fushan").await?;
    let (status, _) = h
        .submit(&uuid_key("w"), WENQUAN, "井盖", photos::jpeg(64, 64))
        .await?;
    assert_eq!(status, 202);
    let queue = h
        .wait_for(&wenquan, "/v1/offices/wenquan/tickets", |q| {
            items(q).len() == 1
        })
        .await?;
    let id = ticket_ids(&queue).remove(0);

    let (status, body) = h.get(&fushan, &format!("/v1/tickets/{id}")).await?;
    assert_eq!(status, 404, "{body}");
    let (status, _) = h.get(&fushan, "/v1/offices/wenquan/tickets").await?;
    assert_eq!(status, 404);
    let (status, _) = h
        .post(&fushan, &format!("/v1/tickets/{id}/acknowledge"), json!({}))
        .await?;
    assert_eq!(status, 404);
    let (status, _) = h
        .get(&h.courier_token, "/v1/offices/wenquan/tickets")
        .await?;
    assert!(status == 403 || status == 404, "{status}");
    let (status, _) = h.get("not-a-token", "/v1/offices/wenquan/tickets").await?;
    assert_eq!(status, 401);
    // The ticket is untouched and still visible to its own office.
    let (status, ticket) = h.get(&wenquan, &format!("/v1/tickets/{id}")).await?;
    assert_eq!((status, ticket["state"].as_str()), (200, Some("open")));
    h.stop().await
}

/// Ingest requires UUID `Idempotency-Key`s: a fixed one per name.
fn uuid_key(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}
