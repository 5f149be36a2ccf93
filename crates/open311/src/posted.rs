//! Reading a `POST requests` body, authenticated before it is read.
//!
//! `api_key` (a courier token) may come from the query string, an
//! `X-Api-Key` or `Authorization: Bearer` header, or the body. From the
//! body it is found without touching ingest's upload budget: a
//! form-encoded body is read only up to [`MAX_TEXT_BYTES`] (it carries no
//! photo, so nothing larger is ever needed), and in a multipart body
//! `api_key` counts only in a text part that comes before any `media` part,
//! every text part within [`MAX_TEXT_BYTES`] together. Until the courier is
//! known nothing is taken from the budget; from then on every body byte is
//! metered ([`civicprobe_ingest::metered`]) and the courier's upload slot
//! is held, both until the report is committed.

use crate::Error;
use crate::Open311Intake;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Form;
use bytes::{Bytes, BytesMut};
use civicprobe_ingest::form::read_part;
use civicprobe_ingest::limit::UploadSlot;
use civicprobe_ingest::metered::UploadMeter;
use civicprobe_model::CourierId;
use futures::StreamExt;

/// The multipart part carrying a photo.
pub const MEDIA_PART: &str = "media";

/// Whether a multipart part carries a photo: `media` (the extension's
/// name) or FixMyStreet's `photo1`, `photo2` … `photoN`.
pub fn is_photo_part(name: &str) -> bool {
    name == MEDIA_PART
        || name
            .strip_prefix("photo")
            .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The field (and query parameter) holding the courier token.
pub const API_KEY: &str = "api_key";

/// The header that may hold the courier token instead.
pub const API_KEY_HEADER: &str = "X-Api-Key";

/// The most bytes of text fields read, all together: the whole of a
/// form-encoded body, the text parts of a multipart one. 2000 characters
/// of description are at most 8 KB of UTF-8.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A posted body: its text fields and the photos of its photo parts
/// ([`is_photo_part`]), in order.
#[derive(Debug, Default)]
pub struct Posted {
    /// Every text field, in order.
    pub fields: Vec<(String, String)>,
    /// The photo parts' bytes.
    pub media: Vec<Bytes>,
}

impl Posted {
    /// The first non-blank value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }
}

#[cfg(test)]
impl Posted {
    /// A body of text fields only (unit tests).
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Posted {
        Posted {
            fields: pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            media: Vec::new(),
        }
    }
}

/// A body read for an authenticated courier, with what it holds of
/// ingest's limits (keep it until the report is committed).
#[derive(Debug)]
pub struct Received {
    /// The fields and photos.
    pub posted: Posted,
    /// Who posted it.
    pub courier: CourierId,
    /// The upload slot and budget held (multipart only).
    pub held: Option<(UploadSlot, UploadMeter)>,
}

/// Authenticates, then reads the body (see the module docs).
pub async fn receive(state: &Open311Intake, request: Request) -> Result<Received, Error> {
    let (parts, body) = request.into_parts();
    state.ingest.refuse_declared_over_limit(&parts.headers)?;
    let early = match key_outside_body(&parts) {
        Some(key) => Some(authorize(state, Some(&key)).await?),
        None => None,
    };
    if is_multipart(&parts.headers) {
        read_multipart(state, parts, body, early).await
    } else {
        let posted = read_form(parts, body).await?;
        let courier = match early {
            Some(c) => c,
            None => authorize(state, posted.get(API_KEY)).await?,
        };
        Ok(Received {
            posted,
            courier,
            held: None,
        })
    }
}

/// `api_key` from the query string, `X-Api-Key` or `Authorization: Bearer`.
fn key_outside_body(parts: &Parts) -> Option<String> {
    let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let from_query = query
        .into_iter()
        .find(|(k, v)| k == API_KEY && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned());
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    from_query
        .or_else(|| header(API_KEY_HEADER).map(|v| v.trim().to_owned()))
        .or_else(|| {
            header(header::AUTHORIZATION.as_str())
                .and_then(civicprobe_model::bearer_token)
                .map(str::to_owned)
        })
        .filter(|k| !k.is_empty())
}

/// The courier named by `key`; `403` otherwise.
async fn authorize(state: &Open311Intake, key: Option<&str>) -> Result<CourierId, Error> {
    let key = key.ok_or(Error::Forbidden)?;
    state
        .ingest
        .courier_for_token(key)
        .await?
        .ok_or(Error::Forbidden)
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// A form-encoded body of at most [`MAX_TEXT_BYTES`].
async fn read_form(parts: Parts, body: Body) -> Result<Posted, Error> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Error::bad("the body could not be read"))?;
        if buf.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(civicprobe_ingest::Error::too_large(
                "body",
                format!("a form-encoded body may have at most {MAX_TEXT_BYTES} bytes"),
            )
            .into());
        }
        buf.extend_from_slice(&chunk);
    }
    let request = Request::from_parts(parts, Body::from(buf.freeze()));
    let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, &())
        .await
        .map_err(|e| body_error(e.status(), "the body must be form-encoded", e.body_text()))?;
    Ok(Posted {
        fields,
        media: Vec::new(),
    })
}

