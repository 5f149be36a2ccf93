//! Helpers for the tests against a real nats-server.

#![allow(dead_code)]

use async_nats::jetstream::{self, consumer};
use civicprobe_model::{
    nats, Category, CourierId, EventKind, Location, OfficeId, ReportId, ReportSubmitted,
};
use civicprobe_router::{Jurisdictions, Router, SlaPolicy};
use std::{path::Path, sync::Arc, time::Duration};
use tokio::{sync::oneshot, task::JoinHandle};

pub type Result<T = ()> = anyhow::Result<T>;

/// The router over the Xian'an fixture.
pub fn router() -> Arc<Router> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson");
    let j = Jurisdictions::load(&path).expect("fixture");
    Arc::new(Router::new(j, SlaPolicy::default()))
}

/// The `REPORTS` stream, as every service creates it.
pub async fn create_reports_stream(js: &jetstream::Context) -> Result {
    civicprobe_jetstream::ensure_reports_stream(js, &Default::default()).await?;
    Ok(())
}

/// A report at (lat, lon) with this text.
/// The subject of `office`'s `event` on a ticket of `category`, as
/// `model::nats` spells it.
pub fn subject_of(office: &str, category: Category, event: EventKind) -> String {
    let office = OfficeId::parse(office).expect("an office id");
    nats::ticket_subject(&office, category, event)
}

pub fn report(lat: f64, lon: f64, text: &str) -> ReportSubmitted {
    ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: CourierId::new(),
        location: Location::new(lat, lon).unwrap(),
        position_as_sent: None,
        accuracy_m: Some(5.0),
        category_hint: None,
        text: Some(text.to_owned()),
        reported_at: None,
        received_at: time::OffsetDateTime::now_utc(),
        photos: vec![],
        evidence: Default::default(),
        open311: None,
    }
}

/// Publishes raw bytes on `civic.report.submitted` with a fresh msg id,
/// returning the stream sequence.
pub async fn publish_raw(js: &jetstream::Context, body: Vec<u8>) -> Result<u64> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(nats::MSG_ID_HEADER, uuid_like());
    let ack = js
        .publish_with_headers(nats::REPORT_SUBMITTED, headers, body.into())
        .await?
        .await?;
    Ok(ack.sequence)
}

/// Publishes a report as ingest does (the msg id is then chosen by the
/// test: a second publish of the same report is a redelivery upstream).
pub async fn publish_report(js: &jetstream::Context, r: &ReportSubmitted) -> Result<u64> {
    publish_raw(js, serde_json::to_vec(r)?).await
}

fn uuid_like() -> String {
    ReportId::new().to_string()
}

/// A `run` task and the switch that stops it.
pub struct Running {
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<std::result::Result<(), civicprobe_router::Error>>,
}

pub fn spawn_router(js: &jetstream::Context, router: Arc<Router>) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = nats::JetStreamSettings::default();
    let task = tokio::spawn(civicprobe_router::run(
        js.clone(),
        router,
        settings,
        async move {
            let _ = stopped.await;
        },
    ));
    Running { stop, task }
}

impl Running {
    /// Stops the router and checks it ended cleanly.
    pub async fn shut_down(self) -> Result {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task).await???;
        Ok(())
    }
}

/// Waits until the router consumer has seen every report up to `last_seq`
/// and holds nothing pending or unacked; returns its info.
pub async fn wait_until_drained(js: &jetstream::Context, last_seq: u64) -> Result<consumer::Info> {
    let reports = js.get_stream(nats::REPORTS_STREAM).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(info) = reports.consumer_info(nats::ROUTER_CONSUMER).await {
            if info.delivered.stream_sequence >= last_seq
                && info.num_pending == 0
                && info.num_ack_pending == 0
            {
                return Ok(info);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("router consumer not drained: {info:?}");
            }
        } else if tokio::time::Instant::now() > deadline {
            anyhow::bail!("router consumer never appeared");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every message on TICKETS, as (subject, JSON body, Nats-Msg-Id).
pub async fn tickets(js: &jetstream::Context) -> Result<Vec<(String, serde_json::Value, String)>> {
    let mut stream = js.get_stream(nats::TICKETS_STREAM).await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if state.messages == 0 {
            break;
        }
        let m = stream.get_raw_message(seq).await?;
        let id = m
            .headers
            .get(nats::MSG_ID_HEADER)
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        out.push((
            m.subject.to_string(),
            serde_json::from_slice(&m.payload)?,
            id,
        ));
    }
    Ok(out)
}

/// Waits until TICKETS holds at least `n` messages; returns them all.
pub async fn wait_for_tickets(
    js: &jetstream::Context,
    n: usize,
) -> Result<Vec<(String, serde_json::Value, String)>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = tickets(js).await.unwrap_or_default();
        if got.len() >= n {
            return Ok(got);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("only {} of {n} tickets: {got:#?}", got.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Xian'an fixture's text.
pub fn fixture_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson");
    std::fs::read_to_string(path).expect("fixture")
}

/// `geojson` converted to `datum`, declaring `declared` (see testkit).
pub fn in_datum(
    geojson: &str,
    datum: civicprobe_model::Datum,
    declared: Option<civicprobe_model::Datum>,
) -> String {
    civicprobe_testkit::datums::geojson_in(geojson, datum, declared)
}
