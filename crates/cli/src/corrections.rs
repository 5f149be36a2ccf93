//! `civicprobe classify`: reads the offices' corrections that
//! `--train --corrections-from SOURCE` learns from, then hands over to the
//! router's [`civicprobe_router::cli::classify`].
//!
//! The router crate knows no database, so the binary reads the tracker's
//! [`Store::triage_corrections`] here: each re-triage becomes a labelled
//! example of the report's text with the category and urgency the person
//! settled on (no hint: the courier's hint is what the router already saw).

use anyhow::{bail, Context};
use civicprobe_router::{
    classifier::corpus::{self, Labelled},
    cli::ClassifyArgs,
};
use civicprobe_tracker::{Store, TriageCorrection};
use std::path::Path;

/// Runs `civicprobe classify` with the corrections `args` names.
pub async fn classify(args: ClassifyArgs) -> anyhow::Result<()> {
    let corrections = match &args.corrections_from {
        Some(source) => load(source).await?,
        None => Vec::new(),
    };
    Ok(civicprobe_router::cli::classify(args, corrections).await?)
}

/// The labelled corrections of a database URL (`sqlite:…`, `postgres…`),
/// of the SQLite database in a data directory, or of a JSON Lines file.
pub async fn load(source: &str) -> anyhow::Result<Vec<Labelled>> {
    let is_url = ["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|scheme| source.starts_with(scheme));
    let path = Path::new(source);
    let url = if is_url {
        source.to_owned()
    } else if path.is_dir() {
        let db = path.join("civicprobe.db");
        if !db.is_file() {
            bail!("--corrections-from {source}: no civicprobe.db in that directory");
        }
        format!("sqlite://{}", db.display())
    } else {
        return corpus::load(path).with_context(|| format!("--corrections-from {source}"));
    };
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("--corrections-from: opening {}", masked(&url)))?;
    let rows = store
        .triage_corrections()
        .await
        .context("reading the triage corrections")?;
    Ok(rows.iter().filter_map(labelled).collect())
}

/// A correction as a labelled example; `None` for a ticket without text.
pub fn labelled(c: &TriageCorrection) -> Option<Labelled> {
    let text = c.text.as_deref()?.trim();
    (!text.is_empty()).then(|| Labelled {
        text: text.to_owned(),
        hint: None,
        category: c.to_category,
        urgent: c.to_urgent,
    })
}

/// A URL without its password, for messages.
fn masked(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
