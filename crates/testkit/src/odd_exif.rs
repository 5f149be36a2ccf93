//! The odd-EXIF corpus (`fixtures/photos/odd-exif/`): small photos whose
//! EXIF is written byte by byte the way real phones and cameras get it
//! wrong. Made by the project (CC0); `cargo run -p civicprobe-testkit
//! --example odd_exif_corpus` writes the files, and ingest's
//! `tests/odd_exif.rs` checks the committed ones are exactly these.

use crate::photos;

/// One file of the corpus.
#[derive(Clone, Debug)]
pub struct OddFile {
    /// Its file name.
    pub name: &'static str,
    /// What is odd about it (the corpus README's line).
    pub what: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Where the photos were "taken": Wenquan, Xian'an (29.8413 N, 114.3225 E)
/// as degrees, minutes and hundredths of seconds.
pub const LAT_DMS: [(u32, u32); 3] = [(29, 1), (50, 1), (2868, 100)];
/// The longitude, likewise.
pub const LON_DMS: [(u32, u32); 3] = [(114, 1), (19, 1), (2100, 100)];
/// The DateTimeOriginal of the sound files.
pub const TAKEN: &str = "2025:05:01 07:55:00";

/// An IFD entry: tag, TIFF type, count and the value's bytes (in the
/// file's byte order); `offset` forces the value offset written.
#[derive(Clone, Debug)]
pub struct Field {
    /// The tag.
    pub tag: u16,
    /// The TIFF type code.
    pub kind: u16,
    /// The count written (not checked against `data`).
    pub count: u32,
    /// The value's bytes.
    pub data: Vec<u8>,
    /// A value offset to write instead of where `data` is put.
    pub offset: Option<u32>,
}

/// Byte order and the encoders of values in it.
#[derive(Clone, Copy, Debug)]
pub struct Order {
    /// Motorola (`MM`) rather than Intel (`II`).
    pub big: bool,
}

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// An ASCII field (NUL-terminated).
    pub fn ascii(self, tag: u16, text: &str) -> Field {
        let data = [text.as_bytes(), b"\0"].concat();
        self.raw(tag, 2, u32::try_from(data.len()).unwrap_or(0), data)
    }

    /// A field of any type from its bytes.
    pub fn raw(self, tag: u16, kind: u16, count: u32, data: Vec<u8>) -> Field {
        Field {
            tag,
            kind,
            count,
            data,
            offset: None,
        }
    }

    /// A SHORT.
    pub fn short(self, tag: u16, v: u16) -> Field {
        self.raw(tag, 3, 1, self.u16(v).to_vec())
    }

    /// RATIONALs (`kind` 5) or SRATIONALs (10).
    pub fn rationals(self, tag: u16, kind: u16, parts: &[(u32, u32)]) -> Field {
        let data: Vec<u8> = parts
            .iter()
            .flat_map(|&(n, d)| [self.u32(n), self.u32(d)].concat())
            .collect();
        self.raw(tag, kind, u32::try_from(parts.len()).unwrap_or(0), data)
    }

    /// A sound GPS block at [`LAT_DMS`], [`LON_DMS`].
    pub fn gps(self) -> Vec<Field> {
        vec![
            self.ascii(1, "N"),
            self.rationals(2, 5, &LAT_DMS),
            self.ascii(3, "E"),
            self.rationals(4, 5, &LON_DMS),
        ]
    }

    /// A sound Exif IFD: DateTimeOriginal [`TAKEN`].
    pub fn exif(self) -> Vec<Field> {
        vec![self.ascii(0x9003, TAKEN)]
    }

    /// A sound IFD0: a phone's Make, Model and Orientation 1.
    pub fn ifd0(self) -> Vec<Field> {
        vec![
            self.ascii(0x010F, "HUAWEI"),
            self.ascii(0x0110, "ELS-AN00"),
            self.short(0x0112, 1),
        ]
    }
}

/// A TIFF structure: IFD0 (with pointers to the Exif and GPS IFDs when
/// given) at offset 8, the sub-IFDs after it, then the values.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The byte order.
    pub order: Order,
    /// IFD0's own fields.
    pub ifd0: Vec<Field>,
    /// The Exif IFD's fields, if there is one.
    pub exif: Option<Vec<Field>>,
    /// The GPS IFD's fields, if there is one.
    pub gps: Option<Vec<Field>>,
    /// IFD0's next-IFD offset (0: none).
    pub next: u32,
    /// A GPS IFD offset to write instead of the real one.
    pub gps_offset: Option<u32>,
}

