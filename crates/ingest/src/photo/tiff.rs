//! A bounded reader of the TIFF structure inside EXIF: byte order, image
//! file directories (IFDs) and the values of their entries.
//!
//! Phones and cameras write odd EXIF: offsets past the end, IFD chains
//! that loop, entry counts in the billions, unknown type codes. Nothing
//! here trusts an offset or a count: every read is checked against the
//! data's length (never more than the data is ever allocated), a
//! directory that does not fit yields the entries that do and says so,
//! and every failure is a sentence for the photo's `exif_unreadable`
//! flag, never a panic.

/// The most values decoded from one entry: the tags read here hold one to
/// three numbers or a short text (a camera's name).
const MAX_VALUES: u32 = 1024;

/// The most IFDs followed along the next-IFD chain (IFD0, IFD1, …).
const MAX_CHAIN: usize = 8;

/// EXIF's TIFF data, with its byte order.
#[derive(Clone, Copy, Debug)]
pub struct Tiff<'a> {
    /// Everything after `Exif\0\0`: the TIFF header and what it points to.
    data: &'a [u8],
    /// `MM` (Motorola) rather than `II` (Intel).
    big_endian: bool,
    /// Where IFD0 starts, from the header.
    pub first_ifd: u32,
}

/// One IFD entry, its value not yet read.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The tag (0x8825 the GPS IFD pointer, …).
    pub tag: u16,
    /// The TIFF type code (2 ASCII, 5 RATIONAL, …).
    pub kind: u16,
    /// How many values of that type.
    pub count: u32,
    /// Where the entry starts (its value or value offset is 8 bytes on).
    at: usize,
}

/// The entries of one IFD that could be read.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// The next-IFD offset, when the directory was whole (0: none).
    pub next: u32,
    /// Why some entries are missing (the directory runs past the end).
    pub truncated: Option<String>,
}

impl Directory {
    /// The entry for `tag`, if present.
    pub fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// A value decoded for one of the tags evidence is read from.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// ASCII, BYTE or UNDEFINED bytes (text as cameras write it).
    Bytes(&'a [u8]),
    /// SHORT or LONG.
    Unsigned(Vec<u32>),
    /// RATIONAL (`signed: false`) or SRATIONAL, as numerator/denominator.
    Rational(Vec<(i64, i64)>),
    /// FLOAT or DOUBLE.
    Float(Vec<f64>),
    /// SBYTE, SSHORT or SLONG.
    Signed(Vec<i64>),
}

/// The size in bytes of one value of TIFF type `kind`.
fn unit_size(kind: u16) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// The name of TIFF type `kind`, for reasons.
pub fn type_name(kind: u16) -> String {
    let name = match kind {
        1 => "BYTE",
        2 => "ASCII",
        3 => "SHORT",
        4 => "LONG",
        5 => "RATIONAL",
        6 => "SBYTE",
        7 => "UNDEFINED",
        8 => "SSHORT",
        9 => "SLONG",
        10 => "SRATIONAL",
        11 => "FLOAT",
        12 => "DOUBLE",
        13 => "IFD",
        other => return format!("unknown type code {other}"),
    };
    name.to_owned()
}

impl<'a> Tiff<'a> {
    /// The TIFF header of `data`: byte order, 42, IFD0's offset.
    pub fn parse(data: &'a [u8]) -> Result<Self, String> {
        let big_endian = match data.get(..4) {
            Some(b"MM\0*") => true,
            Some(b"II*\0") => false,
            Some(_) => return Err("the TIFF header is not II*\\0 or MM\\0*".to_owned()),
            None => {
                return Err(format!(
                    "the TIFF header is cut off after {} bytes",
                    data.len()
                ))
            }
        };
        let mut tiff = Self {
            data,
            big_endian,
            first_ifd: 0,
        };
        tiff.first_ifd = tiff
            .u32_at(4)
            .ok_or("the TIFF header is cut off before IFD0's offset")?;
        Ok(tiff)
    }

    /// The data's length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the data is empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64_at(&self, at: usize) -> Option<u64> {
        let hi = u64::from(self.u32_at(at)?);
        let lo = u64::from(self.u32_at(at + 4)?);
        Some(if self.big_endian {
            (hi << 32) | lo
        } else {
            (lo << 32) | hi
        })
    }

