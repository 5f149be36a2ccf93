//! What a load run measured ([`Summary`]) and the report it prints.

use super::{LoadArgs, Outcome};
use std::collections::BTreeMap;
use std::time::Duration;

/// The figures a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Reports sent.
    pub sent: usize,
    /// Reports answered 202.
    pub accepted: usize,
    /// Accepted per second of the run.
    pub accepted_per_s: f64,
    /// Count by HTTP status other than 202 (0 = transport error).
    pub errors: BTreeMap<u16, usize>,
    /// Submit latency p50 and p99, ms.
    pub submit_ms: (f64, f64),
    /// 202 → ticket in queue p50 and p99, ms (when measured).
    pub to_ticket_ms: Option<(f64, f64)>,
    /// Accepted reports whose ticket never showed up (merged, unrouted or
    /// slower than 10 s).
    pub no_ticket: usize,
    /// 202 → `opened` on the event stream, p50 and p99 ms, and how many
    /// accepted reports never showed there (when measured).
    pub to_event_ms: Option<Seen>,
    /// 202 → alert at the webhook receiver (when measured).
    pub to_webhook_ms: Option<Seen>,
}

/// How fast accepted reports were seen somewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// p50 and p99, ms; NaN when none was seen.
    pub ms: (f64, f64),
    /// Accepted reports not seen there within the wait.
    pub missing: usize,
}

/// The p-th percentile (nearest rank) of `values`, in ms.
pub(super) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// The figures of `outcomes`, over a run of `elapsed`.
pub(super) fn summarize(
    outcomes: &[Outcome],
    elapsed: Duration,
    measured_tickets: bool,
) -> Summary {
    let mut errors = BTreeMap::new();
    let mut submits: Vec<Duration> = outcomes.iter().map(|o| o.submit).collect();
    submits.sort();
    for o in outcomes.iter().filter(|o| o.status != 202) {
        *errors.entry(o.status).or_insert(0) += 1;
    }
    let accepted = outcomes.iter().filter(|o| o.status == 202).count();
    let mut tickets: Vec<Duration> = outcomes.iter().filter_map(|o| o.to_ticket).collect();
    tickets.sort();
    Summary {
        sent: outcomes.len(),
        accepted,
        accepted_per_s: accepted as f64 / elapsed.as_secs_f64(),
        errors,
        submit_ms: (percentile(&submits, 50.0), percentile(&submits, 99.0)),
        to_ticket_ms: (measured_tickets && !tickets.is_empty())
            .then(|| (percentile(&tickets, 50.0), percentile(&tickets, 99.0))),
        no_ticket: if measured_tickets {
            accepted - tickets.len()
        } else {
            0
        },
        to_event_ms: None,
        to_webhook_ms: None,
    }
}

/// The report printed at the end of a run.
pub(super) fn render(args: &LoadArgs, s: &Summary) -> String {
    let mut out = format!(
        "sent {} reports at {:.1}/s for {:.0} s\naccepted {} ({:.1}/s)\n",
        s.sent, args.rate, args.duration, s.accepted, s.accepted_per_s
    );
    let errors: Vec<String> = s
        .errors
        .iter()
        .map(|(status, n)| format!("{status}: {n}"))
        .collect();
    out += &format!(
        "errors by status: {}\n",
        if errors.is_empty() {
            "none".to_owned()
        } else {
            errors.join(", ")
        }
    );
    out += &format!(
        "submit latency: p50 {:.1} ms, p99 {:.1} ms\n",
        s.submit_ms.0, s.submit_ms.1
    );
    match s.to_ticket_ms {
        Some((p50, p99)) => {
            out += &format!("202 -> ticket in queue: p50 {p50:.1} ms, p99 {p99:.1} ms ({} accepted without a ticket)\n", s.no_ticket);
        }
        None => out += "202 -> ticket in queue: not measured (pass --viewer-token)\n",
    }
    for (what, seen) in [
        ("office event stream", &s.to_event_ms),
        ("webhook receiver", &s.to_webhook_ms),
    ] {
        if let Some(Seen {
            ms: (p50, p99),
            missing,
        }) = seen
        {
            out += &format!("202 -> {what}: p50 {p50:.1} ms, p99 {p99:.1} ms ({missing} accepted not seen there)\n");
        }
    }
    out
}
