//! What the store hands out, and how a database row becomes one.

use crate::time_ms::{from_ms, from_opt_ms};
use crate::verification::status::VerificationStatus;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    Category, CourierId, Deadlines, EventId, Location, OfficeId, PhotoRef, PositionAsSent,
    RejectReason, ReportId, Role, TicketAction, TicketId, TicketState,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;
use time::OffsetDateTime;

/// The columns [`Ticket::from_row`] reads, in a `SELECT`.
macro_rules! ticket_columns {
    () => {
        concat!(
            "ticket_id, report_id, office_id, office_name, category, urgent, state, courier_id, \
         lat, lon, accuracy_m, text, photos_json, reported_at, received_at, opened_at, \
         acknowledge_by, make_safe_by, resolve_by, acknowledged_at, made_safe_at, \
         resolved_at, closed_at, version, reopen_count, needs_triage, boundary, model_version, \
         sent_lat, sent_lon, sent_datum, (SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.ticket_id) \
         AS updated_at, \
         CAST(COALESCE((SELECT SUM(CASE x.step WHEN 'acknowledge' THEN 1 \
         WHEN 'make_safe' THEN 2 WHEN 'resolve' THEN 4 ELSE 0 END) \
         FROM escalations x WHERE x.ticket_id = tickets.ticket_id), 0) AS BIGINT) \
         AS escalated_mask, verified_by, CAST(CASE WHEN EXISTS (",
            crate::verification::status::open_dispute!("tickets"),
            ") THEN 1 ELSE 0 END AS BIGINT) AS verification_disputes"
        )
    };
}
pub(crate) use ticket_columns;

/// The columns [`TicketEvent::from_row`] reads, in a `SELECT`.
macro_rules! event_columns {
    () => {
        "event_id, seq, kind, actor, role, at, reason, note, office_id, from_office, \
         proof_photo_sha256, hash, \
         (SELECT p.name FROM persons p WHERE p.actor = ticket_events.actor) AS actor_name"
    };
}
pub(crate) use event_columns;

/// A ticket as an office sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ticket {
    /// Derived from the report id.
    pub ticket_id: TicketId,
    /// The report that opened it.
    pub report_id: ReportId,
    /// The office whose area holds the point.
    pub office_id: OfficeId,
    /// The office's display name.
    pub office_name: String,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// Where the ticket stands.
    pub state: TicketState,
    /// Who reported it.
    pub courier_id: CourierId,
    /// Where the hazard is, WGS-84.
    pub location: Location,
    /// The position as the courier sent it, when in GCJ-02 or BD-09.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_as_sent: Option<PositionAsSent>,
    /// The phone's stated accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The courier's text.
    pub text: Option<String>,
    /// The photos, by reference.
    pub photos: Vec<PhotoRef>,
    /// The device clock at submission.
    #[serde(with = "time::serde::rfc3339::option")]
    pub reported_at: Option<OffsetDateTime>,
    /// The ingest clock: the start of every SLA.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the router opened it.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// The SLA deadlines.
    pub deadlines: Deadlines,
    /// First acknowledgement.
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// First time made safe.
    #[serde(with = "time::serde::rfc3339::option")]
    pub made_safe_at: Option<OffsetDateTime>,
    /// Latest resolution.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// When it was closed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// When its latest step happened, whatever it was (a reroute, a
    /// reopen, a merged duplicate, an escalation…): its newest event.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Bumped by every change; the optimistic-concurrency check.
    pub version: i64,
    /// How often it was reopened as not fixed.
    pub reopen_count: i64,
    /// The router was not sure of the category (no confident text, no
    /// hint): a supervisor should look.
    pub needs_triage: bool,
    /// The point lay just outside every area; the office is the nearest.
    pub boundary: bool,
    /// The classifier model that decided category and urgency (`m-<hash>`);
    /// `null` for tickets from before issue 17 or opened by a person.
    pub model_version: Option<String>,
    /// Its latest `not_our_area` dispute, open or settled; filled in by
    /// [`crate::Store::ticket`], absent from listings. Boxed: most tickets
    /// have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispute: Option<Box<crate::disputes::settle::DisputeMark>>,
    /// The steps the SLA clock escalated (`acknowledge`, `make_safe`,
    /// `resolve`): each was late once, whether or not it is done now.
    pub escalated_steps: Vec<&'static str>,
    /// Where it stands in verification (核查); `can_verify` is the
    /// caller's, set by the view.
    pub verification: VerificationStatus,
}

/// The SLA steps, in order, as bits of the `escalated_mask` column.
const ESCALATION_STEPS: [&str; 3] = ["acknowledge", "make_safe", "resolve"];

