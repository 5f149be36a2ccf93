//! `GET /v1/couriers/me`'s reports: each of a courier's reports with their
//! own text and photos, the office it went to, its deadlines, the office's
//! notes and proof photo, and its points. Two queries whatever the number
//! of reports: the reports, then the staff steps of their tickets.

use crate::store::Store;
use crate::tickets::rows::{parsed, parsed_opt, CourierReport};
use crate::time_ms::{from_ms, from_opt_ms};
use crate::verification::status::{open_dispute, VerificationStatus};
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{CourierId, Deadlines, PhotoRef, ReportUnrouted, TicketId, TicketState};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use time::OffsetDateTime;

/// An office's or supervisor's note on a ticket, as its reporters see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CourierNote {
    /// The step it came with (`acknowledged`, `resolved`, `rejected` …), so
    /// the page can say what the office did.
    pub kind: EventKind,
    /// `office` or `supervisor`: who wrote it, without naming the person.
    pub role: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The words.
    pub note: String,
}

/// The proof photo of a ticket's latest resolve; served by ingest at
/// `GET /v1/tickets/{id}/proof-photos/{sha256}` (`?size=thumbnail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProofPhotoRef {
    /// Its name in the photo store.
    pub sha256: civicprobe_model::Sha256,
    /// When the office resolved with it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What the staff steps of one ticket give its reporters.
#[derive(Default)]
struct StaffSteps {
    notes: Vec<CourierNote>,
    proof_photo: Option<ProofPhotoRef>,
}

impl Store {
    /// A courier's reports (openers, merged duplicates, unrouted), newest
    /// first, at most `limit`, each with its net points.
    pub async fn courier_reports(
        &self,
        courier_id: CourierId,
        limit: i64,
    ) -> Result<Vec<CourierReport>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT r.report_id AS report_id, t.ticket_id AS ticket_id, t.state AS state, \
             t.category AS category, t.urgent AS urgent, t.office_id AS office_id, \
             t.office_name AS office_name, r.text AS text, r.photos_json AS photos_json, \
             CAST(NULL AS TEXT) AS payload_json, r.received_at AS received_at, \
             t.acknowledge_by AS acknowledge_by, t.make_safe_by AS make_safe_by, \
             t.resolve_by AS resolve_by, \
             CAST(COALESCE((SELECT SUM(p.points) FROM points_ledger p \
               WHERE p.report_id = r.report_id), 0) AS BIGINT) AS points, \
             t.closed_at AS closed_at, t.verified_by AS verified_by, \
             CAST(CASE WHEN EXISTS (",
            open_dispute!("t"),
            ") THEN 1 ELSE 0 END AS BIGINT) AS verification_disputes, \
             CAST(CASE WHEN t.state = 'resolved' AND (t.report_id = r.report_id OR NOT EXISTS \
               (SELECT 1 FROM verifications v WHERE v.ticket_id = t.ticket_id \
               AND v.resolved_at = t.resolved_at AND v.courier_id = r.courier_id)) \
               THEN 1 ELSE 0 END AS BIGINT) AS can_verify \
             FROM ticket_reporters r JOIN tickets t ON t.ticket_id = r.ticket_id \
             WHERE r.courier_id = $1 \
             UNION ALL \
             SELECT report_id, NULL, 'unrouted', category, urgent, NULL, NULL, text, NULL, \
             payload_json, received_at, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), \
             CAST(NULL AS BIGINT), CAST(0 AS BIGINT), \
             CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
             FROM unrouted WHERE courier_id = $1 AND routed_ticket_id IS NULL \
             ORDER BY received_at DESC LIMIT $2"
        ))
        .bind(courier_id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let steps = self.staff_steps(courier_id).await?;
        rows.iter()
            .map(|row| {
                let mut report = courier_report(row)?;
                // A courier may have sent several reports of one ticket: each shows its steps.
                if let Some(s) = report.ticket_id.and_then(|t| steps.get(&t)) {
                    report.notes.clone_from(&s.notes);
                    report.proof_photo.clone_from(&s.proof_photo);
                }
                Ok(report)
            })
            .collect()
    }

