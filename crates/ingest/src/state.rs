//! [`IngestState`]: what every handler shares, and the outbox publisher
//! that lives exactly as long as it.

use crate::access::{DenyAll, ReportAccess};
use crate::courier::CourierDirectory;
use crate::evidence::{ReuseIndex, Thresholds, REUSE_WINDOW_DAYS};
use crate::limit::{RateLimiter, UploadBudget, UploadSlot, UploadSlots};
use crate::local::LocalStore;
use crate::metered::UploadMeter;
use crate::photo::store::PhotoBackend;
use crate::photo::PhotoLimits;
use crate::{form, outbox, Config, Error};
use async_nats::jetstream;
use civicprobe_model::CourierId;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::sync::{watch, Notify, OnceCell, Semaphore};

/// The local store, opened on first use, and the reuse index it seeds.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Where `ingest.db` lives.
    data_dir: PathBuf,
    /// The store once opened.
    local: OnceCell<LocalStore>,
    /// Recent perceptual hashes.
    pub(crate) reuse: ReuseIndex,
}

impl Shared {
    /// The local store, opened (and the reuse index seeded) on first use.
    pub(crate) async fn local(&self) -> Result<&LocalStore, Error> {
        self.local
            .get_or_try_init(|| async {
                let store = LocalStore::open(&self.data_dir).await?;
                let since =
                    time::OffsetDateTime::now_utc() - time::Duration::days(REUSE_WINDOW_DAYS);
                for (phash, report) in store.phashes_since(since).await? {
                    self.reuse.insert(phash, report);
                }
                Ok(store)
            })
            .await
    }
}

/// What every request handler shares; cheap to clone.
#[derive(Clone)]
pub struct IngestState {
    /// Shared, immutable after start.
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Limits, thresholds and the data directory.
    pub(crate) config: Config,
    /// Who a bearer token belongs to.
    pub(crate) couriers: Arc<dyn CourierDirectory>,
    /// Who may see a report's photos.
    pub(crate) access: OnceLock<Arc<dyn ReportAccess>>,
    /// Where stripped photos and thumbnails are kept.
    pub(crate) photos: Arc<PhotoBackend>,
    /// The local store and the reuse index.
    pub(crate) shared: Arc<Shared>,
    /// Per-courier token buckets.
    pub(crate) limiter: RateLimiter,
    /// Bytes of request bodies in flight.
    pub(crate) budget: UploadBudget,
    /// Uploads in flight per client.
    pub(crate) slots: UploadSlots,
    /// The request body limit (every part at its largest).
    pub(crate) body_limit: usize,
    /// One photo in processing per core.
    pub(crate) cpu: Arc<Semaphore>,
    /// Wakes the publisher after each accepted report.
    pub(crate) wake: Arc<Notify>,
    /// Whether this state accepts reports (`false`: a photo reader, whose
    /// local store holds none).
    accepts: bool,
    /// Where the outbox is published ([`IngestState::run`],
    /// [`IngestState::drain_outbox`]).
    js: jetstream::Context,
}

impl IngestState {
    /// The state for [`crate::app`]; its background work is
    /// [`IngestState::run`], which the service runs. The local store
    /// (`<data_dir>/ingest.db`) is opened on first use; call
    /// [`IngestState::open_store`] to open it (and fail) early.
    pub fn new(
        config: Config,
        js: jetstream::Context,
        couriers: Arc<dyn CourierDirectory>,
    ) -> Self {
        Self::build(config, js, couriers, true)
    }

    /// The state for [`crate::photo_app`] alone, in a process that accepts
    /// no reports (the tracker): the same photo store, and no outbox
    /// publisher or reuse feed.
    pub fn photo_reader(
        config: Config,
        js: jetstream::Context,
        couriers: Arc<dyn CourierDirectory>,
    ) -> Self {
        Self::build(config, js, couriers, false)
    }

    fn build(
        config: Config,
        js: jetstream::Context,
        couriers: Arc<dyn CourierDirectory>,
        accepts: bool,
    ) -> Self {
        let body_limit = form::body_limit(config.max_photo_bytes);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let shared = Arc::new(Shared {
            data_dir: config.storage.data_dir.clone(),
            local: OnceCell::new(),
            reuse: ReuseIndex::default(),
        });
        let wake = Arc::new(Notify::new());
        let photos = Arc::new(PhotoBackend::new(
            config.storage.photo_store,
            &config.storage.data_dir,
            &js,
            config.jetstream,
        ));
        let inner = Inner {
            photos,
            limiter: RateLimiter::new(config.rate_per_minute, config.rate_burst),
            budget: UploadBudget::new(config.upload_budget_bytes, body_limit),
            slots: UploadSlots::new(config.max_uploads_per_client),
            body_limit,
            cpu: Arc::new(Semaphore::new(cores)),
            config,
            couriers,
            access: OnceLock::new(),
            shared,
            wake,
            accepts,
            js,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The background work of an ingest that accepts reports, until
    /// `shutdown`: the outbox publisher (accepted reports onto `REPORTS`)
    /// and the reuse feed (other instances' photo hashes). A photo reader
    /// has none and returns at once. Run it beside the HTTP server; once
    /// both have ended, [`Self::drain_outbox`] publishes what is left.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        if !self.inner.accepts {
            return;
        }
        let inner = &self.inner;
        let (stop, stopped) = watch::channel(());
        let publishing = outbox::run(
            inner.shared.clone(),
            inner.photos.clone(),
            inner.js.clone(),
            inner.wake.clone(),
            stopped.clone(),
        );
        let following = crate::reuse_feed::run(inner.shared.clone(), inner.js.clone(), stopped);
        let stopping = async move {
            shutdown.await;
            drop(stop);
        };
        tokio::join!(publishing, following, stopping);
    }

