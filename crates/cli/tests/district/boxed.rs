//! The district-in-a-box as the test drives it: `deploy/district/run.sh`
//! in a temporary folder, with the civicprobe binary cargo built and the
//! nats-server under test. Stopped on drop (and by run.sh's watchdog if
//! the test process dies).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running box.
pub struct DistrictBox {
    /// The box's folder: configs, stores, logs, pid files.
    dir: tempfile::TempDir,
    /// The nats-server binary the box runs.
    nats_server: PathBuf,
    /// Its environment file's values (NATS_URL, DATABASE_URL …).
    pub env: HashMap<String, String>,
    /// nginx's address: the one origin couriers reach.
    pub base_url: String,
}

/// The nats-server's `--version` line.
pub fn nats_version(nats_server: &Path) -> String {
    let out = std::process::Command::new(nats_server)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", nats_server.display()));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl DistrictBox {
    /// Makes the box's files and starts NATS and PostgreSQL only, so that
    /// the streams can be made before the services start.
    pub async fn start_backbone(nats_server: &Path) -> DistrictBox {
        let mut dir = tempfile::tempdir().expect("box folder");
        if std::env::var_os("CIVICPROBE_TEST_DISTRICT_KEEP").is_some() {
            dir.disable_cleanup(true);
            println!("the box's folder (kept): {}", dir.path().display());
        }
        let base = free_port_run();
        let mut boxed = DistrictBox {
            dir,
            nats_server: nats_server.to_owned(),
            env: HashMap::new(),
            base_url: format!("http://127.0.0.1:{base}"),
        };
        boxed
            .run_with(
                &["start"],
                &["nats-1", "nats-2", "nats-3", "postgres"],
                base,
            )
            .await;
        let text = std::fs::read_to_string(boxed.dir.path().join("civicprobe.env"))
            .expect("the box's environment file");
        boxed.env = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        boxed
    }

    /// `run.sh start DIR NAMES…` (every process when `names` is empty).
    pub async fn start(&self, names: &[&str]) {
        self.run_with(&["start"], names, 0).await;
    }

    /// `run.sh stop DIR NAMES…`.
    pub async fn stop(&self, names: &[&str]) {
        self.run_with(&["stop"], names, 0).await;
    }

    /// `run.sh admin DIR ARGS…`; the last line it printed (a token).
    pub async fn admin(&self, args: &[&str]) -> String {
        let out = self
            .command(&["admin"], args, 0)
            .output()
            .await
            .expect("admin");
        super::common::last_line(&out, &format!("admin {args:?}"))
    }

    /// A JetStream context on the box's three NATS nodes.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let servers: Vec<async_nats::ServerAddr> = self.env["NATS_URL"]
            .split(',')
            .map(|u| u.parse().expect("a NATS URL"))
            .collect();
        let client = async_nats::connect(servers).await.expect("NATS");
        async_nats::jetstream::new(client)
    }

    /// The pid of a process of the box.
    pub fn pid(&self, name: &str) -> u32 {
        let file = self.dir.path().join("run").join(format!("{name}.pid"));
        let text = std::fs::read_to_string(&file).expect("pid file");
        text.trim().parse().expect("a pid")
    }

    /// `kill -9` of one process, as a crash would; waits until it is gone.
    pub async fn kill9(&self, name: &str) {
        let pid = self.pid(name);
        let status = tokio::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill -9 {name} ({pid})");
        while Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The box's logs, for a failure's message.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    async fn run_with(&self, cmd: &[&str], names: &[&str], base: u16) {
        let out = self
            .command(cmd, names, base)
            .output()
            .await
            .expect("run.sh");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "run.sh {cmd:?} {names:?}: {}\n(logs in {})",
            String::from_utf8_lossy(&out.stderr),
            self.logs_dir().display()
        );
    }

    fn command(&self, cmd: &[&str], args: &[&str], base: u16) -> tokio::process::Command {
        let script = super::common::repo().join("deploy/district/run.sh");
        let mut command = tokio::process::Command::new("bash");
        command
            .arg(script)
            .arg(cmd[0])
            .arg(self.dir.path())
            .args(args)
            .env("CIVICPROBE_BIN", box_binary())
            .env("NATS_SERVER_BIN", &self.nats_server)
            .env("CIVICPROBE_BOX_OWNER", std::process::id().to_string())
            .env_remove("DATABASE_URL")
            .env_remove("NATS_URL")
            .kill_on_drop(true);
        if base > 0 {
            command.env("CIVICPROBE_BOX_PORT", base.to_string());
        }
        command
    }
}

/// The `civicprobe` the box runs: this build's, or the one named by
/// `CIVICPROBE_TEST_DISTRICT_BIN` (a release build, to measure latency as a
/// district would see it).
fn box_binary() -> std::ffi::OsString {
    std::env::var_os("CIVICPROBE_TEST_DISTRICT_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_civicprobe").into())
}

impl Drop for DistrictBox {
    fn drop(&mut self) {
        let script = super::common::repo().join("deploy/district/run.sh");
        let _ = std::process::Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(self.dir.path())
            .env("NATS_SERVER_BIN", &self.nats_server)
            .output();
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

/// A first port whose 60 successors are free, below the ephemeral range
/// (so no test's port-0 listener can take one later).
fn free_port_run() -> u16 {
    let seed = std::process::id() as u64 ^ nanos();
    for attempt in 0..200u64 {
        let base = 20_000 + ((seed.wrapping_add(attempt * 7919)) % 120) as u16 * 100;
        let all_free = (base..=base + 60).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no run of 61 free ports between 20000 and 32000");
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}
