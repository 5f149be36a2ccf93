//! The figures street offices are judged by (响应率、解决率、返工率、满意率),
//! grouped by any combination of office, category, urgency, ISO week and
//! month of receipt. Each is a count `of` a count, with the rate:
//!
//! | KPI | count | of |
//! |---|---|---|
//! | response | acknowledged within the deadline | tickets acknowledged, or whose acknowledgement is overdue |
//! | resolution | resolved (at least once) | tickets |
//! | rework | reopened after a resolution | tickets resolved |
//! | satisfaction | fixes a courier confirmed (the reporter, or a courier passing by) | fixes judged: verified tickets (by anyone, or automatically) and reopens |
//!
//! Rejected tickets (duplicates, not a hazard, not the office's area) are
//! counted but left out of every rate. The columns these come from are the
//! ones `audit verify` recomputes from the chained events
//! ([`crate::audit::chain_figures`]), so an edit shows there.
//!
//! Counting needs no ranks: one `GROUP BY` on both databases (by day when
//! weeks or months are asked, folded here), through the `Any` pool.

use super::{dims_label, iso_week, month_key, month_label, urgency, Dimension};
use crate::{Error, Store};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// One day, ms.
const DAY_MS: i64 = 86_400_000;

/// `count` of `of`, and the rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rate {
    /// Tickets (or fixes) that met it.
    pub count: u64,
    /// Tickets (or fixes) it is measured over.
    pub of: u64,
    /// `count / of`, 0 to 1; `null` when `of` is 0.
    pub rate: Option<f64>,
}

impl Rate {
    fn new(count: u64, of: u64) -> Rate {
        Rate {
            count,
            of,
            rate: (of > 0).then(|| count as f64 / of as f64),
        }
    }
}

/// One group's KPIs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupKpis {
    /// The group's values joined by `/`.
    pub group: String,
    /// The group's value per dimension.
    pub key: BTreeMap<&'static str, String>,
    /// Tickets in the group, rejected ones included.
    pub tickets: u64,
    /// Of those, rejected (left out of the rates).
    pub rejected: u64,
    /// Acknowledged within the deadline.
    pub response: Rate,
    /// Resolved.
    pub resolution: Rate,
    /// Reopened after a resolution.
    pub rework: Rate,
    /// Fixes couriers confirmed.
    pub satisfaction: Rate,
}

/// The answer of `GET /v1/audit/kpis` and `civicprobe audit kpis`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Kpis {
    /// The dimensions, comma-separated.
    pub group_by: String,
    /// "Now" for overdue acknowledgements, unix ms.
    pub as_of_ms: i64,
    /// One entry per group, ordered by key.
    pub groups: Vec<GroupKpis>,
}

/// One office's tickets received in `[from_ms, to_ms)` (a monthly report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The office.
    pub office: String,
    /// First instant of receipt included, unix ms.
    pub from_ms: i64,
    /// First instant excluded.
    pub to_ms: i64,
}

impl Scope {
    /// The SQL condition, its placeholders numbered from `first`.
    pub(crate) fn condition(first: usize) -> String {
        format!(
            "office_id = ${first} AND received_at >= ${} AND received_at < ${}",
            first + 1,
            first + 2
        )
    }
}

/// One group's counts as they are added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    tickets: u64,
    rejected: u64,
    response_due: u64,
    responded: u64,
    accepted: u64,
    resolved: u64,
    reworked: u64,
    confirmed: u64,
    judged: u64,
}

/// The counted columns, in order, after the group columns.
const COUNTED: [&str; 8] = [
    "rejected",
    "response_due",
    "responded",
    "resolved",
    "reworked",
    "confirmed",
    "judged",
    "tickets",
];

/// The SQL: group columns (from fixed lists only), then [`COUNTED`].
fn kpi_sql(dims: &[Dimension], scoped: bool) -> (String, Vec<&'static str>) {
    let mut cols: Vec<&'static str> = Vec::new();
    for dim in dims {
        let col = match dim {
            Dimension::Office => "office_id",
            Dimension::Category => "category",
            Dimension::Urgent => "CAST(urgent AS BIGINT)",
            Dimension::Week | Dimension::Month => "received_at / 86400000",
        };
        if !cols.contains(&col) {
            cols.push(col);
        }
    }
    let live = "state <> 'rejected'";
    let sum = |cond: &str| format!("CAST(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT)");
    let counted = [
        sum("state = 'rejected'"),
        sum(&format!(
            "{live} AND (acknowledged_at IS NOT NULL OR acknowledge_by < $1)"
        )),
        sum(&format!(
            "{live} AND acknowledged_at >= received_at AND acknowledged_at <= acknowledge_by"
        )),
        sum(&format!("{live} AND resolved_at IS NOT NULL")),
        sum(&format!(
            "{live} AND resolved_at IS NOT NULL AND reopen_count > 0"
        )),
        sum(&format!(
            "{live} AND verified_by IN ('reporter', 'courier')"
        )),
        format!(
            "CAST(SUM(CASE WHEN {live} THEN reopen_count + \
             CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END ELSE 0 END) AS BIGINT)"
        ),
        "COUNT(*)".to_owned(),
    ];
    let select: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} AS g{i}"))
        .chain(
            counted
                .iter()
                .zip(COUNTED)
                .map(|(e, n)| format!("{e} AS {n}")),
        )
        .collect();
    let mut sql = format!("SELECT {} FROM tickets", select.join(", "));
    if scoped {
        sql.push_str(&format!(" WHERE {}", Scope::condition(2)));
    }
    if !cols.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", cols.join(", ")));
    }
    (sql, cols)
}

