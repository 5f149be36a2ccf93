//! `civicprobe load`: submits photo reports from a folder at a fixed rate
//! as many couriers (open loop: a slow answer does not slow the next
//! submission), and prints accepted/s, errors by status, p50/p99 submit
//! latency and, with a viewer token, p50/p99 from the `202` to the ticket
//! being in the office queue (`GET /v1/tickets/{TicketId::for_report}`
//! answering `200`, polled every 2 ms). With `--events-token` it also
//! listens on the tracker's live event stream and prints p50/p99 from the
//! `202` to the ticket's `opened` event there; with `--webhook-listen` it
//! runs a webhook receiver (register it as an office's `json` alert
//! channel, e.g. URL `http://ADDR/hook`) and prints p50/p99 from the `202` to
//! the alert's arrival ([`arrivals`]). Only urgent tickets are alerted:
//! `--urgent` sends urgent texts only.
//!
//! Points are spread around `--lat/--lon` (`--spread-m`) so that the
//! router's nearby-duplicate rule merges few reports; a photo reused from a
//! small folder can still be merged as the same photo, and a merged report
//! opens no ticket: it is counted as "no ticket".
//!
//! While it runs, a progress line a second goes to stderr (`progress`;
//! `--quiet` stops them); the report goes to stdout at the end.

mod arrivals;
mod job;
mod progress;
mod summary;

use summary::{percentile, render, summarize};
pub use summary::{Seen, Summary};

use anyhow::Context;
use arrivals::Arrivals;
use civicprobe_model::TicketId;
use job::Job;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `civicprobe load` options.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The civicprobe HTTP API.
    #[arg(long, env = "CIVICPROBE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Folder of photos (.jpg, .jpeg, .png, .webp), used in turn.
    #[arg(long)]
    pub photos: PathBuf,
    /// File of courier tokens, one per line; reports go round-robin.
    #[arg(long)]
    pub tokens: PathBuf,
    /// Reports per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// How long to submit, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// An office or supervisor token: measure 202 → ticket in queue.
    #[arg(long, env = "CIVICPROBE_VIEWER_TOKEN", hide_env_values = true)]
    pub viewer_token: Option<String>,
    /// Centre of the reported points, degrees north.
    #[arg(long, default_value_t = 29.84, allow_negative_numbers = true)]
    pub lat: f64,
    /// Centre of the reported points, degrees east.
    #[arg(long, default_value_t = 114.32, allow_negative_numbers = true)]
    pub lon: f64,
    /// Points are spread over ± this many metres.
    #[arg(long, default_value_t = 300.0)]
    pub spread_m: f64,
    /// An office or supervisor token: measure 202 → the ticket's `opened`
    /// event on `GET /v1/events`.
    #[arg(long, env = "CIVICPROBE_EVENTS_TOKEN", hide_env_values = true)]
    pub events_token: Option<String>,
    /// Receive alerts on `http://ADDR/` (any path; add a `json` alert
    /// channel pointing at it first) and measure 202 → alert.
    #[arg(long, env = "CIVICPROBE_LOAD_WEBHOOK_LISTEN")]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// Send only texts the classifier takes for urgent (only urgent
    /// tickets are alerted at once).
    #[arg(long)]
    pub urgent: bool,
    /// No progress lines on stderr (one a second by default: sent,
    /// accepted, refused, ticketed, rate); the final report on stdout stays.
    #[arg(long)]
    pub quiet: bool,
}

/// A photo file: its name and bytes, shared by the tasks that send it.
type Photo = Arc<(String, Vec<u8>)>;

/// What one submission measured.
#[derive(Debug, Clone)]
struct Outcome {
    /// HTTP status, or 0 for a transport error.
    status: u16,
    /// Request sent → answer received.
    submit: Duration,
    /// When the answer arrived.
    answered: Instant,
    /// 202 → ticket visible, if it became visible within 10 s.
    to_ticket: Option<Duration>,
    /// The ticket an accepted report opens (if it is not merged).
    ticket: Option<TicketId>,
}

/// How long after the last answer the watchers may still see a ticket.
const SEEN_WITHIN: Duration = Duration::from_secs(10);

/// Runs the load and prints the summary.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let summary = measure(&args).await?;
    println!("{}", render(&args, &summary));
    Ok(())
}

/// Runs the load and returns the figures.
pub async fn measure(args: &LoadArgs) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be positive"
    );
    let photos = Arc::new(read_photos(&args.photos)?);
    let tokens = Arc::new(read_tokens(&args.tokens)?);
    let http = reqwest::Client::new();
    let watch = Watch::start(args, &http).await?;
    let total = (args.rate * args.duration).round().max(1.0) as usize;
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let counts = Arc::new(progress::Counts::default());
    let reporter = progress::Reporter::start(counts.clone(), args.quiet);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        tokio::time::sleep_until((started + period.mul_f64(i as f64)).into()).await;
        let job = Job {
            http: http.clone(),
            args: args.clone(),
            token: tokens[i % tokens.len()].clone(),
            photo: photos[i % photos.len()].clone(),
            point: spread(args, i),
            index: i,
            counts: counts.clone(),
        };
        tasks.spawn(job.run());
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(outcome) = tasks.join_next().await {
        outcomes.push(outcome.context("a submission task panicked")?);
    }
    reporter.finish();
    // The submission window: until the last answer, not the ticket waits.
    let last = outcomes.iter().map(|o| o.answered).max().unwrap_or(started);
    let elapsed = last
        .duration_since(started)
        .max(period.mul_f64(total as f64));
    let mut summary = summarize(&outcomes, elapsed, args.viewer_token.is_some());
    watch.finish(&outcomes, &mut summary).await;
    Ok(summary)
}

