//! Lossless WebP metadata stripping.
//!
//! A WebP file is a RIFF container of chunks. The image chunks (`VP8 `,
//! `VP8L`, `VP8X`, `ALPH`, `ANIM`, `ANMF`) are copied byte for byte;
//! `EXIF`, `XMP `, `ICCP` and unknown chunks are dropped, the `VP8X` flags
//! that announce them are cleared, and the RIFF size is rewritten. Bytes
//! after the RIFF container are refused when they hold another file
//! ([`super::jpeg::check_trailer`]), dropped otherwise.

use super::PHOTO_PART;
use crate::Error;

/// The chunks that survive.
const KEPT: [&[u8; 4]; 6] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"];

/// VP8X flag bits for ICC, EXIF and XMP.
const METADATA_FLAGS: u8 = 0x20 | 0x08 | 0x04;

fn malformed(detail: &str) -> Error {
    Error::invalid_photo(PHOTO_PART, format!("not a well-formed WebP: {detail}"))
}

/// The WebP with only its image chunks.
pub fn strip(input: &[u8]) -> Result<Vec<u8>, Error> {
    if !(input.starts_with(b"RIFF") && input.get(8..12) == Some(b"WEBP")) {
        return Err(malformed("no RIFF/WEBP header"));
    }
    let riff_len = u32::from_le_bytes([input[4], input[5], input[6], input[7]]);
    let end = usize::try_from(riff_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= input.len())
        .ok_or_else(|| malformed("truncated: shorter than its RIFF size"))?;
    super::jpeg::check_trailer(&input[end..])?;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut pos = 12;
    let mut image_chunks = 0;
    while pos < end {
        let header = input
            .get(pos..pos + 8)
            .filter(|_| pos + 8 <= end)
            .ok_or_else(|| malformed("truncated chunk header"))?;
        let kind = &header[..4];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let padded = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .saturating_add(usize::try_from(len % 2).unwrap_or(0));
        let chunk_end = pos
            .checked_add(8)
            .and_then(|p| p.checked_add(padded))
            .filter(|&e| e <= end)
            .ok_or_else(|| malformed("truncated chunk"))?;
        if KEPT.iter().any(|k| &k[..] == kind) {
            let start = out.len();
            out.extend_from_slice(&input[pos..chunk_end]);
            if kind == b"VP8X" && len >= 1 {
                out[start + 8] &= !METADATA_FLAGS;
            }
            if kind != b"VP8X" {
                image_chunks += 1;
            }
        }
        pos = chunk_end;
    }
    if image_chunks == 0 {
        return Err(malformed("no image data"));
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| malformed("too large"))?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

/// The data of the `EXIF` chunk, if any (`None` also for a malformed
/// file, which [`strip`] refuses).
pub fn exif_chunk(input: &[u8]) -> Option<&[u8]> {
    if !(input.starts_with(b"RIFF") && input.get(8..12) == Some(b"WEBP")) {
        return None;
    }
    let mut pos: usize = 12;
    loop {
        let header = input.get(pos..pos.checked_add(8)?)?;
        let len = usize::try_from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]))
        .ok()?;
        let data = pos + 8;
        if &header[..4] == b"EXIF" {
            return input.get(data..data.checked_add(len)?);
        }
        pos = data.checked_add(len)?.checked_add(len % 2)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap().to_le_bytes();
        let mut out = [&kind[..], &len, data].concat();
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body = chunks.concat();
        let len = u32::try_from(body.len() + 4).unwrap().to_le_bytes();
        [&b"RIFF"[..], &len, b"WEBP", &body].concat()
    }

    /// A real lossless WebP made by the image crate.
    fn webp(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::WebP).unwrap();
        out.into_inner()
    }

    #[test]
    fn exif_xmp_and_icc_are_dropped_and_pixels_stay_equal() {
        let original = webp(20, 10);
        let image_chunk = original[12..].to_vec();
        let mut vp8x = vec![METADATA_FLAGS | 0x10, 0, 0, 0];
        vp8x.extend_from_slice(&[19, 0, 0, 9, 0, 0]);
        let dirty = riff(&[
            chunk(b"VP8X", &vp8x),
            chunk(b"ICCP", b"icc profile"),
            image_chunk.clone(),
            chunk(b"EXIF", b"MM\0*GPS 29.84N"),
            chunk(b"XMP ", b"<x:xmpmeta/>"),
        ]);
        let clean = strip(&dirty).unwrap();
        for needle in [&b"EXIF"[..], b"GPS", b"xmpmeta", b"ICCP"] {
            assert!(!clean.windows(needle.len()).any(|w| w == needle));
        }
        assert_eq!(clean[20] & METADATA_FLAGS, 0);
        let before = image::load_from_memory(&original).unwrap().to_rgba8();
        let after = image::load_from_memory(&clean).unwrap().to_rgba8();
        assert!(before.as_raw() == after.as_raw());
        assert_eq!(strip(&clean).unwrap(), clean);
    }

    #[test]
    fn truncated_garbage_and_polyglots_are_refused() {
        let good = webp(8, 8);
        for cut in 0..good.len() {
            assert!(strip(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut zip = good.clone();
        zip.extend_from_slice(b"PK\x03\x04 a zip file");
        assert!(matches!(strip(&zip), Err(Error::Polyglot { .. })));
        assert!(strip(&riff(&[chunk(b"EXIF", b"x")])).is_err());
    }
}
