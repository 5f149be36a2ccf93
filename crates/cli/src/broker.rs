//! Finding or starting NATS. Credentials in `NATS_URL` are taken out of
//! the URL and handed to the client as options, so that no log line (ours
//! or the client's, at any level) carries them; URLs are logged masked.

use crate::nats_child::GuardedServer;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A NATS connection and, if civicprobe started the server, its process.
#[derive(Debug)]
pub struct Broker {
    /// The connected client.
    pub client: async_nats::Client,
    /// The URL actually used (the child's port when started here).
    pub url: String,
    /// The `nats-server` child (under its guard), stopped on stop or drop,
    /// and with `up` however it dies.
    child: Option<GuardedServer>,
}

impl Broker {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = connect_once(url)
            .await
            .with_context(|| format!("no NATS server answers at {}", mask(url)))?;
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
            tracing::info!(url = %mask(url), "using the NATS server found at NATS_URL");
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
    pub async fn stop(mut self) {
        let _ = self.client.drain().await;
        if let Some(child) = self.child.take() {
            child.stop().await;
        }
    }
}

/// `url` fit for a log line.
pub fn mask(url: &str) -> String {
    civicprobe_tracker::mask_password(url)
}

/// What a NATS URL's user information holds.
#[derive(PartialEq, Eq)]
enum Credentials {
    /// `user:password@`.
    UserPassword(String, String),
    /// `token@`.
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// `url` without its user information (which ends at the last `@` before
/// the host), and that information percent-decoded.
fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.rfind('@');
    let Some(at) = authority_end.filter(|at| !rest[..*at].is_empty()) else {
        return (url.to_owned(), None);
    };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    let credentials = match userinfo.split_once(':') {
        Some((user, pass)) => Credentials::UserPassword(decode(user), decode(pass)),
        None => Credentials::Token(decode(userinfo)),
    };
    (format!("{scheme}://{host}"), Some(credentials))
}

/// Percent-decoding (`%40` → `@`); invalid escapes are kept as they are.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn connect_once(url: &str) -> anyhow::Result<async_nats::Client> {
    let (url, credentials) = split_credentials(url);
    let options = match credentials {
        Some(Credentials::UserPassword(user, pass)) => {
            async_nats::ConnectOptions::with_user_and_password(user, pass)
        }
        Some(Credentials::Token(token)) => async_nats::ConnectOptions::with_token(token),
        None => async_nats::ConnectOptions::new(),
    };
    let options = options
        .connection_timeout(Duration::from_secs(2))
        .retry_on_initial_connect();
    // retry_on_initial_connect would wait forever for a missing server;
    // bound the first attempt instead.
    let client = tokio::time::timeout(Duration::from_secs(2), options.connect(url.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url() {
        let (url, c) = split_credentials("nats://civic:p@ss%2Fw@127.0.0.1:4222");
        assert_eq!(url, "nats://127.0.0.1:4222");
        assert_eq!(
            c,
            Some(Credentials::UserPassword("civic".into(), "p@ss/w".into()))
        );
        assert_eq!(format!("{c:?}"), "Some(Credentials(***))");
        let (url, c) = split_credentials("tls://s3cr3t@nats.example:4222");
        assert_eq!(url, "tls://nats.example:4222");
        assert_eq!(c, Some(Credentials::Token("s3cr3t".into())));
        assert_eq!(split_credentials("nats://127.0.0.1:4222").1, None);
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert!(!mask("nats://civic:p@ss@h:1").contains("p@ss"));
    }
}
