//! The chain against the latest published head: a wholesale rewrite
//! changes the anchored row's hash, a truncation removes the row.

use super::SignedHead;
use crate::{Error, Store};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use sqlx::Row;

/// What the anchor says about the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AnchorVerdict {
    /// Nothing to hold the chain to: a rewrite of the whole chain would
    /// pass unseen.
    Unanchored {
        /// Why (no key configured, nothing published).
        why: String,
    },
    /// The chain still holds the anchored row with the anchored hash.
    Holds {
        /// The head it was checked against.
        head: SignedHead,
    },
    /// The chain does not match the published head.
    Broken {
        /// What is wrong.
        problem: String,
        /// The head it was checked against.
        head: SignedHead,
    },
}

impl AnchorVerdict {
    /// Whether the anchor found a mismatch.
    pub fn is_broken(&self) -> bool {
        matches!(self, AnchorVerdict::Broken { .. })
    }

    /// One line for `audit verify`.
    pub fn line(&self) -> String {
        match self {
            AnchorVerdict::Unanchored { why } => format!(
                "chain UNANCHORED: {why}; a rewrite of the whole chain would not be detected"
            ),
            AnchorVerdict::Holds { head } => format!(
                "anchor holds: row {} has the hash published at {} ms ({})",
                head.chain_seq, head.signed_at_ms, head.hash
            ),
            AnchorVerdict::Broken { problem, .. } => format!("anchor BROKEN: {problem}"),
        }
    }
}

/// Holds the chain in `store` to `head`, the latest published one, whose
/// signature must be `key`'s. `None`: nothing was published.
pub async fn check(
    store: &Store,
    head: Option<SignedHead>,
    key: &VerifyingKey,
) -> Result<AnchorVerdict, Error> {
    let Some(head) = head else {
        return Ok(AnchorVerdict::Unanchored {
            why: "no chain head has been published on the ANCHORS stream".into(),
        });
    };
    let broken = |problem: String, head: SignedHead| Ok(AnchorVerdict::Broken { problem, head });
    if !head.is_signed_by(key) {
        return broken(
            "the latest published head is not signed with the district's key".into(),
            head,
        );
    }
    if head.chain_seq == 0 {
        return Ok(AnchorVerdict::Holds { head });
    }
    let (stored_seq, _) = store.chain_head().await?;
    let row = sqlx::query("SELECT hash FROM ticket_events WHERE chain_seq = $1")
        .bind(head.chain_seq)
        .fetch_optional(store.pool())
        .await?;
    let hash: Option<String> = match row {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    match hash {
        None => broken(
            format!(
                "row {} was anchored but the chain ends at row {stored_seq}: rows were removed",
                head.chain_seq
            ),
            head,
        ),
        Some(hash) if hash != head.hash => broken(
            format!(
                "row {} has hash {hash}, but {} was published for it: the chain was rewritten",
                head.chain_seq, head.hash
            ),
            head,
        ),
        Some(_) => Ok(AnchorVerdict::Holds { head }),
    }
}
