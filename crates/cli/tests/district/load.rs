//! A sustained load through the box's nginx, as couriers' phones send it:
//! a report every `1/rate` s, each retried with the same Idempotency-Key
//! until it gets its 202 (a refused or failed submit is sent again, as the
//! courier app does). The ledger keeps when each 202 came, and when its
//! ticket or merge was first seen in the tracker's database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a phone keeps retrying one report.
const GIVE_UP: Duration = Duration::from_secs(120);

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
    /// Reports that never got a 202 within [`GIVE_UP`].
    pub given_up: u64,
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

/// Shared between the submitters, the watcher and the test.
pub type Shared = Arc<Mutex<Ledger>>;

/// What the couriers send.
pub struct Couriers {
    /// Their tokens.
    pub tokens: Vec<String>,
    /// Distinct photos, so that not every report is a photo duplicate.
    pub photos: Vec<Vec<u8>>,
}

/// Sends reports at `rate` per second until `stop` is set; returns the
/// tasks still retrying (await them to have every report's outcome).
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
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut tasks = Vec::new();
    let mut places: Vec<(f64, f64, &str)> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for n in 0.. {
        tick.tick().await;
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let (lat, lon, hint) = place(&mut seed, &mut places, n);
        let token = couriers.tokens[n % couriers.tokens.len()].clone();
        let photo = couriers.photos[next(&mut seed) as usize % couriers.photos.len()].clone();
        let report = serde_json::json!({
            "lat": lat, "lon": lon, "category_hint": hint,
            "text": format!("{hint} 第{n}号 hazard number {n}"),
        });
        let submit = Submission {
            http: http.clone(),
            url: format!("{base}/v1/reports"),
            token,
            key: uuid::Uuid::new_v4().to_string(),
            report: report.to_string(),
            photo,
        };
        tasks.push(tokio::spawn(submit.until_accepted(ledger.clone())));
    }
    tasks
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

/// One report as a phone holds it until it is accepted.
struct Submission {
    http: reqwest::Client,
    url: String,
    token: String,
    key: String,
    report: String,
    photo: Vec<u8>,
}

impl Submission {
    async fn until_accepted(self, ledger: Shared) {
        let started = Instant::now();
        while started.elapsed() < GIVE_UP {
            let status = match self.send().await {
                Ok(id) => {
                    let mut ledger = ledger.lock().expect("ledger");
                    ledger.accepted.entry(id).or_insert_with(Instant::now);
                    return;
                }
                Err(status) => status,
            };
            *ledger
                .lock()
                .expect("ledger")
                .retries
                .entry(status)
                .or_default() += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        ledger.lock().expect("ledger").given_up += 1;
    }

    /// The report id of a 202; else the status (0: no answer).
    async fn send(&self) -> Result<String, u16> {
        let form = reqwest::multipart::Form::new()
            .part(
                "report",
                reqwest::multipart::Part::text(self.report.clone())
                    .mime_str("application/json")
                    .map_err(|_| 0u16)?,
            )
            .part(
                "photo",
                reqwest::multipart::Part::bytes(self.photo.clone())
                    .file_name("photo.jpg")
                    .mime_str("image/jpeg")
                    .map_err(|_| 0u16)?,
            );
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Idempotency-Key", &self.key)
            .multipart(form)
            .send()
            .await
            .map_err(|_| 0u16)?;
        let status = answer.status().as_u16();
        if status != 202 {
            return Err(status);
        }
        let body: serde_json::Value = answer.json().await.map_err(|_| status)?;
        body["report_id"].as_str().map(str::to_owned).ok_or(status)
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