    /// The office and supervisor steps with a note or a proof photo, of
    /// every ticket `courier_id` reported, by ticket. A courier's step is
    /// never read: its note may be another reporter's words.
    async fn staff_steps(
        &self,
        courier_id: CourierId,
    ) -> Result<HashMap<TicketId, StaffSteps>, Error> {
        let rows = sqlx::query(
            "SELECT ticket_id, kind, role, at, note, proof_photo_sha256 FROM ticket_events \
             WHERE ticket_id IN (SELECT ticket_id FROM ticket_reporters WHERE courier_id = $1) \
             AND role IN ('office', 'supervisor') \
             AND (note IS NOT NULL OR proof_photo_sha256 IS NOT NULL) \
             ORDER BY ticket_id, seq",
        )
        .bind(courier_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut by_ticket: HashMap<TicketId, StaffSteps> = HashMap::new();
        for row in &rows {
            let steps = by_ticket.entry(parsed(row, "ticket_id")?).or_default();
            let at = from_ms(row.try_get("at")?)?;
            let kind: EventKind = parsed(row, "kind")?;
            if let Some(sha256) = parsed_opt(row, "proof_photo_sha256")? {
                if kind == EventKind::Resolved {
                    steps.proof_photo = Some(ProofPhotoRef { sha256, at });
                }
            }
            if let Some(note) = row.try_get::<Option<String>, _>("note")? {
                let role = row.try_get("role")?;
                steps.notes.push(CourierNote {
                    kind,
                    role,
                    at,
                    note,
                });
            }
        }
        Ok(by_ticket)
    }
}

/// A row of [`Store::courier_reports`]'s query, without the staff steps.
fn courier_report(row: &AnyRow) -> Result<CourierReport, Error> {
    let ticket_id: Option<String> = row.try_get("ticket_id")?;
    let office_id: Option<String> = row.try_get("office_id")?;
    let corrupt = |e: &dyn std::fmt::Display| Error::Corrupt(e.to_string());
    Ok(CourierReport {
        report_id: parsed(row, "report_id")?,
        ticket_id: ticket_id
            .map(|t| t.parse().map_err(|e| corrupt(&e)))
            .transpose()?,
        state: row.try_get("state")?,
        category: parsed(row, "category")?,
        urgent: row.try_get::<i64, _>("urgent")? != 0,
        office_id: office_id
            .map(|o| o.parse().map_err(|e| corrupt(&e)))
            .transpose()?,
        office_name: row.try_get("office_name")?,
        text: row.try_get("text")?,
        photos: photos(row)?,
        received_at: from_ms(row.try_get("received_at")?)?,
        deadlines: deadlines(row)?,
        notes: Vec::new(),
        proof_photo: None,
        points: row.try_get("points")?,
        verification: report_verification(row)?,
    })
}

/// A report's [`VerificationStatus`]: none while unrouted.
fn report_verification(row: &AnyRow) -> Result<VerificationStatus, Error> {
    let state: String = row.try_get("state")?;
    let Ok(state) = state.parse::<TicketState>() else {
        return Ok(VerificationStatus::default());
    };
    let closed_at = from_opt_ms(row.try_get("closed_at")?)?;
    Ok(VerificationStatus {
        can_verify: row.try_get::<i64, _>("can_verify")? != 0,
        ..VerificationStatus::of_row(row, state, closed_at)?
    })
}

/// A routed report's own photos, or an unrouted one's from its event.
fn photos(row: &AnyRow) -> Result<Vec<PhotoRef>, Error> {
    if let Some(json) = row.try_get::<Option<String>, _>("photos_json")? {
        return Ok(serde_json::from_str(&json)?);
    }
    match row.try_get::<Option<String>, _>("payload_json")? {
        Some(json) => Ok(serde_json::from_str::<ReportUnrouted>(&json)?.report.photos),
        // A duplicate merged before the tracker kept reporters' photos.
        None => Ok(Vec::new()),
    }
}

/// The ticket's deadlines; `None` for an unrouted report.
fn deadlines(row: &AnyRow) -> Result<Option<Deadlines>, Error> {
    let (Some(acknowledge_by), Some(make_safe_by), Some(resolve_by)) = (
        from_opt_ms(row.try_get("acknowledge_by")?)?,
        from_opt_ms(row.try_get("make_safe_by")?)?,
        from_opt_ms(row.try_get("resolve_by")?)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(Deadlines {
        acknowledge_by,
        make_safe_by,
        resolve_by,
    }))
}
