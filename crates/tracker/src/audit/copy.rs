//! The PostgreSQL audit: `COPY (SELECT …) TO STDOUT (FORMAT binary)` of
//! only what each ticket contributes — its group columns and its raw times
//! ([`TIMES`]) — grouped and ranked in Rust. Each row becomes a [`Sample`]
//! and goes through [`Collected::add`], the one place the data-error rule
//! is written; the server only selects columns.
//!
//! Why not SQL: exact percentiles through `percentile_disc` sort every
//! group's durations, three steps over, after sorting the tickets by group
//! (2 s for four dimensions over a million tickets on two cores). Here the
//! server only scans and sends ~100 bytes per ticket, the client groups in
//! a hash map and selects ranks in O(n). The table is read as
//! [`PARTITIONS`] block ranges (`ctid`, a TID range scan each) on as many
//! connections sharing one exported snapshot, so the parts add up to one
//! consistent table whatever commits meanwhile.

use super::{
    assemble, iso_week, month_key, month_label, urgency, Collected, Dimension, ResponseTimes,
    Sample,
};
use crate::Error;
use futures::TryStreamExt;
use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::Transaction;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Block ranges read concurrently, one connection and backend each.
pub const PARTITIONS: u32 = 2;

/// Monday 1970-01-05 00:00 UTC, unix ms: weeks are counted from it.
const FIRST_MONDAY_MS: i64 = 345_600_000;
/// One week, ms.
const WEEK_MS: i64 = 604_800_000;

/// The times a ticket contributes, after its group columns: the fields
/// of a [`Sample`] in the order [`Grouper::row`] reads them.
const TIMES: [&str; 9] = [
    "reopen_count",
    "received_at",
    "acknowledged_at",
    "made_safe_at",
    "resolved_at",
    "closed_at",
    "acknowledge_by",
    "make_safe_by",
    "resolve_by",
];

/// The connections the audit copies over: sqlx's `Any` pool has no COPY.
#[derive(Clone, Debug)]
pub struct CopyPool {
    /// [`PARTITIONS`] connections to the store's database.
    pool: PgPool,
    /// One audit at a time: each takes every connection, and two audits
    /// holding one each would wait for the other.
    gate: Arc<Mutex<()>>,
}

impl CopyPool {
    /// A pool on `url` that connects when first used.
    pub fn lazy(url: &str) -> Result<CopyPool, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(PARTITIONS)
            .min_connections(0)
            .connect_lazy(url)?;
        Ok(CopyPool {
            pool,
            gate: Arc::new(Mutex::new(())),
        })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The audit grouped by `dims`, from one snapshot of `tickets`.
    pub async fn response_times(&self, dims: &[Dimension]) -> Result<ResponseTimes, Error> {
        let _turn = self.gate.lock().await;
        let (txs, blocks) = self.snapshot_transactions().await?;
        let tasks: Vec<_> = txs
            .into_iter()
            .zip(0..)
            .map(|(tx, k)| {
                let sql = copy_sql(dims, block_range(blocks, k));
                tokio::spawn(read_partition(tx, sql, dims.to_vec()))
            })
            .collect();
        let mut groups = BTreeMap::new();
        for task in tasks {
            let part = task
                .await
                .map_err(|e| Error::Corrupt(format!("audit: {e}")))??;
            for (key, c) in part {
                match groups.entry(key) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(c);
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(c),
                }
            }
        }
        let dims = dims.to_vec();
        tokio::task::spawn_blocking(move || assemble(&dims, groups))
            .await
            .map_err(|e| Error::Corrupt(format!("computing the audit: {e}")))
    }

    /// [`PARTITIONS`] read-only transactions on one snapshot, and the
    /// table's size in blocks.
    async fn snapshot_transactions(
        &self,
    ) -> Result<(Vec<Transaction<'static, Postgres>>, i64), Error> {
        const READ_ONLY: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        let mut lead = self.pool.begin().await?;
        sqlx::query(READ_ONLY).execute(&mut *lead).await?;
        let (snapshot, blocks): (String, i64) = sqlx::query_as(
            "SELECT pg_export_snapshot(), \
             pg_relation_size('tickets') / current_setting('block_size')::BIGINT",
        )
        .fetch_one(&mut *lead)
        .await?;
        if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::Corrupt(format!("snapshot id {snapshot:?}")));
        }
        let mut txs = vec![lead];
        for _ in 1..PARTITIONS {
            let mut tx = self.pool.begin().await?;
            sqlx::query(READ_ONLY).execute(&mut *tx).await?;
            sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
                .execute(&mut *tx)
                .await?;
            txs.push(tx);
        }
        Ok((txs, blocks))
    }
}

/// The `ctid` condition of partition `k`: blocks `[k·b/n, (k+1)·b/n)`, the
/// last one open-ended (the file may have grown since it was measured).
fn block_range(blocks: i64, k: u32) -> String {
    let n = i64::from(PARTITIONS);
    let at = |k: i64| format!("ctid >= '({},0)'::tid", blocks.max(0) * k / n);
    let below = |k: i64| format!("ctid < '({},0)'::tid", blocks.max(0) * k / n);
    let k = i64::from(k);
    match (k == 0, k == n - 1) {
        (true, true) => "TRUE".into(),
        (true, false) => below(k + 1),
        (false, true) => at(k),
        (false, false) => format!("{} AND {}", at(k), below(k + 1)),
    }
}

/// The column a dimension needs (the week is computed from `received_at`
/// here: cheaper than on the server).
fn column(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Office => "office_id",
        Dimension::Category => "category",
        Dimension::Urgent => "urgent",
        Dimension::Week | Dimension::Month => "received_at",
    }
}

