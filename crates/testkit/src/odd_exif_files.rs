//! The files of the odd-EXIF corpus ([`crate::odd_exif`]), each modelled
//! on what a real phone or camera writes.

use crate::odd_exif::{
    base_jpeg, with_app1s, xmp, Field, Layout, OddFile, Order, LAT_DMS, LON_DMS,
};
use std::io::Cursor;

const BE: Order = Order { big: true };
const LE: Order = Order { big: false };

/// A corpus JPEG with one EXIF APP1 from `layout`.
fn jpeg(name: &'static str, what: &'static str, layout: &Layout) -> OddFile {
    jpeg_with(name, what, &[layout.app1()])
}

fn jpeg_with(name: &'static str, what: &'static str, payloads: &[Vec<u8>]) -> OddFile {
    OddFile {
        name,
        what,
        bytes: with_app1s(&base_jpeg(), payloads),
    }
}

/// The sound layout with its GPS block replaced.
fn gps(gps: Vec<Field>) -> Layout {
    Layout {
        gps: Some(gps),
        ..Layout::sound(BE)
    }
}

/// The sound layout with DateTimeOriginal written as `bytes`.
fn taken(bytes: &[u8]) -> Layout {
    let field = BE.raw(
        0x9003,
        2,
        u32::try_from(bytes.len()).unwrap_or(0),
        bytes.to_vec(),
    );
    Layout {
        exif: Some(vec![field]),
        ..Layout::sound(BE)
    }
}

/// The sound GPS block with the latitude replaced.
fn latitude(lat: Field) -> Vec<Field> {
    let mut block = BE.gps();
    block[1] = lat;
    block
}

/// The corpus JPEGs: first the sound ones, in both byte orders and the
/// odd but readable forms of GPS.
pub(crate) fn jpegs() -> Vec<OddFile> {
    let mut files = vec![
        jpeg(
            "be-motorola.jpg",
            "sound EXIF, big-endian (MM, as Huawei and Canon write)",
            &Layout::sound(BE),
        ),
        jpeg(
            "le-intel.jpg",
            "sound EXIF, little-endian (II, as Samsung and Xiaomi write)",
            &Layout::sound(LE),
        ),
        jpeg(
            "gps-two-rationals.jpg",
            "GPSLatitude/Longitude as degrees and decimal minutes (2 rationals)",
            &gps(vec![
                BE.ascii(1, "N"),
                BE.rationals(2, 5, &[(29, 1), (50478, 1000)]),
                BE.ascii(3, "E"),
                BE.rationals(4, 5, &[(114, 1), (19350, 1000)]),
            ]),
        ),
        jpeg(
            "gps-srational.jpg",
            "GPS coordinates typed SRATIONAL instead of RATIONAL",
            &gps(vec![
                BE.ascii(1, "N"),
                BE.rationals(2, 10, &LAT_DMS),
                BE.ascii(3, "E"),
                BE.rationals(4, 10, &LON_DMS),
            ]),
        ),
    ];
    files.extend(odd_gps());
    files.extend(dates_and_directories());
    files.extend(structural());
    files
}

/// GPS blocks: zero denominators, a missing or lowercase hemisphere,
/// then the absurd ones.
fn odd_gps() -> Vec<OddFile> {
    let mut files = vec![
        jpeg(
            "gps-zero-over-zero.jpg",
            "GPS written without a fix: 0/0, 0/0, 0/0",
            &gps(latitude(BE.rationals(2, 5, &[(0, 0); 3]))),
        ),
        jpeg(
            "gps-x-over-zero.jpg",
            "a GPSLatitude minute of 50/0",
            &gps(latitude(BE.rationals(
                2,
                5,
                &[(29, 1), (50, 0), (2868, 100)],
            ))),
        ),
        jpeg(
            "gps-ref-missing.jpg",
            "GPSLatitudeRef missing",
            &gps(BE.gps().into_iter().filter(|f| f.tag != 1).collect()),
        ),
        jpeg(
            "gps-ref-lowercase.jpg",
            "GPSLatitudeRef/LongitudeRef written lowercase (n, e)",
            &gps(vec![
                BE.ascii(1, "n"),
                BE.rationals(2, 5, &LAT_DMS),
                BE.ascii(3, "e"),
                BE.rationals(4, 5, &LON_DMS),
            ]),
        ),
    ];
    files.extend(absurd_gps());
    files
}

