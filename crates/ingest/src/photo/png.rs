//! PNG metadata stripping.
//!
//! Only the chunks that make the pixels are kept: `IHDR`, `PLTE`, `tRNS`,
//! `IDAT` and `IEND`, copied byte for byte with their CRCs. Text (`tEXt`,
//! `zTXt`, `iTXt`), `eXIf`, `tIME` and every other ancillary chunk is
//! dropped, and so is anything after `IEND` (unless it is another file:
//! a polyglot, refused). A file that ends before `IEND`
//! is truncated and refused.

use super::PHOTO_PART;
use crate::Error;

/// Every PNG starts with these eight bytes.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The chunks that survive.
const KEPT: [&[u8; 4]; 5] = [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"];

fn malformed(detail: &str) -> Error {
    Error::invalid_photo(PHOTO_PART, format!("not a well-formed PNG: {detail}"))
}

/// The PNG with only its critical chunks and `tRNS`.
pub fn strip(input: &[u8]) -> Result<Vec<u8>, Error> {
    if !input.starts_with(&SIGNATURE) {
        return Err(malformed("no PNG signature"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&SIGNATURE);
    let mut pos = SIGNATURE.len();
    loop {
        let header = input
            .get(pos..pos + 8)
            .ok_or_else(|| malformed("truncated: no IEND chunk"))?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = &header[4..8];
        // length + type + data + CRC
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(12)?.checked_add(len))
            .filter(|&end| end <= input.len())
            .ok_or_else(|| malformed("truncated chunk"))?;
        if KEPT.iter().any(|k| &k[..] == kind) {
            out.extend_from_slice(&input[pos..end]);
        }
        pos = end;
        if kind == b"IEND" {
            super::jpeg::check_trailer(&input[end..])?;
            return Ok(out);
        }
    }
}

/// The data of the first `eXIf` chunk, if any
/// (the chunks are walked as [`strip`] walks them; `None` also for a
/// malformed file, which [`strip`] refuses).
pub fn exif_chunk(input: &[u8]) -> Option<&[u8]> {
    let mut pos = SIGNATURE.len();
    loop {
        let header = input.get(pos..pos.checked_add(8)?)?;
        let len = usize::try_from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]))
        .ok()?;
        let data = pos + 8;
        let end = data.checked_add(len)?.checked_add(4)?;
        match &header[4..8] {
            b"eXIf" => return input.get(data..data + len),
            b"IEND" => return None,
            _ => pos = end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    /// A chunk with a (deliberately wrong) CRC; dropped chunks are never
    /// checked by anyone.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap().to_be_bytes();
        [&len[..], kind, data, &[0, 0, 0, 0]].concat()
    }

    #[test]
    fn text_exif_and_time_chunks_are_dropped_and_pixels_stay_equal() {
        let original = photos::png(40, 30);
        // Insert after IHDR (8 signature + 25 IHDR bytes).
        let mut dirty = original[..33].to_vec();
        dirty.extend(chunk(b"tEXt", b"Author\0courier 42"));
        dirty.extend(chunk(b"eXIf", b"MM\0*GPS 29.84N"));
        dirty.extend(chunk(b"tIME", b"\x07\xe9\x05\x01\x08\x00\x00"));
        dirty.extend_from_slice(&original[33..]);
        dirty.extend_from_slice(b"trailing");
        let clean = strip(&dirty).unwrap();
        assert_eq!(clean, original);
        let decoded = image::load_from_memory(&clean).unwrap().to_rgb8();
        let expected = image::load_from_memory(&original).unwrap().to_rgb8();
        assert!(decoded.as_raw() == expected.as_raw());
    }

    #[test]
    fn truncated_and_garbage_input_is_refused_without_panicking() {
        let good = photos::png(8, 8);
        for cut in 0..good.len() - 1 {
            assert!(strip(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = SIGNATURE.to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        huge.extend_from_slice(b"IDAT");
        assert!(strip(&huge).is_err());
        assert!(strip(&photos::not_a_photo()).is_err());
    }
}
