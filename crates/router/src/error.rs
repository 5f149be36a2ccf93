//! The router's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the router.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// A labelled corpus line is unusable.
    #[error("corpus {source_name} line {line}: {reason}")]
    Corpus {
        /// The file (or stream) read.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A model file is not one this router can use.
    #[error("model file {}: {reason}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing a file failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// The training corpus has no reports.
    #[error("the classifier corpus is empty")]
    EmptyCorpus,
    /// A settings file (policy, categories) is unusable.
    #[error("{file}: {key}: {reason}")]
    Settings {
        /// Which file.
        file: String,
        /// The key at fault, dotted (`manhole.urgent.acknowledge`).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading input or writing output of a command failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The jurisdictions text is not GeoJSON at all.
    #[error("jurisdictions are not valid GeoJSON: {0}")]
    GeoJson(#[source] Box<geojson::Error>),
    /// The jurisdictions are GeoJSON but not a usable FeatureCollection.
    #[error("jurisdictions: {0}")]
    Jurisdictions(String),
    /// One feature of the jurisdictions is unusable.
    #[error(
        "jurisdictions feature #{index}{}: {reason}",
        office_id.as_ref().map(|id| format!(" (office_id {id:?})")).unwrap_or_default()
    )]
    Feature {
        /// Zero-based position of the feature in the collection.
        index: usize,
        /// The feature's `office_id`, when it has a string one.
        office_id: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// Duplicate detection could not settle a report (index not caught up,
    /// endless claim contention).
    #[error("duplicate detection: {0}")]
    Dedup(String),
    /// A blocking task panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(String),
    /// An event could not be encoded as JSON.
    #[error("encoding an event: {0}")]
    Encode(#[source] serde_json::Error),
    /// A NATS or JetStream call failed.
    #[error("NATS: {step}: {source}")]
    Nats {
        /// What the router was doing.
        step: &'static str,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
}

impl Error {
    /// Wraps a NATS client error with the step that failed.
    pub(crate) fn nats<E>(step: &'static str) -> impl FnOnce(E) -> Error
    where
        E: Into<async_nats::Error>,
    {
        move |source| Error::Nats {
            step,
            source: source.into(),
        }
    }
}
