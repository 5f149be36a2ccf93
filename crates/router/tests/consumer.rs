//! `run` end to end against a real nats-server: REPORTS in, TICKETS out.

mod common;

use async_nats::jetstream::consumer::AckPolicy;
use civicprobe_model::{
    nats, Category, EventId, EventKind, ReportUnrouted, TicketId, TicketOpened,
};
use civicprobe_testkit::{init_tracing, NatsServer};
use common::*;
use std::time::Duration;

async fn start() -> Result<(NatsServer, async_nats::jetstream::Context)> {
    init_tracing();
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    create_reports_stream(&js).await?;
    Ok((server, js))
}

#[tokio::test]
async fn each_report_opens_one_ticket_on_its_office_subject_even_when_published_twice() -> Result {
    let (_server, js) = start().await?;
    let reports = [
        (
            report(29.92, 114.32, "井盖没了"),
            "xiangyanghu",
            Category::Manhole,
            true,
        ),
        (
            report(29.80, 114.25, "电梯困人"),
            "guanbuqiao",
            Category::Elevator,
            true,
        ),
        (
            report(29.84, 114.32, "配电箱门开着"),
            "wenquan",
            Category::ElectricalBox,
            false,
        ),
        (
            report(29.865, 114.36, "路灯坏了"),
            "yongan",
            Category::Other,
            false,
        ),
        (
            report(29.78, 114.35, "Manhole cover loose"),
            "fushan",
            Category::Manhole,
            false,
        ),
    ];
    let mut last = 0;
    for (r, ..) in &reports {
        last = publish_report(&js, r).await?;
    }
    // The same report again, as a retry upstream would deliver it.
    last = last.max(publish_report(&js, &reports[2].0).await?);

    let running = spawn_router(&js, router());
    let info = wait_until_drained(&js, last).await?;
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));

    let tickets = tickets(&js).await?;
    assert_eq!(tickets.len(), reports.len(), "{tickets:#?}");
    for (r, office, category, urgent) in &reports {
        let ticket_id = TicketId::for_report(r.report_id);
        let matching: Vec<_> = tickets
            .iter()
            .filter(|(_, body, _)| body["ticket_id"] == ticket_id.to_string())
            .collect();
        assert_eq!(matching.len(), 1, "one ticket for the {office} report");
        let (subject, body, msg_id) = matching[0];
        let t: TicketOpened = serde_json::from_value(body.clone())?;
        assert_eq!(
            subject,
            &nats::ticket_subject(&t.office_id, *category, civicprobe_model::EventKind::Opened)
        );
        assert_eq!(t.office_id.as_str(), *office);
        assert_eq!((t.category, t.urgent), (*category, *urgent));
        assert_eq!(t.event_id, EventId::derived(ticket_id.0, "opened"));
        assert_eq!(msg_id, &t.event_id.to_string());
        assert_eq!(&t.report, r);
    }
    running.shut_down().await
}

#[tokio::test]
async fn a_point_outside_every_office_is_published_as_unrouted() -> Result {
    let (_server, js) = start().await?;
    let r = report(29.84, 114.50, "transformer sparks");
    let last = publish_report(&js, &r).await?;
    let running = spawn_router(&js, router());
    wait_until_drained(&js, last).await?;

    let tickets = tickets(&js).await?;
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let (subject, body, msg_id) = &tickets[0];
    assert_eq!(subject, &nats::unrouted_subject(Category::ElectricalBox));
    let u: ReportUnrouted = serde_json::from_value(body.clone())?;
    assert_eq!(u.event_id, EventId::derived(r.report_id.0, "unrouted"));
    assert_eq!(msg_id, &u.event_id.to_string());
    assert!(u.urgent);
    assert_eq!(u.report, r);
    running.shut_down().await
}

