//! Lossless JPEG metadata stripping.
//!
//! The file is walked marker by marker. Segments that carry metadata (EXIF
//! and XMP in APP1, ICC and other vendor data in APP2..APP15, comments) are
//! dropped; everything the decoder needs (JFIF APP0, DQT, SOF, DHT, DRI,
//! SOS and the entropy-coded scans) is copied byte for byte, so the pixels
//! do not change. Anything after the end-of-image marker (phone vendors
//! append whole videos there) is dropped too. A file that ends before its
//! end-of-image marker is truncated and refused.

use super::PHOTO_PART;
use crate::Error;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// The most scans a JPEG may have. A phone's baseline JPEG has one, a
/// progressive one about ten; thousands of tiny scans would make each
/// decode pass over the whole coefficient buffer again (a CPU bomb), so
/// more are refused before decoding.
pub const MAX_SCANS: usize = 64;

fn malformed(detail: &str) -> Error {
    Error::invalid_photo(PHOTO_PART, format!("not a well-formed JPEG: {detail}"))
}

/// The JPEG without its metadata segments and trailing bytes.
pub fn strip(input: &[u8]) -> Result<Vec<u8>, Error> {
    if !input.starts_with(&[0xFF, SOI]) {
        return Err(malformed("no start-of-image marker"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    let mut scans = 0;
    loop {
        let (marker, after) = next_marker(input, pos)?;
        match marker {
            EOI => {
                check_trailer(&input[after..])?;
                out.extend_from_slice(&[0xFF, EOI]);
                return Ok(out);
            }
            SOI => return Err(malformed("a second start-of-image marker")),
            // Standalone markers (TEM, RSTn) have no length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                pos = after;
            }
            _ => {
                let end = segment_end(input, after)?;
                if is_kept(marker, &input[after + 2..end]) {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(&input[after..end]);
                }
                pos = end;
                if marker == SOS {
                    scans += 1;
                    if scans > MAX_SCANS {
                        return Err(Error::too_large(
                            PHOTO_PART,
                            format!("a JPEG may have at most {MAX_SCANS} scans"),
                        ));
                    }
                    let scan_end = entropy_end(input, pos)?;
                    out.extend_from_slice(&input[pos..scan_end]);
                    pos = scan_end;
                }
            }
        }
    }
}

/// Width and height from the frame header (SOFn), read before anything
/// else: no pixel is decoded and nothing is copied.
pub fn frame_size(input: &[u8]) -> Result<(u32, u32), Error> {
    if !input.starts_with(&[0xFF, SOI]) {
        return Err(malformed("no start-of-image marker"));
    }
    for segment in header_segments(input) {
        let (marker, sof) = segment?;
        // SOF0..SOF15, less DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let field = |at: usize| {
                sof.get(at..at + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
            };
            return match (field(1), field(3)) {
                (Some(height), Some(width)) => Ok((u32::from(width), u32::from(height))),
                _ => Err(malformed("short frame header")),
            };
        }
    }
    Err(malformed("no frame header before the image data"))
}

/// The most EXIF segments read from one JPEG.
const MAX_EXIF_SEGMENTS: usize = 2;

/// The payloads of the first two APP1 segments holding EXIF (starting
/// `Exif\0`, or a bare TIFF header from a writer that left `Exif\0\0`
/// out) before the first scan; an XMP APP1 is not EXIF. Segments after a
/// malformed one are not looked at (and [`strip`] refuses the file).
pub fn exif_payloads(input: &[u8]) -> Vec<&[u8]> {
    header_segments(input)
        .map_while(Result::ok)
        .filter(|(marker, payload)| {
            *marker == 0xE1
                && [&b"Exif\0"[..], b"MM\0*", b"II*\0"]
                    .iter()
                    .any(|id| payload.starts_with(id))
        })
        .map(|(_, payload)| payload)
        .take(MAX_EXIF_SEGMENTS)
        .collect()
}

/// The `(marker, payload)` of each segment after SOI and before the first
/// scan (standalone markers skipped); it ends at SOS, EOI or a second SOI,
/// or after the first malformed marker or segment (yielded as the error).
fn header_segments(input: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), Error>> + '_ {
    let mut pos = Some(2);
    std::iter::from_fn(move || loop {
        let (marker, after) = match next_marker(input, pos?) {
            Ok(found) => found,
            Err(e) => {
                pos = None;
                return Some(Err(e));
            }
        };
        match marker {
            SOS | EOI | SOI => {
                pos = None;
                return None;
            }
            0x01 | 0xD0..=0xD7 => pos = Some(after),
            _ => {
                let end = segment_end(input, after);
                pos = end.as_ref().ok().copied();
                return Some(end.map(|end| (marker, &input[after + 2..end])));
            }
        }
    })
}

