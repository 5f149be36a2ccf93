//! Router throughput.
//!
//! - `classify_route`: one report classified, located and given deadlines
//!   (the pure [`Router::route`] step), on one core.
//! - `pipeline/router`: REPORTS → router (route, duplicate claim, publish,
//!   ack) → TICKETS against a real nats-server, per report.
//! - `pipeline/raw_relay`: the same message sizes through plain JetStream
//!   in the same run: publish to one stream, a relay consumes each message,
//!   publishes a ticket-sized message with `Nats-Msg-Id`, awaits its ack and
//!   double-acks the input.
//!
//! - `classifier/classify`: the classifier alone, one training text each;
//!   `classifier/load_model_file`: reading a `model-<version>.json` (what
//!   a router does at start and on a live reload).
//!
//! `cargo bench -p civicprobe-router --bench router` prints each rate and
//! then the router/raw ratio.

use async_nats::jetstream::{self, consumer::pull, stream};
use civicprobe_model::{nats, CourierId, Location, ReportId, ReportSubmitted};
use civicprobe_router::{classifier::corpus, run, Jurisdictions, Routed, Router, SlaPolicy};
use civicprobe_testkit::NatsServer;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn router() -> Router {
    let j = Jurisdictions::load(&fixture("jurisdictions.geojson")).expect("fixture");
    Router::new(j, SlaPolicy::default())
}

/// The n-th report: corpus texts in turn, on a 33 m grid inside Wenquan
/// (west of its hole), so reports are not duplicates of each other.
fn report(texts: &[String], n: u64) -> ReportSubmitted {
    let (row, col) = (n % 230, (n / 230) % 170);
    ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: CourierId::new(),
        location: Location::new(
            29.8205 + row as f64 * 0.0003,
            114.2805 + col as f64 * 0.0003,
        )
        .expect("in range"),
        position_as_sent: None,
        accuracy_m: Some(5.0),
        category_hint: None,
        text: Some(texts[(n as usize) % texts.len()].clone()),
        reported_at: None,
        received_at: time::OffsetDateTime::now_utc(),
        photos: vec![],
        evidence: Default::default(),
        open311: None,
    }
}

fn texts() -> Vec<String> {
    corpus::load(&fixture("reports/train.jsonl"))
        .expect("corpus")
        .into_iter()
        .map(|l| l.text)
        .collect()
}

fn classify_route(c: &mut Criterion) {
    let router = router();
    let texts = texts();
    let reports: Vec<_> = (0..1000).map(|n| report(&texts, n)).collect();
    let now = time::OffsetDateTime::now_utc();
    let mut group = c.benchmark_group("classify_route");
    group.throughput(Throughput::Elements(1));
    let mut n = 0;
    group.bench_function("per_report", |b| {
        b.iter(|| {
            n = (n + 1) % reports.len();
            std::hint::black_box(router.route(&reports[n], now))
        })
    });
    group.finish();
}

