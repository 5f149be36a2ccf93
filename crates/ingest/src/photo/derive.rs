//! The one decode of a photo, and what is derived from it: the thumbnail
//! (long edge at most [`THUMB_EDGE`] px, EXIF orientation applied, JPEG)
//! and a 64-bit perceptual hash (pHash: DCT, median threshold; `image_hasher`).
//!
//! A JPEG is decoded by `jpeg-decoder` at a DCT-scaled size (1/8, 1/4 or
//! 1/2, the smallest whose long edge is at least [`DECODE_EDGE`]): one
//! entropy-decoding pass, no full-size pixel buffer. PNG and WebP have no
//! such trick and are decoded in full under allocation limits. The decode
//! doubles as the proof that the file is an image.

use super::{PhotoFormat, PhotoLimits, PHOTO_PART};
use crate::Error;
use image::{DynamicImage, ImageReader, Limits};
use image_hasher::{HashAlg, Hasher, HasherConfig};
use std::io::Cursor;
use std::sync::OnceLock;

/// The thumbnail's longest edge at most, in pixels.
pub const THUMB_EDGE: u32 = 320;

/// A JPEG is decoded at the smallest DCT scale (1/8, 1/4, 1/2, 1) whose
/// long edge is at least this: 1/8 for phone photos and 2048 px uploads, so
/// the thumbnail's long edge is 256 to 320 px for photos larger than that.
pub const DECODE_EDGE: u16 = 256;

/// What one decode yields.
#[derive(Clone, Debug)]
pub struct Derived {
    /// The thumbnail, as JPEG.
    pub thumbnail: Vec<u8>,
    /// The perceptual hash.
    pub phash: u64,
}

fn undecodable(detail: impl std::fmt::Display) -> Error {
    Error::invalid_photo(PHOTO_PART, format!("the photo does not decode: {detail}"))
}

/// Decodes `stripped` once and derives the thumbnail and hash.
pub fn derive(
    stripped: &[u8],
    format: PhotoFormat,
    (width, height): (u32, u32),
    orientation: Option<u16>,
    limits: PhotoLimits,
) -> Result<Derived, Error> {
    let small = match format {
        PhotoFormat::Jpeg => decode_jpeg_scaled(stripped, (width, height))?,
        PhotoFormat::Png | PhotoFormat::WebP => {
            decode_full(stripped, format, (width, height), limits)?
        }
    };
    let mut small = if small.width().max(small.height()) > THUMB_EDGE {
        small.thumbnail(THUMB_EDGE, THUMB_EDGE)
    } else {
        small
    };
    if let Some(o) = orientation.and_then(|o| u8::try_from(o).ok()) {
        if let Some(o) = image::metadata::Orientation::from_exif(o) {
            small.apply_orientation(o);
        }
    }
    let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
    let phash = phash(&rgb);
    let mut thumbnail = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, 80)
        .encode_image(&rgb)
        .map_err(|e| Error::internal("encoding a thumbnail", e))?;
    Ok(Derived {
        thumbnail: thumbnail.into_inner(),
        phash,
    })
}

/// The 64-bit DCT hash of an image, as a big-endian integer.
pub fn phash(image: &DynamicImage) -> u64 {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    let hasher = HASHER.get_or_init(|| {
        HasherConfig::new()
            .hash_size(8, 8)
            .hash_alg(HashAlg::Median)
            .preproc_dct()
            .to_hasher()
    });
    let hash = hasher.hash_image(image);
    let mut bytes = [0u8; 8];
    for (dst, src) in bytes.iter_mut().zip(hash.as_bytes()) {
        *dst = *src;
    }
    u64::from_be_bytes(bytes)
}

