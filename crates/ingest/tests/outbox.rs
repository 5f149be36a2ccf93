//! Nothing accepted is lost: while NATS is down ingest keeps answering
//! `202` from its local outbox, and drains it, each report exactly once,
//! when NATS returns.

mod common;

use civicprobe_model::nats::REPORTS_STREAM;
use civicprobe_model::ReportId;
use civicprobe_testkit::photos;
use common::{form, key, spawn_app, TestApp, REPORT, TOKEN};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// Every `Nats-Msg-Id` on `REPORTS` once it holds `n` messages (the test's
/// own client may still be reconnecting, so errors are retried).
async fn msg_ids_once_there_are(app: &TestApp, n: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "REPORTS never held {n} messages");
        let count = match app.js.get_stream(REPORTS_STREAM).await {
            Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if count >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a duplicate the chance to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = app.messages_in_stream().await;
    let mut ids = Vec::new();
    for seq in 1..=total {
        ids.push(app.message(seq).await.1);
    }
    ids
}

#[tokio::test]
async fn while_nats_is_down_reports_are_accepted_and_published_once_it_returns() {
    let mut app = spawn_app(16 * MIB, 50_000_000).await;
    let before = app
        .submit(
            Some(TOKEN),
            Some(&key()),
            form(Some(REPORT), &[photos::jpeg(32, 32)]),
        )
        .await;
    assert_eq!(before.status().as_u16(), 202);
    app.wait_for_messages(1).await;
    let mut expected = BTreeSet::from([app.message(1).await.1]);

    app.nats.stop();
    let mut keys = Vec::new();
    for i in 0..5 {
        let k = key();
        let started = Instant::now();
        let response = app
            .submit(
                Some(TOKEN),
                Some(&k),
                form(Some(REPORT), &[photos::jpeg(40 + i, 30)]),
            )
            .await;
        assert_eq!(response.status().as_u16(), 202, "NATS down must not refuse");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the 202 waited for NATS"
        );
        expected.insert(ReportId::for_submission(app.courier, &k).to_string());
        keys.push(k);
    }
    // A retry while down gets the same answer, and is not a second report.
    let retry = app
        .submit(
            Some(TOKEN),
            Some(&keys[0]),
            form(Some(REPORT), &[photos::jpeg(40, 30)]),
        )
        .await;
    assert_eq!(retry.status().as_u16(), 202);
    assert_eq!(app.state.outbox_backlog().await.unwrap(), 5);

    app.nats.restart().unwrap();
    let ids = msg_ids_once_there_are(&app, 6).await;
    assert_eq!(ids.len(), 6, "each report exactly once: {ids:?}");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.outbox_backlog().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the outbox never emptied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
