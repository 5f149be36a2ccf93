//! `civicprobe load`: submits photo reports from a folder at a fixed rate
//! as many couriers (open loop: a slow answer does not slow the next
//! submission), and prints accepted/s, errors by status, p50/p99 submit
//! latency and, with a viewer token, p50/p99 from the `202` to the ticket
//! being in the office queue (`GET /v1/tickets/{TicketId::for_report}`
//! answering `200`, polled every 2 ms) and, with `--webhook-listen`,
//! p50/p99 from the `202` to the report's alert at a local JSON webhook
//! receiver ([`crate::load_webhook`]).
//!
//! Points are spread around `--lat/--lon` (`--spread-m`) so that the
//! router's nearby-duplicate rule merges few reports; a photo reused from a
//! small folder can still be merged as the same photo, and a merged report
//! opens no ticket: it is counted as "no ticket".

use anyhow::Context;
use civicprobe_model::{ReportId, TicketId};
use std::collections::BTreeMap;
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
    /// Receive alerts here (add a json channel pointing at it first) and
    /// measure 202 → alert received, e.g. `127.0.0.1:9099`.
    #[arg(long, env = "CIVICPROBE_LOAD_WEBHOOK_LISTEN")]
    pub webhook_listen: Option<std::net::SocketAddr>,
}

/// Categories and texts used in turn (same-category reports close to each
/// other merge, so rotating them keeps most reports separate tickets).
const CATEGORIES: [(&str, &str); 4] = [
    ("manhole", "井盖缺失 manhole cover missing (load test)"),
    ("elevator", "电梯困人 people trapped in lift (load test)"),
    (
        "electrical_box",
        "配电箱冒烟 electrical box smoking (load test)",
    ),
    ("other", "路灯倒了 street light down (load test)"),
];

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
    /// 202 → its alert at the webhook receiver, if it came within 10 s.
    to_webhook: Option<Duration>,
}

/// The figures a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Reports sent.
    pub sent: usize,
    /// Reports answered 202.
    pub accepted: usize,
    /// Accepted per second of the run.
    pub accepted_per_s: f64,
    /// Count by HTTP status other than 202 (0 = transport error).
    pub errors: BTreeMap<u16, usize>,
    /// Submit latency p50 and p99, ms.
    pub submit_ms: (f64, f64),
    /// 202 → ticket in queue p50 and p99, ms (when measured).
    pub to_ticket_ms: Option<(f64, f64)>,
    /// Accepted reports whose ticket never showed up (merged, unrouted or
    /// slower than 10 s).
    pub no_ticket: usize,
    /// 202 → alert at the webhook receiver p50 and p99, ms (when measured).
    pub to_webhook_ms: Option<(f64, f64)>,
    /// Accepted reports that sent no alert within 10 s (routine ones send none).
    pub no_alert: usize,
}

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
    let webhook = match args.webhook_listen {
        Some(addr) => Some(crate::load_webhook::WebhookClock::listen(addr).await?.0),
        None => None,
    };
    let total = (args.rate * args.duration).round().max(1.0) as usize;
    let period = Duration::from_secs_f64(1.0 / args.rate);
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
            webhook: webhook.clone(),
        };
        tasks.spawn(job.run());
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(outcome) = tasks.join_next().await {
        outcomes.push(outcome.context("a submission task panicked")?);
    }
    // The submission window: until the last answer, not the ticket waits.
    let last = outcomes.iter().map(|o| o.answered).max().unwrap_or(started);
    let elapsed = last
        .duration_since(started)
        .max(period.mul_f64(total as f64));
    let mut summary = summarize(&outcomes, elapsed, args.viewer_token.is_some());
    if webhook.is_some() {
        let mut alerts: Vec<Duration> = outcomes.iter().filter_map(|o| o.to_webhook).collect();
        alerts.sort();
        summary.no_alert = summary.accepted - alerts.len();
        summary.to_webhook_ms =
            (!alerts.is_empty()).then(|| (percentile(&alerts, 50.0), percentile(&alerts, 99.0)));
    }
    Ok(summary)
}

/// One submission and, with a viewer token, the wait for its ticket.
struct Job {
    /// The shared client.
    http: reqwest::Client,
    /// The run's options.
    args: LoadArgs,
    /// The courier sending it.
    token: String,
    /// The photo sent.
    photo: Photo,
    /// Where the hazard is said to be.
    point: (f64, f64),
    /// The report's number in the run.
    index: usize,
    /// The alert receiver, when measuring 202 → alert.
    webhook: Option<crate::load_webhook::WebhookClock>,
}

