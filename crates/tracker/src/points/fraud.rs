//! Taking back the points of a report found fraudulent. The reversal is a
//! ledger entry (`fraud_reversal`) and a `fraud_reversals` row saying who
//! did it and why; the ledger itself stays append-only.
//!
//! The balance never goes below zero: the reversal takes the courier's
//! wallet lock like a redemption (`crate::points::wallet`) and takes back at most
//! the balance; what was already spent is reported as `unrecovered`. A
//! report is reversed once: asking again books nothing more.

use crate::points::wallet::{self, Debit};
use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{CourierId, EventId, ReportId};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

/// What a fraud reversal did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FraudReversal {
    /// The report found fraudulent.
    pub report_id: ReportId,
    /// Its courier.
    pub courier_id: CourierId,
    /// Points this call took back (0 when the report was reversed before).
    pub reversed: i64,
    /// Of the report's net points, those already spent, which could not be
    /// taken back without a negative balance.
    pub unrecovered: i64,
    /// The courier's balance now.
    pub balance: i64,
    /// The report was reversed by an earlier call; this one did nothing.
    pub already_reversed: bool,
}

/// Who reverses, and why.
#[derive(Clone, Copy, Debug)]
pub struct FraudClaim<'a> {
    /// The report.
    pub report_id: ReportId,
    /// `Principal::actor()` of the supervisor.
    pub actor: &'a str,
    /// Why (1 to 500 characters, checked by the caller).
    pub reason: &'a str,
}

/// The report's net points for its courier, inside the transaction.
async fn report_net(
    tx: &mut Transaction<'static, Any>,
    report_id: ReportId,
    courier_id: CourierId,
) -> Result<i64, Error> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM points_ledger \
         WHERE report_id = $1 AND courier_id = $2",
    )
    .bind(report_id.to_string())
    .bind(courier_id.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?)
}

/// The earlier reversal's `unrecovered`, if the report was reversed.
async fn earlier(
    tx: &mut Transaction<'static, Any>,
    report_id: ReportId,
) -> Result<Option<i64>, Error> {
    let row = sqlx::query("SELECT unrecovered FROM fraud_reversals WHERE report_id = $1")
        .bind(report_id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Books what `done` reverses (a `fraud_reversal` entry, if anything) and
/// who reversed it and why.
async fn record(
    tx: &mut Transaction<'static, Any>,
    claim: FraudClaim<'_>,
    ticket_id: &str,
    done: &FraudReversal,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let report_id = done.report_id.to_string();
    if done.reversed > 0 {
        let event_id = EventId::derived(done.report_id.0, "fraud_reversal");
        let debit = Debit {
            entry_id: EventId::derived(event_id.0, "ledger"),
            courier_id: done.courier_id,
            ticket_report: Some((ticket_id, &report_id)),
            points: done.reversed,
            kind: "fraud_reversal",
            event_id,
            at,
        };
        wallet::book(tx, debit).await?;
    }
    sqlx::query(
        "INSERT INTO fraud_reversals (report_id, courier_id, ticket_id, reversed, unrecovered, \
         actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&report_id)
    .bind(done.courier_id.to_string())
    .bind(ticket_id)
    .bind(done.reversed)
    .bind(done.unrecovered)
    .bind(claim.actor)
    .bind(claim.reason)
    .bind(to_ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Reverses the report's net positive points (see the module doc).
    ///
    /// Errors: [`Error::ReportNotFound`] for a report on no ticket.
    pub async fn reverse_fraud(&self, claim: FraudClaim<'_>) -> Result<FraudReversal, Error> {
        let report_id = claim.report_id;
        // Who reported it never changes, so it is read before the lock.
        let (courier_id, ticket_id) = self.report_owner(report_id).await?;
        let at = self.now();
        let mut tx = self.pool.begin().await?;
        wallet::lock(&mut tx, courier_id, at).await?;
        let before = earlier(&mut tx, report_id).await?;
        let balance = wallet::balance(&mut tx, courier_id).await?;
        let mut done = FraudReversal {
            report_id,
            courier_id,
            reversed: 0,
            unrecovered: 0,
            balance,
            already_reversed: before.is_some(),
        };
        if let Some(unrecovered) = before {
            tx.rollback().await?;
            return Ok(FraudReversal {
                unrecovered,
                ..done
            });
        }
        let net = report_net(&mut tx, report_id, courier_id).await?.max(0);
        done.reversed = net.min(balance.max(0));
        done.unrecovered = net - done.reversed;
        done.balance = balance - done.reversed;
        record(&mut tx, claim, &ticket_id, &done, at).await?;
        tx.commit().await?;
        let (reversed, unrecovered) = (done.reversed, done.unrecovered);
        tracing::info!(report_id = %report_id, ticket_id, reversed, unrecovered, "points reversed as fraud");
        Ok(done)
    }

    /// The courier and ticket of a report.
    async fn report_owner(&self, report_id: ReportId) -> Result<(CourierId, String), Error> {
        let owner =
            sqlx::query("SELECT courier_id, ticket_id FROM ticket_reporters WHERE report_id = $1")
                .bind(report_id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(Error::ReportNotFound(report_id))?;
        Ok((
            crate::tickets::rows::parsed(&owner, "courier_id")?,
            owner.try_get("ticket_id")?,
        ))
    }
}
