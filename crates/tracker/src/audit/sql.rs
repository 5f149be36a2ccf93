//! Reading the audit from the store: PostgreSQL streams what each ticket
//! contributes through COPY ([`super::copy`]); SQLite reads one
//! [`Sample`] per ticket. Both group and rank in Rust.

use super::kpi::Scope;
use super::{response_times, ResponseTimes, Sample};
use crate::{Dimension, Error, Store};
use sqlx::any::AnyRow;
use sqlx::Row;

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
        reopens: row.try_get("reopen_count")?,
        closed_ms: row.try_get("closed_at")?,
    })
}

impl Store {
    /// The response-time audit grouped by `dims` (through COPY on
    /// PostgreSQL).
    pub async fn response_times(&self, dims: &[Dimension]) -> Result<ResponseTimes, Error> {
        match self.copy_pool() {
            Some(copy) => copy.response_times(dims).await,
            None => self.response_times_in_rust(dims).await,
        }
    }

    /// The same audit from every ticket's full row through the `Any` pool
    /// (the SQLite path; on PostgreSQL a cross-check of the COPY path).
    pub async fn response_times_in_rust(&self, dims: &[Dimension]) -> Result<ResponseTimes, Error> {
        self.response_times_in(dims, None).await
    }

    /// The audit of the tickets in `scope` only (all without one), read
    /// row by row: for one office's month, a few thousand rows.
    pub async fn response_times_in(
        &self,
        dims: &[Dimension],
        scope: Option<&Scope>,
    ) -> Result<ResponseTimes, Error> {
        let mut sql =
            "SELECT office_id, category, urgent, received_at, acknowledged_at, made_safe_at, \
             resolved_at, acknowledge_by, make_safe_by, resolve_by, reopen_count, closed_at \
             FROM tickets"
                .to_owned();
        if scope.is_some() {
            sql.push_str(&format!(" WHERE {}", Scope::condition(1)));
        }
        let mut query = sqlx::query(&sql);
        if let Some(scope) = scope {
            query = query
                .bind(scope.office.clone())
                .bind(scope.from_ms)
                .bind(scope.to_ms);
        }
        let samples = query
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
