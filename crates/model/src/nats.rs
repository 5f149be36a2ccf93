//! Every NATS name civicprobe uses, and how streams and consumers are
//! configured. Nothing else spells a subject, stream or
//! consumer name.

use crate::{Category, OfficeId};

/// The stream of accepted reports.
pub const REPORTS_STREAM: &str = "REPORTS";
/// Subjects the `REPORTS` stream holds.
pub const REPORTS_SUBJECTS: &str = "civic.report.>";
/// Where ingest publishes a [`crate::ReportSubmitted`].
pub const REPORT_SUBMITTED: &str = "civic.report.submitted";

/// The stream of ticket events and unrouted reports.
pub const TICKETS_STREAM: &str = "TICKETS";
/// Ticket events: `civic.ticket.<office>.<category>.<event>`.
pub const TICKET_SUBJECTS: &str = "civic.ticket.>";
/// Unrouted reports: `civic.unrouted.<category>`.
pub const UNROUTED_SUBJECTS: &str = "civic.unrouted.>";

/// Every live credential's grant and every dead one's tombstone, written
/// by the tracker and followed by every ingest ([`crate::credential`]):
/// one subject per credential hash, the last message of each kept.
pub const TOKENS_STREAM: &str = "TOKENS";
/// Subjects the `TOKENS` stream holds: `civic.token.<hash>`.
pub const TOKEN_SUBJECTS: &str = "civic.token.>";

/// Proof and verification photos ingest stored, for the tracker to record
/// ([`crate::upload`]): `civic.upload.<kind>.<ticket>.<sha256>`.
pub const UPLOADS_STREAM: &str = "UPLOADS";
/// Subjects the `UPLOADS` stream holds.
pub const UPLOAD_SUBJECTS: &str = "civic.upload.>";
/// The `<kind>` of a proof photo's upload subject.
pub const PROOF_UPLOAD: &str = "proof";
/// The `<kind>` of a verification photo's upload subject.
pub const VERIFICATION_UPLOAD: &str = "verification";
/// The tracker's durable pull consumer on `UPLOADS`.
pub const UPLOADS_CONSUMER: &str = "tracker-uploads";

/// Where a split ingest asks, before it stores a proof or verification
/// photo, whether the uploader may ([`crate::upload::UploadScopeAsked`]):
/// a core NATS request (no stream holds it) that one tracker answers
/// ([`UPLOAD_SCOPE_QUEUE`]).
pub const UPLOAD_SCOPE_SUBJECT: &str = "civic.scope.upload";
/// The queue group the trackers answer [`UPLOAD_SCOPE_SUBJECT`] in.
pub const UPLOAD_SCOPE_QUEUE: &str = "tracker";

/// Where a split tracker asks the ingests for a report one of them
/// accepted and the router has not routed yet (Open311 answers it "being
/// routed" at once): a core NATS request, the report id as its payload;
/// the instance holding the report answers with it, the others stay
/// silent.
pub const REPORT_LOOKUP_SUBJECT: &str = "civic.lookup.report";

/// The JetStream object store bucket ingest keeps photos and thumbnails in
/// when several ingest instances share them (`--photo-store nats`).
pub const PHOTOS_BUCKET: &str = "PHOTOS";
/// The stream behind [`PHOTOS_BUCKET`] (JetStream names an object store's
/// stream `OBJ_<bucket>`): what `/readyz` looks for.
pub const PHOTOS_STREAM: &str = "OBJ_PHOTOS";

/// The routers' claims: of two routers opening a ticket for the same
/// office and category at once, only the first claim is stored
/// (`Nats-Expected-Last-Subject-Sequence`).
pub const CLAIMS_STREAM: &str = "ROUTER_CLAIMS";
/// Subjects the claims stream holds ([`claim_subject`]).
pub const CLAIM_SUBJECTS: &str = "civic.claim.>";

/// The router's durable pull consumer on `REPORTS`.
pub const ROUTER_CONSUMER: &str = "router";
/// The tracker's durable pull consumer on `TICKETS`.
pub const TRACKER_CONSUMER: &str = "tracker";
/// The tracker's durable pull consumer on `TICKETS` that decides which
/// alerts leave the building (webhooks of offices and supervisors).
pub const ALERTS_CONSUMER: &str = "alerts";

/// The header JetStream de-duplicates on.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// How long JetStream remembers a `Nats-Msg-Id` (seconds). Longer than the
/// server default of two minutes so that a courier's retry after a dropped
/// connection is still recognised.
pub const DUPLICATE_WINDOW_SECS: u64 = 24 * 60 * 60;

