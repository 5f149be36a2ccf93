//! Durable consumers against a real nats-server: the chosen ack wait, a
//! crashed holder's message redelivered within it, and held messages
//! nak'ed on shutdown.

use async_nats::jetstream::{self, consumer::pull, stream, AckKind};
use civicprobe_jetstream::durable::{ACK_WAIT, UNLIMITED_DELIVERIES};
use civicprobe_jetstream::{drive, ensure_durable, subscribe, Pace, Stop};
use civicprobe_testkit::NatsServer;
use futures::StreamExt;
use std::time::Duration;

type Result<T = ()> = anyhow::Result<T>;
type Stopper = tokio::sync::oneshot::Sender<()>;

async fn work_stream(js: &jetstream::Context) -> Result<stream::Stream> {
    Ok(js
        .create_stream(stream::Config {
            name: "WORK".to_owned(),
            subjects: vec!["work.>".to_owned()],
            ..Default::default()
        })
        .await?)
}

fn durable(name: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ..Default::default()
    }
}

async fn publish(js: &jetstream::Context, n: usize) -> Result {
    for i in 0..n {
        js.publish(format!("work.{i}"), i.to_string().into())
            .await?
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn consumers_get_the_chosen_ack_wait_and_old_ones_are_updated() -> Result {
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let stream = work_stream(&js).await?;

    let mut fresh = ensure_durable(&stream, durable("fresh")).await?;
    let info = fresh.info().await?;
    assert_eq!(info.config.ack_wait, ACK_WAIT);
    assert_eq!(ACK_WAIT, Duration::from_secs(5));
    assert_eq!(info.config.max_deliver, UNLIMITED_DELIVERIES);

    // As every consumer was made before: a 30 s ack wait, and a server
    // that would drop a message after 10 deliveries.
    let old = pull::Config {
        ack_wait: Duration::from_secs(30),
        max_deliver: 10,
        ..durable("old")
    };
    stream.create_consumer(old).await?;
    let mut updated = ensure_durable(&stream, durable("old")).await?;
    let info = updated.info().await?;
    assert_eq!(info.config.ack_wait, ACK_WAIT);
    assert_eq!(info.config.max_deliver, UNLIMITED_DELIVERIES);
    let again = stream.consumer_info("old").await?;
    assert_eq!(again.config.ack_wait, ACK_WAIT, "stored on the server");
    Ok(())
}

#[tokio::test]
async fn a_crashed_holders_message_is_redelivered_within_the_ack_wait() -> Result {
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let stream = work_stream(&js).await?;
    let consumer = ensure_durable(&stream, durable("workers")).await?;
    publish(&js, 1).await?;

    // Instance A fetches the message and dies without acking it.
    let crashed = async_nats::connect(server.url()).await?;
    let crashed_js = jetstream::new(crashed.clone());
    let theirs: jetstream::consumer::PullConsumer = crashed_js
        .get_stream("WORK")
        .await?
        .get_consumer("workers")
        .await
        .map_err(anyhow::Error::msg)?;
    let mut batch = theirs.fetch().max_messages(1).messages().await?;
    let held = batch
        .next()
        .await
        .expect("a message")
        .map_err(anyhow::Error::msg)?;
    assert_eq!(held.info().map_err(anyhow::Error::msg)?.delivered, 1);
    drop(batch);
    drop(theirs);
    drop(crashed_js);
    drop(crashed);

    // Instance B gets it again once the ack wait is over, not after the
    // old 30 s (the bound below is generous and far under 30 s).
    let mut messages = subscribe(&consumer).await?;
    let again = tokio::time::timeout(Duration::from_secs(15), messages.next())
        .await
        .expect("redelivered within the ack wait")
        .expect("a message")?;
    let info = again.info().map_err(anyhow::Error::msg)?;
    assert_eq!(info.delivered, 2, "the same message, delivered again");
    assert_eq!(info.stream_sequence, 1);
    again
        .ack_with(AckKind::Ack)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(())
}

#[tokio::test]
async fn a_stopping_consumer_naks_what_it_holds() -> Result {
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let stream = work_stream(&js).await?;
    let consumer = ensure_durable(&stream, durable("workers")).await?;
    publish(&js, 10).await?;

    // The handler finishes the first message and asks to stop: the nine
    // fetched behind it are held by this instance.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let shutdown = async {
        let _ = stopped.await;
    };
    tokio::pin!(shutdown);
    let messages = subscribe(&consumer).await?;
    let handled = drive("workers", messages, &mut shutdown, |message| {
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
        async move {
            let _ = message.ack_with(AckKind::Ack).await;
            Pace::Next
        }
    })
    .await;
    assert_eq!(handled, Stop::Shutdown);

    // Another instance gets all nine at once: they were nak'ed, not left
    // to the ack wait (its fetch waits less than the ack wait).
    let other = stream
        .get_consumer::<pull::Config>("workers")
        .await
        .map_err(anyhow::Error::msg)?;
    let mut batch = other
        .batch()
        .max_messages(9)
        .expires(ACK_WAIT / 2)
        .messages()
        .await?;
    let mut seen = Vec::new();
    while let Some(message) = batch.next().await {
        let message = message.map_err(anyhow::Error::msg)?;
        seen.push(message.info().map_err(anyhow::Error::msg)?.stream_sequence);
        message
            .ack_with(AckKind::Ack)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    seen.sort_unstable();
    assert_eq!(seen, (2..=10).collect::<Vec<u64>>());
    Ok(())
}

#[tokio::test]
async fn slow_work_sends_progress_and_is_not_redelivered_meanwhile() -> Result {
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let stream = work_stream(&js).await?;
    let consumer = ensure_durable(&stream, durable("workers")).await?;
    publish(&js, 1).await?;

    // Once the message is being worked on, another instance waits for
    // work for longer than the ack wait; when it gives up, the first
    // instance stops (a redelivery to either would have been seen by then).
    let other = stream
        .get_consumer::<pull::Config>("workers")
        .await
        .map_err(anyhow::Error::msg)?;
    let wait_for_work = |other: jetstream::consumer::PullConsumer, stop: Stopper| {
        tokio::spawn(async move {
            let mut batch = other
                .batch()
                .max_messages(1)
                .expires(ACK_WAIT * 2)
                .messages()
                .await?;
            let mut got = 0;
            while let Some(message) = batch.next().await {
                message.map_err(anyhow::Error::msg)?;
                got += 1;
            }
            let _ = stop.send(());
            anyhow::Ok(got)
        })
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut idle = Some((other, stop));
    let mut waiting = None;
    let shutdown = async {
        let _ = stopped.await;
    };
    tokio::pin!(shutdown);
    let messages = subscribe(&consumer).await?;
    let mut deliveries = Vec::new();
    drive("workers", messages, &mut shutdown, |message| {
        deliveries.push(message.info().map(|i| i.delivered).unwrap_or(0));
        if let Some((other, stop)) = idle.take() {
            waiting = Some(wait_for_work(other, stop));
        }
        async move {
            // Longer than the ack wait: only the heartbeats keep it ours.
            tokio::time::sleep(ACK_WAIT + Duration::from_secs(2)).await;
            let _ = message.ack_with(AckKind::Ack).await;
            Pace::Next
        }
    })
    .await;
    assert_eq!(
        deliveries,
        [1],
        "delivered once, to the instance working on it"
    );
    let waiting = waiting.expect("the message was handled");
    assert_eq!(
        waiting.await??,
        0,
        "never redelivered to the waiting instance"
    );
    let info = stream.consumer_info("workers").await?;
    assert_eq!((info.num_ack_pending, info.num_redelivered), (0, 0));
    Ok(())
}
