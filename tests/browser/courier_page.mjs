// The courier page's checks (issue 13), called from run.mjs with its
// helpers `h`: { base, courierToken, officeToken, supervisorToken, photo,
// exifPhoto, check, waitFor, shot, apiGet, imageLoaded, ticketOf }.
//
// - firstReport: camera and submit above the fold at 390×844, courier
//   navigation only, the position followed with its accuracy and area.
// - delivered: after submitting, where the report went, never its id.
// - seesTheFix: the office resolves (through the API, the console), the
//   open page shows it on the card without a reload; the detail view.
// - evidence: a photo with an old DateTimeOriginal, shrunk by the page,
//   raises `taken_long_before` on the ticket as the office sees it; the
//   report carries the latest fix.
// - english: no Chinese left in English mode; contrast: WCAG AA.
// - photoPosition: no fix, but the photo has GPS: the page lets it go.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

/** Whether an element's box lies inside the viewport without scrolling. */
async function aboveTheFold(page, selector) {
  const box = await page.locator(selector).boundingBox();
  const { height } = page.viewportSize();
  return box && box.y >= 0 && box.y + box.height <= height;
}

export async function firstReport(page, h) {
  await page.evaluate(() => window.scrollTo(0, 0));
  assert.ok(await aboveTheFold(page, 'label.camera'), 'camera button below the fold');
  assert.ok(await aboveTheFold(page, '#submit'), 'submit button below the fold');
  h.check('first report at 390×844: the camera and submit buttons are visible without scrolling');
  assert.equal(await page.locator('a[href="/office"], a[href="/audit"]').count(), 0);
  const nav = await page.locator('#tabs').innerText();
  assert.ok(!/工单台|看板/.test(nav), nav);
  h.check('the courier page has courier navigation only (no office or audit links)');
  await h.waitFor('the position with its accuracy', async () => /±12 m/.test(await page.locator('#gps').textContent()));
  const gps = await page.locator('#gps').textContent();
  assert.match(gps, /温泉街道/, gps);
  assert.ok(!/29\.8|114\.3/.test(gps), `raw coordinates shown: ${gps}`);
  h.check(`the position is followed, shown with its area and accuracy: "${gps}"`);
}

/** After the page submitted a report: where it went, in words. */
export async function delivered(page, h, office = '温泉街道') {
  const result = page.locator('#result');
  await h.waitFor('the delivery message', async () => (await result.textContent()).startsWith(`已送达 ${office}`));
  const text = await result.textContent();
  assert.ok(!UUID.test(text), `the message shows an id: ${text}`);
  assert.match(text, /须在 .+ 前响应/, text);
  h.check(`after submitting, the page says where the report went: "${text}"`);
  return text;
}

/** The card of `reportId` on the open page. */
const cardOf = (page, reportId) => page.locator(`#mine li.report-card[data-report-id="${reportId}"]`);

export async function cards(page, h, reportId, text) {
  const card = cardOf(page, reportId);
  await card.waitFor();
  assert.equal(await card.locator('.text').textContent(), text);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.match(await card.locator('.office').textContent(), /送达 温泉街道/);
  await h.imageLoaded(page, `#mine li[data-report-id="${reportId}"] img.card-thumb`);
  h.check('my reports: a card with the thumbnail, the courier\'s own text (as text) and the office');
}

/** The office has resolved the ticket (note, proof photo): the open page shows it. */
export async function seesTheFix(page, h, reportId) {
  const card = cardOf(page, reportId);
  await h.waitFor('the card to show the fix', async () => (await card.getAttribute('class')).includes('state-resolved'), 30000);
  assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
  assert.match(await card.locator('.state-words').textContent(), /街道办说已修好/);
  assert.match(await card.locator('.notes').textContent(), /井盖已更换 cover replaced/);
  await h.imageLoaded(page, `#mine li[data-report-id="${reportId}"] img.card-proof`);
  h.check('the office resolved it: the open page shows the state, the office\'s note and the proof photo, without a reload');
  await h.shot(page, 'courier-phone-resolved', { copy: true });

  await card.locator('.text').click();
  const detail = page.locator('#detail');
  await detail.waitFor();
  const steps = await detail.locator('.timeline li').allTextContents();
  for (const step of ['立案', '已受理', '已解决']) assert.ok(steps.some((s) => s.includes(step)), `${step}: ${steps}`);
  await h.imageLoaded(page, '#detail img.photo.proof');
  await h.imageLoaded(page, '#detail .photos img.photo');
  h.check(`the detail view: the steps in words (${steps.length}), the photos, the proof photo large`);
  await h.shot(page, 'courier-phone-detail', { copy: true });
  await page.locator('#detail-back').click();
  await page.locator('#mine-box').waitFor();
}

