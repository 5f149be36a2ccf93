//! The services as separate processes of the built binary, as a split
//! deployment runs them: `civicprobe tracker`, `router` and `ingest`, each
//! on its own free port, ingest without any database, and nginx in front
//! with `deploy/nginx/civicprobe-locations.conf`.
#![allow(dead_code)]

use crate::common::{civicprobe, repo, terminate};
use civicprobe_testkit::{NatsServer, Nginx, TestDb};
use std::ffi::OsString;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// One service process; stopped (SIGTERM) when dropped.
pub struct Service {
    /// Its loopback port.
    pub port: u16,
    child: Option<Child>,
    command: &'static str,
    args: Vec<OsString>,
}

impl Service {
    /// `civicprobe <command> --listen 127.0.0.1:<free port> <args>`, once
    /// it accepts connections.
    pub fn start(command: &'static str, args: Vec<OsString>) -> Self {
        let port = civicprobe_testkit::nats::free_port().expect("port");
        let mut service = Self {
            port,
            child: None,
            command,
            args,
        };
        service.restart();
        service
    }

    /// Starts it again on the same port with the same arguments.
    pub fn restart(&mut self) {
        let mut child = civicprobe()
            .arg(self.command)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn a service");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("civicprobe {} exited: {status}", self.command);
            }
            assert!(Instant::now() < deadline, "{} did not listen", self.command);
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    /// SIGTERM, and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// tracker + router + ingest on one NATS, nginx in front.
pub struct Split {
    /// Every path on one origin.
    pub nginx: Nginx,
    /// Intake: no `DATABASE_URL`, its own data directory.
    pub ingest: Service,
    /// The system of record, the pages, the photo reads.
    pub tracker: Service,
    /// REPORTS → TICKETS.
    pub router: Service,
    /// The tracker's database.
    pub db: TestDb,
    /// The tracker's data directory (admin commands use it with `db`).
    pub tracker_data: tempfile::TempDir,
    /// Ingest's data directory (outbox, the tokens' local copy).
    pub ingest_data: tempfile::TempDir,
    /// The NATS all of them use (dropped last).
    pub nats: NatsServer,
}

impl Split {
    /// Starts everything on a fresh `kind` database (`sqlite`,
    /// `postgres`), both photo-store users on the JetStream object store.
    pub async fn start(kind: &str) -> Self {
        Self::start_with(kind, "nats").await
    }

    /// [`Split::start`] with ingest's photos in `ingest_photos` (`fs`
    /// keeps ingest accepting while NATS is down; the tracker then cannot
    /// read them).
    pub async fn start_with(kind: &str, ingest_photos: &str) -> Self {
        let nats = NatsServer::start().expect("nats-server");
        let db = TestDb::of_kind(kind).await.expect("database");
        let tracker_data = tempfile::tempdir().expect("tempdir");
        let ingest_data = tempfile::tempdir().expect("tempdir");
        let common = |data: &Path, photos: &str| -> Vec<OsString> {
            vec![
                "--nats-url".into(),
                nats.url().into(),
                "--data-dir".into(),
                data.as_os_str().to_owned(),
                "--photo-store".into(),
                photos.into(),
            ]
        };
        let mut tracker_args = common(tracker_data.path(), "nats");
        tracker_args.extend(["--database-url".into(), db.url().into()]);
        let tracker = Service::start("tracker", tracker_args);
        let router = Service::start("router", vec!["--nats-url".into(), nats.url().into()]);
        let ingest = Service::start("ingest", common(ingest_data.path(), ingest_photos));
        let upstreams = format!(
            "upstream civicprobe_ingest {{ server 127.0.0.1:{}; }}\n\
             upstream civicprobe_tracker {{ server 127.0.0.1:{}; }}",
            ingest.port, tracker.port
        );
        let locations = repo().join("deploy/nginx/civicprobe-locations.conf");
        let include = format!("include {};", locations.display());
        let nginx = Nginx::start(&upstreams, &include).expect("nginx");
        Self {
            nginx,
            ingest,
            tracker,
            router,
            db,
            tracker_data,
            ingest_data,
            nats,
        }
    }

    /// Runs an admin command on the tracker's database; returns (token,
    /// token id).
    pub fn issue(&self, args: &[&str]) -> (String, String) {
        let out = civicprobe()
            .args(args)
            .arg("--data-dir")
            .arg(self.tracker_data.path())
            .args(["--database-url", self.db.url()])
            .output()
            .expect("admin");
        assert!(out.status.success(), "{args:?}: {out:?}");
        let token = String::from_utf8(out.stdout).expect("utf-8");
        let said = String::from_utf8(out.stderr).expect("utf-8");
        let token_id = said
            .split_whitespace()
            .skip_while(|w| *w != "token")
            .nth(1)
            .expect("token id")
            .to_owned();
        (token.trim().to_owned(), token_id)
    }

    /// `civicprobe token revoke <id>` on the tracker's database.
    pub fn revoke(&self, token_id: &str) {
        let out = civicprobe()
            .args(["token", "revoke", token_id, "--data-dir"])
            .arg(self.tracker_data.path())
            .args(["--database-url", self.db.url()])
            .output()
            .expect("revoke");
        assert!(out.status.success(), "{out:?}");
    }
}

/// Repeats `probe` (every 100 ms) until it gives `Some`, for at most
/// `within`; the last answer is in the panic message.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
