//! The hash chain over `ticket_events`: tamper evidence.
//!
//! Every event row gets a place in one chain across the whole table
//! (`chain_seq` 1, 2, 3 …) and `hash = sha256(previous hash || canonical
//! content)`, the canonical content being the row's columns as a JSON array
//! in a fixed order. Appends are serialized by updating the single
//! `event_chain` head row first (a row lock on PostgreSQL; SQLite has one
//! writer anyway). [`Store::verify_chain`] recomputes the chain and names
//! the first row that does not fit: edited, inserted out of band, or
//! following a removed row; a removed tail shows as a head mismatch.
//!
//! The chain proves that rows were not edited *unless the head was rewritten
//! too*: [`crate::anchor`] closes that gap with the head signed by the
//! district's key and published on `ANCHORS`, which `audit verify` checks.

use crate::store::Store;
use crate::tickets::rows::{parsed, parsed_opt};
use crate::Error;
use civicprobe_model::Sha256;
use civicprobe_model::{EventId, EventKind, OfficeId, TicketId};
use serde::Serialize;
use sha2::Digest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// The hash before the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Rows verified per page.
const PAGE: i64 = 5000;

/// An event row as the chain sees it (every hashed column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChainRow {
    /// Place in the table-wide chain; set by [`append`].
    pub chain_seq: i64,
    /// The event's id.
    pub event_id: EventId,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Place in the ticket's history; set by [`append`].
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// Who: `office:wenquan`, `system:sla`, …
    pub actor: String,
    /// Their role (`office`, `supervisor`, `courier`, `system`).
    pub role: String,
    /// When, unix ms.
    pub at: i64,
    /// A reject reason, escalated step, …
    pub reason: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// The office responsible after the event.
    pub office_id: Option<OfficeId>,
    /// For `rerouted`: the office before.
    pub from_office: Option<OfficeId>,
    /// For `resolved`: the proof photo's sha256.
    pub proof_photo_sha256: Option<Sha256>,
    /// For the events that set them (`opened`, `triaged`, a report routed
    /// from unrouted): the ticket's category, urgency and deadlines
    /// ([`terms`]), so that the chain covers them too.
    pub terms: Option<String>,
    /// The stored hash (verification only).
    pub hash: Option<Sha256>,
}

impl ChainRow {
    /// The row of event `event_id` (`kind`, of `ticket_id`, at unix ms
    /// `at`) by `actor` in `role`, before [`append`] numbers it; the other
    /// columns empty.
    pub(crate) fn event(
        (event_id, ticket_id, kind): (EventId, TicketId, EventKind),
        actor: &str,
        role: &str,
        at: i64,
    ) -> ChainRow {
        ChainRow {
            chain_seq: 0,
            event_id,
            ticket_id,
            seq: 0,
            kind,
            actor: actor.to_owned(),
            role: role.to_owned(),
            at,
            reason: None,
            note: None,
            office_id: None,
            from_office: None,
            proof_photo_sha256: None,
            terms: None,
            hash: None,
        }
    }
}

/// sha256(prev_hash || canonical content), lower-case hex. Hashing a few
/// hundred bytes takes about a microsecond, so appends do it inline;
/// verification batches pages into `spawn_blocking`.
pub(crate) fn event_hash(prev_hash: &str, row: &ChainRow) -> Sha256 {
    let mut content = serde_json::json!([
        row.chain_seq,
        row.event_id,
        row.ticket_id,
        row.seq,
        row.kind,
        row.actor,
        row.role,
        row.at,
        row.reason,
        row.note,
        row.office_id,
        row.from_office,
        row.proof_photo_sha256,
    ]);
    // Appended only when present: rows from before terms existed keep
    // their hashes.
    if let (Some(terms), Some(array)) = (&row.terms, content.as_array_mut()) {
        array.push(terms.as_str().into());
    }
    let content = content.to_string();
    let mut hasher = sha2::Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(content.as_bytes());
    Sha256::from_hasher(hasher)
}

/// The terms a ticket's figures are judged by, as [`ChainRow::terms`]
/// holds them: `{"acknowledge_by", "category", "make_safe_by",
/// "resolve_by", "urgent"}`, deadlines in unix ms (keys sorted, so the
/// text is canonical).
pub(crate) fn terms(
    category: civicprobe_model::Category,
    urgent: bool,
    deadlines: &civicprobe_model::Deadlines,
) -> String {
    use crate::time_ms::to_ms;
    serde_json::json!({
        "acknowledge_by": to_ms(deadlines.acknowledge_by),
        "category": category.as_str(),
        "make_safe_by": to_ms(deadlines.make_safe_by),
        "resolve_by": to_ms(deadlines.resolve_by),
        "urgent": urgent,
    })
    .to_string()
}

