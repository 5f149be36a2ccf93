//! The crate's one error type.

use civicprobe_model::{IllegalTransition, OfficeId, ReportId, TicketId, TicketState};

/// Everything the tracker can fail with. The HTTP layer maps these to
/// problem+json; database and NATS causes never reach a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed a query.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names neither SQLite nor PostgreSQL (only the scheme is kept).
    #[error("unsupported database URL scheme {0:?}: expected sqlite: or postgres://")]
    UnsupportedDatabase(String),
    /// Creating the SQLite file's folder failed.
    #[error("creating the database folder: {0}")]
    Io(#[from] std::io::Error),
    /// A stored value that does not parse (a bug or a hand edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// JSON (de)serialization of a stored or received value.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A JetStream request failed.
    #[error("nats: {0}")]
    Nats(String),
    /// No ticket with this id.
    #[error("ticket {0} not found")]
    TicketNotFound(TicketId),
    /// The ticket's state does not allow the action.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// Another actor changed the ticket between our read and our write.
    #[error("ticket {0} was changed concurrently; reload and retry")]
    ConcurrentUpdate(TicketId),
    /// Only active or rejected tickets can be rerouted.
    #[error("cannot reroute a ticket that is {0}")]
    NotReroutable(TicketState),
    /// A reroute to the office that already has the ticket.
    #[error("the ticket is already with office {0}")]
    SameOffice(OfficeId),
    /// No unrouted report with this id.
    #[error("unrouted report {0} not found")]
    UnroutedNotFound(ReportId),
    /// `verify` found an altered or missing row (its event id).
    #[error("the event chain is broken at event {0}")]
    ChainBroken(String),
    /// A command-line argument is invalid.
    #[error("{0}")]
    BadArgument(String),
    /// Only an active ticket (open, acknowledged, in progress, reopened)
    /// can be re-triaged.
    #[error("cannot re-triage a ticket that is {0}")]
    NotActive(TicketState),
    /// A re-triage that changes neither category nor urgency.
    #[error("the ticket already has this category and urgency")]
    NothingToChange,
    /// The unrouted report was routed already.
    #[error("report {0} was routed already")]
    AlreadyRouted(ReportId),
    /// The ticket has no dispute to settle (never rejected as
    /// `not_our_area`, or unknown).
    #[error("ticket {0} is not disputed")]
    NotDisputed(TicketId),
    /// The ticket's dispute was settled already (rerouted or upheld).
    #[error("the dispute over ticket {0} was settled already")]
    DisputeSettled(TicketId),
    /// A field of a request (HTTP or CLI) is invalid.
    #[error("{detail}")]
    BadField {
        /// The field at fault, as named on the wire.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// No reward with this id.
    #[error("reward {0} not found")]
    RewardNotFound(uuid::Uuid),
    /// The reward was retired: it can no longer be redeemed.
    #[error("reward {0} is retired")]
    RewardRetired(uuid::Uuid),
    /// None of the reward is left.
    #[error("reward {0} is out of stock")]
    OutOfStock(uuid::Uuid),
    /// The courier's balance does not cover the reward.
    #[error("the balance of {balance} points does not cover the cost of {cost}")]
    InsufficientPoints {
        /// The courier's balance at the time.
        balance: i64,
        /// The reward's cost.
        cost: i64,
    },
    /// An `Idempotency-Key` sent again with a different reward.
    #[error("this Idempotency-Key was used for another reward")]
    IdempotencyKeyReused,
    /// No redemption with this id.
    #[error("redemption {0} not found")]
    RedemptionNotFound(uuid::Uuid),
    /// The redemption was handed over already.
    #[error("redemption {0} was collected already")]
    AlreadyCollected(uuid::Uuid),
    /// No report with this id on any ticket.
    #[error("report {0} not found")]
    ReportNotFound(ReportId),
    /// This courier checked this resolution of the ticket already.
    #[error("you checked ticket {0} already")]
    AlreadyVerified(TicketId),
}

impl Error {
    /// Wraps any NATS client error (they are many distinct types).
    pub(crate) fn nats(e: impl std::fmt::Display) -> Self {
        Error::Nats(e.to_string())
    }
}