/// A multipart body; `early` when already authenticated.
async fn read_multipart(
    state: &Open311Intake,
    parts: Parts,
    body: Body,
    early: Option<CourierId>,
) -> Result<Received, Error> {
    let mut slot = early.map(|c| state.ingest.upload_slot(c)).transpose()?;
    let (body, meter) = match early {
        Some(_) => state.ingest.meter_upload(body),
        None => state.ingest.meter_upload_unarmed(body),
    };
    let mut courier = early;
    let posted = read_parts(state, parts, body, &mut courier, &meter, &mut slot).await?;
    match (courier, slot) {
        (Some(courier), Some(slot)) => Ok(Received {
            posted,
            courier,
            held: Some((slot, meter)),
        }),
        _ => Err(Error::Forbidden),
    }
}

/// Every part in order. An `api_key` text part read while `courier` is
/// unknown authenticates, takes the slot into `slot` and arms `meter`; a
/// `media` part before that is refused (`403`).
async fn read_parts(
    state: &Open311Intake,
    parts: Parts,
    body: Body,
    courier: &mut Option<CourierId>,
    meter: &UploadMeter,
    slot: &mut Option<UploadSlot>,
) -> Result<Posted, Error> {
    let explain = |e: Error| {
        if meter.busy() {
            Error::Ingest(civicprobe_ingest::Error::Busy)
        } else {
            e
        }
    };
    let mut form = Multipart::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(|e| body_error(e.status(), "malformed multipart body", e.body_text()))?;
    let mut posted = Posted::default();
    let mut text_bytes = 0;
    while let Some(field) = form.next_field().await.map_err(|e| explain(malformed(e)))? {
        let name = field.name().unwrap_or_default().to_owned();
        if is_photo_part(&name) {
            if courier.is_none() {
                return Err(Error::Forbidden);
            }
            let limit = state.ingest.body_limit();
            let bytes = read_part(field, &name, limit).await;
            posted.media.push(bytes.map_err(|e| explain(e.into()))?);
            continue;
        }
        let text = read_text(field, &name, MAX_TEXT_BYTES - text_bytes)
            .await
            .map_err(explain)?;
        text_bytes += text.len();
        if name == API_KEY && courier.is_none() {
            let c = authorize(state, Some(text.trim())).await?;
            *slot = Some(state.ingest.upload_slot(c)?);
            meter.arm().await?;
            *courier = Some(c);
        }
        posted.fields.push((name, text));
    }
    Ok(posted)
}

/// A text part within what is left of [`MAX_TEXT_BYTES`].
async fn read_text(field: Field<'_>, name: &str, left: usize) -> Result<String, Error> {
    let shown: String = name.chars().take(64).collect();
    let bytes = read_part(field, &shown, left).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::bad(format!("{shown} must be UTF-8")))
}

fn malformed(e: MultipartError) -> Error {
    body_error(e.status(), "malformed multipart body", e.body_text())
}

/// A body over the limit is `413`; any other unreadable body `400`.
fn body_error(status: StatusCode, what: &str, detail: String) -> Error {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        civicprobe_ingest::Error::too_large("body", "the request body is too large").into()
    } else {
        Error::bad(format!("{what}: {detail}"))
    }
}
