//! Corrections and evidence end to end, on both databases, against a real
//! nats-server: a routine report ("井盖有点松") then an urgent duplicate
//! 11 m away ("井盖整个掉下去了，露出大洞") leave one urgent ticket with the
//! policy file's urgent deadlines; the office sees both reports with the
//! camera, GPS and flags ingest read; the office re-triages the ticket.

#[allow(dead_code)]
mod support;

use civicprobe_testkit::photos;
use serde_json::{json, Value};
use support::{items, Harness, WENQUAN};

on_both_databases!(an_urgent_duplicate_tightens_the_ticket_and_the_office_corrects_it);

/// Degrees of latitude per metre.
const M: f64 = 1.0 / 111_195.0;

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A JPEG whose EXIF names a Huawei phone, a position 1.1 km north of
/// Wenquan's point and a time long before today.
fn huawei_photo() -> Vec<u8> {
    use civicprobe_ingest::photo::exif::{phone_app1, with_app1};
    with_app1(
        &photos::jpeg(640, 480),
        &phone_app1((WENQUAN.0 + 0.01, WENQUAN.1)),
    )
}

/// Whole minutes between two RFC 3339 times.
fn minutes_between(from: &Value, to: &Value) -> i64 {
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc3339")
    };
    (parse(to) - parse(from)).whole_minutes()
}

async fn an_urgent_duplicate_tightens_the_ticket_and_the_office_corrects_it(
    db: &str,
) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let (status, body) = h
        .submit(&key(), WENQUAN, "井盖有点松", photos::jpeg(320, 240))
        .await?;
    assert_eq!(status, 202, "{body}");
    let queue = "/v1/offices/wenquan/tickets";
    let first = h.wait_for(&wenquan, queue, |q| items(q).len() == 1).await?;
    let ticket = items(&first)[0].clone();
    assert_eq!(ticket["category"], "manhole", "{ticket}");
    assert_eq!(ticket["urgent"], false, "the classifier: routine");
    let received = &ticket["received_at"];
    // fixtures/policy.toml: a routine manhole is acknowledged within 4 h.
    assert_eq!(
        minutes_between(received, &ticket["deadlines"]["acknowledge_by"]),
        240
    );

    let second = h.stack.store.add_courier("second").await?;
    let near = (WENQUAN.0 + 11.0 * M, WENQUAN.1);
    let text = "井盖整个掉下去了，露出大洞";
    let (status, body) = h
        .submit_as(&second.1, &key(), near, text, huawei_photo())
        .await?;
    assert_eq!(status, 202, "{body}");
    let t = format!("/v1/tickets/{}", ticket["ticket_id"].as_str().expect("id"));
    let urgent = h.wait_for(&wenquan, &t, |t| t["urgent"] == true).await?;
    assert_eq!(items(&h.get(&wenquan, queue).await?.1).len(), 1, "merged");
    let deadlines = &urgent["deadlines"];
    assert_eq!(minutes_between(received, &deadlines["acknowledge_by"]), 15);
    // The policy file's urgent manhole: make safe within 1 h (the built-in
    // default is 2 h), so the tracker uses the file the router loaded.
    assert_eq!(minutes_between(received, &deadlines["make_safe_by"]), 60);
    let triaged: Vec<&Value> = urgent["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "triaged")
        .collect();
    assert_eq!(triaged.len(), 1, "{urgent}");
    assert_eq!(triaged[0]["reason"], "urgent_duplicate");
    assert_eq!(triaged[0]["actor"], "router");

    // Both reports, with what ingest read from the second one's photo.
    let reports = urgent["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 2, "{urgent}");
    assert_eq!(reports[0]["text"], "井盖有点松");
    assert_eq!(reports[1]["text"], text);
    assert_eq!(reports[1]["courier_id"], second.0.to_string());
    let d = reports[1]["distance_m"].as_f64().expect("distance");
    assert!((d - 11.0).abs() < 1.0, "{d}");
    let evidence = &reports[1]["evidence"];
    assert_eq!(
        evidence["photos"][0]["camera"], "HUAWEI ELS-AN00",
        "{evidence}"
    );
    assert!(
        evidence["photos"][0]["gps"]["lat"].as_f64().is_some(),
        "{evidence}"
    );
    let flags: Vec<&str> = evidence["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(|f| f["flag"].as_str())
        .collect();
    assert!(flags.contains(&"far_from_reported"), "{evidence}");
    assert!(flags.contains(&"taken_long_before"), "{evidence}");

    // The office corrects the category; the router's index follows.
    let body = json!({"category": "other", "reason": "路面塌陷，不是井盖"});
    let (status, fixed) = h.post(&wenquan, &format!("{t}/triage"), body).await?;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(
        (fixed["category"].as_str(), fixed["urgent"].as_bool()),
        (Some("other"), Some(true))
    );
    let corrections = h.stack.store.triage_corrections().await?;
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].text.as_deref(), Some("井盖有点松"));
    h.stop().await
}
