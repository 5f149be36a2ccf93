//! `civicprobe load` as a user runs it, against an in-process stack on
//! SQLite: progress lines on stderr while it runs (sent, accepted,
//! refused, ticketed, rate; the last one marked done), the report alone on
//! stdout; `--quiet` writes no progress line.

mod common;

use civicprobe_testkit::photos;
use common::{civicprobe, stack_on};
use std::path::Path;

/// Reports each run sends (rate × duration).
const REPORTS: usize = 6;

/// `civicprobe load` against `base` with `extra` flags; (stdout, stderr).
async fn load(base: &str, dir: &Path, viewer: &str, extra: &[&str]) -> (String, String) {
    let mut command = civicprobe();
    command
        .args(["load", "--url", base, "--rate", "4", "--duration", "1.5"])
        .arg("--photos")
        .arg(dir.join("photos"))
        .arg("--tokens")
        .arg(dir.join("tokens"))
        .args(["--viewer-token", viewer])
        .args(extra);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("run load");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn progress_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("load ")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_shows_its_progress_on_stderr_unless_quiet() {
    let on = stack_on("sqlite").await;
    let dir = on.data.path();
    std::fs::create_dir_all(dir.join("photos")).expect("photos");
    for i in 0..2 {
        let photo = photos::jpeg(320 + i * 16, 240);
        std::fs::write(dir.join(format!("photos/{i}.jpg")), photo).expect("photo");
    }
    // One courier per report: a courier may have only two uploads in flight.
    let mut tokens = String::new();
    for i in 0..REPORTS {
        let (_, token) = on
            .stack
            .store
            .add_courier(&format!("c{i}"))
            .await
            .expect("courier");
        tokens += &format!("{token}\n");
    }
    std::fs::write(dir.join("tokens"), tokens).expect("tokens");
    let viewer = on
        .stack
        .store
        .add_supervisor("s")
        .await
        .expect("supervisor");
    let base = on.stack.base_url();

    let (stdout, stderr) = load(&base, dir, &viewer, &[]).await;
    let lines = progress_lines(&stderr);
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress line:\n{stderr}"));
    for word in ["sent", "accepted", "refused", "ticketed", "accepted/s"] {
        assert!(last.contains(word), "{word} not in {last:?}");
    }
    assert!(last.ends_with("(done)"), "{last:?}");
    assert!(last.contains(&format!("sent {REPORTS},")), "{last:?}");
    assert!(
        stdout.contains(&format!("sent {REPORTS} reports")),
        "{stdout}"
    );
    assert!(
        progress_lines(&stdout).is_empty(),
        "progress on stdout:\n{stdout}"
    );

    let (stdout, stderr) = load(&base, dir, &viewer, &["--quiet"]).await;
    assert!(progress_lines(&stderr).is_empty(), "--quiet:\n{stderr}");
    assert!(
        stdout.contains(&format!("sent {REPORTS} reports")),
        "{stdout}"
    );
    on.stack.stop().await.expect("stop");
}
