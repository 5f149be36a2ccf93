//! Streams and object stores with the configured replicas.
//!
//! Every `ensure_*` function of the services goes through [`ensure_stream`]
//! so that `--stream-replicas` applies everywhere, in one place: a missing
//! stream is created with it, and an existing one whose replicas differ is
//! updated (JetStream moves the data to the new peers itself). Nothing
//! else of an existing stream's configuration is changed here.

use crate::{Error, JetStreamSettings};
use async_nats::jetstream::{self, object_store, stream};

/// How long a replicas update waits for the new replicas to catch up.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(10);

/// The stream `config` names, created with `settings.replicas` or
/// updated to them. A failure to create or update with those replicas is
/// [`Error::Replicas`], naming the stream and the replicas.
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: stream::Config,
    settings: &JetStreamSettings,
) -> Result<stream::Info, Error> {
    let name = config.name.clone();
    let replicas = settings.replicas;
    let wanted = stream::Config {
        num_replicas: replicas,
        ..config
    };
    let info = match existing(js, &name).await? {
        None => js
            .create_stream(wanted)
            .await
            .map_err(|e| refused(&name, replicas, e))?
            .info()
            .await
            .cloned()
            .map_err(|e| Error::nats(format!("reading stream {name}"))(e.into()))?,
        Some(info) if info.config.num_replicas.max(1) == replicas => info,
        Some(info) => update_replicas(js, info, replicas).await?,
    };
    got_replicas(&info, replicas)?;
    Ok(info)
}

/// A server may quietly hold fewer replicas than asked (a standalone one
/// clamps to 1): that is the same refusal, said.
fn got_replicas(info: &stream::Info, replicas: usize) -> Result<(), Error> {
    let got = info.config.num_replicas.max(1);
    if got == replicas {
        return Ok(());
    }
    let why = format!("the server holds it with {got}");
    Err(replicas_error(&info.config.name, replicas, why.into()))
}

/// The object store `config` names (its stream is `OBJ_<bucket>`), made or
/// updated to `settings.replicas` as [`ensure_stream`] does.
pub async fn ensure_object_store(
    js: &jetstream::Context,
    config: object_store::Config,
    settings: &JetStreamSettings,
) -> Result<object_store::ObjectStore, Error> {
    let bucket = config.bucket.clone();
    let stream_name = civicprobe_model::nats::object_store_stream(&bucket);
    let replicas = settings.replicas;
    let info = match existing(js, &stream_name).await? {
        None => {
            let wanted = object_store::Config {
                num_replicas: replicas,
                ..config
            };
            js.create_object_store(wanted)
                .await
                .map_err(|e| replicas_error(&stream_name, replicas, e.into()))?;
            existing(js, &stream_name).await?
        }
        Some(info) if info.config.num_replicas.max(1) == replicas => Some(info),
        Some(info) => Some(update_replicas(js, info, replicas).await?),
    };
    if let Some(info) = info {
        got_replicas(&info, replicas)?;
    }
    js.get_object_store(&bucket)
        .await
        .map_err(|e| Error::nats(format!("opening object store {bucket}"))(e.into()))
}

/// The stream's info, `None` if it does not exist.
async fn existing(js: &jetstream::Context, name: &str) -> Result<Option<stream::Info>, Error> {
    match js.get_stream(name).await {
        Ok(mut stream) => {
            let info = stream
                .info()
                .await
                .map_err(|e| Error::nats(format!("reading stream {name}"))(e.into()))?;
            Ok(Some(info.clone()))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::nats(format!("looking up stream {name}"))(e.into())),
    }
}

fn is_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// Updates `info`'s stream to `replicas`, keeping the rest of its config,
/// and waits (a bounded time) until the new replicas have caught up.
async fn update_replicas(
    js: &jetstream::Context,
    info: stream::Info,
    replicas: usize,
) -> Result<stream::Info, Error> {
    let name = info.config.name.clone();
    let from = info.config.num_replicas.max(1);
    // A standalone server (no cluster info) accepts the update and keeps
    // one copy: refuse it rather than claim replicas that do not exist.
    if replicas > 1 && info.cluster.is_none() {
        let why = "the server is not part of a JetStream cluster".into();
        return Err(replicas_error(&name, replicas, why));
    }
    let config = stream::Config {
        num_replicas: replicas,
        ..info.config
    };
    js.update_stream(&config)
        .await
        .map_err(|e| refused(&name, replicas, e))?;
    tracing::info!(stream = %name, from, to = replicas, "stream replicas updated");
    caught_up(js, &name, replicas).await
}

/// The stream's info once every replica is current, or after
/// [`CATCH_UP`] (logged: JetStream goes on moving the data).
async fn caught_up(
    js: &jetstream::Context,
    name: &str,
    replicas: usize,
) -> Result<stream::Info, Error> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let info = existing(js, name).await?;
        let current = info.as_ref().and_then(|i| i.cluster.as_ref()).map(|c| {
            c.leader.is_some()
                && c.replicas.len() + 1 >= replicas
                && c.replicas.iter().all(|p| p.current)
        });
        match info {
            Some(info) if current != Some(false) => return Ok(info),
            Some(info) if tokio::time::Instant::now() >= deadline => {
                tracing::warn!(stream = %name, replicas, "new replicas not caught up yet");
                return Ok(info);
            }
            Some(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            None => return Err(Error::nats(format!("stream {name} vanished"))("".into())),
        }
    }
}

/// A refusal by the server is about the replicas (the rest of the config
/// is the code's own); anything else is NATS being away.
fn refused(stream: &str, replicas: usize, e: jetstream::context::CreateStreamError) -> Error {
    match e.kind() {
        jetstream::context::CreateStreamErrorKind::JetStream(_) => {
            replicas_error(stream, replicas, e.into())
        }
        _ => Error::nats(format!("creating or updating stream {stream}"))(e.into()),
    }
}

fn replicas_error(stream: &str, replicas: usize, source: crate::BoxError) -> Error {
    Error::Replicas {
        stream: stream.to_owned(),
        replicas,
        source,
    }
}
