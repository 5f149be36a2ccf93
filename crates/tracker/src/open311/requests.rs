//! What Open311 needs of the store beyond tickets (issue 16): a
//! resident's update posted through `servicerequestupdates` (FixMyStreet's
//! extension), recorded once per client `update_id` as a `resident_note`
//! event; reports in no office's area, read by their own id and closed by
//! a supervisor as not the district's responsibility; and the reports of
//! a ticket, so a merged duplicate is read under its own id.

use crate::store::Store;
use crate::tickets::rows::{ticket_columns, Ticket};
use crate::tickets::step_record;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    CourierId, EventId, Open311Details, ReportId, ReportUnrouted, TicketChanged, TicketId,
};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

/// What a resident said of the fix, as the office reads it (the
/// `reason` of the `resident_note` event). A resident never changes a
/// ticket's state: the office, or the reporter's check, does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResidentClaim {
    /// A comment only.
    Comment,
    /// The resident says it is fixed (FixMyStreet's `FIXED`, `CLOSED`).
    ReportedFixed,
    /// The resident says it is not fixed or still there (`OPEN` on a
    /// resolved or closed ticket).
    ReportedNotFixed,
}

impl ResidentClaim {
    /// The event's `reason`; `None` for a comment.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            ResidentClaim::Comment => None,
            ResidentClaim::ReportedFixed => Some("resident_reported_fixed"),
            ResidentClaim::ReportedNotFixed => Some("resident_reported_not_fixed"),
        }
    }
}

/// One resident update to record.
#[derive(Clone, Debug)]
pub struct ResidentUpdate {
    /// The api_key holder who posted it (the client's courier token).
    pub courier_id: CourierId,
    /// The client's id for the update: a retry carries the same one.
    pub update_id: String,
    /// The request (report) it is about.
    pub report_id: ReportId,
    /// The resident's words (kept on the ticket, never published).
    pub note: String,
    /// What the resident said of the fix.
    pub claim: ResidentClaim,
    /// sha256 over what was posted: the same `update_id` with another
    /// body is refused.
    pub request_sha256: civicprobe_model::Sha256,
}

/// What recording a resident update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentRecorded {
    /// The `resident_note` event (the first time, or the earlier one).
    pub event_id: EventId,
    /// The ticket it is on.
    pub ticket_id: TicketId,
    /// `true` when this `update_id` was recorded before (nothing new).
    pub repeated: bool,
}

/// A report in no office's area, as Open311 answers it.
#[derive(Clone, Debug)]
pub struct OutsideRequest {
    /// The report as the router published it.
    pub unrouted: ReportUnrouted,
    /// Set once a supervisor closed it as not the district's.
    pub closed: Option<OutsideClosure>,
}

/// A supervisor's closing of a report outside every area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideClosure {
    /// The closure's id (its Open311 `update_id`).
    pub event_id: EventId,
    /// When.
    pub at: OffsetDateTime,
    /// The supervisor's note, if any.
    pub note: Option<String>,
}

/// The event id of closing the unrouted `report`.
fn closure_id(report: ReportId) -> EventId {
    EventId::derived(report.0, "closed_outside")
}

