//! Abuse and overload limits: a token bucket per courier, the in-flight
//! upload budget and the photo-processing slots.
//!
//! # Memory bound
//!
//! No body byte is read before its sender is authenticated (Open311 reads at
//! most a small form, or the text parts before its first `media` part,
//! without taking anything). From then on the body is metered
//! ([`crate::metered`]): each chunk, as it arrives, takes its KiB from the
//! upload budget before it is handed on, waiting in turn (FIFO) up to 30 s
//! (then `503 busy`). What a client declares (`Content-Length`) takes
//! nothing; one over the body limit is refused at once (`413`). The KiB are
//! held until the request's work is done. So the request bodies held at
//! once never exceed `B = max(upload_budget_bytes, body limit)` (defaults:
//! 256 MiB; body limit = 3 × 16 MiB + 80 KiB), plus per connection what
//! hyper buffers of one chunk and Open311's pre-authentication cap
//! ([`UploadSlots`] bounds uploads per client, the HTTP server the number
//! of connections). Partly received uploads cannot wait on each other for
//! ever: one full body of the budget is a reserve that, once the shared
//! part is exhausted, one upload at a time (in turn) draws on, and one full
//! body is all an upload can need, so some upload can always finish.
//! Photos are
//! then decoded on at most `C` = cores blocking threads at a time, each decode
//! bounded: a JPEG decodes at a DCT-scaled size (≤ 4 bytes × ~(320..640)²)
//! plus, if progressive, libjpeg's whole-image coefficients (2 bytes × 1.5
//! × pixels for 4:2:0, ≤ 150 MB at 50 MP; 300 MB for 4:4:4); PNG/WebP under
//! the image crate's `max_alloc` of `8 × max_photo_pixels + 64 MiB`. Peak ≈
//! `B + C × D` where `D` is that per-decode bound: with defaults on 2 cores
//! ≈ 256 MiB + 2 × 464 MiB (worst case, two 50 MP 16-bit PNGs), ≈ 256 MiB +
//! 2 × 300 MiB for progressive 4:4:4 50 MP JPEGs — whatever the number of
//! concurrent uploads (64 or 6400). Lower `--max-photo-pixels` to lower `D`.

use crate::Error;
use civicprobe_model::CourierId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a request may wait for its share of the upload budget.
pub(crate) const BUDGET_WAIT: Duration = Duration::from_secs(30);

/// Beyond this many couriers tracked, full buckets are forgotten.
const MAX_TRACKED: usize = 100_000;

/// One courier's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Reports available now (fractional).
    tokens: f64,
    /// When `tokens` was computed.
    at: Instant,
}

