//! A real nginx (Debian's `nginx` package) in front of services under
//! test: its own prefix, config, error log, pid and temp paths in a
//! temporary folder, on a free loopback port, in the foreground
//! (`nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`), killed on `Drop`.
//!
//! [`Nginx::start`] takes the `upstream` blocks and the `server` block's
//! inner lines (e.g. an `include` of the repository's
//! `deploy/nginx/civicprobe-locations.conf`), and fills in the rest.

use anyhow::{bail, Context};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; stopped when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// Where it listens (loopback).
    pub port: u16,
    /// The foreground master process.
    child: Child,
    /// Prefix, config, logs; removed on drop.
    dir: tempfile::TempDir,
}

/// The nginx binary: `$NGINX`, else `nginx` on `PATH`, else Debian's
/// `/usr/sbin/nginx` (not on a normal user's `PATH`).
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/sbin/nginx");
        debian.is_file().then_some(debian)
    })
}

impl Nginx {
    /// Starts nginx with `upstreams` (whole `upstream name { … }` blocks,
    /// at the `http` level) and `server_body` (lines inside `server { }`,
    /// after its `listen`). Returns once it accepts connections.
    pub fn start(upstreams: &str, server_body: &str) -> anyhow::Result<Self> {
        let binary = binary().context("nginx is not installed (apt-get install -y nginx)")?;
        let dir = tempfile::tempdir().context("nginx prefix")?;
        for sub in ["logs", "temp"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let port = crate::nats::free_port()?;
        let conf = config(dir.path(), port, upstreams, server_body);
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut nginx = Self { port, child, dir };
        nginx.wait_until_listening()?;
        Ok(nginx)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its error log so far (for a failing test's message).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("nginx exited ({status}): {}", self.error_log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("nginx did not listen within 10 s: {}", self.error_log())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole config: one worker, everything under `dir`, as root (tests
/// in CI containers) workers run as root too.
fn config(dir: &Path, port: u16, upstreams: &str, server_body: &str) -> String {
    let d = dir.display();
    let user = if is_root() { "user root;\n" } else { "" };
    format!(
        "{user}worker_processes 1;\n\
         error_log {d}/logs/error.log warn;\n\
         pid {d}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         access_log {d}/logs/access.log;\n\
         client_body_temp_path {d}/temp/body;\n\
         proxy_temp_path {d}/temp/proxy;\n\
         fastcgi_temp_path {d}/temp/fastcgi;\n\
         uwsgi_temp_path {d}/temp/uwsgi;\n\
         scgi_temp_path {d}/temp/scgi;\n\
         {upstreams}\n\
         server {{\n\
         listen 127.0.0.1:{port};\n\
         {server_body}\n\
         }}\n\
         }}\n"
    )
}

/// Whether this process runs as root (nginx then needs `user root;`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
