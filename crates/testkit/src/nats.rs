//! A real nats-server per test.

use anyhow::{bail, Context};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js` child process on a free loopback port, its JetStream
/// store in a temporary folder. Killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    /// The running child, `None` while stopped.
    child: Option<Child>,
    /// The port it listens on; chosen by the server at the first start
    /// (no race with other tests for a "free" port) and kept on restarts.
    port: u16,
    /// The JetStream store; kept across restarts, deleted on drop.
    store: tempfile::TempDir,
    /// Further `nats-server` arguments (authentication), kept for restarts.
    extra: Vec<String>,
    /// The `nats-server` binary it runs.
    binary: PathBuf,
}

impl NatsServer {
    /// Starts a server on a port of its own choosing and waits until it
    /// accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    /// [`NatsServer::start`] with further `nats-server` arguments, e.g.
    /// `["--user", "civic", "--pass", "pw"]` or `["--auth", "token"]`.
    pub fn start_with(extra: &[&str]) -> anyhow::Result<Self> {
        Self::start_binary(&nats_server_binary(), extra)
    }

    /// The current nats-server that `.ci/run` installs from PyPI
    /// (`CIVICPROBE_TEST_NATS_SERVER_CURRENT`), started as
    /// [`NatsServer::start`] does; `None` when the variable is unset.
    /// Tests of behaviour that changed between 2.9 and current servers run
    /// on both.
    pub fn start_current() -> Option<anyhow::Result<Self>> {
        let binary = std::env::var_os("CIVICPROBE_TEST_NATS_SERVER_CURRENT")?;
        Some(Self::start_binary(Path::new(&binary), &[]))
    }

    /// [`NatsServer::start_with`] running `binary`.
    pub fn start_binary(binary: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let binary = binary.to_owned();
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let store = tempfile::tempdir().context("temporary JetStream store")?;
        let ports_dir = store.path().join("ports");
        std::fs::create_dir_all(&ports_dir)?;
        let mut child = spawn(&binary, -1, store.path(), Some(&ports_dir), &extra)?;
        let port = match wait_for_ports_file(&ports_dir, &mut child) {
            Ok(port) => port,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let server = Self {
            child: Some(child),
            port,
            store,
            extra,
            binary,
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    /// A server that is not running yet, on a port nothing listens on now
    /// (a start-up-while-NATS-is-down test points services at [`Self::url`]
    /// first); [`NatsServer::restart`] starts it there.
    pub fn reserve() -> anyhow::Result<Self> {
        Self::reserve_with(&[])
    }

    /// [`NatsServer::reserve`] with further `nats-server` arguments for
    /// when it starts (authentication).
    pub fn reserve_with(extra: &[&str]) -> anyhow::Result<Self> {
        Ok(Self {
            child: None,
            port: free_port()?,
            store: tempfile::tempdir().context("temporary JetStream store")?,
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
            binary: nats_server_binary(),
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The JetStream store folder.
    pub fn store_dir(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    /// Kills the server (as a crash would); the store is kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same port and store.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.child = Some(spawn(
            &self.binary,
            i32::from(self.port),
            self.store.path(),
            None,
            &self.extra,
        )?);
        self.wait_until_listening()
    }

    fn wait_until_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "nats-server did not listen on port {} within 10 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// A connected client and its JetStream context.
    pub async fn connect(
        &self,
    ) -> anyhow::Result<(async_nats::Client, async_nats::jetstream::Context)> {
        let client = async_nats::connect(self.url()).await?;
        let js = async_nats::jetstream::new(client.clone());
        Ok((client, js))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spawns `nats-server -js`; port -1 lets the server pick one and write it
/// to the ports file in `ports_dir`.
fn spawn(
    binary: &Path,
    port: i32,
    store: &Path,
    ports_dir: Option<&Path>,
    extra: &[String],
) -> anyhow::Result<Child> {
    let mut cmd = Command::new(binary);
    cmd.args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store.join("js"))
        .args(extra);
    if let Some(dir) = ports_dir {
        cmd.arg("--ports_file_dir").arg(dir);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting nats-server (is it installed? apt-get install nats-server)")
}

/// Reads the client port from `nats-server_<pid>.ports`.
fn wait_for_ports_file(dir: &Path, child: &mut Child) -> anyhow::Result<u16> {
    let file = dir.join(format!("nats-server_{}.ports", child.id()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(port) = parse_client_port(&text) {
                return Ok(port);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("nats-server exited with {status} before listening");
        }
        if Instant::now() > deadline {
            bail!("nats-server wrote no ports file within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `{"nats":["nats://127.0.0.1:41234"],…}` → 41234 (`tls://` with TLS).
fn parse_client_port(text: &str) -> Option<u16> {
    let start = text.find("\"nats\"")?;
    let url_start = text[start..].find("://")? + start;
    let rest = &text[url_start + "://".len()..];
    let end = rest.find('"')?;
    rest[..end].rsplit(':').next()?.parse().ok()
}

/// `NATS_SERVER_BIN` or `nats-server` from the PATH (Debian puts it in
/// /usr/sbin, which is not on every PATH).
pub(crate) fn nats_server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return bin.into();
    }
    let sbin = PathBuf::from("/usr/sbin/nats-server");
    if sbin.exists() {
        sbin
    } else {
        "nats-server".into()
    }
}

/// A port nothing listens on right now (for tests that need a dead port).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_client_port_from_a_ports_file() {
        let text = r#"{"nats":["nats://127.0.0.1:41234"],"monitoring":["http://127.0.0.1:8222"]}"#;
        assert_eq!(parse_client_port(text), Some(41234));
        let tls = r#"{"nats":["tls://127.0.0.1:41235"]}"#;
        assert_eq!(parse_client_port(tls), Some(41235));
        assert_eq!(parse_client_port("{}"), None);
    }

    #[test]
    fn a_server_starts_restarts_on_its_port_and_stops() {
        let mut server = NatsServer::start().expect("start");
        let url = server.url();
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_ok());
        server.stop();
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err());
        server.restart().expect("restart");
        assert_eq!(server.url(), url);
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_ok());
    }

    #[test]
    fn a_reserved_server_starts_on_its_port_when_told() {
        let mut server = NatsServer::reserve().expect("reserve");
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err());
        server.restart().expect("start");
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_ok());
    }
}