/// The stream of the tracker's signed chain heads ([`ANCHOR_SUBJECT`]):
/// the event chain's sequence and hash, signed with the district's
/// Ed25519 key, so that a rewrite of the whole chain inside the database
/// no longer matches what was published.
pub const ANCHORS_STREAM: &str = "ANCHORS";
/// Where each signed head is published; the stream keeps every one.
pub const ANCHOR_SUBJECT: &str = "civic.anchor.head";

/// The stream of messages a durable consumer gave up on.
pub const DEAD_LETTERS_STREAM: &str = "DEAD_LETTERS";
/// Subjects the `DEAD_LETTERS` stream holds: `civic.dead.<consumer>`.
pub const DEAD_LETTER_SUBJECTS: &str = "civic.dead.>";

/// Dead-letter headers: where the message was, why it was given up, how
/// often it was delivered. The payload is the original one, unchanged.
pub mod dead_letter_header {
    /// The stream the message came from.
    pub const STREAM: &str = "Civicprobe-Dead-Stream";
    /// Its subject there.
    pub const SUBJECT: &str = "Civicprobe-Dead-Subject";
    /// Its stream sequence there.
    pub const SEQUENCE: &str = "Civicprobe-Dead-Sequence";
    /// The durable consumer that gave up.
    pub const CONSUMER: &str = "Civicprobe-Dead-Consumer";
    /// The last error the consumer's handler reported.
    pub const ERROR: &str = "Civicprobe-Dead-Error";
    /// How many times JetStream had delivered it.
    pub const DELIVERIES: &str = "Civicprobe-Dead-Deliveries";
}

/// How long JetStream waits for an ack before it redelivers a message of
/// a durable consumer (seconds). Short, so that work held by a crashed
/// instance moves to another within a few seconds (it was 30 s, which
/// stalled a report for 30 s after a kill -9); work that takes longer
/// sends `AckKind::Progress` heartbeats every [`PROGRESS_EVERY_MS`], so it
/// is not redelivered while it is still going on.
pub const ACK_WAIT_SECS: u64 = 5;
/// How often a consumer tells JetStream a slow message is still being
/// worked on (milliseconds): a fifth of the ack wait, so that a late
/// heartbeat or two still arrives in time.
pub const PROGRESS_EVERY_MS: u64 = 1_000;

/// The default of `--max-deliveries`: how often a consumer's handler may
/// reject a message (a failure that belongs to the message: it does not
/// decode, the handler refuses it) before it is dead-lettered. Five: a
/// deterministic failure fails every time, so more tries only delay the
/// dead letter; a few leave room for a message that arrives before what
/// it refers to (it is nak'ed with a growing delay, about 5 s in all).
/// Outages (database, NATS) never count.
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;

/// How the services create streams and consumers; one value per process,
/// from `--stream-replicas` and `--max-deliveries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JetStreamSettings {
    /// Replicas of every stream and object store (1..=5; 3 on a 3-node
    /// cluster, so that losing a node loses no stream). An existing stream
    /// with other replicas is updated.
    pub replicas: usize,
    /// Rejections of a message by its handler before it is dead-lettered.
    pub max_deliveries: u32,
}

impl Default for JetStreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
        }
    }
}

/// `OBJ_<bucket>`: the stream under an object store (JetStream's naming).
pub fn object_store_stream(bucket: &str) -> String {
    format!("OBJ_{bucket}")
}

/// `civic.dead.<consumer>`.
pub fn dead_letter_subject(consumer: &str) -> String {
    format!("civic.dead.{consumer}")
}

/// `civic.ticket.<office>.<category>.<event>`, `event` the ticket event's kind
/// (`opened`, `acknowledged`, …).
pub fn ticket_subject(office: &OfficeId, category: Category, event: crate::EventKind) -> String {
    format!("civic.ticket.{office}.{category}.{event}")
}

/// Everything about one office's tickets: `civic.ticket.<office>.>`.
pub fn office_subjects(office: &OfficeId) -> String {
    format!("civic.ticket.{office}.>")
}

/// `civic.token.<hash>`: where a credential's state is published.
pub fn token_subject(hash: crate::Sha256) -> String {
    format!("civic.token.{hash}")
}

/// `civic.upload.<kind>.<ticket>.<sha256>`, `kind` `proof` or
/// `verification`: one subject per photo of a ticket, so the tracker can
/// look one up (`get_last_raw_message_by_subject`) before its consumer
/// has caught up.
pub fn upload_subject(kind: &str, ticket: crate::TicketId, sha256: crate::Sha256) -> String {
    format!("civic.upload.{kind}.{ticket}.{sha256}")
}

/// `civic.claim.<office>.<category>`: one claim subject per office and
/// category.
pub fn claim_subject(office: &OfficeId, category: Category) -> String {
    format!("civic.claim.{office}.{category}")
}

