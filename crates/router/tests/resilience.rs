//! `run` under load sharing and outages, against a real nats-server.

mod common;

use civicprobe_model::{Category, EventKind, TicketId};
use civicprobe_testkit::{init_tracing, NatsServer};
use common::*;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn two_routers_on_the_same_consumer_route_each_report_once() -> Result {
    init_tracing();
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    create_reports_stream(&js).await?;
    let a = spawn_router(&js, router());
    let b = spawn_router(&js, router());

    let mut expected = BTreeSet::new();
    let mut last = 0;
    for i in 0..60 {
        // 55 m apart: distinct faults, no duplicates to merge.
        let r = report(
            29.83 + 0.0005 * f64::from(i),
            114.32,
            &format!("电梯故障 {i}"),
        );
        expected.insert(TicketId::for_report(r.report_id).to_string());
        last = publish_report(&js, &r).await?;
    }
    wait_until_drained(&js, last).await?;
    let got: Vec<String> = tickets(&js)
        .await?
        .into_iter()
        .map(|(_, body, _)| body["ticket_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got.len(), expected.len(), "one ticket per report, no more");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
    a.shut_down().await?;
    b.shut_down().await
}

#[tokio::test]
async fn a_router_started_before_the_reports_stream_waits_for_it() -> Result {
    init_tracing();
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let running = spawn_router(&js, router());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!running.task.is_finished(), "run must retry, not give up");

    create_reports_stream(&js).await?;
    let last = publish_report(&js, &report(29.92, 114.32, "manhole")).await?;
    wait_until_drained(&js, last).await?;
    assert_eq!(tickets(&js).await?.len(), 1);
    running.shut_down().await
}

#[tokio::test]
async fn the_router_survives_a_nats_restart() -> Result {
    init_tracing();
    let mut server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    create_reports_stream(&js).await?;
    let running = spawn_router(&js, router());
    let last = publish_report(&js, &report(29.78, 114.35, "井盖")).await?;
    wait_until_drained(&js, last).await?;

    server.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart()?;

    // The client reconnects by itself; publish once it is back.
    let r = report(29.80, 114.25, "变压器冒烟");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match publish_report(&js, &r).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!("publish after restart: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
    // Not `wait_until_drained`: a server killed with SIGKILL may lose the
    // first report's ack (2.9 flushes consumer state periodically), so it
    // is redelivered after the 30 s ack wait, and then de-duplicated.
    let tickets = wait_for_tickets(&js, 2).await?;
    assert_eq!(tickets.len(), 2, "{tickets:#?}");
    assert_eq!(
        tickets[1].0,
        subject_of("guanbuqiao", Category::ElectricalBox, EventKind::Opened)
    );
    running.shut_down().await
}

#[tokio::test]
async fn a_failed_publish_is_not_acked_and_the_report_comes_back() -> Result {
    init_tracing();
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    create_reports_stream(&js).await?;
    let running = spawn_router(&js, router());
    // Wait until the router has subscribed (it creates TICKETS then).
    wait_until_drained(&js, 0).await?;
    js.delete_stream(civicprobe_model::nats::TICKETS_STREAM)
        .await?;

    let last = publish_report(&js, &report(29.84, 114.32, "电箱冒火")).await?;
    // Publishing has nowhere to go: the report must stay unacked.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reports = js
        .get_stream(civicprobe_model::nats::REPORTS_STREAM)
        .await?;
    let info = reports
        .consumer_info(civicprobe_model::nats::ROUTER_CONSUMER)
        .await?;
    assert_eq!(info.num_ack_pending, 1, "{info:?}");

    civicprobe_jetstream::ensure_tickets_stream(&js, &Default::default()).await?;
    let info = wait_until_drained(&js, last).await?;
    assert!(info.num_redelivered <= 1);
    let tickets = tickets(&js).await?;
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert_eq!(
        tickets[0].0,
        subject_of("wenquan", Category::ElectricalBox, EventKind::Opened)
    );
    running.shut_down().await
}
