//! Finding or starting NATS: the one place every service connects, from a
//! [`NatsConfig`]. A server that refuses the credentials is an error said
//! as such ([`Refused`]). A configured server that does not answer is one
//! for [`Broker::connect`] (one bounded attempt), but not for the services:
//! they start through [`Broker::connect_or_wait`], which keeps connecting
//! in the background ([`crate::startup`] then waits for it). Only `up` with
//! nothing configured starts a server of its own.

use crate::nats_child::GuardedServer;
use crate::nats_config::NatsConfig;
use anyhow::{bail, Context};
use async_nats::ConnectErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A NATS connection and, if civicprobe started the server, its process.
#[derive(Debug)]
pub struct Broker {
    /// The connected client.
    pub client: async_nats::Client,
    /// The servers in use, masked (the child's URL when started here):
    /// fit for a log line.
    pub url: String,
    /// The `nats-server` child (under its guard), stopped on stop or drop,
    /// and with `up` however it dies.
    child: Option<GuardedServer>,
}

impl Broker {
    /// Connects to the configured servers (or the default address).
    pub async fn connect(nats: &NatsConfig) -> anyhow::Result<Self> {
        let client = connect_once(nats).await?;
        tracing::info!(servers = %nats.masked_urls(), "connected to NATS");
        Ok(Self {
            client,
            url: nats.masked_urls(),
            child: None,
        })
    }

    /// [`Broker::connect`], except that servers which do not answer yet
    /// are no error: the warning names them (masked) and the client keeps
    /// connecting in the background, so that a service starts while NATS
    /// is down and works once it is there. Refused credentials, a TLS
    /// failure or a bad setting are still errors: waiting mends none.
    pub async fn connect_or_wait(nats: &NatsConfig) -> anyhow::Result<Self> {
        let client = match connect_once(nats).await {
            Ok(client) => {
                tracing::info!(servers = %nats.masked_urls(), "connected to NATS");
                client
            }
            Err(e) if e.downcast_ref::<NoAnswer>().is_some() => {
                tracing::warn!(
                    servers = %nats.masked_urls(),
                    "no NATS server answers yet: starting anyway and connecting in the \
                     background; /readyz answers 503 (nats) until one does"
                );
                connect_in_background(nats).await?
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            client,
            url: nats.masked_urls(),
            child: None,
        })
    }

    /// [`Broker::connect_or_wait`]; but when no server is configured and
    /// nothing answers at the default address, starts `nats-server -js` on
    /// a free loopback port with its store in `data_dir/nats`.
    pub async fn connect_or_start(nats: &NatsConfig, data_dir: &Path) -> anyhow::Result<Self> {
        if nats.is_set() {
            return Self::connect_or_wait(nats).await;
        }
        match connect_once(nats).await {
            Ok(client) => {
                tracing::info!(url = %nats.masked_urls(), "using the NATS server found at the default address");
                return Ok(Self {
                    client,
                    url: nats.masked_urls(),
                    child: None,
                });
            }
            Err(e) if e.downcast_ref::<Refused>().is_some() => return Err(e),
            Err(_) => {}
        }
        Self::start(data_dir).await
    }

    /// Starts `nats-server -js` as a child on a free loopback port.
    async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let binary = nats_server_binary().context(
            "NATS_URL is not set, no NATS server answers at the default address and \
             nats-server is not installed: install it (Debian/Ubuntu: `apt-get install \
             nats-server`; others: https://github.com/nats-io/nats-server/releases) or set \
             NATS_URL to a running server",
        )?;
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store)
            .with_context(|| format!("creating the NATS store {}", store.display()))?;
        let port = free_port()?;
        tracing::info!(binary = %binary.display(), port, "starting nats-server -js");
        let args = ["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"]
            .map(std::ffi::OsString::from)
            .into_iter()
            .chain([store.clone().into_os_string()])
            .collect::<Vec<_>>();
        let child = GuardedServer::start(&binary, &args, &store)?;
        let child_url = format!("nats://127.0.0.1:{port}");
        let client = wait_for_server(&child_url).await?;
        Ok(Self {
            client,
            url: child_url,
            child: Some(child),
        })
    }

    /// Whether civicprobe started the server itself.
    pub fn started_here(&self) -> bool {
        self.child.is_some()
    }

    /// Drains the client (pending publishes go out) and stops the child.
    /// Bounded: a client that never connected has nothing to drain.
    pub async fn stop(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.drain()).await;
        if let Some(child) = self.child.take() {
            child.stop().await;
        }
    }
}

