//! Ingest's local store, `<data_dir>/ingest.db` (SQLite, WAL,
//! `synchronous=FULL`): the outbox of accepted reports, the answer each
//! `Idempotency-Key` got, every accepted photo (for serving it back and
//! for the photo-reuse index) and the courier of each accepted report (so
//! they can fetch its photos while it is not yet routed).
//!
//! A report row is committed (and fsync'd) before the `202` is sent; the
//! publisher ([`crate::outbox`]) marks it published once JetStream
//! acknowledged it. A crash in between loses nothing: the row is still
//! unpublished at the next start.

use crate::Error;
use civicprobe_model::unix_ms::to_ms as unix_ms;
use civicprobe_model::{CourierId, PhotoHash, ReportId, ReportSubmitted, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS reports (
    report_id      TEXT PRIMARY KEY,
    request_sha256 TEXT NOT NULL,
    payload        BLOB NOT NULL,
    accepted_ms    INTEGER NOT NULL,
    published_ms   INTEGER
);
CREATE INDEX IF NOT EXISTS reports_unpublished
    ON reports (accepted_ms) WHERE published_ms IS NULL;
CREATE INDEX IF NOT EXISTS reports_payload_kept
    ON reports (published_ms) WHERE length(payload) > 0;
CREATE TABLE IF NOT EXISTS photos (
    report_id        TEXT NOT NULL,
    n                INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    thumbnail_sha256 TEXT,
    phash            TEXT,
    accepted_ms      INTEGER NOT NULL,
    PRIMARY KEY (report_id, n)
);
CREATE TABLE IF NOT EXISTS report_couriers (
    report_id  TEXT PRIMARY KEY,
    courier_id TEXT NOT NULL
);
";

/// How long a published report's payload is kept (an hour), for
/// [`LocalStore::report`].
pub const KEEP_PUBLISHED_MS: i64 = 60 * 60 * 1000;

fn db_error(e: sqlx::Error) -> Error {
    Error::internal("using the local store", e)
}

/// A digest column (this store writes only well-formed ones).
fn digest(raw: String) -> Result<Sha256, Error> {
    raw.parse()
        .map_err(|e| Error::internal("reading the local store", e))
}

/// What a key's earlier request was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earlier {
    /// sha256 over the earlier request's parts.
    pub request_sha256: Sha256,
}

/// One unpublished report.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Its id (`Nats-Msg-Id`).
    pub report_id: ReportId,
    /// The exact JSON to publish.
    pub payload: Vec<u8>,
    /// When it was accepted (unix ms, this clock): the wait until it is
    /// published is measured from here.
    pub accepted_ms: i64,
}

/// A stored photo, as the photo route needs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredPhoto {
    /// The metadata-free photo's sha256.
    pub sha256: Sha256,
    /// Its media type.
    pub media_type: String,
    /// The thumbnail's sha256 (always a JPEG).
    pub thumbnail_sha256: Option<Sha256>,
}

impl From<&civicprobe_model::PhotoRef> for StoredPhoto {
    fn from(photo: &civicprobe_model::PhotoRef) -> Self {
        Self {
            sha256: photo.sha256,
            media_type: photo.media_type.clone(),
            thumbnail_sha256: photo.thumbnail_sha256,
        }
    }
}

/// The local store; cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalStore {
    /// Connections to `ingest.db`.
    pool: SqlitePool,
}

impl LocalStore {
    /// Opens (creating) `<data_dir>/ingest.db` and its tables.
    pub async fn open(data_dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::internal("creating the data directory", e))?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("ingest.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .map_err(db_error)?;
        Ok(Self { pool })
    }

    /// The earlier request under this report id (courier + key), if any.
    pub async fn earlier(&self, report_id: ReportId) -> Result<Option<Earlier>, Error> {
        let row = sqlx::query("SELECT request_sha256 FROM reports WHERE report_id = ?")
            .bind(report_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| {
            Ok(Earlier {
                request_sha256: digest(r.get(0))?,
            })
        })
        .transpose()
    }

