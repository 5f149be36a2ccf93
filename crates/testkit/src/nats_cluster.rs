//! A real JetStream cluster per test: `n` nats-server processes on
//! loopback, routed to each other, one store each.

use anyhow::{bail, Context};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::nats::{free_port, nats_server_binary};

/// One node: its ports are fixed at the start so that routes and
/// restarts find it again.
#[derive(Debug)]
struct Node {
    /// The running process, `None` while killed.
    child: Option<Child>,
    /// Client port.
    port: u16,
    /// Route (cluster) port.
    cluster_port: u16,
    /// Its JetStream store, kept across restarts.
    store: tempfile::TempDir,
}

/// `n` `nats-server -js` nodes in one cluster (`civicprobe-test`), each
/// routed to all others, killed when dropped. [`NatsCluster::start`]
/// returns once JetStream has a meta leader, so streams can be created.
#[derive(Debug)]
pub struct NatsCluster {
    /// The nodes, in start order.
    nodes: Vec<Node>,
}

impl NatsCluster {
    /// Starts `n` nodes (3 for R3 streams) and waits for a meta leader.
    pub fn start(n: usize) -> anyhow::Result<Self> {
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            nodes.push(Node {
                child: None,
                port: free_port()?,
                cluster_port: free_port()?,
                store: tempfile::tempdir().context("temporary JetStream store")?,
            });
        }
        let mut cluster = Self { nodes };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        for i in 0..n {
            cluster.wait_until_listening(i)?;
        }
        cluster.wait_for_meta_leader()?;
        Ok(cluster)
    }

    /// Every node's client URL, comma-separated (as `NATS_URL` takes them).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`'s client URL.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Kills node `i` (as a crash would); its store is kept.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts node `i` on its ports and store, and waits until it listens.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.kill(i);
        self.spawn(i)?;
        self.wait_until_listening(i)
    }

    /// A client connected to every node (it fails over between them) and
    /// its JetStream context.
    pub async fn connect(
        &self,
    ) -> anyhow::Result<(async_nats::Client, async_nats::jetstream::Context)> {
        let servers: Vec<async_nats::ServerAddr> = (0..self.nodes.len())
            .map(|i| self.url(i).parse())
            .collect::<Result<_, _>>()?;
        let client = async_nats::connect(servers).await?;
        let js = async_nats::jetstream::new(client.clone());
        Ok((client, js))
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let routes = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| format!("nats://127.0.0.1:{}", n.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        let node = &self.nodes[i];
        let child = Command::new(nats_server_binary())
            .args(["-a", "127.0.0.1", "-p", &node.port.to_string(), "-js"])
            .arg("-sd")
            .arg(node.store.path().join("js"))
            .args(["--server_name", &format!("n{i}")])
            .args(["--cluster_name", "civicprobe-test"])
            .args([
                "--cluster",
                &format!("nats://127.0.0.1:{}", node.cluster_port),
            ])
            .args(["--routes", &routes])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server (is it installed? apt-get install nats-server)")?;
        self.nodes[i].child = Some(child);
        Ok(())
    }

    fn wait_until_listening(&mut self, i: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = self.nodes[i].port;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(child) = self.nodes[i].child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("cluster node {i} exited with {status} (port {port} taken?)");
                }
            }
            if Instant::now() > deadline {
                bail!("cluster node {i} did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Asks `$JS.API.INFO` until it answers without an error: then the
    /// meta group has a leader (a raw request: async-nats cannot parse
    /// 2.9's account info).
    fn wait_for_meta_leader(&self) -> anyhow::Result<()> {
        let url = self.url(0);
        let check = async move {
            let client = async_nats::connect(url).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let answer = client.request("$JS.API.INFO", "".into()).await;
                if let Ok(message) = answer {
                    let text = String::from_utf8_lossy(&message.payload).into_owned();
                    if !text.contains("\"error\"") {
                        return Ok(());
                    }
                }
                if tokio::time::Instant::now() > deadline {
                    bail!("the NATS cluster elected no JetStream meta leader within 30 s");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(check)
            })
            .join()
            .unwrap_or_else(|_| bail!("the meta leader check panicked"))
        })
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