impl Store {
    /// Records `update` on its request's ticket as a `resident_note`
    /// event (hash-chained, published through the outbox, so the office
    /// sees it and an urgent ticket's office is alerted), once per
    /// `update_id` and courier. Errors: [`Error::ReportNotFound`] for a
    /// request on no ticket, [`Error::IdempotencyKeyReused`] for an
    /// `update_id` recorded with another body.
    pub async fn record_resident_update(
        &self,
        update: &ResidentUpdate,
    ) -> Result<ResidentRecorded, Error> {
        let (ticket_id, _) = self
            .report_ticket(update.report_id)
            .await?
            .ok_or(Error::ReportNotFound(update.report_id))?;
        let mut tx = self.pool.begin().await?;
        // The ticket row first (SQLite's write lock before any read).
        let Some(ticket) = crate::disputes::settle::bump_version(&mut tx, ticket_id).await? else {
            tx.rollback().await?;
            return Err(Error::ReportNotFound(update.report_id));
        };
        if let Some(earlier) = earlier_update(&mut tx, update).await? {
            tx.rollback().await?;
            return earlier.map(|event_id| ResidentRecorded {
                event_id,
                ticket_id,
                repeated: true,
            });
        }
        let at = self.now();
        let changed = resident_note(&ticket, update, at);
        step_record::record_changed(&mut tx, &changed, "courier", None).await?;
        sqlx::query(
            "INSERT INTO open311_updates \
             (courier_id, update_id, ticket_id, event_id, request_sha256, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(update.courier_id.to_string())
        .bind(&update.update_id)
        .bind(ticket_id.to_string())
        .bind(changed.event_id.to_string())
        .bind(update.request_sha256.to_string())
        .bind(to_ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        Ok(ResidentRecorded {
            event_id: changed.event_id,
            ticket_id,
            repeated: false,
        })
    }

    /// The report in no office's area with this id, while no supervisor
    /// routed it into a ticket; `None` otherwise.
    pub async fn outside_request(&self, report: ReportId) -> Result<Option<OutsideRequest>, Error> {
        let row = sqlx::query(
            "SELECT payload_json, closed_at, closed_note, close_event_id FROM unrouted \
             WHERE report_id = $1 AND routed_ticket_id IS NULL",
        )
        .bind(report.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| outside_from_row(&row)).transpose()
    }

    /// Closes the unrouted `report` as not the district's responsibility
    /// (a supervisor's act): it leaves `GET /v1/unrouted` and Open311
    /// answers it closed, `NOT_COUNCILS_RESPONSIBILITY`. Errors:
    /// [`Error::UnroutedNotFound`]; [`Error::AlreadyRouted`] once routed
    /// or closed.
    pub async fn close_outside(
        &self,
        report: ReportId,
        actor: &str,
        note: Option<&str>,
    ) -> Result<OutsideClosure, Error> {
        let at = self.now();
        let event_id = closure_id(report);
        let closed = sqlx::query(
            "UPDATE unrouted SET closed_at = $1, closed_by = $2, closed_note = $3, \
             close_event_id = $4 \
             WHERE report_id = $5 AND routed_ticket_id IS NULL AND closed_at IS NULL",
        )
        .bind(to_ms(at))
        .bind(actor)
        .bind(note)
        .bind(event_id.to_string())
        .bind(report.to_string())
        .execute(&self.pool)
        .await?;
        if closed.rows_affected() == 0 {
            return Err(match self.unrouted_courier(report).await? {
                Some(_) => Error::AlreadyRouted(report),
                None => Error::UnroutedNotFound(report),
            });
        }
        tracing::info!(report_id = %report, actor, "report outside every area closed");
        Ok(OutsideClosure {
            event_id,
            at,
            note: note.map(str::to_owned),
        })
    }

    /// Reports outside every area closed in `[from, to]`, oldest first.
    pub async fn outside_closed_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<OutsideRequest>, Error> {
        let rows = sqlx::query(
            "SELECT payload_json, closed_at, closed_note, close_event_id FROM unrouted \
             WHERE closed_at >= $1 AND closed_at <= $2 AND routed_ticket_id IS NULL \
             ORDER BY closed_at, report_id LIMIT $3",
        )
        .bind(to_ms(from))
        .bind(to_ms(to))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outside_from_row).collect()
    }

    /// What an Open311 client sent beside the request `report`
    /// (`attribute[…]`, its `media_url`), whether it is on a ticket or
    /// outside every area; `None` for none (or a courier app's report).
    pub async fn request_details(&self, report: ReportId) -> Result<Option<Open311Details>, Error> {
        let row = sqlx::query("SELECT open311_json FROM ticket_reporters WHERE report_id = $1")
            .bind(report.to_string())
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = row {
            let json: Option<String> = row.try_get(0)?;
            return Ok(json.map(|j| serde_json::from_str(&j)).transpose()?);
        }
        Ok(self
            .outside_request(report)
            .await?
            .and_then(|o| o.unrouted.report.open311))
    }

    /// [`Store::request_details`] of the ticketed `reports` at once (a
    /// listing's `media_url`): those an Open311 client sent, by report.
    pub async fn ticketed_request_details(
        &self,
        reports: &[ReportId],
    ) -> Result<std::collections::HashMap<ReportId, Open311Details>, Error> {
        let ids: Vec<String> = reports.iter().map(ToString::to_string).collect();
        let rows = self
            .by_ids(
                "SELECT report_id, open311_json FROM ticket_reporters \
                 WHERE open311_json IS NOT NULL AND report_id IN",
                "",
                &ids,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let json: String = row.try_get("open311_json")?;
                Ok((
                    crate::tickets::rows::parsed(row, "report_id")?,
                    serde_json::from_str(&json)?,
                ))
            })
            .collect()
    }