    /// Serves `GET /v1/reports/{id}/photos/{n}` to whom `access` allows
    /// (without it, nobody may).
    pub fn with_report_access(self, access: Arc<dyn ReportAccess>) -> Self {
        let _ = self.inner.access.set(access);
        self
    }

    /// Opens the local store now (it is otherwise opened on first use).
    pub async fn open_store(&self) -> Result<(), Error> {
        self.inner.shared.local().await.map(|_| ())
    }

    /// Accepted reports not yet acknowledged by JetStream.
    pub async fn outbox_backlog(&self) -> Result<i64, Error> {
        self.inner.shared.local().await?.backlog().await
    }

    /// On shutdown: keeps publishing the outbox until it is empty or
    /// `within` has passed; returns (and logs) how many reports remain.
    pub async fn drain_outbox(&self, within: std::time::Duration) -> Result<i64, Error> {
        outbox::drain_for(
            &self.inner.shared,
            &self.inner.photos,
            &self.inner.js,
            within,
        )
        .await
    }

    /// A report this instance accepted, before the router and tracker
    /// have caught up (Open311 answers it "being routed" at once); `None`
    /// for one it never accepted. A photo reader (a split tracker) asks
    /// the ingests that accept ([`crate::lookup`]).
    pub async fn accepted_report(
        &self,
        report_id: civicprobe_model::ReportId,
    ) -> Result<Option<civicprobe_model::ReportSubmitted>, Error> {
        if !self.inner.accepts {
            return crate::lookup::ask(&self.inner.js, report_id).await;
        }
        self.inner.shared.local().await?.report(report_id).await
    }

    /// The configured shutdown drain time (`--drain-secs`).
    pub fn drain_time(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.inner.config.drain_secs)
    }

    /// A stored (metadata-free) photo or thumbnail by its sha256, for
    /// callers that did their own scope check (Open311's public media).
    pub async fn photo(&self, sha256: civicprobe_model::Sha256) -> Result<Option<Vec<u8>>, Error> {
        self.inner.photos.get(&sha256.to_string()).await
    }

    /// The courier holding `token` (a bearer token or a session id), as
    /// this state's courier directory knows it; `None` for anyone else.
    pub async fn courier_for_token(&self, token: &str) -> Result<Option<CourierId>, Error> {
        self.inner
            .couriers
            .courier_for_token(token)
            .await
            .map_err(|source| Error::Unavailable {
                what: "the courier token store",
                source,
            })
    }

    /// `body`, taking its KiB from the upload budget as its bytes arrive
    /// (see [`crate::metered`]), and the meter holding them: keep it until
    /// the body's work is done, so that every upload (the courier app's,
    /// proof photos, Open311's) shares the one memory bound of
    /// [`crate::limit`].
    pub fn meter_upload(&self, body: axum::body::Body) -> (axum::body::Body, UploadMeter) {
        self.inner.budget.meter(body)
    }

    /// The same, taking nothing until [`UploadMeter::arm`] (for a body
    /// that must be read a little to find who sent it).
    pub fn meter_upload_unarmed(&self, body: axum::body::Body) -> (axum::body::Body, UploadMeter) {
        self.inner.budget.meter_unarmed(body)
    }

    /// One of `courier`'s upload slots, or `429` when they have their cap
    /// in flight ([`Config::max_uploads_per_client`]).
    pub fn upload_slot(&self, courier: CourierId) -> Result<UploadSlot, Error> {
        self.inner.slots.take(format!("courier:{courier}"))
    }

    /// The request body limit: every part at its largest, plus framing.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// `413` at once for a declared `Content-Length` over the body limit
    /// (nothing is read; a body without one is cut at the limit instead).
    pub fn refuse_declared_over_limit(&self, headers: &axum::http::HeaderMap) -> Result<(), Error> {
        match crate::submit::content_length(headers) {
            Some(n) if n > self.inner.body_limit as u64 => Err(Error::too_large(
                "body",
                format!("at most {} bytes are allowed", self.inner.body_limit),
            )),
            _ => Ok(()),
        }
    }

    /// Photo hashes in the reuse index (this instance's and, through
    /// [`crate::reuse_feed`], every other's).
    pub fn known_photo_hashes(&self) -> usize {
        self.inner.shared.reuse.len()
    }

    /// KiB of the upload budget free right now.
    pub fn upload_budget_free_kib(&self) -> usize {
        self.inner.budget.available_kib()
    }

    pub(crate) fn access(&self) -> Arc<dyn ReportAccess> {
        self.inner
            .access
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(DenyAll))
    }

    pub(crate) fn photo_limits(&self) -> PhotoLimits {
        let c = &self.inner.config;
        PhotoLimits {
            max_bytes: c.max_photo_bytes,
            max_pixels: c.max_photo_pixels,
            max_side: c.max_photo_side,
        }
    }

    pub(crate) fn thresholds(&self) -> Thresholds {
        let c = &self.inner.config;
        Thresholds {
            age_s: c.flag_age_s,
            distance_m: c.flag_distance_m,
            reuse_bits: c.flag_reuse_bits,
        }
    }
}

impl fmt::Debug for IngestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestState")
            .field("config", &self.inner.config)
            .field("photos", &self.inner.photos)
            .finish_non_exhaustive()
    }
}