/// A JPEG at the smallest DCT scale whose long edge is ≥ [`DECODE_EDGE`]
/// (or the full size for small photos).
fn decode_jpeg_scaled(bytes: &[u8], (width, height): (u32, u32)) -> Result<DynamicImage, Error> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(undecodable)?;
    let info = decoder.info().ok_or_else(|| undecodable("no header"))?;
    if (u32::from(info.width), u32::from(info.height)) != (width, height) {
        return Err(undecodable("the frame size differs from the header"));
    }
    // jpeg-decoder picks the smallest scale where either side reaches the
    // request: the long edge is then at least DECODE_EDGE.
    let (w, h) = decoder
        .scale(DECODE_EDGE.min(info.width), DECODE_EDGE.min(info.height))
        .map_err(undecodable)?;
    // The scaled output is at most 4 bytes a pixel (CMYK).
    decoder.set_max_decoding_buffer_size(usize::from(w) * usize::from(h) * 4 + (1 << 20));
    let pixels = decoder.decode().map_err(undecodable)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            image::RgbImage::from_raw(w, h, cmyk_to_rgb(&pixels)).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let wide: Vec<u16> = pixels
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            image::ImageBuffer::from_raw(w, h, wide).map(DynamicImage::ImageLuma16)
        }
    };
    image.ok_or_else(|| undecodable("short pixel data"))
}

/// jpeg-decoder's CMYK (Adobe, inverted) to RGB.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            let ch = |c: u8| u8::try_from(u16::from(c) * k / 255).unwrap_or(u8::MAX);
            [ch(p[0]), ch(p[1]), ch(p[2])]
        })
        .collect()
}

/// A PNG or WebP decoded in full, under allocation limits.
fn decode_full(
    bytes: &[u8],
    format: PhotoFormat,
    (width, height): (u32, u32),
    limits: PhotoLimits,
) -> Result<DynamicImage, Error> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // Up to 16-bit RGBA per pixel, plus decoder working memory.
    decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(decode_limits);
    let image = reader.decode().map_err(undecodable)?;
    if (image.width(), image.height()) != (width, height) {
        return Err(undecodable("decoded size differs from the header"));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    const LIMITS: PhotoLimits = PhotoLimits {
        max_bytes: 1 << 24,
        max_pixels: 50_000_000,
        max_side: 16_384,
    };

    fn thumb_size(d: &Derived) -> (u32, u32) {
        let t = image::load_from_memory(&d.thumbnail).unwrap();
        (t.width(), t.height())
    }

    #[test]
    fn thumbnails_fit_320_and_follow_the_orientation() {
        let jpeg = photos::jpeg(1600, 1200);
        let d = derive(&jpeg, PhotoFormat::Jpeg, (1600, 1200), None, LIMITS).unwrap();
        assert_eq!(thumb_size(&d), (320, 240));
        let turned = derive(&jpeg, PhotoFormat::Jpeg, (1600, 1200), Some(6), LIMITS).unwrap();
        assert_eq!(thumb_size(&turned), (240, 320));
        let small = derive(
            &photos::png(100, 50),
            PhotoFormat::Png,
            (100, 50),
            None,
            LIMITS,
        )
        .unwrap();
        assert_eq!(thumb_size(&small), (100, 50));
    }

    /// The same smooth picture at any size, encoded as `format`.
    fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
            let disc = if (u - 0.3).powi(2) + (v - 0.6).powi(2) < 0.04 {
                200.0
            } else {
                0.0
            };
            let px = |f: f64| f.clamp(0.0, 255.0) as u8;
            image::Rgb([px(255.0 * u), px(255.0 * v * v + disc * 0.2), px(disc)])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_same_picture_hashes_alike_across_sizes_and_formats() {
        let jpeg = picture(1600, 1200, image::ImageFormat::Jpeg);
        let big = derive(&jpeg, PhotoFormat::Jpeg, (1600, 1200), None, LIMITS).unwrap();
        let png = picture(400, 300, image::ImageFormat::Png);
        let small = derive(&png, PhotoFormat::Png, (400, 300), None, LIMITS).unwrap();
        let bits = (big.phash ^ small.phash).count_ones();
        assert!(
            bits <= 6,
            "{:016x} {:016x}: {bits} bits",
            big.phash,
            small.phash
        );
        let checks = image::RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb(if (x / 40 + y / 60) % 2 == 0 {
                [250; 3]
            } else {
                [5; 3]
            })
        });
        let other = phash(&DynamicImage::ImageRgb8(checks));
        assert!((other ^ small.phash).count_ones() > 12, "{other:016x}");
    }
}