/// GPS values that are absurd, mistyped or out of bounds.
fn absurd_gps() -> Vec<OddFile> {
    vec![
        jpeg(
            "gps-latitude-95.jpg",
            "a latitude of 95°",
            &gps(latitude(BE.rationals(2, 5, &[(95, 1), (0, 1), (0, 1)]))),
        ),
        jpeg(
            "gps-nan-double.jpg",
            "GPSLatitude typed DOUBLE, holding NaN",
            &gps(latitude(BE.raw(
                2,
                12,
                1,
                f64::NAN.to_bits().to_be_bytes().to_vec(),
            ))),
        ),
        jpeg(
            "gps-ascii-type.jpg",
            "GPSLatitude typed ASCII (\"29.8413\")",
            &gps(latitude(BE.ascii(2, "29.8413"))),
        ),
        jpeg(
            "gps-ifd-past-end.jpg",
            "the GPS IFD pointer past the end of the EXIF; a good DateTimeOriginal",
            &Layout {
                gps_offset: Some(60_000),
                ..Layout::sound(BE)
            },
        ),
        jpeg(
            "gps-count-billions.jpg",
            "a GPSLatitude entry counting 4 294 967 280 rationals",
            &gps(latitude(Field {
                count: 0xFFFF_FFF0,
                ..BE.rationals(2, 5, &LAT_DMS)
            })),
        ),
    ]
}

/// Odd DateTimeOriginal, then the odd directories.
fn dates_and_directories() -> Vec<OddFile> {
    let mut files = vec![
        jpeg(
            "date-zeros.jpg",
            "DateTimeOriginal \"0000:00:00 00:00:00\" (a phone without a clock)",
            &taken(b"0000:00:00 00:00:00\0"),
        ),
        jpeg(
            "date-blank.jpg",
            "DateTimeOriginal all blanks (the EXIF standard's \"unknown\")",
            &taken(b"                   \0"),
        ),
        jpeg(
            "date-trailing-nuls.jpg",
            "DateTimeOriginal with extra trailing NULs",
            &taken(b"2025:05:01 07:55:00\0\0\0"),
        ),
        jpeg(
            "date-with-timezone.jpg",
            "DateTimeOriginal with a time zone appended (+08:00)",
            &taken(b"2025:05:01 07:55:00+08:00\0"),
        ),
        jpeg(
            "date-1970.jpg",
            "DateTimeOriginal in 1970 (a clock reset to the epoch)",
            &taken(b"1970:01:01 08:00:00\0"),
        ),
        jpeg(
            "date-2099.jpg",
            "DateTimeOriginal in 2099",
            &taken(b"2099:01:01 08:00:00\0"),
        ),
    ];
    files.extend(odd_directories());
    files
}

/// Orientation, IFD chains, type codes and MakerNotes.
fn odd_directories() -> Vec<OddFile> {
    vec![
        jpeg(
            "orientation-9.jpg",
            "Orientation 9",
            &Layout {
                ifd0: vec![BE.ascii(0x010F, "HUAWEI"), BE.short(0x0112, 9)],
                ..Layout::sound(BE)
            },
        ),
        jpeg(
            "ifd-chain-loop.jpg",
            "IFD0's next-IFD offset points back at IFD0 (a loop)",
            &Layout {
                next: 8,
                ..Layout::sound(BE)
            },
        ),
        jpeg(
            "wrong-type-codes.jpg",
            "Orientation typed 255 and Make typed 0 (no such TIFF types)",
            &Layout {
                ifd0: vec![
                    BE.raw(0x010F, 0, 6, b"HUAWEI".to_vec()),
                    BE.raw(0x0112, 255, 1, vec![0, 1]),
                ],
                ..Layout::sound(BE)
            },
        ),
        jpeg(
            "makernote-bad-offsets.jpg",
            "a MakerNote whose offset lies far past the end (vendor data, never read)",
            &Layout {
                exif: Some(vec![
                    BE.ascii(0x9003, crate::odd_exif::TAKEN),
                    Field {
                        offset: Some(0x7FFF_0000),
                        ..BE.raw(0x927C, 7, 4096, b"HUAWEI\0\0".to_vec())
                    },
                ]),
                ..Layout::sound(BE)
            },
        ),
    ]
}