/// One step of a ticket's life, as recorded (append-only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TicketEvent {
    /// Unique id of the step.
    pub event_id: EventId,
    /// 1 for `opened`, then one more per step.
    pub seq: i64,
    /// What happened: `opened`, `acknowledged`, `made_safe` …
    pub kind: EventKind,
    /// [`civicprobe_model::Principal::actor`] of who acted
    /// (`office:<office_id>/<person id>`, `supervisor:<person id>`,
    /// `courier:<id>`) or `router`, `system` …
    pub actor: String,
    /// The acting person's name, for office staff and supervisors (not part
    /// of the hash chain: looked up when read). Empty for an unnamed person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// `office`, `supervisor`, `courier` or `system`.
    pub role: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The reject reason, if any.
    pub reason: Option<String>,
    /// The actor's note, if any.
    pub note: Option<String>,
    /// The office responsible after this step.
    pub office_id: Option<OfficeId>,
    /// For `rerouted`: the office before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_office: Option<OfficeId>,
    /// For `resolved`: the proof photo (sha256 in the photo store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_photo_sha256: Option<civicprobe_model::Sha256>,
    /// sha256(previous row's hash ‖ this row's content): the audit chain.
    pub hash: Option<civicprobe_model::Sha256>,
}

/// A report the router could not place in any office's area.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnroutedReport {
    /// The report.
    pub report_id: ReportId,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// Where it is.
    pub location: Location,
    /// The courier's text.
    pub text: Option<String>,
    /// Who reported it.
    pub courier_id: CourierId,
    /// The ingest clock.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// One of a courier's reports, as the courier sees it: their own words and
/// photos, where it went and what the office did, never another
/// reporter's text, photos or id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CourierReport {
    /// The report.
    pub report_id: ReportId,
    /// The ticket it opened or joined; `None` while unrouted.
    pub ticket_id: Option<TicketId>,
    /// The ticket's state, or `unrouted`.
    pub state: String,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now: the page marks it and the deadlines are short.
    pub urgent: bool,
    /// The office handling it, if routed.
    pub office_id: Option<OfficeId>,
    /// That office's display name, so the page names a place rather than
    /// an id; `None` while unrouted.
    pub office_name: Option<String>,
    /// The courier's own text.
    pub text: Option<String>,
    /// The courier's own photos (with their thumbnails' sha256).
    pub photos: Vec<PhotoRef>,
    /// The ingest clock.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The ticket's SLA deadlines, so the page can say "respond by 12:30";
    /// `None` while unrouted.
    pub deadlines: Option<Deadlines>,
    /// Office and supervisor notes from the ticket's steps, oldest first
    /// (never a courier's words: that may be another reporter).
    pub notes: Vec<crate::couriers::reports::CourierNote>,
    /// The photo the office proved its latest resolve with, if any.
    pub proof_photo: Option<crate::couriers::reports::ProofPhotoRef>,
    /// Net points this report earned.
    pub points: i64,
    /// Where its ticket stands in verification, and whether this courier
    /// may verify it now.
    pub verification: VerificationStatus,
}

/// A change an actor makes to a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// What is done.
    pub action: TicketAction,
    /// `Principal::actor()` of who does it.
    pub actor: String,
    /// Their role.
    pub role: Role,
    /// When (the step's timestamp column takes it).
    pub at: OffsetDateTime,
    /// Required for `reject`.
    pub reason: Option<RejectReason>,
    /// Required for `resolve`, optional otherwise.
    pub note: Option<String>,
    /// For `resolve`: sha256 of a proof photo already in the photo store.
    pub proof_photo_sha256: Option<civicprobe_model::Sha256>,
}

/// Parses a stored text column with `FromStr`.
pub(crate) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    let raw: String = row.try_get(column)?;
    raw.parse()
        .map_err(|e| Error::Corrupt(format!("{column} {raw:?}: {e}")))
}

/// [`parsed`] for a column that may be NULL.
pub(crate) fn parsed_opt<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, Error>
where
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| {
        raw.parse()
            .map_err(|e| Error::Corrupt(format!("{column} {raw:?}: {e}")))
    })
    .transpose()
}

fn location(row: &AnyRow) -> Result<Location, Error> {
    Location::new(row.try_get("lat")?, row.try_get("lon")?)
        .map_err(|e| Error::Corrupt(e.to_string()))
}

