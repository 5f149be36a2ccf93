//! A sustained load through the box's nginx, as couriers' phones send it.
//! A report is queued on a phone every `1/rate` s (round robin over the
//! couriers), and each phone sends its queue as the courier app's outbox
//! does (`crates/web/assets/queue.js`): one report at a time, oldest first,
//! each retried with the same Idempotency-Key until it gets its 202 (the
//! app never drops a report it could not send, so neither does a phone
//! here; the test bounds how long the phones may take to empty). After
//! a refused or failed submit the phone waits before trying again: the
//! server's `Retry-After` when it gives one, else a back-off from 250 ms
//! doubling to the app's 5 s send interval. A phone that retried at once,
//! with every queued report at the same time, would turn any stall into a
//! retry storm no app sends. The ledger keeps when each 202 came, and when
//! its ticket or merge was first seen in the tracker's database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The first wait after a failed submit; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The courier app's send interval, the longest a phone waits.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What happened to the reports.
#[derive(Default)]
pub struct Ledger {
    /// report id → when its 202 came.
    pub accepted: HashMap<String, Instant>,
    /// report id → when its ticket or merge was first seen.
    pub seen: HashMap<String, Instant>,
    /// Submissions answered other than 202 (then retried), by status;
    /// 0 for no answer at all.
    pub retries: std::collections::BTreeMap<u16, u64>,
    /// Reports queued on a phone.
    pub queued: u64,
}

impl Ledger {
    /// Accepted reports not seen yet.
    pub fn pending(&self) -> Vec<String> {
        self.accepted
            .keys()
            .filter(|id| !self.seen.contains_key(*id))
            .cloned()
            .collect()
    }

    /// How many reports accepted before `then` still wait for a ticket.
    pub fn waiting_since(&self, then: std::time::Instant) -> usize {
        self.accepted
            .iter()
            .filter(|(id, at)| **at <= then && !self.seen.contains_key(*id))
            .count()
    }
}

/// Shared between the phones, the watcher and the test.
pub type Shared = Arc<Mutex<Ledger>>;

/// What the couriers send.
pub struct Couriers {
    /// Their tokens, one phone each.
    pub tokens: Vec<String>,
    /// Distinct photos, so that not every report is a photo duplicate.
    pub photos: Vec<Vec<u8>>,
}

/// Queues reports at `rate` per second until `stop` is set; returns the
/// phones, which send what they hold and then end (await them to have
/// every report's outcome).
pub async fn run(
    base: String,
    couriers: Arc<Couriers>,
    rate: u32,
    ledger: Shared,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let url = format!("{base}/v1/reports");
    let (outboxes, phones): (Vec<_>, Vec<_>) = couriers
        .tokens
        .iter()
        .map(|token| {
            let (queue, outbox) = mpsc::unbounded_channel();
            let phone = Phone {
                http: http.clone(),
                url: url.clone(),
                token: token.clone(),
            };
            (queue, tokio::spawn(phone.send_all(outbox, ledger.clone())))
        })
        .unzip();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut places: Vec<(f64, f64, &str)> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for n in 0.. {
        tick.tick().await;
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let (lat, lon, hint) = place(&mut seed, &mut places, n);
        let photo = couriers.photos[next(&mut seed) as usize % couriers.photos.len()].clone();
        let report = serde_json::json!({
            "lat": lat, "lon": lon, "category_hint": hint,
            "text": format!("{hint} 第{n}号 hazard number {n}"),
        });
        ledger.lock().expect("ledger").queued += 1;
        let queued = Queued {
            key: uuid::Uuid::new_v4().to_string(),
            report: report.to_string(),
            photo,
        };
        outboxes[n % outboxes.len()]
            .send(queued)
            .expect("the phone is running");
    }
    phones
}

/// Every fifth report is where an earlier one was, with its category (a
/// duplicate the router merges); the others are anywhere in the district.
fn place<'a>(
    seed: &mut u64,
    places: &mut Vec<(f64, f64, &'a str)>,
    n: usize,
) -> (f64, f64, &'a str) {
    const HINTS: [&str; 3] = ["manhole", "electrical_box", "elevator"];
    if n % 5 == 4 && !places.is_empty() {
        return places[next(seed) as usize % places.len()];
    }
    let lat = 29.75 + unit(seed) * 0.14;
    let lon = 114.23 + unit(seed) * 0.18;
    let spot = (lat, lon, HINTS[next(seed) as usize % HINTS.len()]);
    places.push(spot);
    spot
}

