//! Abuse and overload limits: a token bucket per courier, the in-flight
//! upload budget and the photo-processing slots.
//!
//! # Memory bound
//!
//! A request first reserves its body size (its `Content-Length`, or the
//! whole body limit when it has none) from the upload budget and waits,
//! FIFO, up to 30 s (then `503 busy`) until it fits. So the request bodies
//! held at once never exceed `B = max(upload_budget_bytes, body limit)`
//! (defaults: 256 MiB; body limit = 3 × 16 MiB + 80 KiB). Photos are then
//! decoded on at most `C` = cores blocking threads at a time, each decode
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request may wait for its share of the upload budget.
const BUDGET_WAIT: Duration = Duration::from_secs(30);

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

/// The in-flight upload budget, counted in KiB.
#[derive(Clone, Debug)]
pub struct UploadBudget {
    /// KiB available.
    permits: Arc<Semaphore>,
    /// The most one request may take, KiB.
    max_request_kib: u32,
}

fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl UploadBudget {
    /// A budget of `budget_bytes`, raised to one full body if smaller.
    pub fn new(budget_bytes: usize, body_limit: usize) -> Self {
        let max_request_kib = kib(body_limit).max(1);
        let total = kib(budget_bytes).max(max_request_kib);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            max_request_kib,
        }
    }

    /// Reserves room for a body of `content_length` bytes (the whole body
    /// limit when unknown); the reservation lasts as long as the permit.
    pub async fn reserve(
        &self,
        content_length: Option<u64>,
    ) -> Result<OwnedSemaphorePermit, Error> {
        let want = content_length
            .and_then(|n| usize::try_from(n).ok())
            .map_or(self.max_request_kib, kib)
            .clamp(1, self.max_request_kib);
        let acquire = self.permits.clone().acquire_many_owned(want);
        match tokio::time::timeout(BUDGET_WAIT, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(Error::Busy),
        }
    }

    /// KiB free right now (for tests and metrics).
    pub fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }
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

    #[tokio::test]
    async fn reservations_wait_for_room_and_release_on_drop() {
        let budget = UploadBudget::new(4096, 3000);
        let first = budget.reserve(Some(3000)).await.unwrap();
        assert_eq!(budget.available_kib(), 1);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(None).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap().unwrap();
        assert_eq!(budget.available_kib(), 4);
    }
}
