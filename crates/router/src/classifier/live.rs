//! The model in use, swapped without a restart when its file changes.
//!
//! [`LiveClassifier`] holds an `Arc<Classifier>` behind a lock that is held
//! only to clone or replace the `Arc`, so a report being classified keeps
//! the model it started with and a swap never waits for classification.
//! [`LiveClassifier::watch`] polls the model file's modification time,
//! length and inode every few seconds (no platform file-notification dependency, and
//! it works on every filesystem); a changed file is loaded off the async
//! workers and swapped in. A file that does not load is logged and the old
//! model stays: a bad deploy must not stop the router.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use super::{file, Classifier};
use crate::Error;

/// How often [`LiveClassifier::watch`] looks at the file by default.
pub const DEFAULT_POLL: Duration = Duration::from_secs(3);

/// The current model, and the file it came from (if any).
#[derive(Debug)]
pub struct LiveClassifier {
    /// Replaced whole on reload.
    current: RwLock<Arc<Classifier>>,
    /// The model file watched; `None` for a model trained at start.
    path: Option<PathBuf>,
    /// The file as it was when loaded, so that a change between loading
    /// and watching is not missed.
    loaded: Option<Stamp>,
}

/// What identifies a version of the file on disk: modification time,
/// length and (on Unix) the inode, since a file renamed into place can
/// carry the same coarse timestamp and length as the one it replaces.
type Stamp = (SystemTime, u64, u64);

impl LiveClassifier {
    /// A fixed model (nothing to watch).
    pub fn fixed(classifier: Arc<Classifier>) -> Self {
        Self {
            current: RwLock::new(classifier),
            path: None,
            loaded: None,
        }
    }

    /// Loads the model file at `path`, to be watched.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let loaded = stamp(path);
        let model = file::load(path)?;
        Ok(Self {
            current: RwLock::new(Arc::new(model)),
            path: Some(path.to_path_buf()),
            loaded,
        })
    }

    /// The model to classify with now.
    pub fn current(&self) -> Arc<Classifier> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the model.
    pub fn swap(&self, classifier: Arc<Classifier>) {
        let mut c = match self.current.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        *c = classifier;
    }

    /// The watched file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Until `shutdown`, every `poll` reloads the file when its modification
    /// time or length changed. Returns at once for a fixed model.
    pub async fn watch(self: Arc<Self>, poll: Duration, shutdown: impl Future<Output = ()>) {
        let Some(path) = self.path.clone() else {
            return;
        };
        tokio::pin!(shutdown);
        let mut seen = self.loaded;
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(poll) => {}
            }
            let now = stamp(&path);
            if now.is_none() || now == seen {
                continue;
            }
            seen = now;
            let p = path.clone();
            match tokio::task::spawn_blocking(move || file::load(&p)).await {
                Ok(Ok(model)) => {
                    tracing::info!(
                        model_version = model.version(),
                        path = %path.display(),
                        "classifier model reloaded"
                    );
                    metrics::counter!("civicprobe_router_model_reloads_total", "outcome" => "loaded")
                        .increment(1);
                    self.swap(Arc::new(model));
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "classifier model file changed but does not load; keeping the current model");
                    metrics::counter!("civicprobe_router_model_reloads_total", "outcome" => "refused")
                        .increment(1);
                }
                Err(e) => tracing::warn!(error = %e, "loading the classifier model failed"),
            }
        }
    }
}

/// The file's [`Stamp`], `None` while it is absent.
fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some((m.modified().ok()?, m.len(), inode))
}