/// The watchers a run started: the event stream and the webhook receiver.
#[derive(Debug, Default)]
struct Watch {
    /// `opened` events seen on the stream.
    events: Option<(Arrivals, tokio::task::JoinHandle<anyhow::Result<()>>)>,
    /// Alerts received.
    webhooks: Option<(Arrivals, tokio::task::JoinHandle<()>)>,
}

impl Watch {
    /// Starts what `args` ask for; the stream is open when this returns.
    async fn start(args: &LoadArgs, http: &reqwest::Client) -> anyhow::Result<Watch> {
        let mut watch = Watch::default();
        if let Some(token) = &args.events_token {
            let (arrivals, (ready, listening)) = (Arrivals::default(), oneshot());
            let task = tokio::spawn(arrivals::watch_events(
                http.clone(),
                args.url.clone(),
                token.clone(),
                arrivals.clone(),
                ready,
            ));
            if listening.await.is_err() {
                return Err(task.await?.err().unwrap_or_else(|| {
                    anyhow::anyhow!("the event stream ended before it answered")
                }));
            }
            watch.events = Some((arrivals, task));
        }
        if let Some(listen) = args.webhook_listen {
            let arrivals = Arrivals::default();
            let (addr, task) = arrivals::receive_webhooks(listen, arrivals.clone()).await?;
            eprintln!("receiving alerts on http://{addr}/");
            watch.webhooks = Some((arrivals, task));
        }
        Ok(watch)
    }

    /// Waits (at most [`SEEN_WITHIN`]) for every opened ticket to be seen,
    /// then stops the watchers and adds their figures to `summary`.
    async fn finish(self, outcomes: &[Outcome], summary: &mut Summary) {
        let opened = outcomes.iter().filter(|o| o.ticket.is_some()).count();
        let deadline = Instant::now() + SEEN_WITHIN;
        let events = self.events.as_ref().map(|(a, _)| a);
        let webhooks = self.webhooks.as_ref().map(|(a, _)| a);
        for arrivals in [events, webhooks].into_iter().flatten() {
            while arrivals.len() < opened && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if let Some((arrivals, task)) = self.events {
            task.abort();
            summary.to_event_ms = Some(seen(outcomes, &arrivals));
        }
        if let Some((arrivals, task)) = self.webhooks {
            task.abort();
            summary.to_webhook_ms = Some(seen(outcomes, &arrivals));
        }
    }
}

fn oneshot() -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::sync::oneshot::Receiver<()>,
) {
    tokio::sync::oneshot::channel()
}

/// 202 → first sight of each accepted report's ticket (0 when it was seen
/// before the answer was read).
fn seen(outcomes: &[Outcome], arrivals: &Arrivals) -> Seen {
    let accepted: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 202).collect();
    let mut delays: Vec<Duration> = accepted
        .iter()
        .filter_map(|o| {
            Some(
                arrivals
                    .at(o.ticket?)?
                    .saturating_duration_since(o.answered),
            )
        })
        .collect();
    delays.sort();
    Seen {
        ms: (percentile(&delays, 50.0), percentile(&delays, 99.0)),
        missing: accepted.len() - delays.len(),
    }
}

/// A point within ± `spread_m` of the centre, deterministic per report
/// (the R2 low-discrepancy sequence: evenly spread, no clusters).
fn spread(args: &LoadArgs, i: usize) -> (f64, f64) {
    const A1: f64 = 0.754_877_666_246_692_8;
    const A2: f64 = 0.569_840_290_998_053_3;
    let n = i as f64 + 1.0;
    let (u, v) = ((0.5 + A1 * n).fract(), (0.5 + A2 * n).fract());
    let dlat = (u * 2.0 - 1.0) * args.spread_m / 111_320.0;
    let metres_per_degree_lon = 111_320.0 * args.lat.to_radians().cos().max(0.01);
    (
        args.lat + dlat,
        args.lon + (v * 2.0 - 1.0) * args.spread_m / metres_per_degree_lon,
    )
}

fn read_photos(dir: &Path) -> anyhow::Result<Vec<Photo>> {
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if ["jpg", "jpeg", "png", "webp"].contains(&ext.as_str()) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("photo")
                .to_owned();
            photos.push(Arc::new((name, std::fs::read(&path)?)));
        }
    }
    photos.sort_by(|a, b| a.0.cmp(&b.0));
    anyhow::ensure!(
        !photos.is_empty(),
        "no .jpg/.png/.webp photos in {}",
        dir.display()
    );
    Ok(photos)
}

fn read_tokens(file: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!tokens.is_empty(), "no tokens in {}", file.display());
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_spread_without_clusters() {
        let args = LoadArgs {
            url: String::new(),
            photos: PathBuf::new(),
            tokens: PathBuf::new(),
            rate: 1.0,
            duration: 1.0,
            viewer_token: None,
            lat: 29.84,
            lon: 114.32,
            spread_m: 1500.0,
            events_token: None,
            webhook_listen: None,
            urgent: false,
            quiet: true,
        };
        let points: Vec<_> = (0..300).map(|i| spread(&args, i)).collect();
        let metres = |a: (f64, f64), b: (f64, f64)| {
            let dy = (a.0 - b.0) * 111_320.0;
            let dx = (a.1 - b.1) * 111_320.0 * 29.84_f64.to_radians().cos();
            (dx * dx + dy * dy).sqrt()
        };
        let closest = (0..300)
            .flat_map(|i| (i + 1..300).map(move |j| (i, j)))
            .map(|(i, j)| metres(points[i], points[j]))
            .fold(f64::MAX, f64::min);
        assert!(closest > 60.0, "{closest} m");
        assert!(points.iter().all(|p| (p.0 - 29.84).abs() <= 0.0135));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), 50.0);
        assert_eq!(percentile(&ms, 99.0), 99.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