impl Layout {
    /// A sound photo's EXIF: IFD0, Exif IFD and GPS IFD.
    pub fn sound(order: Order) -> Self {
        Self {
            order,
            ifd0: order.ifd0(),
            exif: Some(order.exif()),
            gps: Some(order.gps()),
            next: 0,
            gps_offset: None,
        }
    }

    /// The TIFF bytes.
    pub fn tiff(&self) -> Vec<u8> {
        let o = self.order;
        let ifd_len = |n: usize| 2 + 12 * n + 4;
        let mut ifd0 = self.ifd0.clone();
        let pointer = |tag| o.raw(tag, 4, 1, vec![0; 4]);
        if self.exif.is_some() {
            ifd0.push(pointer(0x8769));
        }
        if self.gps.is_some() {
            ifd0.push(pointer(0x8825));
        }
        ifd0.sort_by_key(|f| f.tag);
        let len_of = |ifd: &Option<Vec<Field>>| ifd.as_ref().map_or(0, |f| ifd_len(f.len()));
        let exif_at = 8 + ifd_len(ifd0.len());
        let gps_at = exif_at + len_of(&self.exif);
        let data_at = gps_at + len_of(&self.gps);
        let at = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        for f in &mut ifd0 {
            match f.tag {
                0x8769 => f.data = o.u32(at(exif_at)).to_vec(),
                0x8825 => f.data = o.u32(self.gps_offset.unwrap_or(at(gps_at))).to_vec(),
                _ => {}
            }
        }
        let mut head = [&b"MM\0*"[..], &o.u32(8)].concat();
        if !o.big {
            head[..4].copy_from_slice(b"II*\0");
        }
        let mut out = Written {
            order: o,
            data_at,
            ifds: Vec::new(),
            values: Vec::new(),
        };
        out.ifd(&ifd0, self.next);
        for fields in [&self.exif, &self.gps].into_iter().flatten() {
            out.ifd(fields, 0);
        }
        [head, out.ifds, out.values].concat()
    }

    /// The APP1 payload: `Exif\0\0` and the TIFF bytes.
    pub fn app1(&self) -> Vec<u8> {
        [&b"Exif\0\0"[..], &self.tiff()].concat()
    }
}

/// A TIFF structure being written: the IFDs, then the values they point
/// to (starting at `data_at`).
struct Written {
    /// The byte order.
    order: Order,
    /// Where the values start in the TIFF data.
    data_at: usize,
    /// The IFDs written so far.
    ifds: Vec<u8>,
    /// The out-of-line values written so far.
    values: Vec<u8>,
}

impl Written {
    /// One IFD of `fields`, then its next-IFD offset.
    fn ifd(&mut self, fields: &[Field], next: u32) {
        let o = self.order;
        let count = u16::try_from(fields.len()).unwrap_or(0);
        self.ifds.extend_from_slice(&o.u16(count));
        for f in fields {
            self.ifds.extend_from_slice(&o.u16(f.tag));
            self.ifds.extend_from_slice(&o.u16(f.kind));
            self.ifds.extend_from_slice(&o.u32(f.count));
            if f.data.len() <= 4 && f.offset.is_none() {
                let mut inline = f.data.clone();
                inline.resize(4, 0);
                self.ifds.extend_from_slice(&inline);
                continue;
            }
            let here = u32::try_from(self.data_at + self.values.len()).unwrap_or(u32::MAX);
            self.ifds
                .extend_from_slice(&o.u32(f.offset.unwrap_or(here)));
            self.values.extend_from_slice(&f.data);
            if self.values.len() % 2 == 1 {
                self.values.push(0);
            }
        }
        self.ifds.extend_from_slice(&o.u32(next));
    }
}

/// `jpeg` with APP1 segments holding `payloads`, in order, after SOI.
pub fn with_app1s(jpeg: &[u8], payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for p in payloads {
        let len = u16::try_from(p.len() + 2).unwrap_or(u16::MAX);
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(p);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The base picture of every corpus JPEG.
pub fn base_jpeg() -> Vec<u8> {
    photos::jpeg(64, 48)
}

/// An XMP APP1 payload, as cameras write next to (or instead of) EXIF.
pub fn xmp() -> Vec<u8> {
    let packet = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:DateTimeOriginal=\"2025-05-01T07:55:00\"/></rdf:RDF></x:xmpmeta>";
    [&b"http://ns.adobe.com/xap/1.0/\0"[..], packet.as_bytes()].concat()
}

/// Every file of the corpus, in the README's order.
pub fn corpus() -> Vec<OddFile> {
    let mut files = crate::odd_exif_files::jpegs();
    files.extend(crate::odd_exif_files::containers());
    files
}
