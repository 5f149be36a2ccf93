//! Ingest knows tokens without the tracker's database: it follows the
//! tracker's `TOKENS` stream and keeps a local copy. Separate processes of
//! the built binary on a real NATS, on both databases.

mod common;
#[path = "common/services.rs"]
mod services;

use common::{post_report, report_form};
use services::{eventually, Split};
use std::time::Duration;

/// The status `POST /v1/reports` answers `token` at ingest itself.
async fn submit(base: &str, token: &str) -> u16 {
    let form = report_form(
        (29.83, 114.41),
        "井盖没了",
        civicprobe_testkit::photos::jpeg(64, 48),
    );
    post_report(base, token, form).await.status().as_u16()
}

/// Waits until ingest answers `token` with `want`.
async fn until_answered(base: &str, token: &str, want: u16, what: &str, within: Duration) {
    eventually(what, within, || async {
        match submit(base, token).await {
            s if s == want => Ok(()),
            s => Err(format!("answered {s}")),
        }
    })
    .await
}

async fn ingest_keeps_accepting_and_learns_revocations(kind: &str) {
    // Photos on the filesystem: with NATS away, the object store would be.
    let mut split = Split::start_with(kind, "fs").await;
    let (known, _) = split.issue(&["courier", "add", "Li Wei"]);
    let (revoked, revoked_id) = split.issue(&["courier", "add", "Wu Fang"]);
    let (office, _) = split.issue(&["office", "add", "wenquan", "--person", "Wang Fang"]);
    let ingest = format!("http://127.0.0.1:{}", split.ingest.port);
    let soon = Duration::from_secs(30);
    until_answered(&ingest, &known, 202, "the courier learned", soon).await;
    until_answered(&ingest, &revoked, 202, "the second courier learned", soon).await;
    assert_eq!(
        submit(&ingest, &"0".repeat(64)).await,
        401,
        "an unknown token"
    );

    // Revoked with the admin command (the database only): the tracker
    // publishes the tombstone, ingest refuses within seconds.
    split.revoke(&revoked_id);
    until_answered(
        &ingest,
        &revoked,
        401,
        "the revocation",
        Duration::from_secs(10),
    )
    .await;

    // The tracker (and so its database) away: ingest still accepts.
    split.tracker.stop();
    assert_eq!(submit(&ingest, &known).await, 202, "the tracker is stopped");
    assert_eq!(submit(&ingest, &revoked).await, 401);
    assert_eq!(submit(&ingest, &"0".repeat(64)).await, 401);
    // But a proof photo waits for a tracker to say the office may add it:
    // 503, not a 201 for a photo nobody would record.
    let ticket = civicprobe_model::TicketId::for_report(civicprobe_model::ReportId::new());
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(civicprobe_testkit::photos::jpeg(64, 48))
            .file_name("fix.jpg")
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    let proof = reqwest::Client::new()
        .post(format!("{ingest}/v1/tickets/{ticket}/proof-photos"))
        .bearer_auth(&office)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(proof.status(), 503, "no tracker to ask");
    assert_eq!(proof.headers()["retry-after"], "1");
    let problem: serde_json::Value = proof.json().await.expect("problem+json");
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("unavailable"),
        "{problem}"
    );

    // A restarted ingest whose TOKENS stream is gone (and no tracker to
    // republish it) still knows its couriers from the local copy.
    split.ingest.stop();
    let (_client, js) = split.nats.connect().await.expect("nats");
    js.delete_stream(civicprobe_model::nats::TOKENS_STREAM)
        .await
        .expect("delete TOKENS");
    split.ingest.restart();
    assert_eq!(submit(&ingest, &known).await, 202, "from the local copy");
    assert_eq!(submit(&ingest, &revoked).await, 401);

    // NATS away: the known courier's report goes to ingest's outbox.
    split.nats.stop();
    assert_eq!(submit(&ingest, &known).await, 202, "NATS is down");

    // Back: the tracker republishes every live credential (the live
    // courier and the office); ingest takes the stream's state over its
    // copy.
    split.nats.restart().expect("restart nats");
    split.tracker.restart();
    let (_client, js) = split.nats.connect().await.expect("nats");
    let stream = eventually("TOKENS recreated", soon, || async {
        js.get_stream(civicprobe_model::nats::TOKENS_STREAM)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    eventually("TOKENS republished", soon, || async {
        let mut stream = stream.clone();
        match stream
            .info()
            .await
            .map_err(|e| e.to_string())?
            .state
            .messages
        {
            2 => Ok(()),
            n => Err(format!("{n} messages")),
        }
    })
    .await;
    until_answered(&ingest, &known, 202, "after the outage", soon).await;
    assert_eq!(submit(&ingest, &revoked).await, 401);
}

civicprobe_testkit::on_both_databases!(ingest_keeps_accepting_and_learns_revocations);