    /// The IFD at `offset` (`name` says which, for reasons): as many
    /// entries as fit, and why the others are missing.
    pub fn directory(&self, offset: u32, name: &str) -> Result<Directory, String> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let Some(count) = self.u16_at(start) else {
            return Err(format!(
                "the {name} offset {offset} is past the end of the {}-byte EXIF data",
                self.data.len()
            ));
        };
        let first = start + 2;
        let room = self.data.len().saturating_sub(first) / 12;
        let fit = usize::from(count).min(room);
        let entries = (0..fit)
            .map(|i| {
                let at = first + i * 12;
                Entry {
                    tag: self.u16_at(at).unwrap_or_default(),
                    kind: self.u16_at(at + 2).unwrap_or_default(),
                    count: self.u32_at(at + 4).unwrap_or_default(),
                    at,
                }
            })
            .collect();
        let next_at = first + usize::from(count) * 12;
        let (next, truncated) = match self.u32_at(next_at) {
            Some(next) if fit == usize::from(count) => (next, None),
            _ => (
                0,
                Some(format!(
                    "the {name} claims {count} entries but the EXIF data ends after {fit}"
                )),
            ),
        };
        Ok(Directory {
            entries,
            next,
            truncated,
        })
    }

    /// Follows the next-IFD chain from IFD0 (at most eight IFDs):
    /// why it is broken, if it is (a loop, or an IFD past the end).
    pub fn chain_problem(&self, ifd0: &Directory) -> Option<String> {
        let mut seen = vec![self.first_ifd];
        let mut next = ifd0.next;
        while next != 0 {
            if seen.contains(&next) {
                return Some(format!(
                    "the IFD chain loops: IFD{} points back to offset {next}",
                    seen.len() - 1
                ));
            }
            if seen.len() >= MAX_CHAIN {
                return Some(format!("the IFD chain is longer than {MAX_CHAIN} IFDs"));
            }
            let name = format!("IFD{}", seen.len());
            let dir = match self.directory(next, &name) {
                Ok(dir) => dir,
                Err(e) => return Some(e),
            };
            seen.push(next);
            next = dir.next;
        }
        None
    }

    /// Where an entry's value lies and how long it is, checked.
    fn value_span(&self, e: &Entry, name: &str) -> Result<(usize, usize), String> {
        let unit = unit_size(e.kind).ok_or_else(|| format!("{name} has {}", type_name(e.kind)))?;
        let len = unit * u64::from(e.count);
        if len <= 4 {
            return Ok((e.at + 8, usize::try_from(len).unwrap_or_default()));
        }
        let offset = self.u32_at(e.at + 8).unwrap_or(u32::MAX);
        let end = u64::from(offset) + len;
        if end > self.data.len() as u64 {
            return Err(format!(
                "{name}'s {} value(s) at offset {offset} run past the end of the {}-byte EXIF data",
                e.count,
                self.data.len()
            ));
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok((start, usize::try_from(len).unwrap_or(usize::MAX)))
    }

    /// The value of `e` (named `name` in reasons), within every bound.
    pub fn value(&self, e: &Entry, name: &str) -> Result<Value<'a>, String> {
        let (start, len) = self.value_span(e, name)?;
        let bytes = self
            .data
            .get(start..start + len)
            .ok_or_else(|| format!("{name} lies past the end of the EXIF data"))?;
        if matches!(e.kind, 1 | 2 | 7) {
            return Ok(Value::Bytes(bytes));
        }
        if e.count > MAX_VALUES {
            return Err(format!("{name} holds {} values, far too many", e.count));
        }
        let n = usize::try_from(e.count).unwrap_or_default();
        let at = |i: usize, size: usize| start + i * size;
        let value = match e.kind {
            3 => Value::Unsigned(
                (0..n)
                    .map(|i| u32::from(self.u16_at(at(i, 2)).unwrap_or_default()))
                    .collect(),
            ),
            4 | 13 => Value::Unsigned(
                (0..n)
                    .map(|i| self.u32_at(at(i, 4)).unwrap_or_default())
                    .collect(),
            ),
            5 | 10 => Value::Rational((0..n).map(|i| self.rational(at(i, 8), e.kind)).collect()),
            6 => Value::Signed(bytes.iter().map(|&b| i64::from(b as i8)).collect()),
            8 => Value::Signed(
                (0..n)
                    .map(|i| i64::from(self.u16_at(at(i, 2)).unwrap_or_default() as i16))
                    .collect(),
            ),
            9 => Value::Signed(
                (0..n)
                    .map(|i| i64::from(self.u32_at(at(i, 4)).unwrap_or_default() as i32))
                    .collect(),
            ),
            11 => Value::Float(
                (0..n)
                    .map(|i| f64::from(f32::from_bits(self.u32_at(at(i, 4)).unwrap_or_default())))
                    .collect(),
            ),
            _ => Value::Float(
                (0..n)
                    .map(|i| f64::from_bits(self.u64_at(at(i, 8)).unwrap_or_default()))
                    .collect(),
            ),
        };
        Ok(value)
    }

    /// The RATIONAL (5) or SRATIONAL (10) at `at`.
    fn rational(&self, at: usize, kind: u16) -> (i64, i64) {
        let num = self.u32_at(at).unwrap_or_default();
        let den = self.u32_at(at + 4).unwrap_or_default();
        if kind == 10 {
            (i64::from(num as i32), i64::from(den as i32))
        } else {
            (i64::from(num), i64::from(den))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Big-endian TIFF: header, then IFD0 at 8 with `entries`, then `tail`.
    fn tiff(entries: &[[u8; 12]], next: u32, tail: &[u8]) -> Vec<u8> {
        let mut out = b"MM\0*\0\0\0\x08".to_vec();
        out.extend_from_slice(&u16::try_from(entries.len()).unwrap().to_be_bytes());
        for e in entries {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&next.to_be_bytes());
        out.extend_from_slice(tail);
        out
    }

    fn entry(tag: u16, kind: u16, count: u32, value: u32) -> [u8; 12] {
        let mut e = [0; 12];
        e[..2].copy_from_slice(&tag.to_be_bytes());
        e[2..4].copy_from_slice(&kind.to_be_bytes());
        e[4..8].copy_from_slice(&count.to_be_bytes());
        e[8..].copy_from_slice(&value.to_be_bytes());
        e
    }

    #[test]
    fn values_are_read_inline_and_at_offsets_in_either_byte_order() {
        // IFD0 at 8: 2 entries → ends at 8 + 2 + 24 + 4 = 38.
        let data = tiff(
            &[entry(0x0112, 3, 1, 6 << 16), entry(2, 5, 1, 38)],
            0,
            &[0, 0, 0, 7, 0, 0, 0, 2],
        );
        let t = Tiff::parse(&data).unwrap();
        let d = t.directory(t.first_ifd, "IFD0").unwrap();
        assert!(d.truncated.is_none());
        assert_eq!(
            t.value(d.get(0x0112).unwrap(), "o").unwrap(),
            Value::Unsigned(vec![6])
        );
        assert_eq!(
            t.value(d.get(2).unwrap(), "r").unwrap(),
            Value::Rational(vec![(7, 2)])
        );
        let le = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x03\0\0\0\0\0\0\0";
        let t = Tiff::parse(le).unwrap();
        let d = t.directory(t.first_ifd, "IFD0").unwrap();
        assert_eq!(
            t.value(&d.entries[0], "o").unwrap(),
            Value::Unsigned(vec![3])
        );
    }

    #[test]
    fn offsets_counts_types_and_loops_are_reasons_not_panics() {
        let data = tiff(&[entry(2, 5, u32::MAX, 8), entry(3, 99, 1, 0)], 8, &[]);
        let t = Tiff::parse(&data).unwrap();
        let d = t.directory(t.first_ifd, "IFD0").unwrap();
        let err = t.value(&d.entries[0], "GPSLatitude").unwrap_err();
        assert!(err.contains("run past the end"), "{err}");
        let err = t.value(&d.entries[1], "X").unwrap_err();
        assert_eq!(err, "X has unknown type code 99");
        let looped = t.chain_problem(&d).unwrap();
        assert!(looped.contains("loops"), "{looped}");
        assert!(t
            .directory(4000, "GPS IFD")
            .unwrap_err()
            .contains("past the end"));
        let mut short = data.clone();
        short.truncate(20);
        let cut = Tiff::parse(&short).unwrap().directory(8, "IFD0").unwrap();
        assert_eq!(cut.entries.len(), 0);
        assert!(cut.truncated.unwrap().contains("claims 2 entries"));
        assert!(Tiff::parse(b"MM\0*\0").is_err());
        assert!(Tiff::parse(b"XX\0*\0\0\0\x08").is_err());
    }
}