/// The COPY statement: the dimensions' columns, then [`TIMES`].
/// Everything in it comes from fixed lists, never from the request.
pub fn copy_sql(dims: &[Dimension], range: String) -> String {
    let fields: Vec<&str> = dims.iter().map(|d| column(*d)).chain(TIMES).collect();
    format!(
        "COPY (SELECT {} FROM tickets WHERE {range}) TO STDOUT (FORMAT binary)",
        fields.join(", ")
    )
}

/// Runs one partition's COPY and groups what it streams.
async fn read_partition(
    mut tx: Transaction<'static, Postgres>,
    sql: String,
    dims: Vec<Dimension>,
) -> Result<BTreeMap<Vec<String>, Collected>, Error> {
    let mut grouper = Grouper::new(dims);
    let mut decoder = super::binary::Decoder::default();
    {
        let mut stream = tx.copy_out_raw(&sql).await?;
        while let Some(chunk) = stream.try_next().await? {
            decoder.feed(&chunk, |fields| grouper.row(fields))?;
        }
    }
    decoder.finish()?;
    tx.commit().await?;
    Ok(grouper.into_groups())
}

/// One partition's groups, keyed by small integers while rows stream in.
struct Grouper {
    /// The requested dimensions, in order.
    dims: Vec<Dimension>,
    /// Per dimension position: text value → code (office, category).
    codes: Vec<HashMap<Vec<u8>, i64>>,
    /// Groups by their coded key.
    groups: HashMap<[i64; 5], Collected>,
}

impl Grouper {
    fn new(dims: Vec<Dimension>) -> Grouper {
        let codes = dims.iter().map(|_| HashMap::new()).collect();
        Grouper {
            dims,
            codes,
            groups: HashMap::new(),
        }
    }

    /// Adds one COPY row (see [`copy_sql`] for its fields).
    fn row(&mut self, fields: &[Option<&[u8]>]) -> Result<(), Error> {
        let n = self.dims.len();
        if fields.len() != n + TIMES.len() {
            return Err(corrupt("field count"));
        }
        let mut key = [0_i64; 5];
        for (i, dim) in self.dims.iter().enumerate() {
            let raw = fields[i].ok_or_else(|| corrupt("NULL group value"))?;
            key[i] = match dim {
                Dimension::Office | Dimension::Category => {
                    let codes = &mut self.codes[i];
                    match codes.get(raw) {
                        Some(code) => *code,
                        None => {
                            let code = codes.len() as i64;
                            codes.insert(raw.to_vec(), code);
                            code
                        }
                    }
                }
                Dimension::Urgent => i64::from(int(fields[i])? != Some(0)),
                Dimension::Week => (need(int(fields[i])?)? - FIRST_MONDAY_MS).div_euclid(WEEK_MS),
                Dimension::Month => month_key(need(int(fields[i])?)?),
            };
        }
        let time = |k: usize| int(fields[n + k]);
        let sample = Sample {
            reopens: need(time(0)?)?,
            received_ms: need(time(1)?)?,
            acknowledged_ms: time(2)?,
            made_safe_ms: time(3)?,
            resolved_ms: time(4)?,
            closed_ms: time(5)?,
            due_ms: [need(time(6)?)?, need(time(7)?)?, need(time(8)?)?],
            // The group is keyed above; `add` reads only the times.
            ..Sample::default()
        };
        self.groups.entry(key).or_default().add(&sample);
        Ok(())
    }

    /// The groups keyed by their values, as the Rust path keys them.
    fn into_groups(self) -> BTreeMap<Vec<String>, Collected> {
        let names: Vec<HashMap<i64, String>> = self
            .codes
            .into_iter()
            .map(|codes| {
                codes
                    .into_iter()
                    .map(|(text, code)| (code, String::from_utf8_lossy(&text).into_owned()))
                    .collect()
            })
            .collect();
        let label = |i: usize, dim: Dimension, code: i64| match dim {
            Dimension::Office | Dimension::Category => {
                names[i].get(&code).cloned().unwrap_or_default()
            }
            Dimension::Urgent => urgency(code != 0).to_owned(),
            Dimension::Week => {
                iso_week(FIRST_MONDAY_MS.saturating_add(code.saturating_mul(WEEK_MS)))
            }
            Dimension::Month => month_label(code),
        };
        self.groups
            .into_iter()
            .map(|(key, c)| {
                let values = self
                    .dims
                    .iter()
                    .enumerate()
                    .map(|(i, d)| label(i, *d, key[i]));
                (values.collect(), c)
            })
            .collect()
    }
}

/// A binary `bigint` field, or NULL.
fn int(field: Option<&[u8]>) -> Result<Option<i64>, Error> {
    field
        .map(|raw| {
            <[u8; 8]>::try_from(raw)
                .map(i64::from_be_bytes)
                .map_err(|_| corrupt("bigint of the wrong size"))
        })
        .transpose()
}

fn need(value: Option<i64>) -> Result<i64, Error> {
    value.ok_or_else(|| corrupt("NULL in a NOT NULL column"))
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("audit COPY stream: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_the_table_once() {
        let all = [Dimension::Office, Dimension::Week];
        let sql = copy_sql(&all, block_range(100, 0));
        assert!(sql.starts_with("COPY (SELECT office_id, received_at, reopen_count, received_at, "));
        assert!(sql.contains("WHERE ctid < '(50,0)'::tid)"));
        assert_eq!(block_range(100, 1), "ctid >= '(50,0)'::tid");
        assert_eq!(iso_week(FIRST_MONDAY_MS), "1970-W02");
        let epoch_week = (0 - FIRST_MONDAY_MS).div_euclid(WEEK_MS);
        assert_eq!(epoch_week, -1);
        assert_eq!(
            iso_week(FIRST_MONDAY_MS + epoch_week * WEEK_MS),
            iso_week(0)
        );
    }
}