/// Appends `row` to the chain inside `tx`; returns its per-ticket `seq`.
/// Takes the chain head's lock first, so per-ticket `seq` is computed
/// under it and concurrent appends cannot collide.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    mut row: ChainRow,
) -> Result<i64, Error> {
    let head = sqlx::query(
        "UPDATE event_chain SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq, last_hash",
    )
    .fetch_one(&mut **tx)
    .await?;
    row.chain_seq = head.try_get("last_seq")?;
    let prev: String = head.try_get("last_hash")?;
    row.seq =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM ticket_events WHERE ticket_id = $1")
            .bind(row.ticket_id.to_string())
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    let hash = event_hash(&prev, &row);
    sqlx::query(
        "INSERT INTO ticket_events (event_id, ticket_id, seq, kind, actor, role, at, reason, note, \
         office_id, from_office, proof_photo_sha256, terms, chain_seq, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(row.event_id.to_string())
    .bind(row.ticket_id.to_string())
    .bind(row.seq)
    .bind(row.kind.as_str())
    .bind(&row.actor)
    .bind(&row.role)
    .bind(row.at)
    .bind(row.reason.clone())
    .bind(row.note.clone())
    .bind(row.office_id.as_ref().map(ToString::to_string))
    .bind(row.from_office.as_ref().map(ToString::to_string))
    .bind(row.proof_photo_sha256.map(|s| s.to_string()))
    .bind(row.terms.clone())
    .bind(row.chain_seq)
    .bind(hash.to_string())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE event_chain SET last_hash = $1 WHERE id = 1")
        .bind(hash.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(row.seq)
}

/// The first row that breaks the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// Its place in the chain (`None`: it has none).
    pub chain_seq: Option<i64>,
    /// The event's id.
    pub event_id: String,
    /// Its ticket.
    pub ticket_id: String,
    /// What is wrong.
    pub problem: String,
}

/// The outcome of [`Store::verify_chain`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u64,
    /// The head's hash as stored (record it elsewhere to anchor the chain).
    pub head_hash: String,
    /// The first problem, or `None` when the chain is intact.
    pub broken: Option<BrokenLink>,
}

