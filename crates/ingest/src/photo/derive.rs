//! The one decode of a photo, and what is derived from it: the thumbnail
//! (long edge at most [`THUMB_EDGE`] px, EXIF orientation applied, JPEG)
//! and a 64-bit perceptual hash (pHash: DCT, median threshold; `image_hasher`).
//!
//! A JPEG is decoded by libjpeg-turbo's decoder (the `mozjpeg` crate, built
//! from source without SIMD) at a DCT-scaled size (1/8, 1/4 or 1/2, the
//! smallest whose long edge is at least [`DECODE_EDGE`]): one
//! entropy-decoding pass, no full-size pixel buffer, and any libjpeg warning
//! (corrupt or missing data) refuses the photo. PNG and WebP have no such
//! trick and are decoded in full under allocation limits. The decode
//! doubles as the proof that the file is an image.
//!
//! The rest is small next to the decode (12 MP photo: decode ~55 ms; shrink
//! to 320 px ~0.3 ms with `fast_image_resize`, pHash ~1 ms, thumbnail
//! encode ~1 ms with libjpeg-turbo's encoder at its fastest settings).

use super::{PhotoFormat, PhotoLimits, PHOTO_PART};
use crate::Error;
use civicprobe_model::PhotoHash;
use image::{DynamicImage, ImageReader, Limits};
use image_hasher::{HashAlg, Hasher, HasherConfig};
use std::io::Cursor;
use std::os::raw::c_int;
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
    pub phash: PhotoHash,
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
    let rgb = small.into_rgb8();
    let mut small = DynamicImage::ImageRgb8(if rgb.width().max(rgb.height()) > THUMB_EDGE {
        shrink(&rgb)?
    } else {
        rgb
    });
    if let Some(o) = orientation.and_then(|o| u8::try_from(o).ok()) {
        if let Some(o) = image::metadata::Orientation::from_exif(o) {
            small.apply_orientation(o);
        }
    }
    let rgb = small.into_rgb8();
    let thumbnail = encode_thumbnail(&rgb)?;
    let phash = phash(&DynamicImage::ImageRgb8(rgb));
    Ok(Derived { thumbnail, phash })
}

/// `rgb` with its long edge brought down to [`THUMB_EDGE`] (aspect kept),
/// by `fast_image_resize`'s SIMD bilinear convolution: a tenth of the time
/// of the `image` crate's resize on a 1/8-scale phone photo.
fn shrink(rgb: &image::RgbImage) -> Result<image::RgbImage, Error> {
    use fast_image_resize::{images, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let (w, h) = (rgb.width(), rgb.height());
    let (tw, th) = fit((w, h), THUMB_EDGE);
    let failed =
        |e: &dyn std::fmt::Display| Error::internal("shrinking a thumbnail", e.to_string());
    let src = images::ImageRef::new(w, h, rgb.as_raw(), PixelType::U8x3).map_err(|e| failed(&e))?;
    let mut dst = images::Image::new(tw, th, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| failed(&e))?;
    image::RgbImage::from_raw(tw, th, dst.into_vec()).ok_or_else(|| failed(&"short buffer"))
}

/// The size with the long edge `edge` and the same aspect (at least 1 px).
fn fit((w, h): (u32, u32), edge: u32) -> (u32, u32) {
    let scaled = |short: u32, long: u32| {
        let s = (u64::from(short) * u64::from(edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(s).unwrap_or(edge).max(1)
    };
    if w >= h {
        (edge, scaled(h, w))
    } else {
        (scaled(w, h), edge)
    }
}

/// The thumbnail as a baseline JPEG of quality 80, by libjpeg-turbo's
/// encoder at its fastest settings (mozjpeg's trellis search off).
fn encode_thumbnail(rgb: &image::RgbImage) -> Result<Vec<u8>, Error> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    libjpeg(|| {
        let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        compress.set_fastest_defaults();
        compress.set_size(w, h);
        compress.set_quality(80.0);
        let mut started = compress.start_compress(Vec::new())?;
        started.write_scanlines(rgb.as_raw())?;
        started.finish()
    })
    .map_err(|e| Error::internal("encoding a thumbnail", e))
}

/// The 64-bit DCT hash of an image, as a big-endian integer.
pub fn phash(image: &DynamicImage) -> PhotoHash {
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
    PhotoHash(u64::from_be_bytes(bytes))
}

/// A JPEG at the smallest DCT scale whose long edge is ≥ [`DECODE_EDGE`]
/// (or the full size for small photos), decoded by libjpeg-turbo's decoder
/// (the `mozjpeg` crate) under [`strict_errors`].
fn decode_jpeg_scaled(bytes: &[u8], (width, height): (u32, u32)) -> Result<DynamicImage, Error> {
    // `strict_errors` makes libjpeg's warnings (corrupt or missing data)
    // unwind like its errors.
    libjpeg(|| {
        let mut decoder = mozjpeg::Decompress::builder()
            .with_err(strict_errors())
            .from_mem(bytes)?;
        if decoder.size() != (width as usize, height as usize) {
            return Err(std::io::Error::other(
                "the frame size differs from the header",
            ));
        }
        let numerator = dct_scale(width.max(height));
        decoder.scale(numerator);
        let image = match decoder.image()? {
            mozjpeg::Format::RGB(d) => read(d)
                .map(|(w, h, px)| image::RgbImage::from_raw(w, h, px).map(DynamicImage::ImageRgb8)),
            mozjpeg::Format::Gray(d) => read(d).map(|(w, h, px)| {
                image::GrayImage::from_raw(w, h, px).map(DynamicImage::ImageLuma8)
            }),
            mozjpeg::Format::CMYK(d) => read(d).map(|(w, h, px)| {
                image::RgbImage::from_raw(w, h, cmyk_to_rgb(&px)).map(DynamicImage::ImageRgb8)
            }),
        }?;
        image.ok_or_else(|| std::io::Error::other("short pixel data"))
    })
    .map_err(undecodable)
}

/// Runs libjpeg through the `mozjpeg` crate, which reports libjpeg's
/// errors by unwinding: an unwind becomes an error with its message.
fn libjpeg<T>(work: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("libjpeg failed");
        Err(std::io::Error::other(message.to_owned()))
    })
}