/// Messages in a stream.
async fn count(js: &jetstream::Context, name: &str) -> u64 {
    match js.get_stream(name).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Waits until `name` holds `target` messages.
async fn wait_for(js: &jetstream::Context, name: &str, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(js, name).await < target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Publishes with `Nats-Msg-Id`, 64 acks in flight.
async fn publish_all(js: &jetstream::Context, subject: &str, bodies: Vec<Vec<u8>>) {
    let mut acks = futures::stream::FuturesUnordered::new();
    for body in bodies {
        let mut h = async_nats::HeaderMap::new();
        h.insert(nats::MSG_ID_HEADER, ReportId::new().to_string());
        let ack = js
            .publish_with_headers(subject.to_owned(), h, body.into())
            .await
            .expect("publish");
        acks.push(std::future::IntoFuture::into_future(ack));
        if acks.len() >= 64 {
            if let Some(a) = acks.next().await {
                a.expect("ack");
            }
        }
    }
    while let Some(a) = acks.next().await {
        a.expect("ack");
    }
}

/// Consume → publish (ack awaited) → double-ack, with a fixed body.
async fn relay(js: jetstream::Context, out_body: Vec<u8>) {
    let input = js.get_stream("RAW_IN").await.expect("RAW_IN");
    let consumer: jetstream::consumer::PullConsumer = input
        .get_or_create_consumer(
            "relay",
            pull::Config {
                durable_name: Some("relay".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    while let Some(Ok(m)) = messages.next().await {
        let mut h = async_nats::HeaderMap::new();
        h.insert(nats::MSG_ID_HEADER, ReportId::new().to_string());
        js.publish_with_headers("raw.out", h, out_body.clone().into())
            .await
            .expect("publish")
            .await
            .expect("ack");
        m.double_ack().await.expect("double ack");
    }
}

/// The streams both pipelines use.
async fn create_streams(js: &jetstream::Context) {
    for (name, subjects) in [
        (nats::REPORTS_STREAM, nats::REPORTS_SUBJECTS),
        ("RAW_IN", "raw.in"),
        ("RAW_OUT", "raw.out"),
    ] {
        js.get_or_create_stream(stream::Config {
            name: name.into(),
            subjects: vec![subjects.into()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("stream");
    }
}

/// Times `bodies` published on `subject` until `out` has grown by as many.
async fn timed(
    js: &jetstream::Context,
    subject: &str,
    out: &str,
    bodies: Vec<Vec<u8>>,
) -> Duration {
    let target = count(js, out).await + bodies.len() as u64;
    let start = Instant::now();
    publish_all(js, subject, bodies).await;
    wait_for(js, out, target).await;
    start.elapsed()
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = NatsServer::start().expect("nats-server");
    let (_client, js) = rt.block_on(server.connect()).expect("connect");
    let texts = texts();
    let sample = report(&texts, 0);
    let report_size = serde_json::to_vec(&sample).expect("json").len();
    let Routed::Ticket(ticket) = router().route(&sample, time::OffsetDateTime::now_utc()) else {
        panic!("sample not routed")
    };
    let ticket_body = serde_json::to_vec(&ticket).expect("json");
    println!(
        "message sizes: report {report_size} B, ticket {} B",
        ticket_body.len()
    );
    rt.block_on(create_streams(&js));
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(run(
        js.clone(),
        Arc::new(router()),
        Default::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    rt.spawn(relay(js.clone(), ticket_body));

    let rates = Mutex::new(Vec::<(String, f64)>::new());
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.warm_up_time(Duration::from_secs(1));
    let mut next = 0_u64;
    group.bench_function("router", |b| {
        b.iter_custom(|iters| {
            let bodies = (0..iters)
                .map(|_| {
                    next += 1;
                    serde_json::to_vec(&report(&texts, next)).expect("json")
                })
                .collect();
            let took = rt.block_on(timed(
                &js,
                nats::REPORT_SUBMITTED,
                nats::TICKETS_STREAM,
                bodies,
            ));
            record(&rates, "router", iters, took);
            took
        })
    });
    group.bench_function("raw_relay", |b| {
        b.iter_custom(|iters| {
            let bodies = vec![vec![b'x'; report_size]; iters as usize];
            let took = rt.block_on(timed(&js, "raw.in", "RAW_OUT", bodies));
            record(&rates, "raw_relay", iters, took);
            took
        })
    });
    group.finish();
    summarise(&rates);
}

/// Notes one measurement's rate.
fn record(rates: &Mutex<Vec<(String, f64)>>, name: &str, n: u64, took: Duration) {
    if let Ok(mut r) = rates.lock() {
        r.push((name.to_owned(), n as f64 / took.as_secs_f64().max(1e-9)));
    }
}

/// Prints the median rate of each and their ratio.
fn summarise(rates: &Mutex<Vec<(String, f64)>>) {
    let Ok(rates) = rates.lock() else { return };
    let median = |name: &str| {
        let mut v: Vec<f64> = rates
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| *r)
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (router, raw) = (median("router"), median("raw_relay"));
    println!("REPORTS→TICKETS via router: {router:.0} reports/s (median of all timed batches, warm-up included)");
    println!("raw JetStream relay, same sizes: {raw:.0} msg/s");
    println!("router / raw = {:.2}", router / raw.max(1e-9));
}

fn classifier(c: &mut Criterion) {
    let model = civicprobe_router::Classifier::builtin();
    let texts = texts();
    let mut group = c.benchmark_group("classifier");
    group.throughput(Throughput::Elements(1));
    let mut n = 0;
    group.bench_function("classify", |b| {
        b.iter(|| {
            n = (n + 1) % texts.len();
            std::hint::black_box(model.classify(None, Some(&texts[n])))
        })
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = civicprobe_router::classifier::file::save(&model, dir.path()).expect("saved");
    group.sample_size(10);
    group.bench_function("load_model_file", |b| {
        b.iter(|| civicprobe_router::classifier::file::load(&path).expect("loads"))
    });
    group.finish();
}

criterion_group!(benches, classify_route, classifier, pipeline);
criterion_main!(benches);
