//! The database: one [`Store`] over sqlx's `Any` pool, SQLite or
//! PostgreSQL chosen by the URL scheme, migrations applied on connect.
//!
//! Every query is written once with `$1, $2 …` placeholders, which both
//! SQLite and PostgreSQL accept.

use crate::audit::copy::CopyPool;
use crate::clock::{Clock, SystemClock};
use crate::sla::VerifyConfig;
use crate::Error;
use civicprobe_model::SlaPolicy;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file, the embedded default.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names, or the scheme it does not know.
    pub fn of_url(url: &str) -> Result<Backend, Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            Err(Error::UnsupportedDatabase(scheme.to_owned()))
        }
    }
}

/// The tracker's system of record. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    /// Connections to SQLite or PostgreSQL through sqlx's `Any` driver.
    pub(crate) pool: AnyPool,
    /// Which database `pool` talks to.
    pub(crate) backend: Backend,
    /// Where "now" comes from: every action's time, the SLA clock.
    pub(crate) clock: Arc<dyn Clock>,
    /// PostgreSQL only: the audit's COPY connections.
    pub(crate) copy_pool: Option<CopyPool>,
    /// Woken after a commit that wrote to the outbox, so the publisher
    /// does not wait for its next poll.
    pub(crate) outbox_ready: Arc<Notify>,
    /// The deadline policy (the router's file): re-triage, urgent
    /// duplicates and reports routed by hand compute deadlines with it.
    pub(crate) policy: Arc<SlaPolicy>,
    /// The rules of a nearby courier's check (radius, photo age, reuse).
    pub(crate) verify: VerifyConfig,
    /// Split deployments: JetStream, where a resolve or verify looks up
    /// a photo announced on `UPLOADS` but not recorded yet
    /// ([`crate::uploads`]).
    pub(crate) uploads: Option<async_nats::jetstream::Context>,
    /// The district's public key and the JetStream that holds `ANCHORS`:
    /// `GET /v1/audit/verify` holds the chain to the latest signed head
    /// ([`Store::anchor_verdict`]).
    pub(crate) anchor: Option<(ed25519_dalek::VerifyingKey, async_nats::jetstream::Context)>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies the
    /// migrations of that backend. For SQLite the file and its folder are
    /// created when missing and the journal is switched to WAL.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = pool_options(backend).connect_with(options).await?;
        let copy_pool = match backend {
            Backend::Postgres => Some(CopyPool::lazy(&url)?),
            Backend::Sqlite => None,
        };
        let store = Store {
            pool,
            backend,
            copy_pool,
            clock: Arc::new(SystemClock),
            outbox_ready: Arc::new(Notify::new()),
            policy: Arc::new(SlaPolicy::default()),
            verify: VerifyConfig::default(),
            uploads: None,
            anchor: None,
        };
        store.migrate().await?;
        tracing::info!(backend = ?backend, "tracker store ready");
        Ok(store)
    }

    /// Applies this backend's migrations (idempotent).
    async fn migrate(&self) -> Result<(), Error> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The same store reading time from `clock` (tests move time with a
    /// [`crate::clock::MockClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The same store computing deadlines with `policy` (the router's
    /// policy file; [`SlaPolicy::default`] until set).
    pub fn with_policy(mut self, policy: SlaPolicy) -> Store {
        self.policy = Arc::new(policy);
        self
    }

    /// The same store checking nearby couriers' verifications with
    /// `config` ([`VerifyConfig::default`] until set).
    pub fn with_verification(mut self, config: VerifyConfig) -> Store {
        self.verify = config;
        self
    }

    /// Looks photos up on `UPLOADS` when a resolve or verify cites one not
    /// recorded yet ([`Store::catch_up_upload`]).
    pub fn with_uploads(mut self, js: async_nats::jetstream::Context) -> Store {
        self.uploads = Some(js);
        self
    }

    /// Holds the chain to the heads signed with `key` and published on
    /// `ANCHORS` in `js` ([`Store::anchor_verdict`]).
    pub fn with_anchor(
        mut self,
        key: ed25519_dalek::VerifyingKey,
        js: async_nats::jetstream::Context,
    ) -> Store {
        self.anchor = Some((key, js));
        self
    }

    /// The chain against the latest published head, as `audit verify`
    /// checks it; unanchored without [`Store::with_anchor`], or while
    /// `ANCHORS` cannot be read (saying so).
    pub async fn anchor_verdict(&self) -> Result<crate::anchor::check::AnchorVerdict, Error> {
        use crate::anchor::check::{check, AnchorVerdict};
        let Some((key, js)) = &self.anchor else {
            return Ok(AnchorVerdict::Unanchored {
                why: "no anchor key is configured (CIVICPROBE_ANCHOR_KEY)".into(),
            });
        };
        match crate::anchor::stream::latest(js).await {
            Ok(head) => check(self, head, key).await,
            Err(e) => Ok(AnchorVerdict::Unanchored {
                why: format!("the ANCHORS stream cannot be read now ({e})"),
            }),
        }
    }

    /// JetStream for [`Store::catch_up_upload`], if configured.
    pub(crate) fn uploads(&self) -> Option<&async_nats::jetstream::Context> {
        self.uploads.as_ref()
    }

    /// The rules of a nearby courier's check.
    pub fn verification_rules(&self) -> VerifyConfig {
        self.verify
    }

    /// The deadline policy.
    pub fn policy(&self) -> &SlaPolicy {
        &self.policy
    }

    /// The store's current time.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Signalled after a commit that wrote to the outbox.
    pub(crate) fn outbox_ready(&self) -> &Notify {
        &self.outbox_ready
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for administration and tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers a query now (readiness checks).
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The audit's COPY connections (PostgreSQL only).
    pub(crate) fn copy_pool(&self) -> Option<&CopyPool> {
        self.copy_pool.as_ref()
    }

    /// Closes every connection (waits for checked-out ones).
    pub async fn close(&self) {
        if let Some(copy) = &self.copy_pool {
            copy.close().await;
        }
        self.pool.close().await;
    }
}

/// Pool sizes: SQLite serializes writers, so a few connections suffice for
/// concurrent readers; PostgreSQL gets a typical web-service pool.
fn pool_options(backend: Backend) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .min_connections(0);
    match backend {
        Backend::Sqlite => options.max_connections(4).after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the single writer; it is a
                // property of the file, so setting it again is a no-op.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                Ok(())
            })
        }),
        Backend::Postgres => options.max_connections(10),
    }
}

/// Adds `mode=rwc` (create when missing) unless a mode is given, and creates
/// the file's folder.
fn prepare_sqlite_url(url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !path.is_empty() && path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
    }
    if query.split('&').any(|pair| pair.starts_with("mode=")) {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{}?mode=rwc", url.trim_end_matches('?')))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme_and_hides_the_rest() {
        assert_eq!(Backend::of_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u@h/d").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/d").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of_url("mysql://root:secret@h/d").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn sqlite_urls_get_create_mode_and_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/civicprobe.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", file.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"));
        assert!(dir.path().join("nested").is_dir());
        let kept = prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap();
        assert_eq!(kept, "sqlite://x.db?mode=ro");
    }
}
