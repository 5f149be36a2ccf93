//! The `nats-server` that `up` starts: it must die with `up`, even when
//! `up` is killed with -9, and no second server may use its store.
//!
//! Linux's parent-death signal needs `pre_exec`, which is `unsafe`, and the
//! workspace forbids `unsafe_code`. So the server runs under a guard: the
//! hidden `civicprobe nats-guard` subcommand, started by `up` with a pipe on
//! its stdin. When `up` dies, however it dies, the kernel closes the pipe;
//! the guard reads end-of-file, kills the server and exits.
//!
//! The store is locked by an exclusive `flock` on `<store>/civicprobe.lock`,
//! which holds `up`'s pid. The locked file is also the guard's and the
//! server's stdout (nats-server logs to stderr), so the lock is held as long
//! as any of the three lives, not only as long as `up`.

use anyhow::Context;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::{Child, ChildStdin, Command};

/// The name of the subcommand that runs the guard.
pub const GUARD_SUBCOMMAND: &str = "nats-guard";

/// The lock file's name inside the NATS store.
const LOCK_FILE: &str = "civicprobe.lock";

/// A guarded `nats-server` child.
#[derive(Debug)]
pub struct GuardedServer {
    /// The guard process; it exits once the server is gone.
    guard: Child,
    /// The write end of the guard's stdin: closing it (on stop, on drop, or
    /// by the kernel when `up` dies) stops the server.
    lifeline: Option<ChildStdin>,
}

impl GuardedServer {
    /// Locks `store` and starts `binary args…` under a guard.
    pub fn start(binary: &Path, args: &[OsString], store: &Path) -> anyhow::Result<Self> {
        let lock = lock_store(store)?;
        let guard_exe = guard_exe()?;
        let mut guard = Command::new(guard_exe)
            .arg(GUARD_SUBCOMMAND)
            .arg(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(lock))
            // Its own process group: a Ctrl-C meant for `up` does not stop
            // the server before `up` has drained its connection.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting the guard of {}", binary.display()))?;
        let lifeline = guard.stdin.take();
        Ok(Self { guard, lifeline })
    }

    /// Stops the server and waits (up to 10 s) for the guard to exit.
    pub async fn stop(mut self) {
        self.lifeline.take();
        let waited = tokio::time::timeout(std::time::Duration::from_secs(10), self.guard.wait());
        if waited.await.is_err() {
            tracing::warn!("the nats-server guard did not stop within 10 s; killing it");
            let _ = self.guard.kill().await;
        }
    }
}

/// The `civicprobe` binary that runs the guard: this process's own, or,
/// when the library runs inside a test binary (`target/debug/deps/…`), the
/// `civicprobe` binary cargo built beside it.
fn guard_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the civicprobe binary")?;
    if exe.file_stem().is_some_and(|stem| stem == "civicprobe") {
        return Ok(exe);
    }
    let beside = exe
        .parent()
        .into_iter()
        .chain(exe.parent().and_then(Path::parent));
    beside
        .map(|dir| dir.join("civicprobe"))
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "the nats-server guard runs as `civicprobe {GUARD_SUBCOMMAND}`, and no civicprobe \
                 binary was found beside {}",
                exe.display()
            )
        })
}

/// Takes the store's lock or says who holds it.
fn lock_store(store: &Path) -> anyhow::Result<File> {
    let path = store.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => anyhow::bail!(
            "the NATS store {} is in use by another nats-server started by civicprobe up{}; \
             stop that one first, or give this one another --data-dir",
            store.display(),
            holder(&mut file).map_or(String::new(), |pid| format!(" (pid {pid})")),
        ),
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}

/// The pid written in the first line of a held lock file.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// The guard's body: runs `program args…`, and kills it when stdin reaches
/// end-of-file. Returns the server's exit code if it stopped by itself.
pub async fn guard(program: PathBuf, args: Vec<OsString>) -> anyhow::Result<i32> {
    let mut server = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let lifeline_closed = tokio::task::spawn_blocking(|| {
        let (mut stdin, mut buf) = (std::io::stdin(), [0u8; 64]);
        // Anything written is ignored; only end-of-file (or an error) counts.
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    });
    tokio::select! {
        status = server.wait() => Ok(status?.code().unwrap_or(1)),
        _ = lifeline_closed => {
            let _ = server.kill().await;
            Ok(0)
        }
    }
}

/// The pid in `store`'s lock file, whether or not it is held (tests).
pub fn lock_holder(store: &Path) -> Option<u32> {
    holder(&mut File::open(store.join(LOCK_FILE)).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_store_names_the_dir_and_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_store(dir.path()).unwrap();
        let second = lock_store(dir.path()).unwrap_err().to_string();
        assert!(
            second.contains(&dir.path().display().to_string()),
            "{second}"
        );
        assert!(
            second.contains(&format!("pid {}", std::process::id())),
            "{second}"
        );
        drop(first);
        assert!(lock_store(dir.path()).is_ok(), "the lock outlived its file");
        assert_eq!(lock_holder(dir.path()), Some(std::process::id()));
    }
}