/// The group key of one SQL row.
fn key_of(row: &AnyRow, dims: &[Dimension], cols: &[&str]) -> Result<Vec<String>, Error> {
    let at = |col: &str| cols.iter().position(|c| *c == col).unwrap_or(0);
    let mut key = Vec::with_capacity(dims.len());
    for dim in dims {
        let value = match dim {
            Dimension::Office => row.try_get(at("office_id"))?,
            Dimension::Category => row.try_get(at("category"))?,
            Dimension::Urgent => {
                urgency(row.try_get::<i64, _>(at("CAST(urgent AS BIGINT)"))? != 0).to_owned()
            }
            Dimension::Week | Dimension::Month => {
                let day: i64 = row.try_get(at("received_at / 86400000"))?;
                match dim {
                    Dimension::Week => iso_week(day * DAY_MS),
                    _ => month_label(month_key(day * DAY_MS)),
                }
            }
        };
        key.push(value);
    }
    Ok(key)
}

fn counts_of(row: &AnyRow, groups: usize) -> Result<Counts, Error> {
    let n = |i: usize| -> Result<u64, Error> {
        let v: Option<i64> = row.try_get(groups + i)?;
        Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
    };
    let tickets = n(7)?;
    let rejected = n(0)?;
    Ok(Counts {
        tickets,
        rejected,
        response_due: n(1)?,
        responded: n(2)?,
        accepted: tickets - rejected.min(tickets),
        resolved: n(3)?,
        reworked: n(4)?,
        confirmed: n(5)?,
        judged: n(6)?,
    })
}

impl Counts {
    fn merge(&mut self, o: Counts) {
        self.tickets += o.tickets;
        self.rejected += o.rejected;
        self.response_due += o.response_due;
        self.responded += o.responded;
        self.accepted += o.accepted;
        self.resolved += o.resolved;
        self.reworked += o.reworked;
        self.confirmed += o.confirmed;
        self.judged += o.judged;
    }

    fn finish(self, dims: &[Dimension], values: Vec<String>) -> GroupKpis {
        GroupKpis {
            group: values.join("/"),
            key: dims.iter().map(|d| d.as_str()).zip(values).collect(),
            tickets: self.tickets,
            rejected: self.rejected,
            response: Rate::new(self.responded, self.response_due),
            resolution: Rate::new(self.resolved, self.accepted),
            rework: Rate::new(self.reworked, self.resolved),
            satisfaction: Rate::new(self.confirmed, self.judged),
        }
    }
}

impl Store {
    /// The KPIs grouped by `dims`, as of the store's clock.
    pub async fn kpis(&self, dims: &[Dimension]) -> Result<Kpis, Error> {
        self.kpis_in(dims, None).await
    }

    /// [`Store::kpis`] of the tickets in `scope` only (all without one).
    pub async fn kpis_in(&self, dims: &[Dimension], scope: Option<&Scope>) -> Result<Kpis, Error> {
        let as_of_ms = crate::time_ms::to_ms(self.now());
        let (sql, cols) = kpi_sql(dims, scope.is_some());
        let mut query = sqlx::query(&sql).bind(as_of_ms);
        if let Some(scope) = scope {
            query = query
                .bind(scope.office.clone())
                .bind(scope.from_ms)
                .bind(scope.to_ms);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut groups: BTreeMap<Vec<String>, Counts> = BTreeMap::new();
        for row in &rows {
            let counts = counts_of(row, cols.len())?;
            groups
                .entry(key_of(row, dims, &cols)?)
                .or_default()
                .merge(counts);
        }
        Ok(Kpis {
            group_by: dims_label(dims),
            as_of_ms,
            groups: groups
                .into_iter()
                .map(|(values, c)| c.finish(dims, values))
                .collect(),
        })
    }
}
