//! The content-addressed photo store, on the filesystem by default:
//! `<data_dir>/photos/<sha[0..2]>/<sha256>`.
//!
//! A photo is written to a temporary file in its final folder, flushed, and
//! renamed into place, so a reader never sees half a photo. A photo that is
//! already stored is left as is: same name, same bytes.
//!
//! With the JetStream object store, a report's photos are written to the
//! local spool ([`super::spool`]) and uploaded by the outbox before the
//! report is published ([`PhotoBackend::upload_for_report`]): a courier's
//! request never waits on NATS, and nothing reads a report before the
//! bucket holds its photos. Every bucket operation is bounded by
//! [`BUCKET_BOUND`].

use super::spool::PhotoSpool;
use crate::local::StoredPhoto;
use crate::{Error, PhotoBackendKind};
use async_nats::jetstream::{self, object_store};
use bytes::Bytes;
use civicprobe_model::nats::PHOTOS_BUCKET;
use civicprobe_model::{ReportId, ReportSubmitted};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one put or get waits for the bucket (its first creation
/// included): a request or the outbox is never held by a NATS that does
/// not answer (a leader being elected, a node gone).
pub const BUCKET_BOUND: Duration = Duration::from_secs(5);

/// How old a spooled file must be, with the outbox empty, to count as
/// left over by a request that never committed its report.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Makes the [`PHOTOS_BUCKET`] bucket with `settings.replicas` (or updates
/// an existing one to them). Ingest runs it among its start-up steps when
/// photos go to NATS: made on first use instead, a clustered bucket took
/// longer than [`BUCKET_BOUND`] to appear, and the first reports waited
/// for the next round.
pub async fn ensure_photos_bucket(
    js: &jetstream::Context,
    settings: &civicprobe_model::nats::JetStreamSettings,
) -> Result<object_store::ObjectStore, civicprobe_jetstream::Error> {
    let config = object_store::Config {
        bucket: PHOTOS_BUCKET.to_owned(),
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    civicprobe_jetstream::ensure_object_store(js, config, settings).await
}

/// Where photos live; cheap to clone.
#[derive(Clone, Debug)]
pub struct PhotoStore {
    /// `<data_dir>/photos`.
    root: PathBuf,
}

impl PhotoStore {
    /// The store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self::at(data_dir.join("photos"))
    }

    /// The same layout under `root` (the spool's).
    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    /// The file a photo with this lower-case hex sha256 is stored in.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let fan_out = sha256.get(..2).unwrap_or(sha256);
        self.root.join(fan_out).join(sha256)
    }

    /// Stores `bytes` under `sha256` (off the async workers).
    pub async fn put(&self, sha256: String, bytes: bytes::Bytes) -> Result<PathBuf, Error> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.put_blocking(&sha256, &bytes))
            .await
            .map_err(|e| Error::internal("storing a photo", e))?
            .map_err(|e| Error::internal("storing a photo", e))
    }

    /// Stores `bytes` under `sha256`: temporary file, fsync, rename.
    pub fn put_blocking(&self, sha256: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let path = self.path_of(sha256);
        if path.exists() {
            return Ok(path);
        }
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("photo path has no folder"))?;
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{sha256}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // Make the rename itself durable; not every platform can open a folder.
        if let Ok(folder) = fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(path)
    }
}

/// Where photos and thumbnails go: the filesystem, or a JetStream object
/// store bucket ([`PHOTOS_BUCKET`]) shared by several ingest instances.
pub enum PhotoBackend {
    /// [`PhotoStore`] under the data directory.
    Fs(PhotoStore),
    /// The bucket, created on first use (boxed: it is large).
    Nats(Box<NatsPhotos>),
}

/// The JetStream side of [`PhotoBackend::Nats`].
pub struct NatsPhotos {
    /// Where to create or find the bucket.
    js: jetstream::Context,
    /// Its replicas (`--stream-replicas`).
    settings: civicprobe_model::nats::JetStreamSettings,
    /// The bucket once opened.
    bucket: tokio::sync::OnceCell<object_store::ObjectStore>,
    /// Where photos wait while the bucket cannot be reached.
    spool: PhotoSpool,
}

impl NatsPhotos {
    /// Whether the client is connected now: while it is not, the outbox's
    /// uploads fail at once instead of each waiting [`BUCKET_BOUND`].
    fn connected(&self) -> bool {
        self.js.client().connection_state() == async_nats::connection::State::Connected
    }
}

impl std::fmt::Debug for NatsPhotos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NatsPhotos(PHOTOS)")
    }
}

