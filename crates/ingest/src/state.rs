//! [`IngestState`]: what every handler shares, and the outbox publisher
//! that lives exactly as long as it.

use crate::access::{DenyAll, ReportAccess};
use crate::courier::CourierDirectory;
use crate::evidence::{ReuseIndex, Thresholds, REUSE_WINDOW_DAYS};
use crate::limit::{RateLimiter, UploadBudget};
use crate::local::LocalStore;
use crate::photo::store::PhotoBackend;
use crate::photo::PhotoLimits;
use crate::{form, outbox, Config, Error};
use async_nats::jetstream;
use std::fmt;
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
                    if let (Ok(h), Ok(r)) = (u64::from_str_radix(&phash, 16), report.parse()) {
                        self.reuse.insert(h, r);
                    }
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
    pub(crate) photos: PhotoBackend,
    /// The local store and the reuse index.
    pub(crate) shared: Arc<Shared>,
    /// Per-courier token buckets.
    pub(crate) limiter: RateLimiter,
    /// Bytes of request bodies in flight.
    pub(crate) budget: UploadBudget,
    /// One photo in processing per core.
    pub(crate) cpu: Arc<Semaphore>,
    /// Wakes the publisher after each accepted report.
    pub(crate) wake: Arc<Notify>,
    /// Dropped with the state: stops the publisher.
    _stop: watch::Sender<()>,
}

impl IngestState {
    /// The state for [`crate::app`]. Also starts, on the current Tokio
    /// runtime, the outbox publisher ([`crate::outbox`]), which stops when
    /// the last clone of this state is dropped. The local store
    /// (`<data_dir>/ingest.db`) is opened on first use; call
    /// [`IngestState::open_store`] to open it (and fail) early.
    pub fn new(
        config: Config,
        js: jetstream::Context,
        couriers: Arc<dyn CourierDirectory>,
    ) -> Self {
        let body_limit = form::body_limit(config.max_photo_bytes);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let shared = Arc::new(Shared {
            data_dir: config.data_dir.clone(),
            local: OnceCell::new(),
            reuse: ReuseIndex::default(),
        });
        let (stop, stopped) = watch::channel(());
        let wake = Arc::new(Notify::new());
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(outbox::run(
                    shared.clone(),
                    js.clone(),
                    wake.clone(),
                    stopped.clone(),
                ));
                rt.spawn(crate::reuse_feed::run(shared.clone(), js.clone(), stopped));
            }
            Err(_) => tracing::error!(
                "no Tokio runtime: the outbox publisher and the reuse feed are not running"
            ),
        }
        let inner = Inner {
            photos: PhotoBackend::new(config.photo_store, &config.data_dir, &js),
            limiter: RateLimiter::new(config.rate_per_minute, config.rate_burst),
            budget: UploadBudget::new(config.upload_budget_bytes, body_limit),
            cpu: Arc::new(Semaphore::new(cores)),
            config,
            couriers,
            access: OnceLock::new(),
            shared,
            wake,
            _stop: stop,
        };
        Self {
            inner: Arc::new(inner),
        }
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

    /// A stored (metadata-free) photo or thumbnail by its sha256, for
    /// callers that did their own scope check (Open311's public media).
    pub async fn photo(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        self.inner.photos.get(sha256).await
    }

    /// Reserves room in the upload budget for a request body of the
    /// `Content-Length` in `headers` (a full body when there is none),
    /// waiting in turn up to 30 s ([`Error::Busy`], 503, after that). A
    /// front end other than `POST /v1/reports` (Open311) holds the permit
    /// while it reads and processes its body, so that every upload shares
    /// the one memory bound (see [`crate::limit`]).
    pub async fn reserve_upload(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let length = crate::submit::content_length(headers);
        self.inner.budget.reserve(length).await
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
