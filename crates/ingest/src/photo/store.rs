//! The content-addressed photo store on the filesystem:
//! `<data_dir>/photos/<sha[0..2]>/<sha256>`.
//!
//! A photo is written to a temporary file in its final folder, flushed, and
//! renamed into place, so a reader never sees half a photo. A photo that is
//! already stored is left as is: same name, same bytes.

use crate::Error;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where photos live; cheap to clone.
#[derive(Clone, Debug)]
pub struct PhotoStore {
    /// `<data_dir>/photos`.
    root: PathBuf,
}

impl PhotoStore {
    /// The store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("photos"),
        }
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
            .map_err(|e| Error::Internal {
                what: "storing a photo",
                source: e.into(),
            })?
            .map_err(|e| Error::Internal {
                what: "storing a photo",
                source: e.into(),
            })
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
