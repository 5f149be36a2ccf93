//! A streaming reader of PostgreSQL's binary COPY format: an 11-byte
//! signature, flags and a header extension, then per row a field count
//! and per field a length (-1 for NULL) and its bytes, all big-endian, up
//! to a trailer of count -1. Chunks may cut rows anywhere.

use crate::Error;

/// `PGCOPY\n\377\r\n\0`.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The most fields a row may have (the audit needs at most 8).
const MAX_FIELDS: usize = 16;

/// Feeds chunks in, hands complete rows out.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Bytes of an incomplete header or row carried to the next chunk.
    carry: Vec<u8>,
    /// The header has been read.
    header_read: bool,
    /// The trailer has been read.
    done: bool,
}

/// What one step of parsing found at the start of a buffer.
enum Parsed {
    /// Needs more bytes.
    Incomplete,
    /// The end of the data (2 bytes).
    Trailer,
    /// A row (or the header) of `usize` bytes.
    Item(usize),
}

impl Decoder {
    /// Parses `chunk`, calling `row` with each complete row's fields.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(&[Option<&[u8]>]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.carry.is_empty() {
            let used = self.parse(chunk, &mut row)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let carry = std::mem::take(&mut self.carry);
            let used = self.parse(&carry, &mut row)?;
            self.carry = carry;
            self.carry.drain(..used);
        }
        Ok(())
    }

    /// Checks that the data ended with the trailer.
    pub fn finish(&self) -> Result<(), Error> {
        if self.done && self.carry.is_empty() {
            Ok(())
        } else {
            Err(corrupt("ended early"))
        }
    }

    /// Parses as much of `buf` as is complete; returns the bytes used.
    fn parse(
        &mut self,
        buf: &[u8],
        row: &mut impl FnMut(&[Option<&[u8]>]) -> Result<(), Error>,
    ) -> Result<usize, Error> {
        let mut at = 0;
        let mut fields: [Option<&[u8]>; MAX_FIELDS] = [None; MAX_FIELDS];
        while !self.done {
            let rest = &buf[at..];
            let parsed = if self.header_read {
                parse_row(rest, &mut fields, row)?
            } else {
                parse_header(rest)?
            };
            match parsed {
                Parsed::Incomplete => break,
                Parsed::Trailer => {
                    self.done = true;
                    at += 2;
                }
                Parsed::Item(len) => {
                    self.header_read = true;
                    at += len;
                }
            }
        }
        Ok(at)
    }
}

/// The header: signature, flags, extension length and extension.
fn parse_header(buf: &[u8]) -> Result<Parsed, Error> {
    let (Some(signature), Some(ext)) = (buf.get(..11), be_i32(buf, 15)) else {
        return Ok(Parsed::Incomplete);
    };
    if signature != SIGNATURE {
        return Err(corrupt("not binary COPY data"));
    }
    let ext = usize::try_from(ext).map_err(|_| corrupt("header"))?;
    let len = 19 + ext;
    Ok(if buf.len() < len {
        Parsed::Incomplete
    } else {
        Parsed::Item(len)
    })
}

/// One row at the start of `buf`, handed to `row` when complete.
fn parse_row<'b>(
    buf: &'b [u8],
    fields: &mut [Option<&'b [u8]>; MAX_FIELDS],
    row: &mut impl FnMut(&[Option<&[u8]>]) -> Result<(), Error>,
) -> Result<Parsed, Error> {
    let Some(count) = buf.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else {
        return Ok(Parsed::Incomplete);
    };
    if count == -1 {
        return Ok(Parsed::Trailer);
    }
    let count = usize::try_from(count)
        .ok()
        .filter(|n| *n <= MAX_FIELDS)
        .ok_or_else(|| corrupt("field count"))?;
    let mut at = 2;
    for field in fields.iter_mut().take(count) {
        let Some(len) = be_i32(buf, at) else {
            return Ok(Parsed::Incomplete);
        };
        at += 4;
        *field = if len < 0 {
            None
        } else {
            let end = at + usize::try_from(len).map_err(|_| corrupt("length"))?;
            let Some(bytes) = buf.get(at..end) else {
                return Ok(Parsed::Incomplete);
            };
            at = end;
            Some(bytes)
        };
    }
    row(&fields[..count])?;
    Ok(Parsed::Item(at))
}

fn be_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("binary COPY: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<u8> {
        let mut d = SIGNATURE.to_vec();
        d.extend(0_i32.to_be_bytes());
        d.extend(0_i32.to_be_bytes());
        for (text, n) in [(&b"wenquan"[..], Some(7_i64)), (b"fushan", None)] {
            d.extend(2_i16.to_be_bytes());
            d.extend((text.len() as i32).to_be_bytes());
            d.extend(text);
            match n {
                Some(n) => {
                    d.extend(8_i32.to_be_bytes());
                    d.extend(n.to_be_bytes());
                }
                None => d.extend((-1_i32).to_be_bytes()),
            }
        }
        d.extend((-1_i16).to_be_bytes());
        d
    }

    #[test]
    fn rows_come_out_whole_however_the_chunks_fall() {
        let data = data();
        for size in [1, 2, 3, 7, 19, 40, data.len()] {
            let mut decoder = Decoder::default();
            let mut rows = Vec::new();
            for chunk in data.chunks(size) {
                decoder
                    .feed(chunk, |f| {
                        rows.push((f[0].map(<[u8]>::to_vec), f[1].map(<[u8]>::len)));
                        Ok(())
                    })
                    .unwrap();
            }
            decoder.finish().unwrap();
            assert_eq!(
                rows,
                [
                    (Some(b"wenquan".to_vec()), Some(8)),
                    (Some(b"fushan".to_vec()), None)
                ],
                "chunks of {size}"
            );
        }
        let mut cut = Decoder::default();
        cut.feed(&data[..30], |_| Ok(())).unwrap();
        assert!(cut.finish().is_err());
        assert!(Decoder::default()
            .feed(b"COPY\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", |_| Ok(()))
            .is_err());
    }
}