    /// The report accepted here under `report_id`, as it is (or will be)
    /// published; `None` when this store never accepted it, or published
    /// it more than [`KEEP_PUBLISHED_MS`] ago.
    pub async fn report(&self, report_id: ReportId) -> Result<Option<ReportSubmitted>, Error> {
        let row = sqlx::query("SELECT payload FROM reports WHERE report_id = ?")
            .bind(report_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let payload: Option<Vec<u8>> = row.map(|r| r.get(0));
        payload.filter(|p| !p.is_empty()).map(|payload| {
            serde_json::from_slice(&payload).map_err(|e| {
                tracing::error!(error = %e, report_id = %report_id, "an accepted report does not decode");
                Error::internal("reading an accepted report", e)
            })
        })
        .transpose()
    }

    /// Commits an accepted report and its photos in one transaction.
    /// `Ok(Some(earlier))` when a concurrent request with the same key won.
    pub async fn accept(
        &self,
        report: &ReportSubmitted,
        request_sha256: Sha256,
    ) -> Result<Option<Earlier>, Error> {
        let payload =
            serde_json::to_vec(report).map_err(|e| Error::internal("encoding a report", e))?;
        let id = report.report_id.to_string();
        let now = unix_ms(OffsetDateTime::now_utc());
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let inserted = sqlx::query(
            "INSERT INTO reports (report_id, request_sha256, payload, accepted_ms)
             VALUES (?, ?, ?, ?) ON CONFLICT (report_id) DO NOTHING",
        )
        .bind(&id)
        .bind(request_sha256.to_string())
        .bind(payload)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if inserted.rows_affected() == 0 {
            drop(tx);
            return self.earlier(report.report_id).await;
        }
        sqlx::query("INSERT INTO report_couriers (report_id, courier_id) VALUES (?, ?)")
            .bind(&id)
            .bind(report.courier_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for (n, photo) in report.photos.iter().enumerate() {
            sqlx::query(
                "INSERT INTO photos (report_id, n, sha256, media_type, thumbnail_sha256, phash, accepted_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .bind(photo.sha256.to_string())
            .bind(&photo.media_type)
            .bind(photo.thumbnail_sha256.map(|s| s.to_string()))
            .bind(photo.phash.map(|h| h.to_string()))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(None)
    }

    /// Up to `limit` unpublished reports, oldest first.
    pub async fn unpublished(&self, limit: u32) -> Result<Vec<Pending>, Error> {
        let rows = sqlx::query(
            "SELECT report_id, payload, accepted_ms FROM reports WHERE published_ms IS NULL
             ORDER BY accepted_ms LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        // Only this store writes the rows; one it cannot read (hand-edited)
        // holds no report to publish, and must not stop those after it.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let raw: String = r.get(0);
                match raw.parse() {
                    Ok(report_id) => Some(Pending {
                        report_id,
                        payload: r.get(1),
                        accepted_ms: r.get(2),
                    }),
                    Err(e) => {
                        tracing::error!(report_id = %raw, error = %e, "outbox: a row with no report id is left unpublished");
                        None
                    }
                }
            })
            .collect())
    }

    /// Marks reports as acknowledged by JetStream, and drops the payload
    /// of those published more than [`KEEP_PUBLISHED_MS`] ago (the
    /// request digest stays: it answers retries). A recent payload stays
    /// so that Open311 can answer a request "being routed" until the
    /// router and tracker have caught up ([`LocalStore::report`]).
    pub async fn mark_published(&self, report_ids: &[ReportId]) -> Result<(), Error> {
        let now = unix_ms(OffsetDateTime::now_utc());
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for id in report_ids {
            sqlx::query("UPDATE reports SET published_ms = ? WHERE report_id = ?")
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        sqlx::query(
            "UPDATE reports SET payload = X'' \
             WHERE published_ms < ? AND length(payload) > 0",
        )
        .bind(now - KEEP_PUBLISHED_MS)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    /// How many accepted reports are not yet acknowledged by JetStream.
    pub async fn backlog(&self) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE published_ms IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }

    /// The courier who sent a report accepted here (since the table was
    /// added), so they can fetch its photos before the tracker knows it.
    pub async fn courier_of(&self, report_id: ReportId) -> Result<Option<CourierId>, Error> {
        let row = sqlx::query("SELECT courier_id FROM report_couriers WHERE report_id = ?")
            .bind(report_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| {
            r.get::<String, _>(0)
                .parse()
                .map_err(|e| Error::internal("reading a report's courier", e))
        })
        .transpose()
    }

    /// Photo `n` of a report.
    pub async fn photo(&self, report_id: ReportId, n: u32) -> Result<Option<StoredPhoto>, Error> {
        let row = sqlx::query(
            "SELECT sha256, media_type, thumbnail_sha256 FROM photos
             WHERE report_id = ? AND n = ?",
        )
        .bind(report_id.to_string())
        .bind(i64::from(n))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|r| {
            Ok(StoredPhoto {
                sha256: digest(r.get(0))?,
                media_type: r.get(1),
                thumbnail_sha256: r.get::<Option<String>, _>(2).map(digest).transpose()?,
            })
        })
        .transpose()
    }

    /// Perceptual hashes of photos accepted since `since`, with their
    /// report: the seed of the in-memory reuse index.
    pub async fn phashes_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(PhotoHash, ReportId)>, Error> {
        let rows = sqlx::query(
            "SELECT phash, report_id FROM photos
             WHERE phash IS NOT NULL AND accepted_ms >= ? ORDER BY accepted_ms",
        )
        .bind(unix_ms(since))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        // A row this store did not write (hand-edited) is skipped: the
        // index is a hint for evidence flags, never the record.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let phash = r.get::<String, _>(0).parse().ok()?;
                let report = r.get::<String, _>(1).parse().ok()?;
                Some((phash, report))
            })
            .collect())
    }
}
