//! The photo pipeline: detect the format from the bytes, check the
//! dimensions from the header, strip the metadata, prove the stripped file
//! decodes, and name it by its sha256.
//!
//! Nothing here trusts the file name or the declared content type. The
//! whole pipeline is CPU work and runs in `spawn_blocking`
//! ([`process`]); [`process_blocking`] is the same, synchronously.

pub mod jpeg;
pub mod png;
pub mod store;

use crate::Error;
use bytes::Bytes;
use civicprobe_model::PhotoRef;
use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::time::Instant;

/// The name of the multipart part holding a photo.
pub const PHOTO_PART: &str = "photo";

/// The photo formats accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (its eight-byte signature).
    Png,
}

impl PhotoFormat {
    /// The format the bytes are in, judged by their magic numbers only.
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(&png::SIGNATURE) {
            Some(PhotoFormat::Png)
        } else {
            None
        }
    }

    /// `image/jpeg` or `image/png`.
    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
        }
    }

    fn strip(self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            PhotoFormat::Jpeg => jpeg::strip(bytes),
            PhotoFormat::Png => png::strip(bytes),
        }
    }
}

/// How big a photo may be.
#[derive(Clone, Copy, Debug)]
pub struct PhotoLimits {
    /// Bytes of one photo part.
    pub max_bytes: usize,
    /// Width × height, checked before decoding.
    pub max_pixels: u64,
}

/// A photo that passed every check, ready to store.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    /// What the report will reference.
    pub photo_ref: PhotoRef,
    /// The metadata-free bytes, whose sha256 is `photo_ref.sha256`.
    pub bytes: Bytes,
}

/// [`process_blocking`] on the blocking pool, timed into the
/// `civicprobe_ingest_photo_seconds` histogram.
pub async fn process(raw: Bytes, limits: PhotoLimits) -> Result<ProcessedPhoto, Error> {
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || process_blocking(&raw, limits))
        .await
        .map_err(|e| Error::Internal {
            what: "processing a photo",
            source: e.into(),
        })?;
    metrics::histogram!("civicprobe_ingest_photo_seconds").record(started.elapsed().as_secs_f64());
    result
}

/// Checks, strips and names one photo.
pub fn process_blocking(raw: &[u8], limits: PhotoLimits) -> Result<ProcessedPhoto, Error> {
    if raw.len() > limits.max_bytes {
        return Err(too_many_bytes(limits.max_bytes));
    }
    let format = PhotoFormat::detect(raw).ok_or_else(|| Error::UnsupportedMediaType {
        field: PHOTO_PART.to_owned(),
        detail: "the photo must be a JPEG or PNG file".to_owned(),
    })?;
    let (width, height) = dimensions(raw, format, limits)?;
    let stripped = format.strip(raw)?;
    decode(&stripped, format, limits, (width, height))?;
    let sha256 = hex::encode(Sha256::digest(&stripped));
    Ok(ProcessedPhoto {
        photo_ref: PhotoRef {
            sha256,
            media_type: format.media_type().to_owned(),
            width,
            height,
            bytes: stripped.len() as u64,
            phash: None,
            thumbnail_sha256: None,
        },
        bytes: Bytes::from(stripped),
    })
}

/// The `413` for a photo over `max_bytes`.
pub fn too_many_bytes(max_bytes: usize) -> Error {
    Error::too_large(
        PHOTO_PART,
        format!("a photo may be at most {max_bytes} bytes"),
    )
}

/// Width and height from the header alone, within `max_pixels`.
fn dimensions(raw: &[u8], format: PhotoFormat, limits: PhotoLimits) -> Result<(u32, u32), Error> {
    let (width, height) = ImageReader::with_format(Cursor::new(raw), format.image_format())
        .into_dimensions()
        .map_err(|e| Error::invalid_photo(PHOTO_PART, format!("unreadable header: {e}")))?;
    if width == 0 || height == 0 {
        return Err(Error::invalid_photo(PHOTO_PART, "the photo has no pixels"));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Error::too_large(
            PHOTO_PART,
            format!(
                "{width}×{height} pixels; a photo may have at most {} pixels",
                limits.max_pixels
            ),
        ));
    }
    Ok((width, height))
}

/// Decodes the whole image under allocation limits: proof that it is one.
fn decode(
    bytes: &[u8],
    format: PhotoFormat,
    limits: PhotoLimits,
    (width, height): (u32, u32),
) -> Result<(), Error> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // Up to 16-bit RGBA per pixel, plus decoder working memory.
    decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(decode_limits);
    let image = reader
        .decode()
        .map_err(|e| Error::invalid_photo(PHOTO_PART, format!("the photo does not decode: {e}")))?;
    if (image.width(), image.height()) != (width, height) {
        return Err(Error::invalid_photo(
            PHOTO_PART,
            "decoded size differs from the header",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    const LIMITS: PhotoLimits = PhotoLimits {
        max_bytes: 1 << 20,
        max_pixels: 1_000_000,
    };

    fn status_of(raw: &[u8], limits: PhotoLimits) -> u16 {
        process_blocking(raw, limits).unwrap_err().status().as_u16()
    }

    #[test]
    fn good_photos_are_named_by_the_sha256_of_what_is_stored() {
        for (raw, media_type) in [
            (photos::jpeg(64, 48), "image/jpeg"),
            (photos::png(64, 48), "image/png"),
        ] {
            let p = process_blocking(&raw, LIMITS).unwrap();
            assert_eq!(p.photo_ref.media_type, media_type);
            assert_eq!((p.photo_ref.width, p.photo_ref.height), (64, 48));
            assert_eq!(p.photo_ref.bytes, p.bytes.len() as u64);
            assert_eq!(p.photo_ref.sha256, hex::encode(Sha256::digest(&p.bytes)));
            assert_eq!(p.photo_ref.sha256.len(), 64);
        }
    }

    #[test]
    fn bad_photos_get_the_right_status() {
        assert_eq!(status_of(&photos::not_a_photo(), LIMITS), 415);
        assert_eq!(status_of(b"", LIMITS), 415);
        assert_eq!(status_of(&photos::truncated_jpeg(), LIMITS), 422);
        let png = photos::png(64, 48);
        assert_eq!(status_of(&png[..png.len() / 2], LIMITS), 422);
        let few_pixels = PhotoLimits {
            max_pixels: 100,
            ..LIMITS
        };
        assert_eq!(status_of(&photos::jpeg(64, 48), few_pixels), 413);
        let few_bytes = PhotoLimits {
            max_bytes: 100,
            ..LIMITS
        };
        assert_eq!(status_of(&photos::png(64, 48), few_bytes), 413);
    }

    #[test]
    fn a_well_framed_png_with_corrupt_pixel_data_does_not_decode() {
        let mut raw = photos::png(64, 48);
        // IHDR ends at 33; the IDAT's data starts 8 bytes later.
        assert_eq!(&raw[37..41], b"IDAT");
        raw[45] ^= 0xFF;
        assert!(png::strip(&raw).is_ok(), "the framing is intact");
        let err = process_blocking(&raw, LIMITS).unwrap_err();
        assert_eq!(err.status().as_u16(), 422, "{err}");
    }
}
