// The evidence a phone photo carries, kept through the page's resize: the
// canvas that shrinks a photo writes a JPEG without metadata, so the
// original's EXIF (time taken, GPS, camera) is read here and written into
// the resized JPEG as a new, small APP1 segment. Only what the server's
// evidence checks read is copied, as it was: Make, Model, DateTimeOriginal
// (and its offset and sub-seconds) and the whole GPS directory; Orientation
// is 1 (the canvas already turned the pixels); the embedded thumbnail
// (IFD1) and everything else is dropped. Anything odd means no EXIF, never
// a failed report.

/** The largest APP1 segment a JPEG can hold (its length field is 16 bits). */
const MAX_SEGMENT = 0xffff;
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
const TAG = {
  make: 0x010f, model: 0x0110, orientation: 0x0112, exifIfd: 0x8769, gpsIfd: 0x8825,
  taken: 0x9003, takenOffset: 0x9011, takenSubsec: 0x9291,
};
const KEEP_IFD0 = [TAG.make, TAG.model];
const KEEP_EXIF = [TAG.taken, TAG.takenOffset, TAG.takenSubsec];

/** The TIFF bytes of a JPEG's EXIF APP1, a PNG's eXIf or a WebP's EXIF chunk; null if none. */
export function tiffOf(bytes) {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegTiff(bytes);
  if (bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG') return pngTiff(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpTiff(bytes);
  return null;
}

function ascii(bytes, at, n) {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

function jpegTiff(b) {
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1], len = (b[i + 2] << 8) | b[i + 3];
    if (marker === 0xda || marker === 0xd9) return null; // pixels: no more headers
    if (marker === 0xe1 && EXIF_HEADER.every((x, k) => b[i + 4 + k] === x)) return b.subarray(i + 10, i + 2 + len);
    i += 2 + len;
  }
  return null;
}

function pngTiff(b) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 8; i + 12 <= b.length;) {
    const len = view.getUint32(i);
    if (ascii(b, i + 4, 4) === 'eXIf') return b.subarray(i + 8, i + 8 + len);
    i += 12 + len;
  }
  return null;
}

function webpTiff(b) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 12; i + 8 <= b.length;) {
    const len = view.getUint32(i + 4, true);
    if (ascii(b, i, 4) === 'EXIF') {
      const chunk = b.subarray(i + 8, i + 8 + len);
      // Some writers keep the JPEG "Exif\0\0" header in the chunk.
      return EXIF_HEADER.every((x, k) => chunk[k] === x) ? chunk.subarray(6) : chunk;
    }
    i += 8 + len + (len & 1);
  }
  return null;
}

/** The entries of the IFD at `offset`: [{tag, type, count, value: bytes}]. Throws on anything out of bounds. */
function readIfd(tiff, view, le, offset) {
  if (offset < 8 || offset + 2 > tiff.length) throw new Error('IFD offset');
  const n = view.getUint16(offset, le);
  if (offset + 2 + n * 12 > tiff.length) throw new Error('IFD size');
  const entries = [];
  for (let k = 0; k < n; k++) {
    const at = offset + 2 + k * 12;
    const tag = view.getUint16(at, le), type = view.getUint16(at + 2, le), count = view.getUint32(at + 4, le);
    const size = TYPE_SIZE[type];
    if (!size) continue; // an unknown type: not one we copy
    const len = size * count;
    const from = len <= 4 ? at + 8 : view.getUint32(at + 8, le);
    if (len > tiff.length || from + len > tiff.length) throw new Error(`tag ${tag} out of bounds`);
    entries.push({ tag, type, count, value: tiff.slice(from, from + len) });
  }
  return entries;
}

/** {le, ifd0, exif, gps}: the parts of a TIFF we read; throws if it is not one. */
function parse(tiff) {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') throw new Error('byte order');
  const le = order === 'II';
  if (view.getUint16(2, le) !== 42) throw new Error('not TIFF');
  const ifd0 = readIfd(tiff, view, le, view.getUint32(4, le));
  const pointer = (tag) => {
    const e = ifd0.find((x) => x.tag === tag && x.type === 4 && x.count === 1);
    return e ? new DataView(e.value.buffer).getUint32(0, le) : null;
  };
  const sub = (tag) => (pointer(tag) === null ? [] : readIfd(tiff, view, le, pointer(tag)));
  return { le, ifd0, exif: sub(TAG.exifIfd), gps: sub(TAG.gpsIfd) };
}

/** Degrees from a GPS rational triple and its N/S or E/W reference; null if unreadable. */
function degrees(gps, le, tag, refTag, negative) {
  const e = gps.find((x) => x.tag === tag && x.type === 5 && x.count === 3);
  const ref = gps.find((x) => x.tag === refTag);
  if (!e) return null;
  const v = new DataView(e.value.buffer);
  const part = (k) => v.getUint32(k * 8, le) / (v.getUint32(k * 8 + 4, le) || NaN);
  const d = part(0) + part(1) / 60 + part(2) / 3600;
  if (!Number.isFinite(d)) return null;
  return ref && String.fromCharCode(ref.value[0]) === negative ? -d : d;
}