impl ChainReport {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// A stored row as the chain sees it; `Err` when a column holds what no
/// event can (an id that is no uuid, a kind that is none): the row was
/// altered, and [`BrokenLink`] says so.
fn chain_row(row: &AnyRow) -> Result<Result<ChainRow, BrokenLink>, Error> {
    match typed_chain_row(row) {
        Ok(row) => Ok(Ok(row)),
        Err(Error::Corrupt(problem)) => Ok(Err(BrokenLink {
            chain_seq: row.try_get("chain_seq")?,
            event_id: row.try_get("event_id")?,
            ticket_id: row.try_get("ticket_id")?,
            problem: format!("it holds what no event can ({problem}): the row was altered"),
        })),
        Err(e) => Err(e),
    }
}

fn typed_chain_row(row: &AnyRow) -> Result<ChainRow, Error> {
    Ok(ChainRow {
        chain_seq: row.try_get("chain_seq")?,
        event_id: parsed(row, "event_id")?,
        ticket_id: parsed(row, "ticket_id")?,
        seq: row.try_get("seq")?,
        kind: parsed(row, "kind")?,
        actor: row.try_get("actor")?,
        role: row.try_get("role")?,
        at: row.try_get("at")?,
        reason: row.try_get("reason")?,
        note: row.try_get("note")?,
        office_id: parsed_opt(row, "office_id")?,
        from_office: parsed_opt(row, "from_office")?,
        proof_photo_sha256: parsed_opt(row, "proof_photo_sha256")?,
        terms: row.try_get("terms")?,
        hash: parsed_opt(row, "hash")?,
    })
}

/// Checks one page against the running `prev` hash and `next_seq`; on
/// success returns the new running values.
fn check_page(
    rows: &[ChainRow],
    mut prev: String,
    mut next_seq: i64,
) -> Result<(String, i64), BrokenLink> {
    for row in rows {
        let broken = |problem: &str| BrokenLink {
            chain_seq: Some(row.chain_seq),
            event_id: row.event_id.to_string(),
            ticket_id: row.ticket_id.to_string(),
            problem: problem.to_owned(),
        };
        if row.chain_seq != next_seq {
            return Err(broken("rows before it are missing from the chain"));
        }
        let want = event_hash(&prev, row);
        if row.hash != Some(want) {
            return Err(broken(
                "its content does not match its hash: the row was altered",
            ));
        }
        prev = want.to_string();
        next_seq += 1;
    }
    Ok((prev, next_seq))
}

/// The running state of a walk: the hash and place the next row must
/// continue from, rows checked, and the last row seen.
struct Walk {
    prev: String,
    next_seq: i64,
    checked: u64,
    last: Option<ChainRow>,
}

impl Store {
    /// Walks the whole event chain and names the first row that breaks it.
    pub async fn verify_chain(&self) -> Result<ChainReport, Error> {
        let head = sqlx::query("SELECT last_seq, last_hash FROM event_chain WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        let report = |rows: u64, broken| ChainReport {
            rows,
            head_hash: head_hash.clone(),
            broken,
        };
        if let Some(broken) = self.unchained_row().await? {
            return Ok(report(0, Some(broken)));
        }
        let mut walk = Walk {
            prev: GENESIS_HASH.to_owned(),
            next_seq: 1,
            checked: 0,
            last: None,
        };
        loop {
            let (rows, altered) = self.chain_page(walk.next_seq).await?;
            if rows.is_empty() && altered.is_none() {
                break;
            }
            let (prev, next_seq) = (walk.prev.clone(), walk.next_seq);
            let (rows, outcome) = tokio::task::spawn_blocking(move || {
                let outcome = check_page(&rows, prev, next_seq);
                (rows, outcome)
            })
            .await
            .map_err(|e| Error::Corrupt(format!("verifying a page: {e}")))?;
            match outcome {
                Ok((prev, next_seq)) => (walk.prev, walk.next_seq) = (prev, next_seq),
                Err(broken) => return Ok(report(walk.checked, Some(broken))),
            }
            walk.checked += rows.len() as u64;
            if let Some(altered) = altered {
                return Ok(report(walk.checked, Some(altered)));
            }
            walk.last = rows.into_iter().last();
        }
        if head_seq != walk.next_seq - 1 || head_hash != walk.prev {
            return Ok(report(walk.checked, Some(head_mismatch(head_seq, walk))));
        }
        Ok(report(walk.checked, None))
    }

    /// A row with no place in the chain (inserted around it), if any.
    async fn unchained_row(&self) -> Result<Option<BrokenLink>, Error> {
        let row = sqlx::query(
            "SELECT event_id, ticket_id FROM ticket_events \
             WHERE chain_seq IS NULL OR hash IS NULL LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(BrokenLink {
                chain_seq: None,
                event_id: row.try_get(0)?,
                ticket_id: row.try_get(1)?,
                problem: "the row is not in the chain".into(),
            })
        })
        .transpose()
    }

    /// Up to [`PAGE`] rows from `chain_seq` on, and the first of them
    /// that cannot be read as an event (the page ends before it).
    async fn chain_page(&self, from: i64) -> Result<(Vec<ChainRow>, Option<BrokenLink>), Error> {
        let stored = sqlx::query(
            "SELECT chain_seq, event_id, ticket_id, seq, kind, actor, role, at, reason, note, \
             office_id, from_office, proof_photo_sha256, terms, hash FROM ticket_events \
             WHERE chain_seq >= $1 ORDER BY chain_seq LIMIT $2",
        )
        .bind(from)
        .bind(PAGE)
        .fetch_all(&self.pool)
        .await?;
        let mut rows = Vec::with_capacity(stored.len());
        for row in &stored {
            match chain_row(row)? {
                Ok(row) => rows.push(row),
                Err(altered) => return Ok((rows, Some(altered))),
            }
        }
        Ok((rows, None))
    }
}

/// The head does not end where the rows do: a removed tail, rows added
/// past the head, or an edited head.
fn head_mismatch(head_seq: i64, walk: Walk) -> BrokenLink {
    let (event_id, ticket_id) = walk
        .last
        .map(|r| (r.event_id.to_string(), r.ticket_id.to_string()))
        .unwrap_or_default();
    BrokenLink {
        chain_seq: Some(walk.next_seq - 1),
        event_id,
        ticket_id,
        problem: format!(
            "the chain head (row {head_seq}) does not match the last row: rows after it \
             were removed or the head was edited"
        ),
    }
}
