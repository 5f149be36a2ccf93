//! What the tracker tells every ingest about a credential (a bearer token
//! or a web session id), so that ingest checks who is asking without the
//! tracker's database. Published on the `TOKENS` stream
//! ([`crate::nats::TOKENS_STREAM`]), one subject per credential hash
//! ([`crate::nats::token_subject`]), the last message per subject kept: the
//! stream holds the current state of every credential and nothing else.
//! Only the hash travels (the same hex sha256 the database keeps), never
//! the secret.

use crate::Principal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who holds a live credential, and until when it may be taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialGrant {
    /// The holder, with their scope (courier, office, supervisor).
    pub principal: Principal,
    /// After this instant ingest refuses the credential even if no
    /// tombstone reached it: a token's expiry; for a session the earliest
    /// of its absolute expiry, its idle deadline (last seen + idle limit,
    /// republished as the tracker sees the session used) and its token's
    /// expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
}

/// The current state of one credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialState {
    /// sha256 of the secret (64 lower-case hex digits in the message).
    pub hash: crate::Sha256,
    /// `None`: a tombstone (revoked, rotated, signed out or expired).
    pub grant: Option<CredentialGrant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_round_trips_and_hashes_are_checked() {
        let state = CredentialState {
            hash: crate::Sha256::of(b"a secret"),
            grant: Some(CredentialGrant {
                principal: Principal::Courier {
                    courier_id: crate::CourierId::new(),
                    name: "Li".into(),
                },
                valid_until: OffsetDateTime::UNIX_EPOCH,
            }),
        };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(
            serde_json::from_str::<CredentialState>(&json).unwrap(),
            state
        );
        let upper = json.replace(
            &state.hash.to_string(),
            &state.hash.to_string().to_uppercase(),
        );
        assert!(serde_json::from_str::<CredentialState>(&upper).is_err());
    }
}