/// The `sent_lat, sent_lon, sent_datum` columns: `None` when NULL.
pub(crate) fn position_as_sent(row: &AnyRow) -> Result<Option<PositionAsSent>, Error> {
    let datum: Option<String> = row.try_get("sent_datum")?;
    let Some(datum) = datum else {
        return Ok(None);
    };
    let corrupt = |what: &str| Error::Corrupt(format!("sent_{what} of a {datum} position"));
    Ok(Some(PositionAsSent {
        lat: row
            .try_get::<Option<f64>, _>("sent_lat")?
            .ok_or_else(|| corrupt("lat"))?,
        lon: row
            .try_get::<Option<f64>, _>("sent_lon")?
            .ok_or_else(|| corrupt("lon"))?,
        datum: datum.parse().map_err(|_| corrupt("datum"))?,
    }))
}

impl Ticket {
    /// Reads the [`ticket_columns!`] of a row.
    pub(crate) fn from_row(row: &AnyRow) -> Result<Ticket, Error> {
        let photos_json: String = row.try_get("photos_json")?;
        let opened_at = from_ms(row.try_get("opened_at")?)?;
        let state = parsed(row, "state")?;
        let closed_at = from_opt_ms(row.try_get("closed_at")?)?;
        Ok(Ticket {
            ticket_id: parsed(row, "ticket_id")?,
            report_id: parsed(row, "report_id")?,
            office_id: parsed(row, "office_id")?,
            office_name: row.try_get("office_name")?,
            category: parsed(row, "category")?,
            urgent: row.try_get::<i64, _>("urgent")? != 0,
            state,
            courier_id: parsed(row, "courier_id")?,
            location: location(row)?,
            position_as_sent: position_as_sent(row)?,
            accuracy_m: row.try_get("accuracy_m")?,
            text: row.try_get("text")?,
            photos: serde_json::from_str(&photos_json)?,
            reported_at: from_opt_ms(row.try_get("reported_at")?)?,
            received_at: from_ms(row.try_get("received_at")?)?,
            opened_at,
            deadlines: Deadlines {
                acknowledge_by: from_ms(row.try_get("acknowledge_by")?)?,
                make_safe_by: from_ms(row.try_get("make_safe_by")?)?,
                resolve_by: from_ms(row.try_get("resolve_by")?)?,
            },
            acknowledged_at: from_opt_ms(row.try_get("acknowledged_at")?)?,
            made_safe_at: from_opt_ms(row.try_get("made_safe_at")?)?,
            resolved_at: from_opt_ms(row.try_get("resolved_at")?)?,
            closed_at,
            updated_at: from_opt_ms(row.try_get("updated_at")?)?.unwrap_or(opened_at),
            version: row.try_get("version")?,
            reopen_count: row.try_get("reopen_count")?,
            needs_triage: row.try_get::<i64, _>("needs_triage")? != 0,
            boundary: row.try_get::<i64, _>("boundary")? != 0,
            model_version: row.try_get("model_version")?,
            dispute: None,
            escalated_steps: escalated_steps(row.try_get("escalated_mask")?),
            verification: VerificationStatus::of_row(row, state, closed_at)?,
        })
    }
}

/// The steps whose bits `mask` holds.
fn escalated_steps(mask: i64) -> Vec<&'static str> {
    (0..ESCALATION_STEPS.len())
        .filter(|bit| mask & (1 << bit) != 0)
        .map(|bit| ESCALATION_STEPS[bit])
        .collect()
}

impl TicketEvent {
    /// Reads [`event_columns!`].
    pub(crate) fn from_row(row: &AnyRow) -> Result<TicketEvent, Error> {
        Ok(TicketEvent {
            event_id: parsed(row, "event_id")?,
            seq: row.try_get("seq")?,
            kind: parsed(row, "kind")?,
            actor: row.try_get("actor")?,
            actor_name: row.try_get("actor_name")?,
            role: row.try_get("role")?,
            at: from_ms(row.try_get("at")?)?,
            reason: row.try_get("reason")?,
            note: row.try_get("note")?,
            office_id: parsed_opt(row, "office_id")?,
            from_office: parsed_opt(row, "from_office")?,
            proof_photo_sha256: parsed_opt(row, "proof_photo_sha256")?,
            hash: parsed_opt(row, "hash")?,
        })
    }
}

impl UnroutedReport {
    /// Reads `report_id, category, urgent, lat, lon, text, courier_id, received_at`.
    pub(crate) fn from_row(row: &AnyRow) -> Result<UnroutedReport, Error> {
        Ok(UnroutedReport {
            report_id: parsed(row, "report_id")?,
            category: parsed(row, "category")?,
            urgent: row.try_get::<i64, _>("urgent")? != 0,
            location: location(row)?,
            text: row.try_get("text")?,
            courier_id: parsed(row, "courier_id")?,
            received_at: from_ms(row.try_get("received_at")?)?,
        })
    }
}