/// Files whose EXIF segment itself is odd.
fn structural() -> Vec<OddFile> {
    let sound = Layout::sound(BE).app1();
    let mut truncated = sound.clone();
    truncated.truncate(48);
    let mut past_end = sound.clone();
    past_end[10..14].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
    let far = Layout {
        gps: Some(vec![
            BE.ascii(1, "N"),
            BE.rationals(2, 5, &[(30, 1), (50, 1), (0, 1)]),
            BE.ascii(3, "E"),
            BE.rationals(4, 5, &LON_DMS),
        ]),
        ..Layout::sound(BE)
    };
    vec![
        jpeg_with(
            "app1-truncated.jpg",
            "the EXIF APP1 cut off after 48 bytes, inside IFD0",
            &[truncated],
        ),
        jpeg_with(
            "ifd0-offset-past-end.jpg",
            "the TIFF header's IFD0 offset past the end",
            &[past_end],
        ),
        jpeg_with(
            "two-app1-exif-xmp.jpg",
            "an EXIF APP1 and an XMP APP1",
            &[sound.clone(), xmp()],
        ),
        jpeg_with(
            "two-app1-disagree.jpg",
            "two EXIF APP1 segments whose GPS positions are 110 km apart",
            &[sound.clone(), far.app1()],
        ),
        jpeg_with(
            "no-exif-header.jpg",
            "an APP1 holding the TIFF data without its \"Exif\\0\\0\" header",
            &[Layout::sound(LE).tiff()],
        ),
        jpeg_with("xmp-only.jpg", "an XMP APP1 and no EXIF", &[xmp()]),
    ]
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            }
        })
    })
}

/// A PNG with an `eXIf` chunk after IHDR, and a WebP with an `EXIF` chunk.
pub(crate) fn containers() -> Vec<OddFile> {
    let png = crate::photos::png(64, 48);
    let tiff = Layout::sound(LE).tiff();
    let body = [&b"eXIf"[..], &tiff].concat();
    let chunk = [
        &u32::try_from(tiff.len()).unwrap_or(0).to_be_bytes()[..],
        &body,
        &crc32(&body).to_be_bytes(),
    ]
    .concat();
    // IHDR ends at 8 (signature) + 25.
    let png = [&png[..33], &chunk, &png[33..]].concat();
    let broken = gps(latitude(BE.rationals(
        2,
        5,
        &[(29, 1), (50, 0), (2868, 100)],
    )));
    vec![
        OddFile {
            name: "png-exif-chunk.png",
            what: "a PNG with sound EXIF in an eXIf chunk",
            bytes: png,
        },
        OddFile {
            name: "webp-exif-chunk.webp",
            what: "a WebP whose EXIF chunk starts \"Exif\\0\\0\" (as some writers do) and holds a 50/0 minute",
            bytes: webp_with_exif(&broken.app1()),
        },
    ]
}

/// A lossless 64×48 WebP with `exif` in an `EXIF` chunk (and the VP8X
/// header announcing it).
fn webp_with_exif(exif: &[u8]) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(64, 48, |x, y| {
        image::Rgba([x as u8 * 4, y as u8 * 5, 90, 255])
    });
    let mut plain = Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::WebP)
        .expect("in-memory WebP");
    let plain = plain.into_inner();
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = [
            kind,
            &u32::try_from(data.len()).unwrap_or(0).to_le_bytes(),
            data,
        ]
        .concat();
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend_from_slice(&63u32.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&47u32.to_le_bytes()[..3]);
    let body = [
        chunk(b"VP8X", &vp8x),
        plain[12..].to_vec(),
        chunk(b"EXIF", exif),
    ]
    .concat();
    let len = u32::try_from(body.len() + 4).unwrap_or(0).to_le_bytes();
    [&b"RIFF"[..], &len, b"WEBP", &body].concat()
}
