//! Reading the audit from the store: PostgreSQL aggregates in SQL with
//! `percentile_disc` (nearest rank, the same figures as
//! [`super::nearest_rank`]); SQLite reads one [`Sample`] per ticket and
//! aggregates in Rust.

use super::{
    dims_label, iso_week, response_times, urgency, Dimension, GroupTimes, ResponseTimes, Sample,
    StepTimes,
};
use crate::store::Backend;
use crate::{Error, Store};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// The SQL expression of a dimension (PostgreSQL): text in byte order, or
/// an integer (cheaper to sort) that [`group_value`] turns into its label.
fn expression(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Office => "office_id COLLATE \"C\"",
        Dimension::Category => "category COLLATE \"C\"",
        Dimension::Urgent => "urgent",
        // Weeks since Monday 1970-01-05 (floor division).
        Dimension::Week => {
            "(received_at - 345600000 - CASE WHEN received_at < 345600000 \
             THEN 604799999 ELSE 0 END) / 604800000"
        }
    }
}

/// Monday 1970-01-05 00:00 UTC, unix ms.
const FIRST_MONDAY_MS: i64 = 345_600_000;
/// One week, ms.
const WEEK_MS: i64 = 604_800_000;

/// The label of column `column` of dimension `dim`.
fn group_value(row: &AnyRow, column: &str, dim: Dimension) -> Result<String, Error> {
    Ok(match dim {
        Dimension::Office | Dimension::Category => row.try_get(column)?,
        Dimension::Urgent => urgency(row.try_get::<i64, _>(column)? != 0).to_owned(),
        Dimension::Week => {
            let week: i64 = row.try_get(column)?;
            iso_week(FIRST_MONDAY_MS.saturating_add(week.saturating_mul(WEEK_MS)))
        }
    })
}

/// `WHERE` clause keeping partition `k` of `n` of the first dimension.
fn partition_filter(dims: &[Dimension], (k, n): (u32, u32)) -> String {
    let key = match dims.first() {
        None => return "TRUE".into(),
        Some(Dimension::Office) => "hashtext(office_id)".to_owned(),
        Some(Dimension::Category) => "hashtext(category)".to_owned(),
        Some(d) => format!("({})", expression(*d)),
    };
    format!("mod(abs({key}::BIGINT), {n}) = {k}")
}

/// How many partitions run concurrently (one connection and one
/// PostgreSQL backend each): the sorts dominate and parallelize; every
/// partition scans the table once.
const PARTITIONS: u32 = 2;

/// Sort memory for the audit's transaction only.
const SORT_MEMORY: &str = "SET LOCAL work_mem = '128MB'";

/// Per step: the column, its deadline, and whether it needs an acknowledgement.
const STEPS: [(&str, &str, &str, bool); 3] = [
    ("ack", "acknowledged_at", "acknowledge_by", false),
    ("safe", "made_safe_at", "make_safe_by", true),
    ("res", "resolved_at", "resolve_by", true),
];

/// The whole aggregation for `dims` (PostgreSQL). Dimension expressions
/// come from a fixed list, never from the request.
///
/// `part = (k, n)` keeps only partition `k` of `n` (by the first
/// dimension, so that a group never spans two partitions).
pub fn aggregate_sql(dims: &[Dimension], part: (u32, u32)) -> String {
    let mut inner: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{} AS g{i}", expression(*d)))
        .collect();
    inner.push("reopen_count".into());
    let mut outer: Vec<String> = (0..dims.len()).map(|i| format!("g{i}")).collect();
    outer.push("COUNT(*) AS n".into());
    outer.push(
        "CAST(SUM(CASE WHEN reopen_count > 0 THEN 1 ELSE 0 END) AS BIGINT) AS reopened".into(),
    );
    let mut errors = Vec::new();
    for (name, at, due, needs_ack) in STEPS {
        let guard = if needs_ack {
            " AND acknowledged_at IS NOT NULL"
        } else {
            ""
        };
        let valid = format!("{at} >= received_at{guard}");
        inner.push(format!(
            "CASE WHEN {valid} THEN {at} - received_at END AS d_{name}"
        ));
        inner.push(format!(
            "CASE WHEN {valid} AND {at} <= {due} THEN 1 ELSE 0 END AS w_{name}"
        ));
        inner.push(format!(
            "CASE WHEN {at} IS NOT NULL AND NOT ({valid}) THEN 1 ELSE 0 END AS e_{name}"
        ));
        errors.push(format!("e_{name}"));
        outer.push(format!("COUNT(d_{name}) AS n_{name}"));
        for (p, label) in [("0.5", "p50"), ("0.9", "p90")] {
            outer.push(format!(
                "CAST(percentile_disc({p}) WITHIN GROUP (ORDER BY d_{name}) AS BIGINT) AS {label}_{name}"
            ));
        }
        outer.push(format!("MAX(d_{name}) AS max_{name}"));
        outer.push(format!("CAST(SUM(w_{name}) AS BIGINT) AS w_{name}"));
    }
    outer.push(format!(
        "CAST(SUM({}) AS BIGINT) AS errors",
        errors.join(" + ")
    ));
    let keys: Vec<String> = (0..dims.len()).map(|i| format!("g{i}")).collect();
    format!(
        "SELECT {} FROM (SELECT {} FROM tickets WHERE {}) s GROUP BY {keys} ORDER BY {keys}",
        outer.join(", "),
        inner.join(", "),
        partition_filter(dims, part),
        keys = keys.join(", "),
    )
}