#[tokio::test]
async fn malformed_messages_are_dead_lettered_and_do_not_block_the_next() -> Result {
    let (_server, js) = start().await?;
    publish_raw(&js, b"{not json".to_vec()).await?;
    let mut bad_location = serde_json::to_value(report(29.84, 114.32, "x"))?;
    bad_location["location"]["lat"] = serde_json::json!(123.0);
    publish_raw(&js, serde_json::to_vec(&bad_location)?).await?;
    let good = report(29.84, 114.32, "电梯里有人被困");
    let last = publish_report(&js, &good).await?;

    let running = spawn_router(&js, router());
    let info = wait_until_drained(&js, last).await?;
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));

    let tickets = tickets(&js).await?;
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert_eq!(
        tickets[0].0,
        subject_of("wenquan", Category::Elevator, EventKind::Opened)
    );

    // Both were rejected max_deliveries times, then copied to DEAD_LETTERS
    // with where they came from, and terminated.
    let mut dead = civicprobe_jetstream::dead_letter::list(&js, 10).await?;
    assert_eq!(dead.len(), 2, "{dead:#?}");
    assert!(dead[0].sequence > dead[1].sequence, "newest first");
    dead.sort_by_key(|d| d.stream_sequence);
    let max = u64::from(nats::DEFAULT_MAX_DELIVERIES);
    for (letter, seq) in dead.iter().zip([1, 2]) {
        assert_eq!(letter.consumer, nats::ROUTER_CONSUMER);
        assert_eq!(letter.stream, nats::REPORTS_STREAM);
        assert_eq!(letter.subject, nats::REPORT_SUBMITTED);
        assert_eq!(letter.stream_sequence, Some(seq));
        assert_eq!(letter.deliveries, Some(max));
        assert!(letter.error.contains("undecodable report"), "{letter:?}");
    }
    assert_eq!(dead[0].preview, "{not json");
    let mut dead_stream = js.get_stream(nats::DEAD_LETTERS_STREAM).await?;
    let raw = dead_stream.get_raw_message(dead[0].sequence).await?;
    assert_eq!(
        raw.subject.as_str(),
        nats::dead_letter_subject(nats::ROUTER_CONSUMER)
    );
    assert_eq!(&raw.payload[..], b"{not json", "the original payload");
    assert_eq!(dead_stream.info().await?.state.messages, 2);

    // Terminated, so never delivered again: nothing pending later.
    let reports = js.get_stream(nats::REPORTS_STREAM).await?;
    let info = reports.consumer_info(nats::ROUTER_CONSUMER).await?;
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
    assert_eq!(info.delivered.stream_sequence, last);
    running.shut_down().await
}

#[tokio::test]
async fn the_durable_consumer_filters_on_report_submitted_only() -> Result {
    let (_server, js) = start().await?;
    // Another subject of the REPORTS stream: must not reach the router.
    let other = format!("{}other", nats::REPORTS_SUBJECTS.trim_end_matches('>'));
    js.publish(other, "{}".into()).await?.await?;
    let last = publish_report(&js, &report(29.78, 114.35, "井盖")).await?;

    let running = spawn_router(&js, router());
    let info = wait_until_drained(&js, last).await?;
    assert_eq!(
        info.config.durable_name.as_deref(),
        Some(nats::ROUTER_CONSUMER)
    );
    assert_eq!(info.config.filter_subject, nats::REPORT_SUBMITTED);
    assert!(info.config.filter_subjects.is_empty());
    assert_eq!(info.config.ack_policy, AckPolicy::Explicit);
    assert_eq!(
        info.config.ack_wait,
        Duration::from_secs(nats::ACK_WAIT_SECS)
    );
    assert_eq!(
        info.config.max_deliver, -1,
        "the server never drops a report"
    );
    assert_eq!(
        info.delivered.consumer_sequence, 1,
        "only the report was delivered"
    );
    assert_eq!(tickets(&js).await?.len(), 1);
    running.shut_down().await
}

#[tokio::test]
async fn ensure_tickets_stream_is_idempotent() -> Result {
    let (_server, js) = start().await?;
    civicprobe_jetstream::ensure_tickets_stream(&js, &Default::default()).await?;
    civicprobe_jetstream::ensure_tickets_stream(&js, &Default::default()).await?;
    let mut stream = js.get_stream(nats::TICKETS_STREAM).await?;
    let config = stream.info().await?.config.clone();
    assert_eq!(
        config.subjects,
        [nats::TICKET_SUBJECTS, nats::UNROUTED_SUBJECTS]
    );
    assert_eq!(
        config.duplicate_window,
        Duration::from_secs(nats::DUPLICATE_WINDOW_SECS)
    );
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    Ok(())
}