/** Moves the fix, then submits the EXIF photo: the old time taken is evidence the office sees. */
export async function evidence(page, phone, h) {
  const spot = { latitude: 29.87, longitude: 114.30, accuracy: 30 };
  await phone.setGeolocation(spot);
  await h.waitFor('the new fix', async () => /±30 m/.test(await page.locator('#gps').textContent()));
  await page.locator('#photo').setInputFiles(h.exifPhoto);
  const exif = await h.waitFor('the shrunk photo', () => page.locator('#photo-status').getAttribute('data-exif'));
  assert.equal(exif, 'carried');
  await page.locator('#text').fill('配电箱门开着 box door open');
  const before = await page.locator('#result').getAttribute('data-report-id');
  await page.locator('#submit').click();
  const reportId = await h.waitFor('the new report id', async () => {
    const id = await page.locator('#result').getAttribute('data-report-id');
    return id && id !== before && id;
  });
  await delivered(page, h);
  const ticketId = await h.ticketOf(reportId);
  const ticket = await h.apiGet(`/v1/tickets/${ticketId}`, h.officeToken);
  const mine = ticket.reports.find((r) => r.report_id === reportId);
  const flags = ((mine && mine.evidence && mine.evidence.flags) || []).map((f) => f.flag);
  assert.ok(flags.includes('taken_long_before'), JSON.stringify(mine));
  h.check(`a photo shrunk by the page keeps its EXIF: the office sees ${flags.join(', ')}`);
  const at = mine.location || ticket.location;
  assert.ok(Math.abs(at.lat - spot.latitude) < 1e-6 && Math.abs(at.lon - spot.longitude) < 1e-6, JSON.stringify(at));
  h.check('the report carries the latest fix of the followed position');
  await phone.setGeolocation({ latitude: 29.84, longitude: 114.32, accuracy: 12 });
}

/** The visible text of the page outside user data (courier text, notes, names) and the language button. */
async function visibleText(page) {
  return page.evaluate(() => {
    const skip = (n) => n.closest('.user-text, #lang, [hidden], script, style, option');
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const parent = n.parentElement;
      if (!n.textContent.trim() || skip(parent) || !parent.checkVisibility()) continue;
      out.push(n.textContent.trim());
    }
    for (const node of document.querySelectorAll('[placeholder], [aria-label], img[alt]')) {
      if (skip(node)) continue;
      out.push(node.getAttribute('placeholder') || '', node.getAttribute('aria-label') || '', node.getAttribute('alt') || '');
    }
    return out.filter(Boolean);
  });
}

export async function english(page, h) {
  await page.locator('#lang').click();
  await page.waitForTimeout(300);
  const chinese = [];
  for (const tab of ['report', 'nearby', 'rewards']) {
    await page.locator(`#tabs .tab[data-tab=${tab}]`).click();
    await page.waitForTimeout(500);
    chinese.push(...(await visibleText(page)).filter((s) => CJK.test(s)).map((s) => `${tab}: ${s}`));
  }
  await page.locator('#tabs .tab[data-tab=report]').click();
  await h.shot(page, 'courier-phone-en-reports');
  assert.deepEqual(chinese, [], 'Chinese left in English mode');
  h.check('English mode: no Chinese on any tab of the courier page (outside the couriers\' and offices\' own words)');
  await page.locator('#lang').click();
}

