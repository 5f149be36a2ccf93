//! The NATS side: consume reports, publish tickets, ack only after the
//! ticket is stored.
//!
//! Every router instance uses the same durable pull consumer
//! ([`nats::ROUTER_CONSUMER`]), so several instances split the reports
//! between them; [`civicprobe_jetstream::drive`] gives it its ack wait,
//! progress heartbeats and the nak of held reports on shutdown. For each
//! message: decode, route, publish with `Nats-Msg-Id` = event id and await
//! JetStream's ack, then `double_ack` the report. A report that cannot be
//! decoded (or its event encoded) is rejected and, after
//! `--max-deliveries` rejections, dead-lettered ([`Rejections`]). A failed
//! publish (NATS away) naks the report with a growing delay and never
//! counts toward the dead letter; the `Nats-Msg-Id` makes a second publish
//! of the same event a no-op.
//!
//! Before the first report, the duplicate index is replayed from `TICKETS`
//! and `ROUTER_CLAIMS` ([`crate::dedup::feed`]); a report that would open a
//! ticket goes through [`crate::dedup::settle`] (merge or claim) first.

use async_nats::jetstream::{
    self,
    consumer::{pull, AckPolicy, DeliverPolicy},
    AckKind,
};
use civicprobe_jetstream::{JetStreamSettings, Pace, Rejections, Stop};
use civicprobe_model::{nats, ReportSubmitted};
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};
use time::OffsetDateTime;
use tracing::{debug, error, field, info_span, warn, Instrument, Span};

use crate::{
    dedup::{self, claim, feed},
    Error, Routed, Router,
};

/// Redelivery delay after a failed publish, per delivery attempt so far.
const NAK_DELAY_STEP: Duration = Duration::from_secs(2);
/// Longest redelivery delay after failed publishes.
const NAK_DELAY_MAX: Duration = Duration::from_secs(60);

/// How long a starting router may take to replay the duplicate index.
const CATCH_UP: Duration = Duration::from_secs(60);

/// The metrics counter of handled reports, labelled by `outcome`.
const REPORTS_TOTAL: &str = "civicprobe_router_reports_total";
/// The histogram of how long a report waited from ingest's `202` (its
/// `received_at`) until its routed event was stored on `TICKETS`: with
/// ingest's `civicprobe_ingest_report_to_publish_seconds` and the tracker's
/// `civicprobe_tracker_report_to_ticket_seconds`, it tells which stage a
/// slow report waited in.
pub const REPORT_TO_ROUTED_SECONDS: &str = "civicprobe_router_report_to_routed_seconds";

/// Routes reports from the `REPORTS` stream until `shutdown` resolves.
///
/// Needs the `REPORTS` stream (ingest creates it); creates the `TICKETS`,
/// `ROUTER_CLAIMS` and `DEAD_LETTERS` streams and the durable consumer if
/// missing. NATS errors are logged and retried with backoff, so this
/// returns `Ok(())` on shutdown; a message being handled when shutdown
/// comes is finished first, the ones fetched behind it are nak'ed.
pub async fn run(
    js: jetstream::Context,
    router: Arc<Router>,
    settings: JetStreamSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    // A model file given by --model is reloaded while the router runs.
    let _watcher = AbortOnDrop(tokio::spawn(router.live_classifier().clone().watch(
        crate::classifier::live::DEFAULT_POLL,
        std::future::pending(),
    )));
    let mut backoff = civicprobe_jetstream::Backoff::default();
    let state = feed::Shared::default();
    let rejections = Rejections::new(js.clone(), nats::ROUTER_CONSUMER, &settings);
    let mut feeds = None;
    loop {
        let subscribed = tokio::select! {
            () = shutdown.as_mut() => return Ok(()),
            subscribed = prepare(&js, &settings, &state, &mut feeds) => subscribed,
        };
        match subscribed {
            Ok(messages) => {
                backoff.reset();
                let ctx = Ctx {
                    js: &js,
                    router: &router,
                    state: &state,
                    rejections: &rejections,
                };
                let stop = civicprobe_jetstream::drive(
                    nats::ROUTER_CONSUMER,
                    messages,
                    &mut shutdown,
                    |message| handle(&ctx, message),
                )
                .await;
                if stop == Stop::Shutdown {
                    return Ok(());
                }
                warn!("the report subscription ended; subscribing again");
            }
            Err(e) => warn!(error = %e, "cannot subscribe to reports; retrying"),
        }
        if pause(backoff.step(), &mut shutdown).await {
            return Ok(());
        }
    }
}

/// Stops a background task when the router stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What handling a report needs.
struct Ctx<'a> {
    /// JetStream.
    js: &'a jetstream::Context,
    /// The pure routing step.
    router: &'a Router,
    /// The duplicate index.
    state: &'a feed::Shared,
    /// Rejection counts and the way to the dead letters.
    rejections: &'a Rejections,
}

/// Creates the streams, replays the duplicate index (once per [`run`]) and
/// subscribes.
async fn prepare(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
    state: &feed::Shared,
    feeds: &mut Option<feed::Feeds>,
) -> Result<pull::Stream, Error> {
    if feeds.is_none() {
        civicprobe_jetstream::ensure_tickets_stream(js, settings)
            .await
            .map_err(Error::nats("creating the TICKETS stream"))?;
        claim::ensure_claims_stream(js, settings).await?;
        civicprobe_jetstream::ensure_dead_letters(js, settings)
            .await
            .map_err(Error::nats("creating the DEAD_LETTERS stream"))?;
        *feeds = Some(feed::start(js, state, CATCH_UP).await?);
    }
    subscribe(js).await
}

