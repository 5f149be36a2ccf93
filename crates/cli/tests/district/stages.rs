//! Where a report's wait went: each stage's latency histogram (from the
//! `202`, so each includes the stages before it), summed over the box's
//! instances as Prometheus would add them, and read as quantiles. Printed
//! for the quiet start of the load, before any fault; never asserted.

use std::collections::BTreeMap;

/// The stages, in the order a report passes them: (histogram, process
/// kind that writes it).
const STAGES: [(&str, &str); 3] = [
    ("civicprobe_ingest_report_to_publish_seconds", "ingest"),
    ("civicprobe_router_report_to_routed_seconds", "router"),
    ("civicprobe_tracker_report_to_ticket_seconds", "tracker"),
];

/// Cumulative bucket counts by upper bound (`le`), summed over instances.
#[derive(Default)]
struct Histogram {
    /// upper bound in µs (an integer key keeps the order) → count.
    buckets: BTreeMap<u64, f64>,
}

impl Histogram {
    /// Adds one instance's `_bucket` lines of `name` from a scrape.
    fn add(&mut self, name: &str, text: &str) {
        let prefix = format!("{name}_bucket{{le=\"");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((le, count)) = rest.split_once("\"} ") else {
                continue;
            };
            let (Ok(le), Ok(count)) = (le.parse::<f64>(), count.trim().parse::<f64>()) else {
                continue; // +Inf
            };
            *self.buckets.entry((le * 1e6) as u64).or_default() += count;
        }
    }

    /// The upper bound of the bucket holding quantile `q`, seconds; `None`
    /// with no observation, or beyond the last finite bucket.
    fn quantile(&self, q: f64) -> Option<f64> {
        let total = *self.buckets.values().last()?;
        if total == 0.0 {
            return None;
        }
        self.buckets
            .iter()
            .find(|(_, &count)| count >= q * total)
            .map(|(&le, _)| le as f64 / 1e6)
    }

    fn count(&self) -> f64 {
        self.buckets.values().last().copied().unwrap_or(0.0)
    }
}

/// Scrapes every instance's `/metrics` (ports as `run.sh` gives them
/// from the box's base port) and prints each stage's p50 and p99.
pub async fn print(base_port: u16, token: &str, when: &str) {
    let http = reqwest::Client::new();
    println!("  stages, {when} (bucket upper bounds; each from the 202):");
    for (name, kind) in STAGES {
        let offset = match kind {
            "ingest" => 30,
            "router" => 40,
            _ => 50,
        };
        let mut histogram = Histogram::default();
        for n in 1..=2 {
            let url = format!("http://127.0.0.1:{}/metrics", base_port + offset + n);
            let text = match http.get(&url).bearer_auth(token).send().await {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => continue,
            };
            histogram.add(name, &text);
        }
        let show = |q| match histogram.quantile(q) {
            Some(s) => format!("≤ {:.0} ms", s * 1000.0),
            None => "-".to_owned(),
        };
        println!(
            "    {name:<46} n {:>5}  p50 {:>9}  p99 {:>9}",
            histogram.count(),
            show(0.5),
            show(0.99)
        );
    }
}
