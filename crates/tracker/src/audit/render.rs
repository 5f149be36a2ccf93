//! The audit as CSV (`?format=csv`) and as a terminal table
//! (`civicprobe audit`).

use super::{ResponseTimes, StepTimes};
use std::fmt::Write;

/// The steps in column order, with their labels.
fn steps(g: &super::GroupTimes) -> [(&'static str, &StepTimes); 3] {
    [
        ("acknowledge", &g.acknowledge),
        ("make_safe", &g.make_safe),
        ("resolve", &g.resolve),
    ]
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// One line per group: the dimensions, counts, then per step count,
/// median_s, p90_s, max_s, within_deadline; resolved → verified count,
/// median_s, p90_s, max_s; failed verifications count, of, share. Empty
/// cells for no data.
pub fn csv(report: &ResponseTimes) -> String {
    let mut columns: Vec<String> = ["count", "reopened", "data_errors"]
        .map(String::from)
        .into();
    for step in ["acknowledge", "make_safe", "resolve"] {
        for col in ["count", "median_s", "p90_s", "max_s", "within_deadline"] {
            columns.push(format!("{step}_{col}"));
        }
    }
    for col in ["count", "median_s", "p90_s", "max_s"] {
        columns.push(format!("verify_{col}"));
    }
    for col in ["count", "of", "share"] {
        columns.push(format!("failed_verification_{col}"));
    }
    let mut csv = GroupCsv::new(&report.group_by, columns);
    for g in &report.groups {
        let mut cells: Vec<String> = [g.count, g.reopened, g.data_errors]
            .map(|n| n.to_string())
            .into();
        for (_, s) in steps(g) {
            cells.push(s.count.to_string());
            cells.extend([s.median_s, s.p90_s, s.max_s, s.within_deadline].map(opt));
        }
        let (v, f) = (&g.verify, &g.failed_verification);
        cells.push(v.count.to_string());
        cells.extend([v.median_s, v.p90_s, v.max_s].map(opt));
        cells.extend([f.count.to_string(), f.of.to_string(), opt(f.share)]);
        csv.row(&g.key, cells);
    }
    csv.finish()
}

/// A CSV with one line per group (CRLF): the group-by dimensions first,
/// each group's key for them escaped, then the report's own columns.
#[derive(Debug)]
pub struct GroupCsv<'a> {
    /// The dimensions, in `group_by`'s order.
    dims: Vec<&'a str>,
    /// The text so far.
    out: String,
}

impl<'a> GroupCsv<'a> {
    /// The header: `group_by`'s dimensions, then `columns`.
    pub fn new(group_by: &'a str, columns: Vec<String>) -> Self {
        let dims: Vec<&str> = group_by.split(',').collect();
        let mut header: Vec<String> = dims.iter().map(|d| (*d).to_owned()).collect();
        header.extend(columns);
        let mut out = header.join(",");
        out.push_str("\r\n");
        Self { dims, out }
    }

    /// One group's line: its `key` for each dimension, then `cells`.
    pub fn row(
        &mut self,
        key: &std::collections::BTreeMap<&'static str, String>,
        cells: Vec<String>,
    ) {
        let mut line: Vec<String> = self
            .dims
            .iter()
            .map(|d| csv_field(key.get(d).map_or("", String::as_str)))
            .collect();
        line.extend(cells);
        self.out.push_str(&line.join(","));
        self.out.push_str("\r\n");
    }

    /// The CSV.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `3d04h`, `2h05m`, `4m10s`, `12s`; `-` for none.
pub fn human(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "-".into();
    };
    let s = s.round() as i64;
    match s {
        s if s >= 86_400 => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// `67%`; `-` for none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or("-".into(), |w| format!("{:.0}%", w * 100.0))
}

/// A fixed-width terminal table: the first column left-aligned, the
/// others right-aligned, two spaces apart.
#[derive(Debug, Default)]
pub struct Table {
    /// The header row first.
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with this header.
    pub fn new(header: Vec<String>) -> Table {
        Table { rows: vec![header] }
    }

    /// Adds a row (as many cells as the header).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, one line per row.
    pub fn render(&self) -> String {
        let columns = self.rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                let _ = if c == 0 {
                    write!(out, "{cell}{}", " ".repeat(pad))
                } else {
                    write!(out, "  {}{cell}", " ".repeat(pad))
                };
            }
            out.push('\n');
        }
        out
    }
}

/// A fixed-width table for a terminal.
pub fn table(report: &ResponseTimes) -> String {
    let mut header = vec![
        report.group_by.replace(',', "/"),
        "tickets".into(),
        "reopened".into(),
        "errors".into(),
    ];
    for step in ["ack", "safe", "resolve"] {
        header.extend(["n", "median", "p90", "max", "in time"].map(|c| format!("{step} {c}")));
    }
    header.extend(["n", "median", "p90", "max"].map(|c| format!("verify {c}")));
    header.push("failed".into());
    let mut table = Table::new(header);
    for g in &report.groups {
        let mut row = vec![
            g.group.clone(),
            g.count.to_string(),
            g.reopened.to_string(),
            g.data_errors.to_string(),
        ];
        for (_, s) in steps(g) {
            row.push(s.count.to_string());
            row.extend([s.median_s, s.p90_s, s.max_s].map(human));
            row.push(percent(s.within_deadline));
        }
        let (v, f) = (&g.verify, &g.failed_verification);
        row.push(v.count.to_string());
        row.extend([v.median_s, v.p90_s, v.max_s].map(human));
        row.push(format!("{}/{} {}", f.count, f.of, percent(f.share)));
        table.push(row);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{response_times, Dimension, Sample};

    #[test]
    fn csv_and_table_show_every_group() {
        let sample = Sample {
            office: "wen,quan".into(),
            category: "manhole".into(),
            received_ms: 0,
            acknowledged_ms: Some(125_000),
            due_ms: [600_000; 3],
            ..Sample::default()
        };
        let report = response_times(&[Dimension::Office, Dimension::Category], &[sample]);
        let csv = csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].starts_with("office,category,count,reopened,data_errors,acknowledge_count")
        );
        assert!(
            lines[1].starts_with("\"wen,quan\",manhole,1,0,0,1,125,125,125,1,0,,,,"),
            "{}",
            lines[1]
        );
        let table = table(&report);
        assert!(table.contains("2m05s"), "{table}");
        assert!(table.contains("100%"));
        assert_eq!(human(Some(90_061.0)), "1d01h");
    }
}