/** What a photo says of itself: {gps: {lat, lon} | null, taken: 'YYYY:MM:DD hh:mm:ss' | null}; null without EXIF. */
export function readEvidence(bytes) {
  try {
    const tiff = tiffOf(bytes);
    if (!tiff) return null;
    const { le, exif, gps } = parse(tiff);
    const lat = degrees(gps, le, 2, 1, 'S'), lon = degrees(gps, le, 4, 3, 'W');
    const ok = lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && (lat || lon);
    const taken = exif.find((x) => x.tag === TAG.taken && x.type === 2);
    return {
      gps: ok ? { lat, lon } : null,
      taken: taken ? String.fromCharCode(...taken.value).replace(/\0.*$/s, '') : null,
    };
  } catch {
    return null;
  }
}

/** A TIFF (byte order `le`) holding IFD0, then the Exif and GPS IFDs, each followed by its long values. */
function writeTiff(le, ifd0, exif, gps) {
  const dirs = [ifd0, exif, gps].filter((d) => d.length);
  const valueBytes = (d) => d.reduce((n, e) => n + (e.value.length > 4 ? e.value.length + (e.value.length & 1) : 0), 0);
  const sizes = dirs.map((d) => 2 + d.length * 12 + 4 + valueBytes(d));
  const out = new Uint8Array(8 + sizes.reduce((a, b) => a + b, 0));
  const view = new DataView(out.buffer);
  out.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
  view.setUint16(2, 42, le);
  view.setUint32(4, 8, le);
  const starts = [];
  sizes.reduce((at, size) => { starts.push(at); return at + size; }, 8);
  const start = (d) => starts[dirs.indexOf(d)];
  for (const e of ifd0) {
    if (e.tag === TAG.exifIfd) e.value = u32(start(exif), le);
    if (e.tag === TAG.gpsIfd) e.value = u32(start(gps), le);
  }
  dirs.forEach((d, k) => {
    const sorted = [...d].sort((a, b) => a.tag - b.tag);
    let data = starts[k] + 2 + d.length * 12 + 4;
    view.setUint16(starts[k], d.length, le);
    sorted.forEach((e, n) => {
      const at = starts[k] + 2 + n * 12;
      view.setUint16(at, e.tag, le);
      view.setUint16(at + 2, e.type, le);
      view.setUint32(at + 4, e.count, le);
      if (e.value.length <= 4) out.set(e.value, at + 8);
      else {
        view.setUint32(at + 8, data, le);
        out.set(e.value, data);
        data += e.value.length + (e.value.length & 1);
      }
    });
    // No next IFD: the thumbnail's IFD1 is dropped.
    view.setUint32(starts[k] + 2 + d.length * 12, 0, le);
  });
  return out;
}

function u32(n, le) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, le);
  return b;
}

/** The small TIFF carried into the resized photo, or null. */
function keptTiff(original) {
  const tiff = tiffOf(original);
  if (!tiff) return null;
  const { le, ifd0, exif, gps } = parse(tiff);
  const keptExif = exif.filter((e) => KEEP_EXIF.includes(e.tag));
  const kept0 = ifd0.filter((e) => KEEP_IFD0.includes(e.tag));
  const one = new Uint8Array(4);
  new DataView(one.buffer).setUint16(0, 1, le);
  kept0.push({ tag: TAG.orientation, type: 3, count: 1, value: one });
  if (keptExif.length) kept0.push({ tag: TAG.exifIfd, type: 4, count: 1, value: u32(0, le) });
  if (gps.length) kept0.push({ tag: TAG.gpsIfd, type: 4, count: 1, value: u32(0, le) });
  if (!keptExif.length && !gps.length) return null;
  return writeTiff(le, kept0, keptExif, gps);
}

/**
 * `resized` (a JPEG from a canvas) with the evidence of `original` (the
 * camera's file: JPEG, PNG or WebP) as an APP1 segment after its JFIF
 * header. Returns `resized` unchanged when the original has no readable
 * EXIF or the segment would not fit.
 */
export function carryExif(original, resized) {
  try {
    if (resized[0] !== 0xff || resized[1] !== 0xd8) return resized;
    const tiff = keptTiff(original);
    if (!tiff || tiff.length + EXIF_HEADER.length + 2 > MAX_SEGMENT) return resized;
    const length = tiff.length + EXIF_HEADER.length + 2;
    const segment = new Uint8Array(2 + length);
    segment.set([0xff, 0xe1, length >> 8, length & 0xff, ...EXIF_HEADER]);
    segment.set(tiff, 10);
    // After the APP0 (JFIF) segment when there is one, else after SOI.
    const app0 = resized[2] === 0xff && resized[3] === 0xe0 ? 2 + ((resized[4] << 8) | resized[5]) : 0;
    const at = 2 + app0;
    const out = new Uint8Array(resized.length + segment.length);
    out.set(resized.subarray(0, at));
    out.set(segment, at);
    out.set(resized.subarray(at), at + segment.length);
    return out;
  } catch {
    return resized;
  }
}