/// xorshift64: a fixed, reproducible sequence without a dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn unit(seed: &mut u64) -> f64 {
    (next(seed) % 1_000_000) as f64 / 1_000_000.0
}

/// One report in a phone's outbox.
struct Queued {
    key: String,
    report: String,
    photo: Vec<u8>,
}

/// One courier's phone.
struct Phone {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// Why a submit did not get its 202.
struct Failed {
    /// The status, 0 for no answer at all.
    status: u16,
    /// The server's `Retry-After`, if it gave one.
    retry_after: Option<Duration>,
}

impl Phone {
    /// Sends the outbox's reports one at a time until it is closed and
    /// empty.
    async fn send_all(self, mut outbox: mpsc::UnboundedReceiver<Queued>, ledger: Shared) {
        while let Some(report) = outbox.recv().await {
            self.until_accepted(&report, &ledger).await;
        }
    }

    async fn until_accepted(&self, report: &Queued, ledger: &Shared) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let failed = match self.send(report).await {
                Ok(id) => {
                    let mut ledger = ledger.lock().expect("ledger");
                    ledger.accepted.entry(id).or_insert_with(Instant::now);
                    return;
                }
                Err(failed) => failed,
            };
            *ledger
                .lock()
                .expect("ledger")
                .retries
                .entry(failed.status)
                .or_default() += 1;
            let wait = failed.retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The report id of a 202.
    async fn send(&self, report: &Queued) -> Result<String, Failed> {
        let no_answer = |_| Failed {
            status: 0,
            retry_after: None,
        };
        let form = reqwest::multipart::Form::new()
            .part(
                "report",
                reqwest::multipart::Part::text(report.report.clone())
                    .mime_str("application/json")
                    .map_err(no_answer)?,
            )
            .part(
                "photo",
                reqwest::multipart::Part::bytes(report.photo.clone())
                    .file_name("photo.jpg")
                    .mime_str("image/jpeg")
                    .map_err(no_answer)?,
            );
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Idempotency-Key", &report.key)
            .multipart(form)
            .send()
            .await
            .map_err(no_answer)?;
        let status = answer.status().as_u16();
        let failed = |retry_after| Failed {
            status,
            retry_after,
        };
        if status != 202 {
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .map(Duration::from_secs);
            return Err(failed(retry_after));
        }
        let body: serde_json::Value = answer.json().await.map_err(|_| failed(None))?;
        body["report_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or(failed(None))
    }
}

/// Marks accepted reports as seen once the tracker's database holds them
/// (`ticket_reporters` has a row for a ticket's opener and for every merged
/// report), every 25 ms until `stop`. A database that does not answer
/// (its restart) is asked again.
pub async fn watch(database_url: String, ledger: Shared, stop: Arc<std::sync::atomic::AtomicBool>) {
    let pool = loop {
        match sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect(&database_url)
            .await
        {
            Ok(pool) => break pool,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let pending = ledger.lock().expect("ledger").pending();
        if !pending.is_empty() {
            let found: Result<Vec<String>, _> = sqlx::query_scalar(
                "SELECT report_id FROM ticket_reporters WHERE report_id = ANY($1)",
            )
            .bind(&pending)
            .fetch_all(&pool)
            .await;
            if let Ok(found) = found {
                let now = Instant::now();
                let mut ledger = ledger.lock().expect("ledger");
                for id in found {
                    ledger.seen.entry(id).or_insert(now);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Noise photos (320×240 JPEG), each its own perceptual hash.
pub fn photos(count: usize) -> Vec<Vec<u8>> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    (0..count)
        .map(|_| {
            let img = image::RgbImage::from_fn(40, 30, |_, _| {
                let v = next(&mut seed);
                image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
            });
            let img =
                image::imageops::resize(&img, 320, 240, image::imageops::FilterType::Triangle);
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Jpeg)
                .expect("jpeg");
            out.into_inner()
        })
        .collect()
}