fn count(row: &AnyRow, column: &str) -> Result<u64, Error> {
    let n: i64 = row.try_get(column)?;
    u64::try_from(n).map_err(|_| Error::Corrupt(format!("{column} = {n}")))
}

/// One aggregated row as a [`GroupTimes`], with its key values for sorting
/// (byte order, as the Rust path sorts; the database's collation may differ).
fn group_row(row: &AnyRow, dims: &[Dimension]) -> Result<(Vec<String>, GroupTimes), Error> {
    let mut key = BTreeMap::new();
    let mut values = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        let v = group_value(row, &format!("g{i}"), *d)?;
        values.push(v.clone());
        key.insert(d.as_str(), v);
    }
    let step = |name: &str| -> Result<StepTimes, Error> {
        Ok(StepTimes::new(
            count(row, &format!("n_{name}"))?,
            row.try_get(format!("p50_{name}").as_str())?,
            row.try_get(format!("p90_{name}").as_str())?,
            row.try_get(format!("max_{name}").as_str())?,
            count(row, &format!("w_{name}"))?,
        ))
    };
    let group = values.join("/");
    Ok((
        values,
        GroupTimes {
            group,
            key,
            count: count(row, "n")?,
            reopened: count(row, "reopened")?,
            data_errors: count(row, "errors")?,
            acknowledge: step("ack")?,
            make_safe: step("safe")?,
            resolve: step("res")?,
        },
    ))
}

fn sample(row: &AnyRow) -> Result<Sample, Error> {
    Ok(Sample {
        office: row.try_get("office_id")?,
        category: row.try_get("category")?,
        urgent: row.try_get::<i64, _>("urgent")? != 0,
        received_ms: row.try_get("received_at")?,
        acknowledged_ms: row.try_get("acknowledged_at")?,
        made_safe_ms: row.try_get("made_safe_at")?,
        resolved_ms: row.try_get("resolved_at")?,
        due_ms: [
            row.try_get("acknowledge_by")?,
            row.try_get("make_safe_by")?,
            row.try_get("resolve_by")?,
        ],
        reopened: row.try_get::<i64, _>("reopen_count")? > 0,
    })
}

impl Store {
    /// The response-time audit grouped by `dims` (in SQL on PostgreSQL).
    pub async fn response_times(&self, dims: &[Dimension]) -> Result<ResponseTimes, Error> {
        match self.backend() {
            Backend::Postgres => {
                let parts =
                    (0..PARTITIONS).map(|k| self.aggregate_partition(dims, (k, PARTITIONS)));
                let mut keyed = Vec::new();
                for rows in futures::future::try_join_all(parts).await? {
                    for row in &rows {
                        keyed.push(group_row(row, dims)?);
                    }
                }
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                let groups = keyed.into_iter().map(|(_, g)| g).collect();
                Ok(ResponseTimes {
                    group_by: dims_label(dims),
                    groups,
                })
            }
            Backend::Sqlite => self.response_times_in_rust(dims).await,
        }
    }

    /// One partition's groups (PostgreSQL): one sort of its tickets by
    /// group and three of durations, in memory (about 130 MB per million
    /// tickets) and without JIT compilation, which costs more than it saves.
    async fn aggregate_partition(
        &self,
        dims: &[Dimension],
        part: (u32, u32),
    ) -> Result<Vec<AnyRow>, Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(SORT_MEMORY).execute(&mut *tx).await?;
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        let rows = sqlx::query(&aggregate_sql(dims, part))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The same audit computed in Rust from every ticket (the SQLite path;
    /// on PostgreSQL a cross-check of the SQL).
    pub async fn response_times_in_rust(&self, dims: &[Dimension]) -> Result<ResponseTimes, Error> {
        let samples = sqlx::query(
            "SELECT office_id, category, urgent, received_at, acknowledged_at, made_safe_at, \
             resolved_at, acknowledge_by, make_safe_by, resolve_by, reopen_count FROM tickets",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(sample)
        .collect::<Result<Vec<_>, _>>()?;
        let dims = dims.to_vec();
        tokio::task::spawn_blocking(move || response_times(&dims, &samples))
            .await
            .map_err(|e| Error::Corrupt(format!("computing the audit: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_groups_by_each_named_dimension() {
        let sql = aggregate_sql(&[Dimension::Office, Dimension::Week], (1, 2));
        assert!(sql.contains("mod(abs(hashtext(office_id)::BIGINT), 2) = 1"));
        assert!(sql.contains("office_id COLLATE \"C\" AS g0"));
        assert!(sql.contains("604800000"));
        assert!(sql.ends_with("GROUP BY g0, g1 ORDER BY g0, g1"));
        assert_eq!(iso_week(FIRST_MONDAY_MS), "1970-W02");
        assert_eq!(iso_week(FIRST_MONDAY_MS + 2864 * WEEK_MS), "2024-W48");
    }
}