/** Text elements whose contrast with their background is under WCAG AA. */
export async function contrast(page, h, name) {
  const failures = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad = [];
    for (const node of document.querySelectorAll('body *')) {
      const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
      if (!own || !node.checkVisibility() || node.closest('svg')) continue;
      const style = getComputedStyle(node);
      const fg = rgb(style.color).slice(0, 3), bg = background(node);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${node.tagName}.${node.className} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
  assert.deepEqual(failures, [], `${name}: text under WCAG AA contrast`);
  h.check(`${name}: every text meets WCAG AA contrast`);
}

/** Maps and charts have text alternatives. */
export async function textAlternatives(page, h, name) {
  const svgs = await page.locator('svg.map, svg.bars').evaluateAll((all) => all.map((s) => [s.getAttribute('role'), s.getAttribute('aria-label') || '']));
  assert.ok(svgs.length > 0, `${name}: no map or chart`);
  for (const [role, label] of svgs) assert.ok(role === 'img' && label.length > 10, `${name}: ${role} ${label}`);
  h.check(`${name}: ${svgs.length} maps and charts carry role="img" and a description`);
}

/** No fix at all (denied), but the photo has GPS: the page says it will use it and sends the report. */
export async function photoPosition(browser, h, context) {
  const ctx = await context(browser, { ...h.PHONE, permissions: [] });
  const page = await ctx.newPage();
  await page.goto(h.base + '/');
  await page.locator('#signin #token').fill(h.courierToken);
  await Promise.all([page.waitForEvent('load'), page.locator('#signin button[type=submit]').click()]);
  await page.locator('#app').waitFor({ state: 'visible' });
  await h.waitFor('the denied state', async () => (await page.locator('#gps').getAttribute('data-state')) === 'denied');
  assert.ok(await page.locator('#manual').evaluate((d) => d.open), 'the place picker opens by itself');
  const sent = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/v1/reports')) sent.push(r); });
  await page.locator('#photo').setInputFiles(h.exifPhoto);
  await page.locator('#photo-gps:not([hidden])').waitFor();
  assert.equal(await page.locator('#photo-gps').textContent(), '将使用照片中的位置');
  // What goes out is what the outbox keeps until the server answers for good.
  await page.route('**/v1/reports', (route) => route.abort());
  await page.locator('#submit').click();
  await h.waitFor('the report to be sent', async () => sent.length > 0);
  const queued = await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('civicprobe');
    open.addEventListener('error', () => reject(open.error));
    open.addEventListener('success', () => {
      const get = open.result.transaction('outbox').objectStore('outbox').getAll();
      get.addEventListener('success', () => resolve(get.result.map((i) => i.report)));
    });
  }));
  assert.equal(queued.length, 1, JSON.stringify(queued));
  assert.ok(!('lat' in queued[0]) && !('lon' in queued[0]), JSON.stringify(queued));
  h.check('no position (denied) but GPS in the photo: "将使用照片中的位置", and the report goes without lat/lon');
  await ctx.close();
}

/** Bytes of a file, for uploads outside the page. */
export const bytesOf = (path) => readFileSync(path);

/**
 * exif.js on its own, in the page: originals as JPEG, PNG and WebP (a TIFF
 * built here, little-endian, Orientation 6, GPS, a 40 KB IFD1 thumbnail)
 * spliced into a canvas JPEG keep their GPS, with Orientation 1 and no
 * thumbnail; garbage and a segment over 64 KiB leave the JPEG as it was.
 */