/// The durable consumer's message stream.
async fn subscribe(js: &jetstream::Context) -> Result<pull::Stream, Error> {
    let reports = js
        .get_stream(nats::REPORTS_STREAM)
        .await
        .map_err(Error::nats("getting the REPORTS stream"))?;
    let consumer = civicprobe_jetstream::ensure_durable(
        &reports,
        pull::Config {
            durable_name: Some(nats::ROUTER_CONSUMER.to_owned()),
            filter_subject: nats::REPORT_SUBMITTED.to_owned(),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        },
    )
    .await
    .map_err(Error::nats("creating the router consumer"))?;
    civicprobe_jetstream::subscribe(&consumer)
        .await
        .map_err(Error::nats("pulling reports"))
}

/// Decodes, routes, publishes and acks one report message.
async fn handle(ctx: &Ctx<'_>, message: jetstream::Message) -> Pace {
    let report: ReportSubmitted = match serde_json::from_slice(&message.payload) {
        Ok(report) => report,
        Err(e) => {
            reject(ctx, &message, &format!("undecodable report: {e}")).await;
            return Pace::Next;
        }
    };
    let span = info_span!("route_report", report_id = %report.report_id, ticket_id = field::Empty);
    async {
        match deliver(ctx, &report).await {
            Ok(routed) => {
                if let Err(e) = message.double_ack().await {
                    // Published already: a redelivery re-publishes the same
                    // Nats-Msg-Id, which JetStream drops.
                    warn!(error = %e, "report ack failed; it will be redelivered");
                }
                ctx.rejections.forget(&message);
                metrics::counter!(REPORTS_TOTAL, "outcome" => routed.outcome()).increment(1);
                debug!(subject = %routed.subject(), "report routed");
                Pace::Next
            }
            Err(Error::Encode(e)) => {
                reject(
                    ctx,
                    &message,
                    &format!("the routed event does not encode: {e}"),
                )
                .await;
                Pace::Next
            }
            Err(e) => {
                error!(error = %e, "routing or publishing the report failed; will retry");
                metrics::counter!(REPORTS_TOTAL, "outcome" => "error").increment(1);
                nak(&message).await;
                Pace::Back
            }
        }
    }
    .instrument(span)
    .await
}

/// Routes the report (merging or claiming when it would open a ticket)
/// and publishes the outcome.
async fn deliver(ctx: &Ctx<'_>, report: &ReportSubmitted) -> Result<Routed, Error> {
    let now = OffsetDateTime::now_utc();
    let routed = match ctx.router.route(report, now) {
        Routed::Ticket(ticket) => {
            dedup::settle(ctx.js, ctx.state, ctx.router.duplicates(), ticket, now).await?
        }
        other => other,
    };
    if let Some(ticket_id) = routed.ticket_id() {
        Span::current().record("ticket_id", field::display(ticket_id));
    }
    publish(ctx.js, &routed).await?;
    let waited = (OffsetDateTime::now_utc() - report.received_at).as_seconds_f64();
    if waited >= 0.0 {
        metrics::histogram!(REPORT_TO_ROUTED_SECONDS).record(waited);
    }
    Ok(routed)
}

/// Publishes the event and waits until JetStream has stored it.
async fn publish(js: &jetstream::Context, routed: &Routed) -> Result<(), Error> {
    let body = routed.to_json()?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(nats::MSG_ID_HEADER, routed.event_id().to_string());
    let ack = js
        .publish_with_headers(routed.subject(), headers, body.into())
        .await
        .map_err(Error::nats("publishing the routed report"))?
        .await
        .map_err(Error::nats("awaiting the ticket publish ack"))?;
    if ack.duplicate {
        debug!(sequence = ack.sequence, "event was already published");
    }
    Ok(())
}

/// The report itself is at fault: counted toward its dead letter.
async fn reject(ctx: &Ctx<'_>, message: &jetstream::Message, why: &str) {
    let sequence = message.info().map(|i| i.stream_sequence).ok();
    error!(?sequence, subject = %message.subject, error = why, "poison report message rejected");
    metrics::counter!(REPORTS_TOTAL, "outcome" => "poison").increment(1);
    ctx.rejections.reject(message, why).await;
}

/// Asks for redelivery later, longer after each failed attempt.
async fn nak(message: &jetstream::Message) {
    let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
    let attempts = u32::try_from(delivered.clamp(1, 30)).unwrap_or(1);
    let delay = (NAK_DELAY_STEP * attempts).min(NAK_DELAY_MAX);
    if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
        warn!(error = %e, "nak failed; the report comes back after the ack wait");
    }
}

/// Sleeps for `delay` unless `shutdown` resolves first (then `true`).
async fn pause<F: Future<Output = ()>>(delay: Duration, shutdown: &mut Pin<&mut F>) -> bool {
    tokio::select! {
        () = shutdown.as_mut() => true,
        () = tokio::time::sleep(delay) => false,
    }
}