/// All scanlines of a started decode, with the output's width and height.
fn read(
    mut started: mozjpeg::decompress::DecompressStarted<&[u8]>,
) -> std::io::Result<(u32, u32, Vec<u8>)> {
    let size = |n: usize| u32::try_from(n).map_err(std::io::Error::other);
    let (w, h) = (size(started.width())?, size(started.height())?);
    let pixels = started.read_scanlines::<u8>()?;
    started.finish()?;
    Ok((w, h, pixels))
}

/// The numerator (over 8) of the smallest DCT scale, of 1/8, 1/4, 1/2 and
/// 1, at which the long edge is at least [`DECODE_EDGE`].
fn dct_scale(long_edge: u32) -> u8 {
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| (long_edge * u32::from(n)).div_ceil(8) >= u32::from(DECODE_EDGE))
        .unwrap_or(8)
}

/// libjpeg's error manager, stricter than its default: a warning (data
/// missing or corrupt, which libjpeg would paint grey and carry on) ends
/// the decode like an error. Both unwind with a message, as the `mozjpeg`
/// crate expects of an error manager.
fn strict_errors() -> mozjpeg_sys::jpeg_error_mgr {
    extern "C-unwind" fn error_exit(_: &mut mozjpeg_sys::jpeg_common_struct) {
        std::panic::resume_unwind(Box::new("libjpeg cannot decode it"));
    }
    extern "C-unwind" fn emit_message(_: &mut mozjpeg_sys::jpeg_common_struct, level: c_int) {
        // Level -1 is a warning; 0 and up are trace messages.
        if level < 0 {
            std::panic::resume_unwind(Box::new("corrupt or incomplete JPEG data"));
        }
    }
    extern "C-unwind" fn quiet(_: &mut mozjpeg_sys::jpeg_common_struct) {}
    mozjpeg_sys::jpeg_error_mgr {
        error_exit: Some(error_exit),
        emit_message: Some(emit_message),
        output_message: Some(quiet),
        format_message: None,
        reset_error_mgr: Some(quiet),
        msg_code: 0,
        msg_parm: mozjpeg_sys::msg_parm_union::default(),
        trace_level: 0,
        num_warnings: 0,
        jpeg_message_table: std::ptr::null(),
        last_jpeg_message: 0,
        addon_message_table: std::ptr::null(),
        first_addon_message: 0,
        last_addon_message: 0,
    }
}