    /// Every report on the tickets `tickets` (openers and merged
    /// duplicates): `(report, ticket, joined_at)`, oldest first.
    pub async fn reports_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<Vec<(ReportId, TicketId, OffsetDateTime)>, Error> {
        let ids: Vec<String> = tickets.iter().map(ToString::to_string).collect();
        let rows = self
            .by_ids(
                "SELECT report_id, ticket_id, joined_at FROM ticket_reporters WHERE ticket_id IN",
                " ORDER BY joined_at, report_id",
                &ids,
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    crate::tickets::rows::parsed(row, "report_id")?,
                    crate::tickets::rows::parsed(row, "ticket_id")?,
                    from_ms(row.try_get("joined_at")?)?,
                ))
            })
            .collect()
    }

    /// The tickets of `reports`, each under the report asked for (one that
    /// opened it or was merged into it), in the order of `reports`.
    pub async fn tickets_of_requests(
        &self,
        reports: &[ReportId],
    ) -> Result<Vec<(ReportId, Ticket)>, Error> {
        let ids: Vec<String> = reports.iter().take(1000).map(ToString::to_string).collect();
        let rows = self
            .by_ids(
                "SELECT report_id, ticket_id FROM ticket_reporters WHERE report_id IN",
                "",
                &ids,
            )
            .await?;
        let mut pairs: Vec<(ReportId, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            pairs.push((
                crate::tickets::rows::parsed(row, "report_id")?,
                row.try_get("ticket_id")?,
            ));
        }
        let ticket_ids: Vec<String> = pairs.iter().map(|(_, t)| t.clone()).collect();
        let sql = format!(
            "SELECT {} FROM tickets WHERE ticket_id IN",
            ticket_columns!()
        );
        let tickets = self.by_ids(&sql, "", &ticket_ids).await?;
        let tickets = tickets
            .iter()
            .map(Ticket::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<(ReportId, Ticket)> = pairs
            .iter()
            .filter_map(|(r, t)| {
                let ticket = tickets.iter().find(|x| x.ticket_id.to_string() == *t)?;
                Some((*r, ticket.clone()))
            })
            .collect();
        out.sort_by_key(|(r, _)| reports.iter().position(|x| x == r));
        Ok(out)
    }

    /// `{head} ($1, …){tail}` over `ids` (none: no rows).
    async fn by_ids(
        &self,
        head: &str,
        tail: &str,
        ids: &[String],
    ) -> Result<Vec<sqlx::any::AnyRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{head} ({}){tail}", marks.join(", "));
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.as_str());
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}

fn outside_from_row(row: &sqlx::any::AnyRow) -> Result<OutsideRequest, Error> {
    let payload: String = row.try_get("payload_json")?;
    let unrouted: ReportUnrouted = serde_json::from_str(&payload)?;
    let closed_at: Option<i64> = row.try_get("closed_at")?;
    let closed = match closed_at {
        Some(ms) => Some(OutsideClosure {
            event_id: crate::tickets::rows::parsed(row, "close_event_id")?,
            at: from_ms(ms)?,
            note: row.try_get("closed_note")?,
        }),
        None => None,
    };
    Ok(OutsideRequest { unrouted, closed })
}

/// `Some(Ok(event id))` for the same update posted before, `Some(Err)`
/// for another body under its `update_id`, `None` for a new one.
async fn earlier_update(
    tx: &mut Transaction<'static, Any>,
    update: &ResidentUpdate,
) -> Result<Option<Result<EventId, Error>>, Error> {
    let row = sqlx::query(
        "SELECT event_id, request_sha256 FROM open311_updates \
         WHERE courier_id = $1 AND update_id = $2",
    )
    .bind(update.courier_id.to_string())
    .bind(&update.update_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let digest: civicprobe_model::Sha256 = crate::tickets::rows::parsed(&row, "request_sha256")?;
    Ok(Some(if digest == update.request_sha256 {
        Ok(crate::tickets::rows::parsed(&row, "event_id")?)
    } else {
        Err(Error::IdempotencyKeyReused)
    }))
}

/// The `resident_note` step: the ticket's state is unchanged.
fn resident_note(t: &Ticket, u: &ResidentUpdate, at: OffsetDateTime) -> TicketChanged {
    TicketChanged {
        event_id: EventId::new(),
        ticket_id: t.ticket_id,
        office_id: t.office_id.clone(),
        category: t.category,
        urgent: t.urgent,
        kind: EventKind::ResidentNote,
        state: t.state,
        actor: format!("courier:{}", u.courier_id),
        at,
        reason: u.claim.reason().map(str::to_owned),
        note: Some(u.note.clone()),
        from_office: None,
        from_category: None,
        deadlines: None,
    }
}
