//! The chain's anchor: the head of the event chain (its sequence and
//! hash), signed with an Ed25519 key the district holds outside the
//! database, published on the `ANCHORS` stream at a regular interval and
//! on demand (`civicprobe audit anchor --publish`).
//!
//! Whoever can write the database can rewrite the whole chain and its
//! head so that it verifies again; they cannot sign a head without the
//! key, nor change what was published. `verify` therefore holds the chain
//! to the latest published head ([`check`]): row `chain_seq` must still
//! carry the anchored hash (a rewrite changes it) and the chain must still
//! reach that row (a truncation does not).
//!
//! Key files hold the 32-byte secret seed as 64 hex digits
//! (`civicprobe audit keygen` makes one, mode 0600, and its public key
//! next to it as `<file>.pub`). Verifying needs only the public key.
//!
//! # Layout
//!
//! - this file: [`SignedHead`], signing and checking a signature, keys.
//! - [`stream`]: the `ANCHORS` stream, publishing, the latest head, and
//!   the periodic publisher [`stream::run_anchor`].
//! - [`check`]: the chain against a published head.

pub mod check;
pub mod stream;

pub use check::AnchorVerdict;

use crate::Error;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The tracker's anchor settings, flattened into the CLI.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "anchor_config")]
pub struct AnchorConfig {
    /// The district's Ed25519 key file (`civicprobe audit keygen`), kept
    /// outside the database. Set: the tracker signs the event chain's head
    /// and publishes it on ANCHORS every `--anchor-interval-secs`. Unset:
    /// nothing is published and `audit verify` says the chain is
    /// unanchored.
    #[arg(long, env = "CIVICPROBE_ANCHOR_KEY")]
    pub anchor_key: Option<PathBuf>,
    /// Seconds between two published heads.
    #[arg(long, env = "CIVICPROBE_ANCHOR_INTERVAL_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub anchor_interval_secs: u64,
}

impl AnchorConfig {
    /// The public half of the configured key (`None` without one): what
    /// the tracker's `GET /v1/audit/verify` checks heads with
    /// ([`crate::Store::with_anchor`]). An unreadable key file is an error.
    pub fn verifying_key(&self) -> Result<Option<VerifyingKey>, Error> {
        self.anchor_key
            .as_deref()
            .map(|path| load_signing_key(path).map(|key| key.verifying_key()))
            .transpose()
    }
}

impl Default for AnchorConfig {
    fn default() -> Self {
        AnchorConfig {
            anchor_key: None,
            anchor_interval_secs: 300,
        }
    }
}

/// One signed head of the chain, as published and as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The last row's place in the chain (0: no rows yet).
    pub chain_seq: i64,
    /// That row's hash (the genesis hash for an empty chain).
    pub hash: String,
    /// When it was signed, unix ms.
    pub signed_at_ms: i64,
    /// The signer's Ed25519 public key, hex (which key to check it with is
    /// the verifier's choice, never this field's).
    pub public_key: String,
    /// Ed25519 signature of [`SignedHead::message`], hex.
    pub signature: String,
}

impl SignedHead {
    /// The bytes signed: a fixed label, the sequence, hash and time.
    pub fn message(chain_seq: i64, hash: &str, signed_at_ms: i64) -> Vec<u8> {
        format!("civicprobe-chain-head/v1\n{chain_seq}\n{hash}\n{signed_at_ms}").into_bytes()
    }

    /// Signs the head `(chain_seq, hash)` at `signed_at_ms`.
    pub fn sign(key: &SigningKey, chain_seq: i64, hash: &str, signed_at_ms: i64) -> SignedHead {
        let signature = key.sign(&SignedHead::message(chain_seq, hash, signed_at_ms));
        SignedHead {
            chain_seq,
            hash: hash.to_owned(),
            signed_at_ms,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Whether `key` signed this head.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(raw) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&raw) else {
            return false;
        };
        let message = SignedHead::message(self.chain_seq, &self.hash, self.signed_at_ms);
        key.verify_strict(&message, &signature).is_ok()
    }
}

/// 32 bytes from 64 hex digits.
fn key_bytes(text: &str, what: &str) -> Result<[u8; 32], Error> {
    let raw = hex::decode(text.trim())
        .map_err(|_| Error::BadArgument(format!("{what}: expected 64 hex digits")))?;
    <[u8; 32]>::try_from(raw.as_slice())
        .map_err(|_| Error::BadArgument(format!("{what}: expected 64 hex digits (32 bytes)")))
}

/// Reads a key file made by [`generate_key_file`].
pub fn load_signing_key(path: &Path) -> Result<SigningKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::BadArgument(format!("reading the anchor key {}: {e}", path.display()))
    })?;
    let what = format!("the anchor key {}", path.display());
    Ok(SigningKey::from_bytes(&key_bytes(&text, &what)?))
}

/// A public key from 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, Error> {
    let bytes = key_bytes(text, "the anchor public key")?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| Error::BadArgument("the anchor public key is not an Ed25519 key".into()))
}

/// Makes a new key at `path` (refusing to overwrite one; owner-only on
/// Unix) and its public key at `<path>.pub`; returns the public key, hex.
pub fn generate_key_file(path: &Path) -> Result<String, Error> {
    use rand::RngCore;
    let mut seed = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        Error::BadArgument(format!("creating the anchor key {}: {e}", path.display()))
    })?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(seed)).as_bytes())?;
    let public = hex::encode(key.verifying_key().to_bytes());
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    std::fs::write(&pub_path, format!("{public}\n"))?;
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_verifies_only_with_its_key_and_content() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let head = SignedHead::sign(&key, 42, &"ab".repeat(32), 1_000);
        assert!(head.is_signed_by(&key.verifying_key()));
        assert!(!head.is_signed_by(&other.verifying_key()));
        let moved = SignedHead {
            chain_seq: 41,
            ..head.clone()
        };
        assert!(!moved.is_signed_by(&key.verifying_key()));
        let public = parse_public_key(&head.public_key).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(parse_public_key("zz").is_err());
    }

    #[test]
    fn keygen_writes_a_loadable_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("district.key");
        let public = generate_key_file(&path).unwrap();
        let key = load_signing_key(&path).unwrap();
        assert_eq!(hex::encode(key.verifying_key().to_bytes()), public);
        let pub_file = std::fs::read_to_string(dir.path().join("district.key.pub")).unwrap();
        assert_eq!(pub_file.trim(), public);
        assert!(generate_key_file(&path).is_err(), "never overwrites a key");
    }
}
