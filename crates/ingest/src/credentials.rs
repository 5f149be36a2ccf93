//! Who holds a token or a web session, learned from the `TOKENS` stream
//! the tracker publishes ([`civicprobe_model::credential`]), so that ingest
//! never opens the tracker's database and keeps accepting while the
//! database, the tracker or NATS is away.
//!
//! [`CredentialDirectory`] holds hash → grant in memory. [`follow`] keeps
//! it current with an ordered consumer (`DeliverPolicy::LastPerSubject`,
//! one `filter_subject`): first the whole current state, which replaces
//! the directory once caught up, then each change as the tracker publishes
//! it. After each caught-up change the directory is written to
//! `<data_dir>/credentials.json`, read back at the next start: a restarted
//! ingest with NATS away still knows its couriers. An empty stream (lost,
//! not yet republished) never empties a directory that holds grants.
//!
//! Web sessions: a grant's `valid_until` is the session's earliest limit,
//! its idle deadline included, which the tracker moves and republishes as
//! it sees the session used (at most once a minute). Ingest checks it on
//! every request; it does not extend a session itself (it cannot write the
//! tracker's database), so a session used *only* against ingest for longer
//! than the idle limit ends as the tracker would end it. The pages call
//! the tracker as they are used, which keeps a working session alive.

use crate::courier::{BoxError, CourierDirectory};
use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use civicprobe_model::nats::{TOKENS_STREAM, TOKEN_SUBJECTS};
use civicprobe_model::{CourierId, CredentialGrant, CredentialState, Principal, Sha256};
use futures::future::BoxFuture;
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The local copy's file name, under the data directory.
pub const LOCAL_COPY: &str = "credentials.json";
/// The pause before following again after an error.
const RETRY: Duration = Duration::from_secs(1);

/// Live credentials by hash; cheap to share.
#[derive(Debug)]
pub struct CredentialDirectory {
    /// sha256 of the secret → who holds it, until when.
    grants: RwLock<HashMap<Sha256, CredentialGrant>>,
    /// `<data_dir>/credentials.json`.
    path: PathBuf,
}

impl CredentialDirectory {
    /// The directory as last written to `<data_dir>/credentials.json`
    /// (empty if there is none or it cannot be read, which is logged).
    pub fn open(data_dir: &Path) -> Arc<Self> {
        let path = data_dir.join(LOCAL_COPY);
        let grants = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "credentials: local copy unreadable");
                HashMap::new()
            }),
            Err(_) => HashMap::new(),
        };
        tracing::info!(known = grants.len(), "credentials: local copy loaded");
        Arc::new(Self {
            grants: RwLock::new(grants),
            path,
        })
    }

    /// Who holds `secret` (a bearer token or a session id) right now:
    /// `None` if unknown, tombstoned or past its `valid_until`.
    pub fn principal(&self, secret: &str) -> Option<Principal> {
        let hash = Sha256::of(secret.as_bytes());
        let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
        let grant = grants.get(&hash)?;
        (time::OffsetDateTime::now_utc() < grant.valid_until).then(|| grant.principal.clone())
    }

    /// How many live grants the directory holds.
    pub fn len(&self) -> usize {
        self.grants.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn apply(&self, state: CredentialState) {
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        match state.grant {
            Some(grant) => grants.insert(state.hash, grant),
            None => grants.remove(&state.hash),
        };
    }

    fn replace(&self, all: HashMap<Sha256, CredentialGrant>) {
        *self.grants.write().unwrap_or_else(|e| e.into_inner()) = all;
    }

    /// Writes the local copy (to a temporary file, then renamed).
    async fn save(&self) {
        let bytes = {
            let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
            serde_json::to_vec(&*grants)
        };
        let Ok(bytes) = bytes else { return };
        let tmp = self.path.with_extension("json.tmp");
        let written = async {
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &self.path).await
        };
        if let Err(e) = written.await {
            tracing::warn!(path = %self.path.display(), error = %e, "credentials: could not write the local copy");
        }
    }
}

impl CourierDirectory for CredentialDirectory {
    fn courier_for_token<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<CourierId>, BoxError>> {
        let courier = match self.principal(token) {
            Some(Principal::Courier { courier_id, .. }) => Some(courier_id),
            _ => None,
        };
        Box::pin(async move { Ok(courier) })
    }
}

/// Follows `TOKENS` into `directory` until `stop` resolves; NATS errors
/// (down, the stream not created yet) are retried every second.
pub async fn follow(
    directory: Arc<CredentialDirectory>,
    js: jetstream::Context,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            result = follow_once(&directory, &js) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "credentials: feed interrupted; resuming");
                }
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// One ordered consumer's life: the current state, then changes.
async fn follow_once(
    directory: &CredentialDirectory,
    js: &jetstream::Context,
) -> Result<(), BoxError> {
    let stream = js.get_stream(TOKENS_STREAM).await?;
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig {
            // One subject (NATS 2.9 ignores `filter_subjects`).
            filter_subject: TOKEN_SUBJECTS.to_owned(),
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await?;
    let mut snapshot = Some(HashMap::new());
    if consumer.info().await?.num_pending == 0 {
        tracing::info!("credentials: the TOKENS stream is empty; keeping what is known");
        snapshot = None;
    }
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let pending = message.info()?.pending;
        if let Ok(state) = serde_json::from_slice::<CredentialState>(&message.payload) {
            match snapshot.as_mut() {
                Some(all) => {
                    if let Some(grant) = state.grant {
                        all.insert(state.hash, grant);
                    }
                }
                None => directory.apply(state),
            }
        }
        if pending == 0 {
            if let Some(all) = snapshot.take() {
                directory.replace(all);
                tracing::info!(
                    known = directory.len(),
                    "credentials: caught up with TOKENS"
                );
            }
            metrics::gauge!("civicprobe_ingest_credentials_known").set(directory.len() as f64);
            directory.save().await;
        }
    }
    Ok(())
}