impl std::fmt::Debug for PhotoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhotoBackend::Fs(store) => f.debug_tuple("Fs").field(store).finish(),
            PhotoBackend::Nats(_) => f.write_str("Nats(PHOTOS)"),
        }
    }
}

fn nats_error(source: impl Into<crate::BoxError>) -> Error {
    Error::Unavailable {
        what: "the photo object store",
        source: source.into(),
    }
}

impl PhotoBackend {
    /// The backend `kind` under `data_dir` or on `js` (a bucket with
    /// `settings.replicas`).
    pub fn new(
        kind: PhotoBackendKind,
        data_dir: &Path,
        js: &jetstream::Context,
        settings: civicprobe_model::nats::JetStreamSettings,
    ) -> Self {
        match kind {
            PhotoBackendKind::Fs => PhotoBackend::Fs(PhotoStore::new(data_dir)),
            PhotoBackendKind::Nats => PhotoBackend::Nats(Box::new(NatsPhotos {
                js: js.clone(),
                settings,
                bucket: tokio::sync::OnceCell::new(),
                spool: PhotoSpool::new(data_dir),
            })),
        }
    }

    /// The bucket: made at start-up ([`ensure_photos_bucket`]), or here on
    /// first use if start-up has not got that far.
    async fn bucket(nats: &NatsPhotos) -> Result<object_store::ObjectStore, Error> {
        nats.bucket
            .get_or_try_init(|| async {
                ensure_photos_bucket(&nats.js, &nats.settings)
                    .await
                    .map_err(nats_error)
            })
            .await
            .cloned()
    }

    /// Stores `bytes` under `sha256` unless already there; an error when
    /// the bucket cannot be reached within [`BUCKET_BOUND`]. For proof and
    /// verification photos, announced as soon as stored.
    pub async fn put(&self, sha256: String, bytes: Bytes) -> Result<(), Error> {
        match self {
            PhotoBackend::Fs(store) => store.put(sha256, bytes).await.map(|_| ()),
            PhotoBackend::Nats(nats) => Self::bounded(Self::upload(nats, &sha256, bytes)).await,
        }
    }

    /// Stores a report's photo under `name`. With the JetStream store it
    /// goes to the local spool only, durable on this disk: the request
    /// never waits on NATS, so ingest answers at once and accepts while
    /// NATS is away. The outbox uploads it before it publishes the report
    /// ([`PhotoBackend::upload_for_report`]).
    pub async fn put_for_report(&self, name: String, bytes: Bytes) -> Result<(), Error> {
        match self {
            PhotoBackend::Fs(_) => self.put(name, bytes).await,
            PhotoBackend::Nats(nats) => nats.spool.put(name, bytes).await,
        }
    }

    /// Puts `bytes` in the bucket under `name` unless already there.
    async fn upload(nats: &NatsPhotos, name: &str, bytes: Bytes) -> Result<(), Error> {
        let bucket = Self::bucket(nats).await?;
        if bucket.info(name).await.is_ok() {
            return Ok(());
        }
        let mut reader = std::io::Cursor::new(bytes);
        bucket.put(name, &mut reader).await.map_err(nats_error)?;
        Ok(())
    }

    /// Makes the bucket hold what `report` names before it is published:
    /// each of its photos and thumbnails still in the spool (each removed
    /// from the spool once the bucket has it) and its index, so that
    /// every instance sharing the bucket can serve them; all at once, as
    /// each write waits for the stream's replicas. Each upload is
    /// bounded by [`BUCKET_BOUND`]; an error (the bucket away) leaves the
    /// report for the next round. A photo not in the spool was uploaded
    /// for an earlier report with the same bytes, or by an earlier round.
    pub async fn upload_for_report(&self, report: &ReportSubmitted) -> Result<(), Error> {
        let PhotoBackend::Nats(nats) = self else {
            return Ok(());
        };
        if report.photos.is_empty() {
            return Ok(());
        }
        if !nats.connected() {
            return Err(nats_error("NATS is not connected"));
        }
        let mut names = Vec::with_capacity(report.photos.len() * 2);
        for photo in &report.photos {
            names.push(photo.sha256.to_string());
            names.extend(photo.thumbnail_sha256.map(|s| s.to_string()));
        }
        let index: Vec<StoredPhoto> = report.photos.iter().map(StoredPhoto::from).collect();
        let json =
            serde_json::to_vec(&index).map_err(|e| Error::internal("encoding a photo index", e))?;
        let index_name = index_key(report.report_id);
        let mut photos = Vec::with_capacity(names.len());
        for name in &names {
            photos.push(Self::upload_spooled(nats, name));
        }
        let index = Self::bounded(Self::upload(nats, &index_name, json.into()));
        futures::future::try_join(futures::future::try_join_all(photos), index).await?;
        Ok(())
    }