impl Job {
    async fn run(self) -> Outcome {
        let key = uuid::Uuid::new_v4().to_string();
        let (hint, text) = CATEGORIES[self.index % CATEGORIES.len()];
        let report = serde_json::json!({
            "lat": self.point.0, "lon": self.point.1, "text": text, "category_hint": hint,
        });
        let part =
            reqwest::multipart::Part::bytes(self.photo.1.clone()).file_name(self.photo.0.clone());
        let form = reqwest::multipart::Form::new()
            .text("report", report.to_string())
            .part("photo", part);
        let sent = Instant::now();
        let response = self
            .http
            .post(format!("{}/v1/reports", self.args.url))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", &key)
            .multipart(form)
            .send()
            .await;
        let status = response.as_ref().map_or(0, |r| r.status().as_u16());
        let submit = sent.elapsed();
        let accepted_at = Instant::now();
        let answered = accepted_at;
        let report_id = match response {
            Ok(r) if status == 202 => r.json::<serde_json::Value>().await.ok().and_then(|b| {
                b["report_id"]
                    .as_str()
                    .and_then(|s| s.parse::<ReportId>().ok())
            }),
            _ => None,
        };
        let to_ticket = match (report_id, &self.args.viewer_token) {
            (Some(id), Some(viewer)) => self.wait_for_ticket(id, viewer, accepted_at).await,
            _ => None,
        };
        let to_webhook = match (report_id, &self.webhook) {
            (Some(id), Some(clock)) => clock.wait_for(id, accepted_at).await,
            _ => None,
        };
        Outcome {
            status,
            submit,
            answered,
            to_ticket,
            to_webhook,
        }
    }

    async fn wait_for_ticket(
        &self,
        report: ReportId,
        viewer: &str,
        since: Instant,
    ) -> Option<Duration> {
        let url = format!(
            "{}/v1/tickets/{}",
            self.args.url,
            TicketId::for_report(report)
        );
        while since.elapsed() < Duration::from_secs(10) {
            let answer = self.http.get(&url).bearer_auth(viewer).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Some(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
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

/// The p-th percentile (nearest rank) of `values`, in ms.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn summarize(outcomes: &[Outcome], elapsed: Duration, measured_tickets: bool) -> Summary {
    let mut errors = BTreeMap::new();
    let mut submits: Vec<Duration> = outcomes.iter().map(|o| o.submit).collect();
    submits.sort();
    for o in outcomes.iter().filter(|o| o.status != 202) {
        *errors.entry(o.status).or_insert(0) += 1;
    }
    let accepted = outcomes.iter().filter(|o| o.status == 202).count();
    let mut tickets: Vec<Duration> = outcomes.iter().filter_map(|o| o.to_ticket).collect();
    tickets.sort();
    Summary {
        sent: outcomes.len(),
        accepted,
        accepted_per_s: accepted as f64 / elapsed.as_secs_f64(),
        errors,
        submit_ms: (percentile(&submits, 50.0), percentile(&submits, 99.0)),
        to_ticket_ms: (measured_tickets && !tickets.is_empty())
            .then(|| (percentile(&tickets, 50.0), percentile(&tickets, 99.0))),
        no_ticket: if measured_tickets {
            accepted - tickets.len()
        } else {
            0
        },
        to_webhook_ms: None,
        no_alert: 0,
    }
}

fn render(args: &LoadArgs, s: &Summary) -> String {
    let mut out = format!(
        "sent {} reports at {:.1}/s for {:.0} s\naccepted {} ({:.1}/s)\n",
        s.sent, args.rate, args.duration, s.accepted, s.accepted_per_s
    );
    let errors: Vec<String> = s
        .errors
        .iter()
        .map(|(status, n)| format!("{status}: {n}"))
        .collect();
    out += &format!(
        "errors by status: {}\n",
        if errors.is_empty() {
            "none".to_owned()
        } else {
            errors.join(", ")
        }
    );
    out += &format!(
        "submit latency: p50 {:.1} ms, p99 {:.1} ms\n",
        s.submit_ms.0, s.submit_ms.1
    );
    match s.to_ticket_ms {
        Some((p50, p99)) => {
            out += &format!("202 -> ticket in queue: p50 {p50:.1} ms, p99 {p99:.1} ms ({} accepted without a ticket)\n", s.no_ticket);
        }
        None => out += "202 -> ticket in queue: not measured (pass --viewer-token)\n",
    }
    if let Some((p50, p99)) = s.to_webhook_ms {
        out += &format!("202 -> alert at the webhook: p50 {p50:.1} ms, p99 {p99:.1} ms ({} accepted without an alert)\n", s.no_alert);
    }
    out
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
            webhook_listen: None,
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
