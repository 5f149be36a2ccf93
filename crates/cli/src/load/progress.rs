//! `civicprobe load`'s progress: a line on stderr every [`PERIOD`] (sent,
//! accepted, refused, ticketed, and the accepted rate over the last
//! period), and one last line when the submissions are done, so that a
//! long run shows it is alive and how it goes. Stderr, because stdout
//! carries only the final report (a script may read it); `--quiet` turns
//! the lines off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a progress line is written.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

/// What the submissions have done so far, counted as they go.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Submissions sent (whatever their answer).
    sent: AtomicUsize,
    /// Answered `202`.
    accepted: AtomicUsize,
    /// Answered otherwise, or not at all.
    refused: AtomicUsize,
    /// Accepted reports whose ticket was seen in the queue.
    ticketed: AtomicUsize,
}

impl Counts {
    /// One more submission sent.
    pub(crate) fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// One more answer: accepted (`202`) or refused.
    pub(crate) fn answered(&self, accepted: bool) {
        let counter = if accepted {
            &self.accepted
        } else {
            &self.refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One more ticket seen.
    pub(crate) fn ticketed(&self) {
        self.ticketed.fetch_add(1, Ordering::Relaxed);
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// `load 3 s: sent 15, accepted 14, refused 1, ticketed 12, 4.0 accepted/s`.
    fn line(&self, elapsed: Duration, rate: f64) -> String {
        format!(
            "load {:.0} s: sent {}, accepted {}, refused {}, ticketed {}, {rate:.1} accepted/s",
            elapsed.as_secs_f64(),
            self.sent.load(Ordering::Relaxed),
            self.accepted(),
            self.refused.load(Ordering::Relaxed),
            self.ticketed.load(Ordering::Relaxed),
        )
    }
}

/// The task writing the lines; [`Reporter::finish`] writes the last one.
#[derive(Debug)]
pub(crate) struct Reporter {
    /// What is counted.
    counts: Arc<Counts>,
    /// When the run began.
    started: Instant,
    /// The periodic writer, absent with `--quiet`.
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Reporter {
    /// Starts writing lines about `counts` (none when `quiet`).
    pub(crate) fn start(counts: Arc<Counts>, quiet: bool) -> Self {
        let started = Instant::now();
        let task = (!quiet).then(|| tokio::spawn(write_every_period(counts.clone(), started)));
        Self {
            counts,
            started,
            task,
        }
    }

    /// Stops the periodic lines and writes the last one (the whole run's
    /// rate).
    pub(crate) fn finish(self) {
        let Some(task) = self.task else {
            return;
        };
        task.abort();
        let elapsed = self.started.elapsed();
        let rate = self.counts.accepted() as f64 / elapsed.as_secs_f64().max(1e-3);
        eprintln!("{} (done)", self.counts.line(elapsed, rate));
    }
}

async fn write_every_period(counts: Arc<Counts>, started: Instant) {
    let mut ticks = tokio::time::interval_at((started + PERIOD).into(), PERIOD);
    let mut last = (started, 0);
    loop {
        let now = ticks.tick().await.into_std();
        let accepted = counts.accepted();
        let window = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let rate = accepted.saturating_sub(last.1) as f64 / window;
        eprintln!("{}", counts.line(now.duration_since(started), rate));
        last = (now, accepted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_every_count() {
        let counts = Counts::default();
        for accepted in [true, true, false] {
            counts.sent();
            counts.answered(accepted);
        }
        counts.ticketed();
        assert_eq!(
            counts.line(Duration::from_secs(3), 2.0),
            "load 3 s: sent 3, accepted 2, refused 1, ticketed 1, 2.0 accepted/s"
        );
    }
}
