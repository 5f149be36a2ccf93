//! The photo pipeline: detect the format from the bytes, check the
//! dimensions from the header, strip the metadata (refusing a second file
//! hidden after the image), read the EXIF evidence, decode once (JPEG at a
//! DCT-scaled size) into a thumbnail and a perceptual hash, and name the
//! stripped photo by its sha256.
//!
//! Only a photo that cannot be decoded is refused. Stripping walks the
//! container and never looks inside the EXIF, so it works the same
//! whether the EXIF is sound or not; reading the EXIF never fails (what
//! is unreadable is said in [`ProcessedPhoto::exif_unreadable`]).
//!
//! Nothing here trusts the file name or the declared content type. The
//! whole pipeline is CPU work and runs in `spawn_blocking` ([`process`]);
//! [`process_blocking`] is the same, synchronously.

pub mod derive;
pub mod exif;
pub mod exif_write;
pub mod jpeg;
pub mod png;
pub mod spool;
pub mod store;
pub mod tiff;
pub mod webp;

use crate::Error;
use bytes::Bytes;
use civicprobe_model::{PhotoExif, PhotoRef, Sha256};
use image::{ImageFormat, ImageReader};
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
    /// WebP (`RIFF....WEBP`).
    WebP,
}

/// ISO-BMFF brands of HEIF/HEIC/AVIF files (refused with a hint).
const HEIF_BRANDS: [&[u8; 4]; 10] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
];

/// Whether the bytes are an ISO-BMFF HEIF/HEIC/AVIF file.
pub fn is_heif(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"ftyp")
        && bytes
            .get(8..12)
            .is_some_and(|b| HEIF_BRANDS.iter().any(|h| &h[..] == b))
}

impl PhotoFormat {
    /// The format the bytes are in, judged by their magic numbers only.
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(&png::SIGNATURE) {
            Some(PhotoFormat::Png)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(PhotoFormat::WebP)
        } else {
            None
        }
    }

    /// `image/jpeg`, `image/png` or `image/webp`.
    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::WebP => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::WebP => ImageFormat::WebP,
        }
    }

    fn strip(self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            PhotoFormat::Jpeg => jpeg::strip(bytes),
            PhotoFormat::Png => png::strip(bytes),
            PhotoFormat::WebP => webp::strip(bytes),
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
    /// Width and height each, checked before decoding.
    pub max_side: u32,
}

/// A photo that passed every check, ready to store.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    /// What the report will reference (with phash and thumbnail name).
    pub photo_ref: PhotoRef,
    /// The metadata-free bytes, whose sha256 is `photo_ref.sha256`.
    pub bytes: Bytes,
    /// The JPEG thumbnail, named by `photo_ref.thumbnail_sha256`.
    pub thumbnail: Bytes,
    /// What the EXIF said before it was stripped (its sound parts).
    pub exif: PhotoExif,
    /// Why (part of) the EXIF was dropped as unreadable, if it was: the
    /// photo's `exif_unreadable` flag.
    pub exif_unreadable: Option<String>,
}

/// [`process_blocking`] on the blocking pool, timed into the
/// `civicprobe_ingest_photo_seconds` histogram.
pub async fn process(raw: Bytes, limits: PhotoLimits) -> Result<ProcessedPhoto, Error> {
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || process_blocking(&raw, limits))
        .await
        .map_err(|e| Error::internal("processing a photo", e))?;
    metrics::histogram!("civicprobe_ingest_photo_seconds").record(started.elapsed().as_secs_f64());
    result
}

/// Checks, strips, reads, derives and names one photo.
pub fn process_blocking(raw: &[u8], limits: PhotoLimits) -> Result<ProcessedPhoto, Error> {
    if raw.len() > limits.max_bytes {
        return Err(too_many_bytes(limits.max_bytes));
    }
    if raw.is_empty() {
        return Err(Error::invalid_photo(
            PHOTO_PART,
            "the photo is empty (0 bytes)",
        ));
    }
    let format = PhotoFormat::detect(raw).ok_or_else(|| unsupported(raw))?;
    let (width, height) = dimensions(raw, format, limits)?;
    let stripped = format.strip(raw)?;
    let reading = exif::read(raw);
    let exif_unreadable = reading.reason();
    let exif = reading.exif;
    let derived = derive::derive(&stripped, format, (width, height), exif.orientation, limits)?;
    let sha256 = Sha256::of(&stripped);
    Ok(ProcessedPhoto {
        photo_ref: PhotoRef {
            sha256,
            media_type: format.media_type().to_owned(),
            width,
            height,
            bytes: stripped.len() as u64,
            phash: Some(derived.phash),
            thumbnail_sha256: Some(Sha256::of(&derived.thumbnail)),
        },
        bytes: Bytes::from(stripped),
        thumbnail: Bytes::from(derived.thumbnail),
        exif,
        exif_unreadable,
    })
}

/// The `415` for bytes that are no accepted format; HEIF gets its own.
fn unsupported(raw: &[u8]) -> Error {
    if is_heif(raw) {
        return Error::HeifUnsupported {
            field: PHOTO_PART.to_owned(),
        };
    }
    Error::UnsupportedMediaType {
        field: PHOTO_PART.to_owned(),
        detail: "the photo must be a JPEG, PNG or WebP file".to_owned(),
    }
}

/// The `413` for a photo over `max_bytes`.
pub fn too_many_bytes(max_bytes: usize) -> Error {
    Error::too_large(
        PHOTO_PART,
        format!("a photo may be at most {max_bytes} bytes"),
    )
}

/// Width and height from the header alone, within the limits.
fn dimensions(raw: &[u8], format: PhotoFormat, limits: PhotoLimits) -> Result<(u32, u32), Error> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::invalid_photo(PHOTO_PART, format!("unreadable header: {e}"))
    };
    let (width, height) = if format == PhotoFormat::Jpeg {
        jpeg::frame_size(raw)?
    } else {
        ImageReader::with_format(Cursor::new(raw), format.image_format())
            .into_dimensions()
            .map_err(|e| unreadable(&e))?
    };
    if width == 0 || height == 0 {
        return Err(Error::invalid_photo(PHOTO_PART, "the photo has no pixels"));
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(Error::too_large(
            PHOTO_PART,
            format!(
                "{width}×{height} pixels; each side may be at most {}",
                limits.max_side
            ),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    const LIMITS: PhotoLimits = PhotoLimits {
        max_bytes: 1 << 20,
        max_pixels: 1_000_000,
        max_side: 4096,
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
            assert_eq!(p.photo_ref.sha256, Sha256::of(&p.bytes));
        }
    }

    #[test]
    fn bad_photos_get_the_right_status() {
        assert_eq!(status_of(&photos::not_a_photo(), LIMITS), 415);
        assert_eq!(status_of(b"", LIMITS), 422);
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let err = process_blocking(heic, LIMITS).unwrap_err();
        assert_eq!(err.problem().kind, "/problems/heif-unsupported");
        let big_side = PhotoLimits {
            max_side: 63,
            ..LIMITS
        };
        assert_eq!(status_of(&photos::jpeg(64, 8), big_side), 413);
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
