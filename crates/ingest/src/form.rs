//! Reading the multipart body: one `report` part and the `photo` part(s),
//! each within its own size limit.

use crate::photo::{too_many_bytes, PHOTO_PART};
use crate::report::{self, ReportFields, REPORT_PART};
use crate::Error;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::Multipart;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

/// How many `photo` parts a report may carry.
pub const MAX_PHOTOS: usize = 3;

/// The largest `report` part, in bytes (2000 characters of text are at
/// most 8 KB of UTF-8).
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// Room for part headers and boundaries.
const MULTIPART_OVERHEAD: usize = 16 * 1024;

/// The request body limit: every part at its largest, plus framing.
pub fn body_limit(max_photo_bytes: usize) -> usize {
    max_photo_bytes
        .saturating_mul(MAX_PHOTOS)
        .saturating_add(MAX_REPORT_BYTES)
        .saturating_add(MULTIPART_OVERHEAD)
}

/// A submission's parts, the report validated, the photos still raw.
#[derive(Debug)]
pub struct Form {
    /// The validated `report` part.
    pub report: ReportFields,
    /// The raw `photo` parts, 1 to [`MAX_PHOTOS`], in order.
    pub photos: Vec<Bytes>,
    /// sha256 over every part's name and bytes, in order: what makes a
    /// retry "the same request" whatever its multipart boundary.
    pub digest: civicprobe_model::Sha256,
}

/// A body that is not `multipart/form-data` at all.
pub fn rejection(rejection: MultipartRejection) -> Error {
    Error::invalid(
        "Content-Type",
        format!("the body must be multipart/form-data: {rejection}"),
    )
}

/// Reads every part; unknown, repeated or missing parts are refused.
pub async fn read(mut multipart: Multipart, max_photo_bytes: usize) -> Result<Form, Error> {
    let mut report = None;
    let mut photos = Vec::new();
    let mut digest = Sha256::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, "body"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            REPORT_PART if report.is_some() => {
                return Err(Error::invalid(
                    REPORT_PART,
                    "only one report part is allowed",
                ));
            }
            REPORT_PART => {
                let bytes = read_part(field, REPORT_PART, MAX_REPORT_BYTES).await?;
                add_to_digest(&mut digest, REPORT_PART, &bytes);
                report = Some(report::parse(&bytes)?);
            }
            PHOTO_PART if photos.len() >= MAX_PHOTOS => {
                return Err(Error::invalid(
                    PHOTO_PART,
                    format!("at most {MAX_PHOTOS} photo part(s) are allowed"),
                ));
            }
            PHOTO_PART => {
                check_declared_type(field.content_type())?;
                let bytes = read_part(field, PHOTO_PART, max_photo_bytes).await?;
                add_to_digest(&mut digest, PHOTO_PART, &bytes);
                photos.push(bytes);
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(Error::invalid(shown, "unknown part"));
            }
        }
    }
    let report =
        report.ok_or_else(|| Error::invalid(REPORT_PART, "the report part is required"))?;
    if photos.is_empty() {
        return Err(Error::invalid(PHOTO_PART, "a photo part is required"));
    }
    Ok(Form {
        report,
        photos,
        digest: civicprobe_model::Sha256::from_hasher(digest),
    })
}

fn add_to_digest(digest: &mut Sha256, name: &str, bytes: &[u8]) {
    digest.update(name.as_bytes());
    digest.update((bytes.len() as u64).to_be_bytes());
    digest.update(bytes);
}

/// A photo part may be declared as any `image/*`, as
/// `application/octet-stream`, or not at all (its format is judged by its
/// bytes); anything else (`text/html`, …) is refused with `415`.
pub(crate) fn check_declared_type(declared: Option<&str>) -> Result<(), Error> {
    let Some(declared) = declared else {
        return Ok(());
    };
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("image/") || essence == "application/octet-stream" || essence.is_empty()
    {
        return Ok(());
    }
    let shown: String = declared.chars().take(64).collect();
    Err(Error::UnsupportedMediaType {
        field: PHOTO_PART.to_owned(),
        detail: format!("a photo part declared as {shown:?}; send image/jpeg"),
    })
}

/// One part's bytes, refused as soon as they exceed `limit` (`413` naming
/// `name`).
pub async fn read_part(mut field: Field<'_>, name: &str, limit: usize) -> Result<Bytes, Error> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, name))? {
        if buf.len() + chunk.len() > limit {
            return Err(over_limit(name, limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn over_limit(name: &str, limit: usize) -> Error {
    if name == PHOTO_PART {
        too_many_bytes(limit)
    } else {
        Error::too_large(name, format!("at most {limit} bytes are allowed"))
    }
}

/// A malformed body is the client's fault (400); one over the body limit
/// is a 413 on the part being read.
pub(crate) fn multipart_error(e: MultipartError, part: &str) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::too_large(part, "the request body is too large")
    } else {
        Error::invalid(part, format!("malformed multipart body: {}", e.body_text()))
    }
}
