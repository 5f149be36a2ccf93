//! The local spool of [`super::store::PhotoBackend::Nats`]: photos (and
//! photo index objects) that could not reach the `PHOTOS` bucket because
//! NATS was away, kept under `<data_dir>/photo-spool/<sha[0..2]>/<name>`.
//!
//! It is a [`PhotoStore`] at another root, so a spooled photo is as durable
//! as a filesystem one (fsync, atomic rename) and the 202 for its report is
//! honest. The outbox publisher uploads a report's photos before it
//! publishes the report ([`crate::outbox`]), and a file leaves the spool
//! only once the bucket holds it: a report never reaches `REPORTS` before
//! its photos are in the bucket the tracker reads from.

use super::store::PhotoStore;
use crate::Error;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The gauge of photos (and index objects) waiting in the spool.
pub const PHOTO_SPOOL: &str = "civicprobe_ingest_photo_spool";

/// Photos waiting for the bucket; cheap to clone.
#[derive(Clone, Debug)]
pub struct PhotoSpool {
    /// The same content-addressed layout as the filesystem store.
    store: PhotoStore,
    /// `<data_dir>/photo-spool`, listed by [`PhotoSpool::waiting`].
    root: PathBuf,
}

impl PhotoSpool {
    /// The spool under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        let root = data_dir.join("photo-spool");
        Self {
            store: PhotoStore::at(root.clone()),
            root,
        }
    }

    /// Keeps `bytes` under `name` until [`PhotoSpool::remove`].
    pub async fn put(&self, name: String, bytes: bytes::Bytes) -> Result<(), Error> {
        self.store.put(name, bytes).await.map(|_| ())
    }

    /// The spooled bytes under `name`, if any.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        match tokio::fs::read(self.store.path_of(name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::internal("reading a spooled photo", e)),
        }
    }

    /// Forgets `name` (the bucket holds it now).
    pub async fn remove(&self, name: &str) -> Result<(), Error> {
        match tokio::fs::remove_file(self.store.path_of(name)).await {
            Ok(()) => Ok(()),
            // Uploaded by a concurrent round (the shutdown drain).
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal("removing a spooled photo", e)),
        }
    }

    /// The names waiting, oldest folder first; temporary files (a write
    /// cut short) are not listed.
    pub async fn waiting(&self) -> Result<Vec<String>, Error> {
        self.listed(Duration::ZERO).await
    }

    /// The names written at least `min_age` ago: left by a request that
    /// stopped before its report was committed (a crash, a conflicting
    /// retry), when no report in the outbox names them.
    pub async fn stale(&self, min_age: Duration) -> Result<Vec<String>, Error> {
        self.listed(min_age).await
    }

    async fn listed(&self, min_age: Duration) -> Result<Vec<String>, Error> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || list(&root, min_age))
            .await
            .map_err(|e| Error::internal("listing the photo spool", e))?
            .map_err(|e| Error::internal("listing the photo spool", e))
    }

    /// Sets [`PHOTO_SPOOL`] to what is waiting now; returns it.
    pub async fn count(&self) -> usize {
        match self.waiting().await {
            Ok(names) => {
                metrics::gauge!(PHOTO_SPOOL).set(names.len() as f64);
                names.len()
            }
            Err(error) => {
                tracing::warn!(%error, "photo spool: cannot list");
                0
            }
        }
    }
}

fn list(root: &Path, min_age: Duration) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    let folders = match std::fs::read_dir(root) {
        Ok(folders) => folders,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    for folder in folders {
        let folder = folder?;
        if !folder.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(folder.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if !min_age.is_zero() {
                let written = file.metadata()?.modified()?;
                if written.elapsed().unwrap_or_default() < min_age {
                    continue;
                }
            }
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spooled_photo_is_listed_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = PhotoSpool::new(dir.path());
        assert!(spool.waiting().await.unwrap().is_empty());
        let sha = "cd".repeat(32);
        spool.put(sha.clone(), "bytes".into()).await.unwrap();
        std::fs::write(dir.path().join("photo-spool/cd/.x.tmp"), b"half").unwrap();
        assert_eq!(spool.waiting().await.unwrap(), vec![sha.clone()]);
        assert_eq!(spool.get(&sha).await.unwrap().unwrap(), b"bytes");
        spool.remove(&sha).await.unwrap();
        spool.remove(&sha).await.unwrap();
        assert!(spool.waiting().await.unwrap().is_empty());
        assert!(spool.get(&sha).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn only_files_written_long_enough_ago_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let spool = PhotoSpool::new(dir.path());
        let (old, new) = ("ab".repeat(32), "ac".repeat(32));
        spool.put(old.clone(), "old".into()).await.unwrap();
        spool.put(new.clone(), "new".into()).await.unwrap();
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(spool.store.path_of(&old))
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let stale = spool.stale(Duration::from_secs(600)).await.unwrap();
        assert_eq!(stale, vec![old]);
        assert_eq!(spool.waiting().await.unwrap().len(), 2);
    }
}
