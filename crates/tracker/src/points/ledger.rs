//! The points ledger: append-only (a trigger refuses UPDATE and DELETE).
//! A verified ticket (核查, [`crate::verification::verdicts`]) awards
//! [`POINTS_PER_FIX`] shared among its reporters (the opener and merged
//! duplicates), except reports flagged for photo reuse; a nearby courier
//! who checks a fix earns a `verification` entry; a reopen as not fixed
//! books a reversal of awards outstanding (paid on resolve before
//! verification existed). Rejected tickets are never verified, so they
//! earn nothing.

use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{CourierId, EventId, TicketId};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

/// Points for one fixed hazard, shared by its eligible reporters.
pub const POINTS_PER_FIX: i64 = 10;

/// `total` split into `n` shares; the remainder goes to the first ones.
pub fn shares(total: i64, n: usize) -> Vec<i64> {
    let Ok(count) = i64::try_from(n) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let (each, rest) = (total / count, total % count);
    (0..count).map(|i| each + i64::from(i < rest)).collect()
}

/// Inserts one ledger entry (its id derived from the event and report, so
/// a retried transaction cannot book it twice).
async fn insert_entry(
    tx: &mut Transaction<'static, Any>,
    entry: (&str, &str, i64, &str),
    ticket_id: TicketId,
    event_id: EventId,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let (report_id, courier_id, points, kind) = entry;
    let entry_id = EventId::derived(event_id.0, report_id);
    sqlx::query(
        "INSERT INTO points_ledger (entry_id, courier_id, ticket_id, report_id, points, kind, \
         event_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (entry_id) DO NOTHING",
    )
    .bind(entry_id.to_string())
    .bind(courier_id)
    .bind(ticket_id.to_string())
    .bind(report_id)
    .bind(points)
    .bind(kind)
    .bind(event_id.to_string())
    .bind(to_ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Books the award for verifying `ticket_id` (inside the verify's transaction).
pub(crate) async fn award(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    event_id: EventId,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let reporters: Vec<(String, String)> = sqlx::query(
        "SELECT report_id, courier_id FROM ticket_reporters \
         WHERE ticket_id = $1 AND photo_reuse = 0 \
         AND report_id NOT IN (SELECT f.report_id FROM fraud_reversals f) \
         ORDER BY joined_at, report_id",
    )
    .bind(ticket_id.to_string())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect::<Result<_, Error>>()?;
    for ((report, courier), points) in reporters
        .iter()
        .zip(shares(POINTS_PER_FIX, reporters.len()))
    {
        insert_entry(
            tx,
            (report, courier, points, "award"),
            ticket_id,
            event_id,
            at,
        )
        .await?;
    }
    Ok(())
}

/// Pays a nearby courier for checking `ticket_id`: one `verification`
/// entry whose id derives from the check's (`verification_id`), so a
/// retried check cannot pay twice.
pub(crate) async fn pay_verification(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    (courier, points): (CourierId, i64),
    (verification_id, event_id): (EventId, EventId),
    at: OffsetDateTime,
) -> Result<(), Error> {
    let entry_id = EventId::derived(verification_id.0, "verification");
    sqlx::query(
        "INSERT INTO points_ledger (entry_id, courier_id, ticket_id, report_id, points, kind, \
         event_id, at) VALUES ($1, $2, $3, $4, $5, 'verification', $6, $7) \
         ON CONFLICT (entry_id) DO NOTHING",
    )
    .bind(entry_id.to_string())
    .bind(courier.to_string())
    .bind(ticket_id.to_string())
    .bind(verification_id.to_string())
    .bind(points)
    .bind(event_id.to_string())
    .bind(to_ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Books reversals of every report's outstanding points on `ticket_id`
/// (a verifier's points are theirs to keep: only awards are reversed).
/// Like every debit it takes each courier's wallet lock (in courier order,
/// so two reversals cannot deadlock) and takes back at most the balance:
/// points already spent on a reward are not recovered, and no balance
/// goes below zero.
pub(crate) async fn reverse(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    event_id: EventId,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let outstanding: Vec<(String, String, i64)> = sqlx::query(
        "SELECT report_id, courier_id, CAST(SUM(points) AS BIGINT) AS net FROM points_ledger \
         WHERE ticket_id = $1 AND kind IN ('award', 'reversal', 'fraud_reversal') \
         GROUP BY report_id, courier_id HAVING SUM(points) > 0 ORDER BY courier_id, report_id",
    )
    .bind(ticket_id.to_string())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
    .collect::<Result<_, Error>>()?;
    for (report, courier, net) in &outstanding {
        let courier_id: CourierId = courier
            .parse()
            .map_err(|e| Error::Corrupt(format!("points_ledger.courier_id {courier}: {e}")))?;
        crate::points::wallet::lock(tx, courier_id, at).await?;
        let balance = crate::points::wallet::balance(tx, courier_id).await?;
        let taken = (*net).min(balance.max(0));
        if taken < *net {
            tracing::warn!(%ticket_id, report_id = %report, net, balance,
                "a reopen takes back only what is left: the rest was spent");
        }
        if taken > 0 {
            insert_entry(
                tx,
                (report, courier, -taken, "reversal"),
                ticket_id,
                event_id,
                at,
            )
            .await?;
        }
    }
    Ok(())
}

/// One courier on the supervisors' leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CourierStanding {
    /// The courier.
    pub courier_id: CourierId,
    /// Their registered name, if known here.
    pub name: Option<String>,
    /// Net points.
    pub points: i64,
    /// Reports attached to tickets (openers and duplicates).
    pub reports: i64,
    /// Of those, on tickets now resolved or closed.
    pub fixed: i64,
}

impl Store {
    /// A courier's net points.
    pub async fn courier_points(&self, courier_id: CourierId) -> Result<i64, Error> {
        Ok(sqlx::query(
            "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM points_ledger WHERE courier_id = $1",
        )
        .bind(courier_id.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    /// Couriers by net points, most first; at most `limit`.
    pub async fn leaderboard(&self, limit: i64) -> Result<Vec<CourierStanding>, Error> {
        let rows = sqlx::query(
            "SELECT r.courier_id AS courier_id, \
             (SELECT MIN(k.name) FROM tokens k WHERE k.role = 'courier' AND k.subject = r.courier_id) AS name, \
             CAST(COALESCE((SELECT SUM(p.points) FROM points_ledger p WHERE p.courier_id = r.courier_id), 0) AS BIGINT) AS points, \
             CAST(COUNT(*) AS BIGINT) AS reports, \
             CAST(SUM(CASE WHEN t.state IN ('resolved', 'closed') THEN 1 ELSE 0 END) AS BIGINT) AS fixed \
             FROM ticket_reporters r JOIN tickets t ON t.ticket_id = r.ticket_id \
             GROUP BY r.courier_id ORDER BY points DESC, courier_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CourierStanding {
                    courier_id: crate::tickets::rows::parsed(row, "courier_id")?,
                    name: row.try_get("name")?,
                    points: row.try_get("points")?,
                    reports: row.try_get("reports")?,
                    fixed: row.try_get("fixed")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_favour_the_first() {
        assert_eq!(shares(10, 1), vec![10]);
        assert_eq!(shares(10, 3), vec![4, 3, 3]);
        assert_eq!(shares(10, 4), vec![3, 3, 2, 2]);
        assert!(shares(10, 0).is_empty());
        for n in 1..20 {
            assert_eq!(shares(10, n).iter().sum::<i64>(), 10);
        }
    }
}