/// libjpeg's CMYK (Adobe, inverted) to RGB.
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

    #[test]
    fn jpegs_decode_at_the_smallest_scale_reaching_256_px() {
        assert_eq!(dct_scale(4032), 1);
        assert_eq!(dct_scale(2048), 1);
        assert_eq!(dct_scale(2041), 1);
        assert_eq!(dct_scale(2040), 2);
        assert_eq!(dct_scale(1600), 2);
        assert_eq!(dct_scale(1000), 4);
        assert_eq!(dct_scale(511), 4);
        assert_eq!(dct_scale(510), 8);
        assert_eq!(dct_scale(64), 8);
        let image = decode_jpeg_scaled(&photos::jpeg(2048, 1536), (2048, 1536)).unwrap();
        assert_eq!((image.width(), image.height()), (256, 192));
        let image = decode_jpeg_scaled(&photos::jpeg(1000, 750), (1000, 750)).unwrap();
        assert_eq!((image.width(), image.height()), (500, 375));
    }

    #[test]
    fn thumbnails_keep_the_aspect() {
        assert_eq!(fit((504, 378), 320), (320, 240));
        assert_eq!(fit((378, 504), 320), (240, 320));
        assert_eq!(fit((256, 256), 320), (320, 320));
        assert_eq!(fit((5000, 1), 320), (320, 1));
        assert_eq!(fit((2, 5000), 320), (1, 320));
        let wide = image::RgbImage::from_pixel(1000, 10, image::Rgb([10, 200, 30]));
        let small = shrink(&wide).unwrap();
        assert_eq!((small.width(), small.height()), (320, 3));
        assert_eq!(small.get_pixel(100, 1).0, [10, 200, 30]);
    }

    #[test]
    fn a_progressive_jpeg_decodes_scaled() {
        // mozjpeg's default: progressive, with its scans optimised.
        let progressive = std::panic::catch_unwind(|| {
            let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
            c.set_size(640, 480);
            c.set_quality(85.0);
            let mut c = c.start_compress(Vec::new()).unwrap();
            let img = image::RgbImage::from_fn(640, 480, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
            });
            c.write_scanlines(img.as_raw()).unwrap();
            c.finish().unwrap()
        })
        .unwrap();
        let scans = progressive
            .windows(2)
            .filter(|w| *w == [0xFF, 0xDA])
            .count();
        assert!(scans > 1, "{scans} scans");
        let image = decode_jpeg_scaled(&progressive, (640, 480)).unwrap();
        assert_eq!((image.width(), image.height()), (320, 240));
        let stripped = super::super::jpeg::strip(&progressive).unwrap();
        let d = derive(&stripped, PhotoFormat::Jpeg, (640, 480), None, LIMITS).unwrap();
        assert_eq!(thumb_size(&d), (320, 240));
    }

    #[test]
    fn a_scan_that_stops_halfway_does_not_decode() {
        let cut = photos::cut_scan_jpeg();
        let stripped = super::super::jpeg::strip(&cut).expect("the framing is intact");
        let err = derive(&stripped, PhotoFormat::Jpeg, (640, 480), None, LIMITS).unwrap_err();
        assert_eq!(err.status().as_u16(), 422);
        assert!(err.to_string().contains("corrupt or incomplete"), "{err}");
        let err = decode_jpeg_scaled(&photos::jpeg(64, 48), (64, 49)).unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
    }

    #[test]
    fn grey_and_cmyk_jpegs_decode_to_their_colours() {
        let grey = image::GrayImage::from_pixel(64, 48, image::Luma([200]));
        let mut jpeg = Cursor::new(Vec::new());
        grey.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let image = decode_jpeg_scaled(jpeg.get_ref(), (64, 48)).unwrap();
        let px = image.to_luma8().get_pixel(10, 10).0[0];
        assert!(px.abs_diff(200) <= 2, "{px}");

        // Adobe CMYK, as phones never make it but print shops do: cyan and
        // yellow ink make green.
        let cmyk = std::panic::catch_unwind(|| {
            let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
            c.set_size(64, 48);
            let mut c = c.start_compress(Vec::new()).unwrap();
            // C, M, Y, K stored as 255 - ink: full cyan and yellow, no
            // magenta, no black.
            let ink = [0u8, 255, 0, 255];
            c.write_scanlines(&ink.repeat(64 * 48)).unwrap();
            c.finish().unwrap()
        })
        .unwrap();
        let image = decode_jpeg_scaled(&cmyk, (64, 48)).unwrap().to_rgb8();
        let [r, g, b] = image.get_pixel(10, 10).0;
        assert!(r < 30 && g > 220 && b < 30, "{r} {g} {b}");
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
        let bits = big.phash.distance(small.phash);
        assert!(bits <= 6, "{} {}: {bits} bits", big.phash, small.phash);
        let checks = image::RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb(if (x / 40 + y / 60) % 2 == 0 {
                [250; 3]
            } else {
                [5; 3]
            })
        });
        let other = phash(&DynamicImage::ImageRgb8(checks));
        assert!(other.distance(small.phash) > 12, "{other}");
    }
}
