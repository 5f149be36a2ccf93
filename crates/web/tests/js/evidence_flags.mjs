// Renders the office's ticket detail (assets/ticket_detail.js) in node with
// a minimal DOM, for a report carrying the exif_unreadable and
// position_from_exif flags: each has its label in Chinese and in English,
// and the reason ingest wrote is shown as text, never as HTML.
// Run by tests/evidence_flags.rs: node evidence_flags.mjs <assets dir>.

import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

class Element {
  constructor(tag) { this.tag = tag; this.attrs = {}; this.children = []; }
  setAttribute(k, v) { this.attrs[k] = v; }
  append(...c) { this.children.push(...c); }
  addEventListener() {}
  replaceWith() {}
  get textContent() { return this.children.map((c) => c.textContent).join(''); }
  *all() { for (const c of this.children) if (c instanceof Element) { yield c; yield* c.all(); } }
}
class Text { constructor(data) { this.data = data; } get textContent() { return this.data; } }
const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
globalThis.document = {
  createElement: (tag) => new Element(tag),
  createElementNS: (_, tag) => new Element(tag),
  createTextNode: (data) => new Text(data),
};

const assets = process.argv[2];
const { ticketDetail } = await import(pathToFileURL(`${assets}/ticket_detail.js`).href);

const REASON = 'GPSLatitude has a zero denominator (0/0); <img src=x onerror=alert(1)>';
const ticket = {
  state: 'resolved',
  reports: [{
    report_id: '0190a1b2-0000-7000-8000-000000000001', courier_id: 'c', received_at: '2026-12-01T08:00:00Z',
    photos: [], text: 'x',
    evidence: {
      photos: [{ gps: { lat: 29.8413, lon: 114.3225 } }, {}],
      flags: [{ flag: 'position_from_exif', photo: 0 }, { flag: 'exif_unreadable', photo: 1, reason: REASON }],
    },
  }],
};

function flags(language) {
  localStorage.setItem('cp_lang', language);
  const root = ticketDetail(ticket, { role: 'office' });
  const byFlag = {};
  for (const e of root.all()) if (e.attrs['data-flag']) byFlag[e.attrs['data-flag']] = e;
  return byFlag;
}

const zh = flags('zh');
assert.equal(zh.exif_unreadable.textContent, `照片 2: 照片 EXIF 信息无法读取，已舍弃该部分（照片本身已收下）：${REASON}`);
assert.equal(zh.position_from_exif.textContent, '照片 1: 上报未带位置，位置取自照片的 EXIF GPS（未做距离核对）');
const en = flags('en');
assert.equal(en.exif_unreadable.textContent, `photo 2: unreadable EXIF dropped (the photo itself was kept): ${REASON}`);
assert.match(en.position_from_exif.textContent, /^photo 1: sent without a position: the position is the photo's EXIF GPS/);
for (const li of [zh.exif_unreadable, en.exif_unreadable]) {
  assert.equal([...li.all()].length, 0, 'the reason is text, never elements');
}
for (const li of [en.exif_unreadable, en.position_from_exif]) {
  assert.doesNotMatch(li.textContent, /[\u4e00-\u9fff]/u, 'no Chinese left in English');
}
console.log('ok');
