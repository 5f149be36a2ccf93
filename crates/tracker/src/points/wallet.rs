//! A courier's wallet: the row that serializes every change taking points
//! away (a redemption, a fraud reversal), so that the balance read after
//! it is still the balance when the change commits.
//!
//! Why this holds on both databases: the wallet upsert is the first
//! statement of the transaction. In PostgreSQL it takes the row lock (a
//! second transaction for the same courier waits until the first commits,
//! and under READ COMMITTED its next statement then sees the first's
//! ledger entries). In SQLite it takes the database's write lock before
//! anything is read, so the transaction never has to upgrade a read
//! snapshot (which would fail with `SQLITE_BUSY` instead of waiting).
//! Awards only add points, so they need not take the lock.

use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{CourierId, EventId};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

/// Takes `courier_id`'s wallet lock for the rest of the transaction.
pub(crate) async fn lock(
    tx: &mut Transaction<'static, Any>,
    courier_id: CourierId,
    at: OffsetDateTime,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO courier_wallets (courier_id, changes, updated_at) VALUES ($1, 1, $2) \
         ON CONFLICT (courier_id) DO UPDATE SET changes = courier_wallets.changes + 1, \
         updated_at = $2",
    )
    .bind(courier_id.to_string())
    .bind(to_ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The courier's net points, read inside the transaction.
pub(crate) async fn balance(
    tx: &mut Transaction<'static, Any>,
    courier_id: CourierId,
) -> Result<i64, Error> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM points_ledger WHERE courier_id = $1",
    )
    .bind(courier_id.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?)
}

/// One ledger entry that takes points away.
pub(crate) struct Debit<'a> {
    /// The entry's id (derived from its cause, so a retry cannot book twice).
    pub entry_id: EventId,
    /// Whose points.
    pub courier_id: CourierId,
    /// The ticket and report it concerns (none for a redemption).
    pub ticket_report: Option<(&'a str, &'a str)>,
    /// Points taken away (positive; booked negative).
    pub points: i64,
    /// `redemption` or `fraud_reversal`.
    pub kind: &'static str,
    /// What caused it: the redemption id, the reversal's event id.
    pub event_id: EventId,
    /// When.
    pub at: OffsetDateTime,
}

/// Books `debit` in the ledger.
pub(crate) async fn book(
    tx: &mut Transaction<'static, Any>,
    debit: Debit<'_>,
) -> Result<(), Error> {
    let (ticket_id, report_id) = debit.ticket_report.unzip();
    sqlx::query(
        "INSERT INTO points_ledger (entry_id, courier_id, ticket_id, report_id, points, kind, \
         event_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(debit.entry_id.to_string())
    .bind(debit.courier_id.to_string())
    .bind(ticket_id)
    .bind(report_id)
    .bind(-debit.points)
    .bind(debit.kind)
    .bind(debit.event_id.to_string())
    .bind(to_ms(debit.at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