    /// Uploads (then removes) the spool's files older than
    /// [`STALE_AFTER`]: called while the outbox is empty, when no report
    /// names them, they were left by requests that never committed. They
    /// are uploaded rather than deleted, so that a courier's retry that
    /// found one of them in place (same bytes, same name) still finds its
    /// photo in the bucket.
    pub async fn upload_stale_spool(&self) -> Result<usize, Error> {
        let PhotoBackend::Nats(nats) = self else {
            return Ok(0);
        };
        let stale = nats.spool.stale(STALE_AFTER).await?;
        if stale.is_empty() || !nats.connected() {
            return Ok(0);
        }
        for name in &stale {
            Self::upload_spooled(nats, name).await?;
        }
        tracing::info!(
            uploaded = stale.len(),
            "photo spool: left-over photos uploaded"
        );
        nats.spool.count().await;
        Ok(stale.len())
    }

    /// Uploads spooled `name` (if still spooled), then removes it.
    async fn upload_spooled(nats: &NatsPhotos, name: &str) -> Result<(), Error> {
        let Some(bytes) = nats.spool.get(name).await? else {
            return Ok(());
        };
        Self::bounded(Self::upload(nats, name, bytes.into())).await?;
        nats.spool.remove(name).await
    }

    /// `op`, or an error once it has waited [`BUCKET_BOUND`].
    async fn bounded<T>(
        op: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(BUCKET_BOUND, op)
            .await
            .map_err(|_| nats_error(format!("no answer within {BUCKET_BOUND:?}")))?
    }

    /// Sets the spool's gauge to what waits in it now (the outbox, after a
    /// round that uploaded something or could not).
    pub async fn count_spool(&self) {
        if let PhotoBackend::Nats(nats) = self {
            nats.spool.count().await;
        }
    }

    /// The bytes stored under `sha256`, if any: the spool first (this
    /// disk, the same content-addressed bytes the bucket will hold), then
    /// the bucket within [`BUCKET_BOUND`].
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        match self {
            PhotoBackend::Fs(store) => {
                let path = store.path_of(sha256);
                match tokio::fs::read(path).await {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::internal("reading a photo", e)),
                }
            }
            PhotoBackend::Nats(nats) => {
                if let Some(bytes) = nats.spool.get(sha256).await? {
                    return Ok(Some(bytes));
                }
                Self::bounded(Self::download(nats, sha256)).await
            }
        }
    }

    async fn download(nats: &NatsPhotos, name: &str) -> Result<Option<Vec<u8>>, Error> {
        use tokio::io::AsyncReadExt;
        let bucket = Self::bucket(nats).await?;
        let mut object = match bucket.get(name).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(nats_error(e)),
        };
        let mut out = Vec::new();
        object.read_to_end(&mut out).await.map_err(nats_error)?;
        Ok(Some(out))
    }
}

/// The bucket object listing a report's photos.
fn index_key(report_id: ReportId) -> String {
    format!("report-{report_id}")
}

impl PhotoBackend {
    /// Photo `n` of a report, from the bucket's index (`None` for a
    /// filesystem store, or a report the bucket does not list).
    pub async fn indexed_photo(
        &self,
        report_id: ReportId,
        n: u32,
    ) -> Result<Option<StoredPhoto>, Error> {
        if let PhotoBackend::Fs(_) = self {
            return Ok(None);
        }
        let Some(json) = self.get(&index_key(report_id)).await? else {
            return Ok(None);
        };
        let photos: Vec<StoredPhoto> = serde_json::from_slice(&json)
            .map_err(|e| Error::internal("reading a photo index", e))?;
        Ok(usize::try_from(n)
            .ok()
            .and_then(|n| photos.into_iter().nth(n)))
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::File::create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_stored_by_name_once_and_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let store = PhotoStore::new(dir.path());
        let sha = "ab".repeat(32);
        let path = store.put_blocking(&sha, b"first").unwrap();
        assert_eq!(path, dir.path().join("photos").join("ab").join(&sha));
        assert_eq!(fs::read(&path).unwrap(), b"first");
        // Same name again: left as is.
        store.put_blocking(&sha, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(&sha)]);
    }
}