/// Whether `subject` is one of [`TICKET_SUBJECTS`].
pub fn is_ticket_subject(subject: &str) -> bool {
    subject.starts_with(TICKET_SUBJECTS.trim_end_matches('>'))
}

/// `civic.unrouted.<category>`.
pub fn unrouted_subject(category: Category) -> String {
    format!("civic.unrouted.{category}")
}

/// What a subject on the TICKETS stream says, its tokens as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketsSubject<'a> {
    /// `civic.ticket.<office>.<category>.<event>` ([`ticket_subject`]).
    Ticket {
        /// The office's id.
        office: &'a str,
        /// The ticket's category.
        category: &'a str,
        /// The event's kind, as its [`crate::EventKind`] is written.
        event: &'a str,
    },
    /// `civic.unrouted.<category>` ([`unrouted_subject`]).
    Unrouted {
        /// The report's category.
        category: &'a str,
    },
}

impl<'a> TicketsSubject<'a> {
    /// The subject's parts; `None` for a subject of another shape (an
    /// empty token, one too many or too few, another stream's).
    pub fn parse(subject: &'a str) -> Option<Self> {
        let tokens = |prefix: &str| -> Option<Vec<&'a str>> {
            let rest = subject.strip_prefix(prefix.trim_end_matches('>'))?;
            let tokens: Vec<&str> = rest.split('.').collect();
            tokens.iter().all(|t| !t.is_empty()).then_some(tokens)
        };
        if let Some(tokens) = tokens(TICKET_SUBJECTS) {
            return match tokens.as_slice() {
                [office, category, event] => Some(Self::Ticket {
                    office,
                    category,
                    event,
                }),
                _ => None,
            };
        }
        match tokens(UNROUTED_SUBJECTS)?.as_slice() {
            [category] => Some(Self::Unrouted { category }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_built_from_safe_tokens() {
        let office = OfficeId::parse("wenquan").unwrap();
        assert_eq!(
            ticket_subject(&office, Category::ElectricalBox, crate::EventKind::Opened),
            "civic.ticket.wenquan.electrical_box.opened"
        );
        assert_eq!(office_subjects(&office), "civic.ticket.wenquan.>");
        assert_eq!(unrouted_subject(Category::Other), "civic.unrouted.other");
        assert_eq!(
            claim_subject(&office, Category::Manhole),
            "civic.claim.wenquan.manhole"
        );
        assert!(claim_subject(&office, Category::Manhole)
            .starts_with(CLAIM_SUBJECTS.trim_end_matches('>')));
        assert!(is_ticket_subject(&ticket_subject(
            &office,
            Category::Elevator,
            crate::EventKind::Merged
        )));
        assert!(!is_ticket_subject(&unrouted_subject(Category::Other)));
        let ticket = crate::TicketId::new();
        let photo = crate::Sha256::of(b"ab");
        let upload = upload_subject(PROOF_UPLOAD, ticket, photo);
        assert_eq!(upload, format!("civic.upload.proof.{ticket}.{photo}"));
        assert!(upload.starts_with(UPLOAD_SUBJECTS.trim_end_matches('>')));
        assert!(token_subject(crate::Sha256::of(b"cd"))
            .starts_with(TOKEN_SUBJECTS.trim_end_matches('>')));
        assert!(REPORT_SUBMITTED.starts_with(REPORTS_SUBJECTS.trim_end_matches('>')));
        assert_eq!(object_store_stream(PHOTOS_BUCKET), PHOTOS_STREAM);
        let dead = dead_letter_subject(ROUTER_CONSUMER);
        assert!(dead.starts_with(DEAD_LETTER_SUBJECTS.trim_end_matches('>')));
    }

    #[test]
    fn tickets_subjects_parse_back_into_their_parts() {
        let office = OfficeId::parse("wenquan").unwrap();
        let opened = ticket_subject(&office, Category::Manhole, crate::EventKind::Opened);
        assert_eq!(
            TicketsSubject::parse(&opened),
            Some(TicketsSubject::Ticket {
                office: "wenquan",
                category: "manhole",
                event: "opened"
            })
        );
        let unrouted = unrouted_subject(Category::Elevator);
        assert_eq!(
            TicketsSubject::parse(&unrouted),
            Some(TicketsSubject::Unrouted {
                category: "elevator"
            })
        );
        for other in [
            "civic.ticket.wenquan.opened",
            "civic.ticket.wenquan.manhole.opened.again",
            "civic.ticket.wenquan..opened",
            "civic.unrouted.",
            "civic.unrouted.manhole.x",
            REPORT_SUBMITTED,
            "",
        ] {
            assert_eq!(TicketsSubject::parse(other), None, "{other}");
        }
    }
}