/// Signatures of files that must not ride along after an image: archives,
/// documents, markup and executables (a polyglot). Phone trailers (motion
/// photo videos, depth maps) start otherwise and are merely dropped.
const POLYGLOT_SIGNATURES: [(&[u8], &str); 9] = [
    (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"<", "markup (HTML, SVG, XML or script)"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"#!", "a script"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xBC\xAF", "a 7-Zip archive"),
    (b"GIF8", "a GIF"),
];

/// Refuses bytes after an image's end that hold another file.
pub fn check_trailer(trailer: &[u8]) -> Result<(), Error> {
    let start = trailer
        .iter()
        .position(|b| !matches!(b, 0 | b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(trailer.len());
    let rest = &trailer[start..];
    let found = POLYGLOT_SIGNATURES
        .iter()
        .find(|(sig, _)| rest.starts_with(sig))
        .map(|(_, what)| *what)
        .or_else(|| contains_script(rest).then_some("a script"));
    match found {
        Some(what) => Err(Error::Polyglot {
            field: PHOTO_PART.to_owned(),
            detail: format!("the photo is followed by {what}; send the photo alone"),
        }),
        None => Ok(()),
    }
}

/// Whether `<script` or `<?php` occurs anywhere (case-insensitively).
fn contains_script(bytes: &[u8]) -> bool {
    bytes
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"<?php") || w.eq_ignore_ascii_case(b"<scri"))
}

/// Whether a segment survives: not a comment, not an application segment,
/// except JFIF's APP0 and Adobe's APP14 (which tells the decoder the colour
/// transform, so dropping it could change the pixels; it holds no personal
/// data).
fn is_kept(marker: u8, payload: &[u8]) -> bool {
    match marker {
        APP0 => payload.starts_with(b"JFIF\0"),
        APP14 => payload.starts_with(b"Adobe"),
        0xE1..=0xEF | COM => false,
        _ => true,
    }
}

/// The marker at `pos` (after any fill bytes) and the index just past it.
fn next_marker(input: &[u8], mut pos: usize) -> Result<(u8, usize), Error> {
    if input.get(pos) != Some(&0xFF) {
        return Err(if pos >= input.len() {
            malformed("truncated: no end-of-image marker")
        } else {
            malformed("expected a marker")
        });
    }
    while input.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    match input.get(pos) {
        None => Err(malformed("truncated: no end-of-image marker")),
        Some(0x00) => Err(malformed("expected a marker")),
        Some(&marker) => Ok((marker, pos + 1)),
    }
}

/// The end of the segment whose two length bytes start at `at`.
fn segment_end(input: &[u8], at: usize) -> Result<usize, Error> {
    let len_bytes = input
        .get(at..at + 2)
        .ok_or_else(|| malformed("truncated segment"))?;
    let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    if len < 2 {
        return Err(malformed("segment length below 2"));
    }
    let end = at + len;
    if end > input.len() {
        return Err(malformed("truncated segment"));
    }
    Ok(end)
}

/// Where the entropy-coded data starting at `pos` ends: at the next marker
/// that is neither a stuffed `FF 00` nor a restart marker.
fn entropy_end(input: &[u8], pos: usize) -> Result<usize, Error> {
    let mut i = pos;
    // memchr: a 0xFF comes about once in 256 bytes of scan data.
    while let Some(at) = input.get(i..).and_then(|rest| memchr::memchr(0xFF, rest)) {
        let ff = i + at;
        match input.get(ff + 1) {
            Some(&next) if next != 0x00 && !(0xD0..=0xD7).contains(&next) => return Ok(ff),
            Some(_) => i = ff + 2,
            None => break,
        }
    }
    Err(malformed("truncated: no end-of-image marker"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    /// A segment `FF <marker> <len> <payload>`.
    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
        [&[0xFF, marker][..], &len, payload].concat()
    }

    /// `jpeg` with EXIF (GPS), XMP and a comment after SOI, and a trailer.
    pub(crate) fn with_metadata(jpeg: &[u8]) -> Vec<u8> {
        let exif = segment(0xE1, b"Exif\0\0MM\0*\0\0\0\x08GPS 29.84N 114.32E");
        let xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
        let comment = segment(COM, b"taken by courier 42");
        let mut out = jpeg[..2].to_vec();
        out.extend([exif, xmp, comment].concat());
        out.extend_from_slice(&jpeg[2..]);
        out.extend_from_slice(b"MotionPhoto_Data trailing video");
        out
    }

    #[test]
    fn more_than_max_scans_is_refused_before_decoding() {
        assert!(strip(&photos::jpeg_with_scans(MAX_SCANS)).is_ok());
        let err = strip(&photos::jpeg_with_scans(MAX_SCANS + 1)).unwrap_err();
        assert_eq!(err.status().as_u16(), 413, "{err}");
        assert!(err.to_string().contains("scans"), "{err}");
    }

    #[test]
    fn the_frame_size_comes_from_the_header_alone() {
        let jpeg = photos::jpeg(64, 48);
        assert_eq!(frame_size(&jpeg).unwrap(), (64, 48));
        assert_eq!(frame_size(&with_metadata(&jpeg)).unwrap(), (64, 48));
        // The bytes up to the end of the frame header (3 components) suffice.
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(frame_size(&jpeg[..sof + 2 + 17]).unwrap(), (64, 48));
        assert!(frame_size(&jpeg[..sof + 2 + 16]).is_err());
        assert!(frame_size(&[0xFF, SOI, 0xFF, EOI]).is_err());
        assert!(frame_size(b"not a jpeg").is_err());
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn exif_comment_and_trailer_are_dropped_and_pixels_stay_equal() {
        let original = photos::jpeg(64, 48);
        let dirty = with_metadata(&original);
        assert!(contains(&dirty, b"Exif\0\0"));
        let clean = strip(&dirty).unwrap();
        for needle in [
            &b"Exif"[..],
            b"GPS",
            b"xmpmeta",
            b"courier 42",
            b"MotionPhoto",
        ] {
            assert!(
                !contains(&clean, needle),
                "{}",
                String::from_utf8_lossy(needle)
            );
        }
        assert!(clean.ends_with(&[0xFF, EOI]));
        let before = image::load_from_memory(&dirty).unwrap().to_rgb8();
        let after = image::load_from_memory(&clean).unwrap().to_rgb8();
        assert_eq!(before.dimensions(), after.dimensions());
        assert!(before.as_raw() == after.as_raw(), "pixels changed");
        // Stripping is idempotent: a clean file comes out unchanged.
        assert_eq!(strip(&clean).unwrap(), clean);
    }

    #[test]
    fn truncated_and_garbage_input_is_refused_without_panicking() {
        assert!(strip(&photos::truncated_jpeg()).is_err());
        let good = photos::jpeg(16, 16);
        for cut in 0..good.len() - 1 {
            assert!(strip(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(strip(b"\xFF\xD8\xFF\xE1\x00\x01").is_err());
        assert!(strip(b"\xFF\xD8\x00\x00").is_err());
        assert!(strip(b"\xFF\xD8\xFF\xD8\xFF\xD9").is_err());
        assert!(strip(&photos::not_a_photo()).is_err());
    }

    #[test]
    fn files_after_the_image_are_polyglots_but_phone_trailers_are_not() {
        let good = photos::jpeg(16, 16);
        for trailer in [
            &b"PK\x03\x04zip"[..],
            b"\n<html><script>alert(1)</script>",
            b"%PDF-1.7",
            b"\0\0MZ\x90",
            b"xx<ScRiPt>",
        ] {
            let file = [&good[..], trailer].concat();
            assert!(
                matches!(strip(&file), Err(Error::Polyglot { .. })),
                "{trailer:?}"
            );
        }
        let motion = [&good[..], b"\0\0\0\x18ftypmp42 video"].concat();
        assert_eq!(strip(&motion).unwrap(), strip(&good).unwrap());
    }
}