export async function exifSplice(page, h) {
  const results = await page.evaluate(async () => {
    const { carryExif, readEvidence, tiffOf } = await import('/assets/exif.js');
    const tiff = (extraGps = 0) => {
      const b = new Uint8Array(200 + extraGps + 40000), v = new DataView(b.buffer);
      b.set([0x49, 0x49]); v.setUint16(2, 42, true); v.setUint32(4, 8, true);
      const entry = (at, tag, type, count, value) => { v.setUint16(at, tag, true); v.setUint16(at + 2, type, true); v.setUint32(at + 4, count, true); v.setUint32(at + 8, value, true); };
      v.setUint16(8, 2, true); entry(10, 0x0112, 3, 1, 6); entry(22, 0x8825, 4, 1, 50); v.setUint32(34, 200 + extraGps, true);
      const n = extraGps ? 5 : 4;
      v.setUint16(50, n, true);
      entry(52, 1, 2, 2, 0x4e); entry(64, 2, 5, 3, 120); entry(76, 3, 2, 2, 0x45); entry(88, 4, 5, 3, 144);
      if (extraGps) entry(100, 0x1b, 7, extraGps, 200);
      [29, 1, 51, 1, 0, 1].forEach((x, i) => v.setUint32(120 + i * 4, x, true));
      [114, 1, 18, 1, 0, 1].forEach((x, i) => v.setUint32(144 + i * 4, x, true));
      const ifd1 = 200 + extraGps; v.setUint16(ifd1, 1, true); entry(ifd1 + 2, 0x0201, 4, 1, 0);
      return b;
    };
    const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 48 });
    canvas.getContext('2d').fillRect(0, 0, 32, 24);
    const resized = new Uint8Array(await (await new Promise((r) => canvas.toBlob(r, 'image/jpeg'))).arrayBuffer());
    const seg = (t) => { const s = new Uint8Array(10 + t.length); s.set([0xff, 0xe1, (t.length + 8) >> 8, (t.length + 8) & 255, 0x45, 0x78, 0x69, 0x66, 0, 0]); s.set(t, 10); return s; };
    const cat = (...parts) => { const o = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0; for (const p of parts) { o.set(p, at); at += p.length; } return o; };
    const ascii = (s) => new TextEncoder().encode(s);
    const u32 = (n, le) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, le); return b; };
    const t = tiff();
    const originals = {
      jpeg: cat(resized.subarray(0, 2), seg(t), resized.subarray(2)),
      png: cat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), u32(t.length, false), ascii('eXIf'), t, u32(0, false)),
      webp: cat(ascii('RIFF'), u32(t.length + 12, true), ascii('WEBP'), ascii('EXIF'), u32(t.length, true), t),
    };
    const orientation = (out) => { const x = tiffOf(out), v = new DataView(x.buffer, x.byteOffset); const n = v.getUint16(8, true);
      for (let k = 0; k < n; k++) if (v.getUint16(10 + k * 12, true) === 0x0112) return v.getUint16(18 + k * 12, true); return null; };
    const out = {};
    for (const [kind, original] of Object.entries(originals)) {
      const spliced = carryExif(original, resized);
      out[kind] = { gps: readEvidence(spliced).gps, orientation: orientation(spliced), added: spliced.length - resized.length };
    }
    out.garbage = carryExif(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 1, 2]), resized) === resized;
    // A PNG's eXIf may be any size: one with a 70 KB GPS entry would not fit an APP1.
    const big = tiff(70000);
    const bigPng = cat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), u32(big.length, false), ascii('eXIf'), big, u32(0, false));
    out.bigReadable = Boolean(readEvidence(bigPng).gps);
    out.oversize = carryExif(bigPng, resized) === resized;
    return out;
  });
  for (const kind of ['jpeg', 'png', 'webp']) {
    const r = results[kind];
    assert.ok(r.gps && Math.abs(r.gps.lat - 29.85) < 1e-9 && Math.abs(r.gps.lon - 114.3) < 1e-9, `${kind}: ${JSON.stringify(r)}`);
    assert.equal(r.orientation, 1, kind);
    assert.ok(r.added < 400, `${kind}: the thumbnail was carried (${r.added} bytes)`);
  }
  assert.ok(results.garbage && results.bigReadable && results.oversize, JSON.stringify(results));
  h.check('exif.js: JPEG, PNG and WebP originals keep their GPS in the resized JPEG, Orientation 1, no thumbnail; garbage and > 64 KiB: none');
}

/** Outside every area: the position says so with labelled coordinates, the report goes to the supervisors. */
export async function outside(page, phone, h) {
  await phone.setGeolocation({ latitude: 30.60, longitude: 114.30, accuracy: 15 });
  await h.waitFor('the fix outside', async () => /不在任何街道范围内/.test(await page.locator('#gps').textContent()));
  assert.match(await page.locator('#gps').textContent(), /坐标 30\.6000, 114\.3000/);
  h.check('outside every area the position shows coordinates, labelled, as the last resort');
  await page.locator('#photo').setInputFiles(h.photo);
  await h.waitFor('the shrunk photo', () => page.locator('#photo-status').getAttribute('data-exif'));
  await page.locator('#text').fill('路灯倒了 lamp post down, far away');
  await page.locator('#submit').click();
  const result = page.locator('#result');
  await h.waitFor('the unrouted message', async () => (await result.getAttribute('data-state')) === 'unrouted', 30000);
  assert.equal(await result.textContent(), '未在任何街道范围内，已转督办');
  const id = await result.getAttribute('data-report-id');
  const card = page.locator(`#mine li.report-card[data-report-id="${id}"]`);
  await card.waitFor();
  assert.match(await card.locator('.office').textContent(), /等待分派/);
  h.check('a report outside every area: "未在任何街道范围内，已转督办", its card waits for routing');
  await phone.setGeolocation({ latitude: 29.84, longitude: 114.32, accuracy: 12 });
}