/// The server answered but refused the credentials: never a reason to
/// start a server of our own.
#[derive(Debug)]
pub struct Refused {
    /// The servers tried, masked.
    servers: String,
    /// What the client reported (it carries no credential).
    reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the NATS server at {} refused the credentials ({}): check NATS_USER and \
             NATS_PASSWORD, NATS_TOKEN, NATS_NKEY or NATS_CREDS",
            self.servers, self.reason
        )
    }
}

impl std::error::Error for Refused {}

/// No server of the list answered (as opposed to one that refused):
/// something that may mend itself, so the services wait for it.
#[derive(Debug)]
pub struct NoAnswer {
    /// The servers tried, masked.
    servers: String,
    /// What the client reported, if anything (it carries no credential).
    reason: Option<String>,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no NATS server answers at {}", self.servers)?;
        match &self.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => f.write_str(" (timed out)"),
        }
    }
}

impl std::error::Error for NoAnswer {}

/// A client that connects whenever a server of the list answers, retrying
/// with the client's own back-off (up to 4 s between attempts). A server
/// that answers but refuses the credentials is logged as an error at each
/// attempt: the service stays unready (`/readyz`) rather than stopping.
async fn connect_in_background(nats: &NatsConfig) -> anyhow::Result<async_nats::Client> {
    let (servers, options) = nats.resolve().await?;
    let masked = nats.masked_urls();
    let options = options
        .connection_timeout(Duration::from_secs(2))
        .retry_on_initial_connect()
        .event_callback(move |event| {
            let masked = masked.clone();
            async move { log_event(&masked, &event) }
        });
    options
        .connect(servers)
        .await
        .map_err(|e| describe(nats, &e))
}

/// What an operator needs to know of the background client's events.
fn log_event(servers: &str, event: &async_nats::Event) {
    use async_nats::{ClientError, Event};
    match event {
        Event::Connected => tracing::info!(%servers, "connected to NATS"),
        Event::ClientError(ClientError::Other(kind))
            if kind.contains("authorization") || kind.contains("signing nonce") =>
        {
            tracing::error!(%servers, reason = %kind, "the NATS server refused the credentials: check NATS_USER and NATS_PASSWORD, NATS_TOKEN, NATS_NKEY or NATS_CREDS");
        }
        other => tracing::debug!(%servers, event = %other, "NATS"),
    }
}

/// One attempt at the servers of the list, each bounded; refused
/// credentials end it at once.
async fn connect_once(nats: &NatsConfig) -> anyhow::Result<async_nats::Client> {
    let (servers, options) = nats.resolve().await?;
    let count = u32::try_from(servers.len()).unwrap_or(u32::MAX);
    let options = options.connection_timeout(Duration::from_secs(2));
    let bound = Duration::from_secs(2) * count.max(1) + Duration::from_secs(1);
    let client = match tokio::time::timeout(bound, options.connect(servers)).await {
        Err(_) => {
            return Err(NoAnswer {
                servers: nats.masked_urls(),
                reason: None,
            }
            .into())
        }
        Ok(Err(e)) => return Err(describe(nats, &e)),
        Ok(Ok(client)) => client,
    };
    tokio::time::timeout(Duration::from_secs(2), client.flush())
        .await
        .map_err(|_| NoAnswer {
            servers: nats.masked_urls(),
            reason: Some("connected, but a flush timed out".into()),
        })??;
    Ok(client)
}

/// `error` said as an operator needs it: refused credentials apart from
/// a server that is not there.
fn describe(nats: &NatsConfig, error: &async_nats::ConnectError) -> anyhow::Error {
    let servers = nats.masked_urls();
    // rustls's verdicts on the certificate arrive as IO errors.
    let tls =
        matches!(error.kind(), ConnectErrorKind::Tls) || error.to_string().contains("certificate");
    match error.kind() {
        ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => Refused {
            servers,
            reason: error.to_string(),
        }
        .into(),
        _ if tls => anyhow::anyhow!("TLS with the NATS server at {servers} failed: {error}"),
        _ => NoAnswer {
            servers,
            reason: Some(error.to_string()),
        }
        .into(),
    }
}

async fn wait_for_server(url: &str) -> anyhow::Result<async_nats::Client> {
    for _ in 0..100 {
        if let Ok(client) = connect_once(&NatsConfig::from_url(url)).await {
            return Ok(client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the nats-server started here did not answer at {url} within 10 s")
}

/// `NATS_SERVER_BIN`, else `nats-server` on the PATH, else Debian's
/// `/usr/sbin/nats-server` (not on every user's PATH).
fn nats_server_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return Some(bin.into());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nats-server");
        sbin.is_file().then_some(sbin)
    })
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
