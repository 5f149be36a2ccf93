//! A real nats-server per test.

use anyhow::{bail, Context};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js` child process on a free loopback port, its JetStream
/// store in a temporary folder. Killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    /// The running child, `None` while stopped.
    child: Option<Child>,
    /// The port it listens on; kept across restarts.
    port: u16,
    /// The JetStream store; kept across restarts, deleted on drop.
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let store = tempfile::tempdir().context("temporary JetStream store")?;
        let mut server = Self {
            child: None,
            port,
            store,
        };
        server.restart()?;
        Ok(server)
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
        let child = Command::new(nats_server_binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server (is it installed? apt-get install nats-server)")?;
        self.child = Some(child);
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

/// `NATS_SERVER_BIN` or `nats-server` from the PATH (Debian puts it in
/// /usr/sbin, which is not on every PATH).
fn nats_server_binary() -> PathBuf {
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

/// A port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}