/// Per-courier token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens added per second.
    per_second: f64,
    /// Bucket capacity.
    burst: f64,
    /// The buckets.
    buckets: Mutex<HashMap<CourierId, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` sustained, bursts of `burst`.
    pub fn new(per_minute: f64, burst: u32) -> Self {
        Self {
            per_second: (per_minute / 60.0).max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `courier`, or says how long to wait.
    pub fn check(&self, courier: CourierId) -> Result<(), Error> {
        self.check_at(courier, Instant::now())
    }

    fn check_at(&self, courier: CourierId, now: Instant) -> Result<(), Error> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > MAX_TRACKED {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + rate * now.duration_since(b.at).as_secs_f64() < burst);
        }
        let bucket = buckets.entry(courier).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        metrics::counter!("civicprobe_ingest_rate_limited_total").increment(1);
        Err(Error::RateLimited {
            retry_after_s: wait.ceil().clamp(1.0, 86_400.0) as u64,
        })
    }
}

/// The in-flight upload budget, counted in KiB: a shared part, and a
/// reserve of one full body that one upload at a time (the holder of the
/// lane) may draw on once the shared part is exhausted, so that partly
/// received uploads never all wait on each other.
#[derive(Clone, Debug)]
pub struct UploadBudget {
    /// KiB of the shared part available.
    pub(crate) permits: Arc<Semaphore>,
    /// KiB of the reserve available (one full body in all).
    pub(crate) reserve: Arc<Semaphore>,
    /// One permit: who may draw on the reserve.
    pub(crate) lane: Arc<Semaphore>,
    /// The most one request may take, KiB.
    pub(crate) max_request_kib: u32,
}

/// `bytes` in KiB, rounded up.
pub(crate) fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl UploadBudget {
    /// A budget of `budget_bytes`, raised to one full body if smaller.
    pub fn new(budget_bytes: usize, body_limit: usize) -> Self {
        let max_request_kib = kib(body_limit).max(1);
        let total = kib(budget_bytes).max(max_request_kib);
        Self {
            permits: Arc::new(Semaphore::new((total - max_request_kib) as usize)),
            reserve: Arc::new(Semaphore::new(max_request_kib as usize)),
            lane: Arc::new(Semaphore::new(1)),
            max_request_kib,
        }
    }

    /// KiB free right now, shared part and reserve (for tests and metrics).
    pub fn available_kib(&self) -> usize {
        self.permits.available_permits() + self.reserve.available_permits()
    }
}

/// The default cap on one client's uploads in flight at once.
pub const DEFAULT_UPLOADS_PER_CLIENT: usize = 2;

/// Uploads in flight per client (a courier, or a token's holder), so that
/// one client cannot hold the whole upload budget or every photo worker.
#[derive(Debug)]
pub struct UploadSlots {
    /// The most uploads one client may have in flight.
    per_client: usize,
    /// Uploads in flight by client key; a key leaves at zero.
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// One upload's slot, given back when dropped.
#[derive(Debug)]
pub struct UploadSlot {
    /// Whose slot.
    key: String,
    /// The map it is counted in.
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl UploadSlots {
    /// At most `per_client` (at least 1) uploads in flight per client.
    pub fn new(per_client: usize) -> Self {
        Self {
            per_client: per_client.max(1),
            in_flight: Arc::default(),
        }
    }

    /// A slot for `client`, or `429` ([`Error::TooManyUploads`]) when it
    /// already has its cap in flight.
    pub fn take(&self, client: String) -> Result<UploadSlot, Error> {
        let mut map = lock(&self.in_flight);
        let max = self.per_client;
        let n = map.entry(client.clone()).or_insert(0);
        if *n >= max {
            metrics::counter!("civicprobe_ingest_uploads_over_cap_total").increment(1);
            return Err(Error::TooManyUploads { max });
        }
        *n += 1;
        Ok(UploadSlot {
            key: client,
            in_flight: self.in_flight.clone(),
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut map = lock(&self.in_flight);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::new(60.0, 2);
        let (ada, bob) = (CourierId::new(), CourierId::new());
        let t0 = Instant::now();
        assert!(limiter.check_at(ada, t0).is_ok());
        assert!(limiter.check_at(ada, t0).is_ok());
        match limiter.check_at(ada, t0) {
            Err(Error::RateLimited { retry_after_s }) => assert_eq!(retry_after_s, 1),
            other => panic!("{other:?}"),
        }
        assert!(limiter.check_at(bob, t0).is_ok(), "buckets are per courier");
        assert!(limiter
            .check_at(ada, t0 + Duration::from_millis(1100))
            .is_ok());
    }

    #[test]
    fn a_client_gets_its_cap_of_slots_and_them_back_on_drop() {
        let slots = UploadSlots::new(2);
        let a = slots.take("ada".into()).unwrap();
        let _b = slots.take("ada".into()).unwrap();
        assert!(matches!(
            slots.take("ada".into()),
            Err(Error::TooManyUploads { max: 2 })
        ));
        let _other = slots.take("bob".into()).expect("caps are per client");
        drop(a);
        let _c = slots.take("ada".into()).expect("a slot given back");
    }
}
