//! The versioned model file `civicprobe classify --train` writes and the
//! router loads (`--model PATH`).
//!
//! JSON, one object: the format tag, the version, both models as rows
//! sorted by feature hash, the urgency calibration and the thresholds. The
//! version is `m-` and the FNV-1a-64 hash of the file written with an
//! empty version, so the same training gives the same file name
//! (`model-<version>.json`) and any change gives another. JSON rather than
//! a binary form: a model of the bundled corpus is about a megabyte and
//! loads in a few milliseconds, and a person can read what it holds.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::{calibrate::Platt, logistic::Logistic, Classifier, Thresholds};
use crate::Error;

/// The format tag; a file with another is refused.
pub const FORMAT: &str = "civicprobe-classifier/1";

/// The file form of a [`Classifier`].
#[derive(Serialize, Deserialize)]
struct ModelFile {
    /// [`FORMAT`].
    format: String,
    /// `m-<16 hex>`, empty while the hash is computed.
    version: String,
    /// How many labelled reports it learned from.
    trained_on: usize,
    /// Decision thresholds.
    thresholds: Thresholds,
    /// Urgency calibration.
    platt: Platt,
    /// The category model.
    category: Logistic,
    /// The urgency model.
    urgent: Logistic,
}

impl ModelFile {
    /// The file form of `c` with `version`.
    fn of(c: &Classifier, version: String) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version,
            trained_on: c.trained_on,
            thresholds: c.thresholds,
            platt: c.platt,
            category: c.category.clone(),
            urgent: c.urgent.clone(),
        }
    }
}

/// The version of a model: the hash of its file with an empty version.
pub(crate) fn version_of(c: &Classifier) -> String {
    let bytes = serde_json::to_vec(&ModelFile::of(c, String::new())).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("m-{h:016x}")
}

/// Writes `c` as `dir/model-<version>.json` (through a temporary file and
/// a rename, so a router watching the path never reads half a model) and
/// returns the path.
pub fn save(c: &Classifier, dir: &Path) -> Result<PathBuf, Error> {
    let path = dir.join(format!("model-{}.json", c.version));
    let tmp = dir.join(format!(".model-{}.json.tmp", c.version));
    let write = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Write { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(write(dir))?;
    let json = serde_json::to_vec(&ModelFile::of(c, c.version.clone())).map_err(Error::Encode)?;
    std::fs::write(&tmp, json).map_err(write(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(write(&path))?;
    Ok(path)
}

/// Reads a model file; refuses another format, a bad shape, or a version
/// that does not match the contents (a hand-edited or truncated file).
pub fn load(path: &Path) -> Result<Classifier, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let fault = |reason: String| Error::ModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let f: ModelFile = serde_json::from_slice(&bytes).map_err(|e| fault(e.to_string()))?;
    if f.format != FORMAT {
        return Err(fault(format!("format {:?}, expected {FORMAT:?}", f.format)));
    }
    if f.category.classes() != civicprobe_model::Category::ALL.len() || f.urgent.classes() != 2 {
        return Err(fault("the models do not have 4 and 2 classes".into()));
    }
    let c = Classifier {
        category: f.category,
        urgent: f.urgent,
        platt: f.platt,
        thresholds: f.thresholds,
        trained_on: f.trained_on,
        version: f.version.clone(),
    };
    let expected = version_of(&c);
    if f.version != expected {
        return Err(fault(format!(
            "version {:?} does not match its contents ({expected})",
            f.version
        )));
    }
    Ok(c)
}
