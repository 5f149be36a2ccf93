//! Real photo bytes for tests, made in memory.

use image::{ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

/// A `width`×`height` gradient image, so encoders do real work.
fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    })
}

fn encode(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    gradient(width, height)
        .write_to(&mut out, format)
        .expect("encoding an in-memory image cannot fail");
    out.into_inner()
}

/// A valid baseline JPEG.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, ImageFormat::Jpeg)
}

/// A valid PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, ImageFormat::Png)
}

/// A JPEG cut off in the middle of its entropy-coded data.
pub fn truncated_jpeg() -> Vec<u8> {
    let mut bytes = jpeg(64, 48);
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// A JPEG whose framing is intact (it ends with its end-of-image marker)
/// but whose entropy-coded data stops halfway: only a decoder notices.
pub fn cut_scan_jpeg() -> Vec<u8> {
    let mut bytes = jpeg(640, 480);
    bytes.truncate(bytes.len() / 2);
    // A stuffed or restart byte pair cut in two would be a stray 0xFF.
    while bytes.last() == Some(&0xFF) {
        bytes.pop();
    }
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// A 16×16 JPEG whose one scan is repeated to make `n` scans: a CPU bomb's
/// shape (each scan is another pass over the image).
pub fn jpeg_with_scans(n: usize) -> Vec<u8> {
    let jpeg = jpeg(16, 16);
    let sos = jpeg
        .windows(2)
        .position(|p| p == [0xFF, 0xDA])
        .expect("a JPEG has a scan");
    let eoi = jpeg.len() - 2;
    let mut out = jpeg[..sos].to_vec();
    for _ in 0..n {
        out.extend_from_slice(&jpeg[sos..eoi]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Text that claims to be a photo.
pub fn not_a_photo() -> Vec<u8> {
    b"GIF89a? no, just text pretending to be a photo".to_vec()
}
