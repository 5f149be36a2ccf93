//! Finding or starting NATS.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

/// A NATS connection and, if civicprobe started the server, its process.
#[derive(Debug)]
pub struct Broker {
    /// The connected client.
    pub client: async_nats::Client,
    /// The URL actually used (the child's port when started here).
    pub url: String,
    /// The `nats-server` child, killed on stop or drop.
    child: Option<Child>,
}

impl Broker {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = connect_once(url)
            .await
            .with_context(|| format!("no NATS server answers at {url}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            child: None,
        })
    }

    /// Connects to `url`, or, if nothing answers there, starts `nats-server
    /// -js` on a free loopback port with its store in `data_dir/nats`.
    pub async fn connect_or_start(url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(client) = connect_once(url).await {
            tracing::info!(%url, "using the NATS server found at NATS_URL");
            return Ok(Self {
                client,
                url: url.to_owned(),
                child: None,
            });
        }
        let binary = nats_server_binary().context(
            "no NATS server answers at NATS_URL and nats-server is not installed: \
             install it (Debian/Ubuntu: `apt-get install nats-server`; others: \
             https://github.com/nats-io/nats-server/releases) or set NATS_URL to a running server",
        )?;
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store)
            .with_context(|| format!("creating the NATS store {}", store.display()))?;
        let port = free_port()?;
        tracing::info!(binary = %binary.display(), port, "starting nats-server -js");
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
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
    pub async fn stop(mut self) {
        let _ = self.client.drain().await;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

async fn connect_once(url: &str) -> anyhow::Result<async_nats::Client> {
    let options = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .retry_on_initial_connect();
    // retry_on_initial_connect would wait forever for a missing server;
    // bound the first attempt instead.
    let client = tokio::time::timeout(Duration::from_secs(2), options.connect(url))
        .await
        .context("timed out")??;
    tokio::time::timeout(Duration::from_secs(2), client.flush())
        .await
        .context("timed out")??;
    Ok(client)
}

async fn wait_for_server(url: &str) -> anyhow::Result<async_nats::Client> {
    for _ in 0..100 {
        if let Ok(client) = connect_once(url).await {
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
