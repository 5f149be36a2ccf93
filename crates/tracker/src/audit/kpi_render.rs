//! The KPIs as CSV (`?format=csv`, `audit kpis --csv`) and as a terminal
//! table (`civicprobe audit kpis`).

use super::kpi::{GroupKpis, Kpis, Rate};
use super::render::{percent, GroupCsv, Table};

/// The KPIs in column order, with their labels.
fn rates(g: &GroupKpis) -> [(&'static str, &Rate); 4] {
    [
        ("response", &g.response),
        ("resolution", &g.resolution),
        ("rework", &g.rework),
        ("satisfaction", &g.satisfaction),
    ]
}

fn rate_cell(r: Option<f64>) -> String {
    r.map(|x| format!("{x}")).unwrap_or_default()
}

/// One line per group: the dimensions, tickets, rejected, then per KPI
/// count, of, rate (empty when nothing to measure).
pub fn csv(report: &Kpis) -> String {
    let mut columns: Vec<String> = ["tickets", "rejected"].map(String::from).into();
    for kpi in ["response", "resolution", "rework", "satisfaction"] {
        for col in ["count", "of", "rate"] {
            columns.push(format!("{kpi}_{col}"));
        }
    }
    let mut csv = GroupCsv::new(&report.group_by, columns);
    for g in &report.groups {
        let mut cells: Vec<String> = [g.tickets, g.rejected].map(|n| n.to_string()).into();
        for (_, r) in rates(g) {
            cells.extend([r.count.to_string(), r.of.to_string(), rate_cell(r.rate)]);
        }
        csv.row(&g.key, cells);
    }
    csv.finish()
}

/// `12/15 80%`; `0/0 -` with nothing to measure.
fn cell(r: &Rate) -> String {
    format!("{}/{} {}", r.count, r.of, percent(r.rate))
}

/// A fixed-width table for a terminal.
pub fn table(report: &Kpis) -> String {
    let mut table = Table::new(vec![
        report.group_by.replace(',', "/"),
        "tickets".into(),
        "rejected".into(),
        "response".into(),
        "resolution".into(),
        "rework".into(),
        "satisfaction".into(),
    ]);
    for g in &report.groups {
        let mut row = vec![
            g.group.clone(),
            g.tickets.to_string(),
            g.rejected.to_string(),
        ];
        row.extend(rates(g).map(|(_, r)| cell(r)));
        table.push(row);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn csv_and_table_carry_counts_and_rates() {
        let rate = |count, of| Rate {
            count,
            of,
            rate: (of > 0).then(|| count as f64 / of as f64),
        };
        let report = Kpis {
            group_by: "office".into(),
            as_of_ms: 0,
            groups: vec![GroupKpis {
                group: "wen,quan".into(),
                key: BTreeMap::from([("office", "wen,quan".to_owned())]),
                tickets: 5,
                rejected: 1,
                response: rate(3, 4),
                resolution: rate(2, 4),
                rework: rate(1, 2),
                satisfaction: rate(0, 0),
            }],
        };
        let csv = csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "office,tickets,rejected,response_count,response_of,response_rate,\
             resolution_count,resolution_of,resolution_rate,rework_count,rework_of,\
             rework_rate,satisfaction_count,satisfaction_of,satisfaction_rate"
        );
        assert_eq!(lines[1], "\"wen,quan\",5,1,3,4,0.75,2,4,0.5,1,2,0.5,0,0,");
        let table = table(&report);
        assert!(table.contains("3/4 75%"), "{table}");
        assert!(table.contains("0/0 -"), "{table}");
    }
}
