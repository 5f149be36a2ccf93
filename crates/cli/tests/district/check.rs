//! What the fault test concludes: every 202 is exactly one ticket's opener
//! or one merge (read from the tracker's tables, not from the ledger), and
//! the figures it prints: the worst 202 → ticket wait inside each fault's
//! window, and the quantiles outside every window.

use super::load::Ledger;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// A fault and the time its effects are counted in.
pub struct Window {
    /// What was done, e.g. "kill -9 router-1".
    pub fault: String,
    /// From just before the fault …
    pub from: Instant,
    /// … to when the box had had time to recover.
    pub to: Instant,
}

/// What the database says became of the accepted reports.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Accepted reports that opened a ticket.
    pub opened: usize,
    /// Accepted reports merged into another's ticket.
    pub merged: usize,
    /// Accepted reports with no ticket and no merge.
    pub missing: Vec<String>,
    /// Accepted reports that opened one ticket and joined another.
    pub twice: Vec<String>,
    /// Report ids in the tables that no 202 gave out.
    pub unknown: Vec<String>,
}

/// Reads `tickets` (one row per opened ticket, `report_id` its opener) and
/// `ticket_reporters` (one row per report attached to a ticket, openers
/// included) and sorts every accepted report into opened, merged, missing
/// or twice.
pub async fn outcome(database_url: &str, accepted: &HashSet<String>) -> Outcome {
    let pool = sqlx::PgPool::connect(database_url).await.expect("database");
    let openers: Vec<(String, String)> = sqlx::query_as("SELECT report_id, ticket_id FROM tickets")
        .fetch_all(&pool)
        .await
        .expect("tickets");
    let attached: Vec<(String, String)> =
        sqlx::query_as("SELECT report_id, ticket_id FROM ticket_reporters")
            .fetch_all(&pool)
            .await
            .expect("ticket_reporters");
    pool.close().await;
    let opened_by: HashMap<String, String> = openers.into_iter().collect();
    let attached: HashMap<String, String> = attached.into_iter().collect();
    let mut out = Outcome::default();
    for id in accepted {
        match (opened_by.get(id), attached.get(id)) {
            (Some(own), Some(joined)) if own == joined => out.opened += 1,
            (Some(_), _) => out.twice.push(id.clone()),
            (None, Some(_)) => out.merged += 1,
            (None, None) => out.missing.push(id.clone()),
        }
    }
    out.unknown = attached
        .keys()
        .chain(opened_by.keys())
        .filter(|id| !accepted.contains(*id))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    out
}

/// A wait outside the faults worth naming, with when it happened.
const SLOW: Duration = Duration::from_millis(500);

/// Prints the worst wait per window and the quantiles outside them.
pub fn print_figures(version: &str, ledger: &Ledger, windows: &[Window]) {
    let mut inside: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
    let mut outside = Vec::new();
    let mut slow = Vec::new();
    let start = ledger.accepted.values().min().copied();
    for (id, accepted) in &ledger.accepted {
        let Some(seen) = ledger.seen.get(id) else {
            continue;
        };
        let wait = seen.saturating_duration_since(*accepted);
        match windows
            .iter()
            .position(|w| (w.from..w.to).contains(accepted))
        {
            Some(i) => inside.entry(i).or_default().push(wait),
            None => {
                outside.push(wait);
                if wait > SLOW {
                    let at = start
                        .map(|s| accepted.duration_since(s))
                        .unwrap_or_default();
                    slow.push((at, wait));
                }
            }
        }
    }
    println!("district in a box on {version}: 202 → ticket (printed, not asserted; targets: worst ≤ 15 s, p99 outside faults ≤ 100 ms)");
    for (i, window) in windows.iter().enumerate() {
        let waits = inside.remove(&i).unwrap_or_default();
        let worst = waits.iter().max().copied().unwrap_or_default();
        println!(
            "  {:<30} worst {:>6.2} s over {:>4} reports; window {:>5.1} s",
            window.fault,
            worst.as_secs_f64(),
            waits.len(),
            (window.to - window.from).as_secs_f64()
        );
    }
    outside.sort();
    let q = |p: f64| {
        outside
            .get(((outside.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
            .as_millis()
    };
    println!(
        "  outside the faults: {} reports, p50 {} ms, p99 {} ms, max {} ms",
        outside.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    slow.sort();
    if !slow.is_empty() {
        let shown: Vec<String> = slow
            .iter()
            .take(12)
            .map(|(at, wait)| format!("+{:.1}s: {:.2}s", at.as_secs_f64(), wait.as_secs_f64()))
            .collect();
        println!(
            "  outside the faults, {} waited over {} ms (accepted at, waited): {}",
            slow.len(),
            SLOW.as_millis(),
            shown.join(", ")
        );
    }
    println!(
        "  {} queued, {} accepted; submits retried after (status: count, 0 = no answer) {:?}",
        ledger.queued,
        ledger.accepted.len(),
        ledger.retries
    );
}
