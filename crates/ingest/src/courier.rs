//! Who is submitting, and under which `Idempotency-Key`.

use crate::Error;
use axum::http::{header, HeaderMap};
use civicprobe_model::CourierId;
use futures::future::BoxFuture;

/// A boxed error from a collaborator (the token store).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The header that makes a submission retryable.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The longest `Idempotency-Key` accepted, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// How ingest learns who a bearer token belongs to. The tracker's token
/// store implements it; the CLI adapts one to the other.
pub trait CourierDirectory: Send + Sync + 'static {
    /// The courier holding `token`, or `None` for an unknown token or one
    /// that does not belong to a courier.
    fn courier_for_token<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<CourierId>, BoxError>>;
}

/// The courier named by the request's `Authorization: Bearer` token.
pub async fn authenticate(
    directory: &dyn CourierDirectory,
    headers: &HeaderMap,
) -> Result<CourierId, Error> {
    let token = bearer_token(headers).ok_or(Error::Unauthorized)?;
    directory
        .courier_for_token(token)
        .await
        .map_err(|source| Error::Unavailable {
            what: "the courier token store",
            source,
        })?
        .ok_or(Error::Unauthorized)
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// case-insensitively), if there is a non-empty one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    civicprobe_model::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The request's `Idempotency-Key`: a UUID (any version), returned in its
/// canonical lower-case hyphenated form so that `{A…}` and `a…` name the
/// same submission.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, Error> {
    let value = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| Error::invalid(IDEMPOTENCY_KEY, "the Idempotency-Key header is required"))?;
    let text = value.to_str().unwrap_or_default();
    if text.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(Error::invalid(IDEMPOTENCY_KEY, "must be a UUID"));
    }
    uuid::Uuid::try_parse(text.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::invalid(IDEMPOTENCY_KEY, "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_tokens_are_parsed_case_insensitively() {
        assert_eq!(
            bearer_token(&headers("authorization", "Bearer abc")),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers("authorization", "bearer abc")),
            Some("abc")
        );
        assert_eq!(bearer_token(&headers("authorization", "Basic abc")), None);
        assert_eq!(bearer_token(&headers("authorization", "Bearer ")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn idempotency_keys_are_uuids_in_canonical_form() {
        let upper = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
        let ok = idempotency_key(&headers("idempotency-key", upper)).unwrap();
        assert_eq!(ok, upper.to_lowercase());
        for bad in ["", "k-1", "has space", &"x".repeat(129)] {
            let err = idempotency_key(&headers("idempotency-key", bad)).unwrap_err();
            assert_eq!(
                err.problem().field.as_deref(),
                Some(IDEMPOTENCY_KEY),
                "{bad:?}"
            );
        }
        assert!(idempotency_key(&HeaderMap::new()).is_err());
    }
}
