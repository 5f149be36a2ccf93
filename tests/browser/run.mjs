// Browser tests of the civicprobe pages in headless Debian Chromium.
//
//   node tests/browser/run.mjs <base-url> <courier-token> <office-token> <supervisor-token> <photo.jpg> <exif.jpg> [--docs]
//
// Started by crates/cli/tests/web.rs against a real `civicprobe up`.
// Screenshots go to target/screenshots/; with --docs one of each page is
// also copied to docs/screenshots/ for the README. Exits non-zero on the
// first failed check; prints "N passed, 0 failed" at the end.

import { chromium } from 'playwright-core';
import { mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { rewardsOnTheDashboard } from './rewards.mjs';
import * as cp from './courier_page.mjs';
import { flows } from './courier_flows.mjs';
import { navigationLinks } from './navigate.mjs';

// exif.jpg: a phone's photo with EXIF (camera, GPS, time taken) for the evidence.
const [base, courierToken, officeToken, supervisorToken, photo, exifPhoto] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const docs = process.argv.includes('--docs');
if (!exifPhoto) {
  console.error('usage: run.mjs <url> <courier> <office> <supervisor> <photo> <exif-photo> [--docs]');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1366, height: 900 } };
const XSS = '井盖没了 <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & "quotes"';
let passed = 0;

function check(name) {
  passed += 1;
  console.log(`ok ${passed} - ${name}`);
}

/** API call with a bearer token, outside the browser. */
async function apiGet(path, token) {
  const r = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return r.json();
}

/** A report sent with the courier's bearer token (not through the page). */
// `photoOrBytes`: a photo file's path, or the bytes of a photo.
async function apiReport(lat, lon, text, category, photoOrBytes = photo) {
  const bytes = typeof photoOrBytes === 'string' ? readFileSync(photoOrBytes) : photoOrBytes;
  const form = new FormData();
  const report = { lat, lon, text, category_hint: category };
  form.append('report', new Blob([JSON.stringify(report)], { type: 'application/json' }));
  form.append('photo', new Blob([bytes], { type: 'image/jpeg' }), 'p.jpg');
  const r = await fetch(base + '/v1/reports', {
    method: 'POST', body: form,
    headers: { Authorization: `Bearer ${courierToken}`, 'Idempotency-Key': randomUUID() },
  });
  const body = await r.text();
  assert.equal(r.status, 202, body);
  return JSON.parse(body).report_id;
}

/** The ticket a report opened or joined, once the pipeline has it. */
async function ticketOf(reportId) {
  return waitFor(`a ticket for report ${reportId}`, async () => {
    const me = await apiGet('/v1/couriers/me', courierToken);
    const r = me.reports.find((x) => x.report_id === reportId);
    return r && r.ticket_id;
  });
}

/** Whether office `office`'s queue holds ticket `id` (asked as supervisor). */
async function inQueue(office, id) {
  return (await apiGet(`/v1/offices/${office}/tickets`, supervisorToken)).tickets.some((x) => x.ticket_id === id);
}

/** Waits until the first `selector` in `page` is a loaded image. */
async function imageLoaded(page, selector) {
  return waitFor(`${selector} to load`, () => page.locator(selector).first()
    .evaluate((img) => img.complete && img.naturalWidth > 0).catch(() => false), 20000);
}

async function waitFor(what, fn, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A context that fails the run on any page error or CSP violation. */
async function context(browser, options) {
  const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
  ctx.on('page', (page) => watch(page));
  return ctx;
}

const problems = [];
function watch(page) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
}

async function shot(page, name, { copy = false } = {}) {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (docs && copy) {
    mkdirSync(join(root, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(file, join(root, 'docs', 'screenshots', `${name}.png`));
  }
}

async function signIn(page, path, token) {
  await page.goto(base + path);
  await page.locator('#signin #token').fill(token);
  await Promise.all([page.waitForEvent('load'), page.locator('#signin button[type=submit]').click()]);
  await page.locator('#app').waitFor({ state: 'visible' });
}

/** Fills the courier form: photo, category, text; submits. */
async function report(page, text, category) {
  await page.locator('#photo').setInputFiles(photo);
  // data-exif is set once per chosen photo (data-size stays from the last one).
  await waitFor('the shrunk photo', () => page.locator('#photo-status').getAttribute('data-exif'));
  if (category) {
    const input = page.locator(`#chips input[value=${category}]`);
    await page.locator('#chips label', { has: page.locator(`input[value=${category}]`) }).click();
    assert.ok(await input.isChecked(), `chip ${category} not chosen`);
  }
  await page.locator('#text').fill(text);
  await page.locator('#submit').click();
}

/** What the courier page's checks (courier_page.mjs, courier_flows.mjs) use of this file. */
const h = {
  base, courierToken, officeToken, supervisorToken, photo, exifPhoto, PHONE,
  secondCourierToken: process.env.CIVICPROBE_SECOND_COURIER_TOKEN,
  check, waitFor, shot, apiGet, imageLoaded, ticketOf, distinctPhoto,
};

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await scenarios(browser);
  } finally {
    await browser.close();
  }
}

async function scenarios(browser) {
  // Courier on a phone, GPS faked at the district centre (Wenquan).
  const phone = await context(browser, { ...PHONE, permissions: ['geolocation'], geolocation: { latitude: 29.84, longitude: 114.32, accuracy: 12 } });
  const courier = await phone.newPage();
  await courier.goto(base + '/');
  await courier.locator('#signin').waitFor();
  await shot(courier, 'signin-phone', { copy: true });
  await signIn(courier, '/', courierToken);
  await waitFor('the GPS fix', async () => (await courier.locator('#gps').getAttribute('class')) === 'ok');
  check('courier signed in with a cookie; geolocation used');
  await cp.firstReport(courier, h);
  await cp.exifSplice(courier, h);
  const cookies = await phone.cookies();
  const session = cookies.find((c) => c.name === 'cp_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  assert.equal(await courier.evaluate(() => document.cookie.includes('cp_session')), false);
  assert.ok(session.value.startsWith('cps_') && !session.value.includes(courierToken), 'the cookie holds a session id, not the token');
  check('the session cookie is HttpOnly and SameSite=Strict, invisible to script, a session id');

  await courier.locator('#lang').click();
  assert.equal(await courier.locator('h1').textContent(), 'Report a hazard');
  await shot(courier, 'courier-phone-en');
  await courier.locator('#lang').click();
  assert.equal(await courier.locator('h1').textContent(), '随手拍隐患');
  check('Chinese first, English on request');

  await report(courier, XSS, 'manhole');
  const size = await courier.locator('#photo-status').getAttribute('data-size');
  assert.match(size, /^2048x\d+$|^\d+x2048$/, `photo not shrunk to 2048: ${size}`);
  const reportId = await waitFor('the report id', () => courier.locator('#result').getAttribute('data-report-id'));
  assert.match(reportId, /^[0-9a-f-]{36}$/);
  check(`report submitted from the phone page (photo shrunk to ${size}), id ${reportId}`);
  await cp.delivered(courier, h);
  await shot(courier, 'courier-phone', { copy: true });
  const ticketId = await ticketOf(reportId);
  await cp.cards(courier, h, reportId, XSS);
  await courier.evaluate(() => { window.__sameDocument = 'yes'; });

  // A second courier report of the same hole: merged into the ticket.
  const dup = await apiReport(29.8401, 114.3201, '井盖没了，有人差点掉下去 manhole cover missing', 'manhole', exifPhoto);
  await waitFor('the duplicate to merge', async () => (await ticketOf(dup)) === ticketId
    && (await apiGet(`/v1/tickets/${ticketId}`, officeToken)).events.some((e) => e.kind === 'merged'));
  check('a duplicate report merged into the ticket');

  // Supervisor dashboard before the office acts.
  const desk = await context(browser, DESKTOP);
  const audit = await desk.newPage();
  await signIn(audit, '/audit', supervisorToken);
  const resolvedCount = () => audit.evaluate(() => [...document.querySelectorAll('#by-office .value[data-step=resolve]')]
    .reduce((n, e) => n + Number(e.dataset.count), 0));
  await waitFor('the district map', async () => Number(await audit.locator('#open-count').getAttribute('data-count').catch(() => 0)) >= 1);
  const before = await resolvedCount();
  check(`dashboard shows the open ticket on the district map (resolved before: ${before})`);
  await waitFor('the dead letters section', async () => (await audit.locator('#dead-letters li').count()) >= 1);
  check('dashboard lists the dead letters (none in a healthy run)');
  await waitFor('the audit-log check', async () => /✓.*(未锚定|unanchored)/.test(await audit.locator('#verify').textContent()));
  check('dashboard says the audit log is intact and, with no anchor key, unanchored');
  await shot(audit, 'audit-desktop', { copy: true });
  await monthlyReport(desk, audit, ticketId);

  // Office console on the desktop.
  const officeCtx = await context(browser, DESKTOP);
  const office = await officeCtx.newPage();
  await signIn(office, '/office', officeToken);
  const row = office.locator(`#queue li[data-ticket-id="${ticketId}"]`);
  await row.waitFor({ timeout: 30000 });
  await row.click();
  await office.locator('#courier-text').waitFor();
  assert.equal(await office.locator('#courier-text').textContent(), XSS);
  assert.equal(await office.locator('#ticket script, #ticket img[src=x]').count(), 0);
  assert.equal(await office.evaluate(() => window.__xss), undefined);
  check('ticket reached the office console; <script> in the text is shown as text');
  await imageLoaded(office, '#ticket img.photo');
  await imageLoaded(office, '#ticket img.thumb');
  check("the ticket's photo and the merged duplicate's thumbnail are shown (loaded through the API)");
  await shot(office, 'office-desktop', { copy: true });
  await navigationLinks(office, ticketId, h);

  // Every report on the ticket, and re-triage in the page.
  const reports = office.locator('#reports li.report');
  await waitFor('both reports in the detail', async () => (await reports.count()) === 2);
  assert.equal(await reports.nth(0).locator('.report-text').textContent(), XSS);
  assert.equal(await reports.nth(1).locator('.report-text').textContent(), '井盖没了，有人差点掉下去 manhole cover missing');
  assert.match(await reports.nth(1).textContent(), /距首报 1\d m/);
  check("the office sees each merged report's text and its distance from the first");
  const evidence = reports.nth(1).locator('.evidence');
  assert.match(await evidence.locator('li.exif').first().textContent(), /相机 HUAWEI ELS-AN00/);
  assert.match(await evidence.locator('li.exif').first().textContent(), /拍摄时间 .*GPS 位置 29\.85010, 114\.32010/);
  assert.match(await evidence.locator('li.flag[data-flag=far_from_reported]').textContent(), /距上报位置 1\.1 km（阈值 500 m）/);
  assert.match(await evidence.locator('li.flag[data-flag=taken_long_before]').textContent(), /提交前 .*（阈值 /);
  check('the evidence of the merged report: camera, GPS, time taken, and each flag with its value and threshold');
  await office.locator('#triage-category').selectOption('other');
  await office.locator('#triage-reason').fill('路面塌陷，不是井盖 road collapse, not a manhole');
  await office.locator('#do-triage').click();
  await waitFor('the category to change', async () => (await apiGet(`/v1/tickets/${ticketId}`, officeToken)).category === 'other');
  await waitFor('the page to show it', async () => (await office.locator('#ticket h2').textContent()).includes('其他')
    && (await office.locator('#triage-category').inputValue()) === 'other');
  const triaged = (await apiGet(`/v1/tickets/${ticketId}`, officeToken)).events.find((e) => e.kind === 'triaged');
  assert.ok(triaged && triaged.note === 'category manhole→other', JSON.stringify(triaged));
  check('the office changed the ticket\'s category in the page, and it was applied');
  await shot(office, 'office-ticket-detail');

  await office.locator('#do-acknowledge').click();
  await office.locator('#ticket-state[data-state=acknowledged]').waitFor();
  await office.locator('#note').fill('井盖已更换 cover replaced');
  await office.locator('#proof').setInputFiles(photo);
  await office.locator('#do-resolve').click();
  await office.locator('#ticket-state[data-state=resolved]').waitFor();
  check('office acknowledged and resolved the ticket, with a proof photo');
  await imageLoaded(office, '#ticket img.proof');
  const events = (await apiGet(`/v1/tickets/${ticketId}`, officeToken)).events;
  const proof = events.find((e) => e.kind === 'resolved').proof_photo_sha256;
  assert.match(proof || '', /^[0-9a-f]{64}$/, JSON.stringify(events));
  assert.equal(await office.locator('#ticket img.proof').getAttribute('data-sha256'), proof);
  check('the proof photo is recorded in the resolved event and shown in the history');
  await cp.seesTheFix(courier, h, reportId);
  await cp.contrast(office, h, 'office console');
  await cp.textAlternatives(office, h, 'office console');
  await shot(office, 'office-desktop-resolved', { copy: true });
  await office.setViewportSize(PHONE.viewport);
  await shot(office, 'office-phone');

  await waitFor('the dashboard figures to change', async () => (await resolvedCount()) > before, 30000);
  check('dashboard response-time figures changed after the resolution');
  await cp.contrast(audit, h, 'supervisor dashboard');
  await cp.textAlternatives(audit, h, 'supervisor dashboard');
  await shot(audit, 'audit-desktop-after', { copy: true });
  await audit.setViewportSize(PHONE.viewport);
  await shot(audit, 'audit-phone');

  // A supervisor on the office console: any office, and reroute offered.
  const console2 = await desk.newPage();
  await console2.goto(base + '/office');
  await console2.locator('#office').selectOption('wenquan');
  await console2.locator('#show-closed').check();
  await console2.locator('#queue li[data-ticket-id]').first().click();
  await console2.locator('#do-reroute').waitFor();
  assert.equal(await console2.locator('#ticket-state').getAttribute('data-state'), 'resolved');
  check('a supervisor sees any office on the console, with reroute');
  await console2.close();

  await cp.evidence(courier, phone, h);
  await cp.outside(courier, phone, h);
  await cp.english(courier, h);
  await cp.contrast(courier, h, 'courier page');
  await offline(courier, phone);
  await courier.setViewportSize(DESKTOP.viewport);
  await shot(courier, 'courier-desktop');
  await supervision(desk, audit);
  await rewardsOnTheDashboard({ base, courierToken, supervisorToken, check, waitFor, apiGet, shot, PHONE, DESKTOP }, audit);
  await live(browser);
  await cp.photoPosition(browser, h, context);
  await flows(browser, h, context);
}

/** Records every Notification a page raises (the real one still shows). */
function watchNotifications() {
  window.__notes = [];
  const Real = window.Notification;
  if (!Real) return;
  class Watched extends Real {
    constructor(title, options) {
      window.__notes.push({ title, body: options && options.body });
      super(title, options);
    }
  }
  Object.defineProperty(Watched, 'permission', { get: () => Real.permission });
  Watched.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Watched;
}

/** A JPEG of random grey blocks drawn in `page` from `seed`: far in perceptual hash from any other. */
async function distinctPhoto(page, seed) {
  const url = await page.evaluate((seed) => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 256, height: 256 });
    const g = canvas.getContext('2d');
    let x = seed * 2654435761 >>> 0;
    for (let i = 0; i < 256; i += 1) {
      x = (x * 1103515245 + 12345) >>> 0;
      const v = (x >>> 16) & 255;
      g.fillStyle = `rgb(${v},${v},${v})`;
      g.fillRect((i % 16) * 16, Math.floor(i / 16) * 16, 16, 16);
    }
    return canvas.toDataURL('image/jpeg', 0.9);
  }, seed);
  return Buffer.from(url.split(',')[1], 'base64');
}

/** The office console while it is open: an urgent report arrives live, on top, with an alert. */
async function live(browser) {
  const ctx = await context(browser, { ...DESKTOP, permissions: ['notifications'] });
  await ctx.addInitScript(watchNotifications);
  const office = await ctx.newPage();
  // New photos: the same photo twice would merge the reports into one ticket.
  const [liftPhoto, holePhoto] = [await distinctPhoto(office, 7), await distinctPhoto(office, 11)];
  // An elevator ticket is overdue within seconds (the test policy): marked in the queue.
  const lift = await ticketOf(await apiReport(29.835, 114.405, '电梯困人 elevator stuck', 'elevator', liftPhoto));
  await signIn(office, '/office', officeToken);
  await office.locator('#alerts').click();
  await waitFor('alerts on', async () => (await office.locator('#alerts').getAttribute('aria-pressed')) === 'true');
  await office.locator('#live.pill.live').waitFor();
  await office.locator(`#queue li[data-ticket-id="${lift}"] .pill.overdue`).waitFor({ timeout: 30000 });
  check('an overdue ticket is marked in the queue; the console is live, alerts enabled');

  await office.evaluate(() => { window.__sameDocument = 'yes'; });
  const urgent = await apiReport(29.83, 114.41, '井盖整个掉下去了，露出大洞', 'manhole', holePhoto);
  const ticket = await ticketOf(urgent);
  const row = office.locator(`#queue li[data-ticket-id="${ticket}"]`);
  await row.waitFor({ timeout: 30000 });
  assert.equal(await office.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
  assert.match(await row.getAttribute('class'), /\burgent\b/);
  assert.match(await row.getAttribute('class'), /\bfresh\b/);
  assert.equal(await office.locator('#queue li').first().getAttribute('data-ticket-id'), ticket, 'not on top');
  // The overdue elevator ticket's escalations notify too, and may come first.
  const note = await waitFor('the urgent notification', async () => {
    const seen = await office.evaluate(() => window.__notes);
    return seen.find((n) => n.title === '紧急工单') ?? null;
  });
  assert.ok(note.body.includes('井盖整个掉下去了'), JSON.stringify(note));
  check('an urgent report arrived live on top of the open console (no reload), highlighted, with a notification');
  await shot(office, 'office-desktop-live', { copy: true });
  await ctx.close();
}

/** The supervisor's work: overdue, reroute, triage, unrouted. */
/** The office ranking on the dashboard, and the ticket's office's printable month. */
async function monthlyReport(desk, audit, ticketId) {
  await waitFor('the office ranking', async () => (await audit.locator('#ranking tr[data-office]').count()) >= 1);
  const first = await audit.locator('#ranking tr[data-rank="1"]').getAttribute('data-office');
  const cells = await audit.locator('#ranking tr[data-rank="1"] td[data-of]').count();
  check(`dashboard ranks the offices by their KPIs (first: ${first}, ${cells} rates shown)`);
  const office = (await apiGet(`/v1/tickets/${ticketId}`, supervisorToken)).office_id;
  const href = await audit.locator(`#ranking tr[data-office="${office}"] a`).getAttribute('href');
  const report = await desk.newPage();
  await report.goto(base + href);
  await report.locator('h1').waitFor();
  assert.ok((await report.content()).includes(ticketId), 'the ticket is on its office\'s monthly report');
  assert.equal(await report.locator('main script, main img').count(), 0);
  assert.equal(await report.evaluate(() => window.__xss), undefined);
  const text = await report.locator('main').textContent();
  assert.ok(text.includes('<script>window.__xss = 1</script>'), 'the courier text is shown as text');
  await shot(report, 'monthly-report');
  await report.emulateMedia({ media: 'print' });
  await shot(report, 'monthly-report-print');
  await report.close();
  check('the office\'s monthly report lists the ticket, escapes its text and has a print layout');
}

async function supervision(desk, audit) {
  await audit.setViewportSize(DESKTOP.viewport);
  // Elevator deadlines are seconds in the test policy.
  const lift = await apiReport(29.83, 114.30, '电梯困人 elevator stuck between floors', 'elevator');
  const liftTicket = await ticketOf(lift);
  await audit.locator(`#overdue li[data-ticket-id="${liftTicket}"]`).waitFor({ timeout: 30000 });
  check('a ticket past its deadline is on the dashboard\'s overdue list');

  const console3 = await desk.newPage();
  await console3.goto(base + '/office');
  await console3.locator('#office').selectOption('wenquan');
  const liftRow = console3.locator(`#queue li[data-ticket-id="${liftTicket}"]`);
  await liftRow.click();
  await console3.locator('#reroute-to').selectOption('fushan');
  await console3.locator('#do-reroute').click();
  await liftRow.waitFor({ state: 'detached' });
  assert.equal(await inQueue('wenquan', liftTicket), false);
  assert.equal(await inQueue('fushan', liftTicket), true);
  const gone = await fetch(`${base}/v1/tickets/${liftTicket}`, { headers: { Authorization: `Bearer ${officeToken}` } });
  assert.equal(gone.status, 404);
  await console3.locator('#office').selectOption('fushan');
  await console3.locator(`#queue li[data-ticket-id="${liftTicket}"]`).waitFor();
  check('the supervisor rerouted a ticket on the console: it left Wenquan\'s queue and is in Fushan\'s');

  // No text, no category: the router cannot tell, a person must.
  const unsure = await apiReport(29.835, 114.40);
  const unsureTicket = await ticketOf(unsure);
  await console3.locator('#office').selectOption('wenquan');
  const unsureRow = console3.locator(`#queue li[data-ticket-id="${unsureTicket}"]`);
  await unsureRow.locator('.pill.triage').waitFor();
  await unsureRow.click();
  await console3.locator('#ticket-triage').waitFor();
  const triageRow = audit.locator(`#triage li[data-ticket-id="${unsureTicket}"]`);
  await triageRow.waitFor({ timeout: 30000 });
  check('a report without text or category is flagged needs-triage on the console and listed on the dashboard');
  // A report outside every area waits for a supervisor.
  const lost = await apiReport(30.60, 114.30, '配电箱冒烟 box smoking, outside every area', 'electrical_box');
  const lostRow = audit.locator(`#unrouted li[data-report-id="${lost}"]`);
  await lostRow.waitFor({ timeout: 30000 });
  await audit.waitForTimeout(5500); // one refresh: every list drawn with the same data
  await shot(audit, 'audit-desktop-supervision', { copy: true });
  await triageRow.locator('select').selectOption('yongan');
  await triageRow.locator('button').click();
  await triageRow.waitFor({ state: 'detached' });
  assert.equal(await inQueue('yongan', unsureTicket), true);
  check('rerouted from the dashboard\'s triage list, it left the list');
  await console3.close();

  await lostRow.locator('select').selectOption('guanbuqiao');
  await lostRow.locator('button').click();
  await lostRow.waitFor({ state: 'detached' });
  const routed = await waitFor('the routed ticket', async () => (await apiGet('/v1/offices/guanbuqiao/tickets', supervisorToken))
    .tickets.find((x) => x.report_id === lost));
  check('an unrouted report was routed from the dashboard into an office\'s queue');
  // New reports would carry the same photo and be merged by it: reuse these two.
  await disputes(audit, liftTicket, routed.ticket_id);
}

/** A POST with a bearer token, answered 200. */
async function apiPost(path, token, json) {
  const r = await fetch(base + path, {
    method: 'POST', body: JSON.stringify(json),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
  assert.equal(r.status, 200, `${path}: ${await r.text()}`);
}

/** The supervisor hands the ticket to Wenquan, whose staff reject it as not their area. */
async function rejectAsNotOurs(ticket, note) {
  await apiPost(`/v1/tickets/${ticket}/reroute`, supervisorToken, { office_id: 'wenquan' });
  await apiPost(`/v1/tickets/${ticket}/reject`, officeToken, { reason: 'not_our_area', note });
}

/** Rejections as "not our area" wait on the dashboard: one upheld, one rerouted. */
async function disputes(audit, upheld, moved) {
  await rejectAsNotOurs(upheld, XSS);
  await rejectAsNotOurs(moved, '路东归浮山 the east side is Fushan\'s');
  const upheldRow = audit.locator(`#disputes li[data-ticket-id="${upheld}"]`);
  const movedRow = audit.locator(`#disputes li[data-ticket-id="${moved}"]`);
  await upheldRow.waitFor({ timeout: 30000 });
  await movedRow.waitFor({ timeout: 30000 });
  assert.ok((await upheldRow.locator('.note').textContent()).includes(XSS), 'the note, as text');
  assert.equal(await audit.evaluate(() => window.__xss), undefined);
  assert.ok((await upheldRow.textContent()).includes('温泉'), 'the rejecting office');
  check('disputed rejections are on the dashboard with the office and its note, escaped');
  // A note typed before a refresh survives it.
  await upheldRow.locator('.uphold-note').fill('属于邻区 belongs to the next district');
  await audit.waitForTimeout(5500);
  await shot(audit, 'audit-desktop-disputes', { copy: true });
  await upheldRow.locator('button.uphold').click();
  await upheldRow.waitFor({ state: 'detached' });
  const settled = await apiGet('/v1/disputes?state=settled', supervisorToken);
  const d = settled.disputes.find((x) => x.ticket_id === upheld);
  assert.ok(d && d.outcome === 'upheld' && d.settled_note.includes('next district'), JSON.stringify(d));
  assert.equal((await apiGet(`/v1/tickets/${upheld}`, supervisorToken)).state, 'rejected');
  check('a supervisor upheld a rejection on the dashboard, with the note typed before a refresh');
  await movedRow.locator('.reroute-control select').selectOption('fushan');
  await movedRow.locator('.reroute-control button').click();
  await movedRow.waitFor({ state: 'detached' });
  assert.equal(await inQueue('fushan', moved), true);
  check('a supervisor rerouted a disputed ticket from the dashboard into another office\'s queue');
}

/** Offline: the report waits in IndexedDB and arrives exactly once. */
async function offline(courier, phone) {
  const posts = [];
  courier.on('requestfinished', async (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/v1/reports')) {
      const res = await req.response();
      posts.push({ key: (await req.allHeaders())['idempotency-key'], status: res && res.status() });
    }
  });
  const count = async () => (await apiGet('/v1/couriers/me', courierToken)).reports.length;
  const before = await count();
  // The page shell is cached by the service worker, so it opens offline.
  await courier.evaluate(() => navigator.serviceWorker.ready.then(() => caches.open('civicprobe-shell-v1')).then((c) => c.match('/')));
  await phone.setOffline(true);
  // Another place, picked by hand (the manual fallback): Fushan.
  if (!(await courier.locator('#manual').evaluate((d) => d.open))) await courier.locator('#manual summary').click();
  const fushan = await courier.locator('#place option', { hasText: '浮山' }).getAttribute('value');
  await courier.locator('#place').selectOption(fushan);
  await courier.locator('#address').fill('浮山路 12 号');
  await report(courier, 'offline 离线 report', 'electrical_box');
  await waitFor('the queued report', async () => (await courier.locator('#queue-count').textContent()) === '1');
  await courier.waitForTimeout(1500);
  assert.equal(await count(), before, 'sent while offline?');
  assert.equal(posts.length, 0);
  check('offline report is queued on the phone, nothing sent');
  await shot(courier, 'courier-phone-offline', { copy: true });

  const stored = await courier.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('civicprobe');
    open.addEventListener('error', () => reject(open.error));
    open.addEventListener('success', () => {
      const get = open.result.transaction('outbox').objectStore('outbox').getAll();
      get.addEventListener('success', () => resolve(get.result.map((i) => ({ key: i.key, photo: i.photo.size, text: i.report.text }))));
    });
  }));
  assert.equal(stored.length, 1, JSON.stringify(stored));
  assert.match(stored[0].key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(stored[0].photo > 0 && stored[0].text.includes('浮山路'), JSON.stringify(stored));
  check('the queued report is stored in IndexedDB with its photo and a UUID Idempotency-Key');

  await courier.reload();
  await courier.locator('#app').waitFor({ state: 'visible' });
  await waitFor('the queue after an offline reload', async () => (await courier.locator('#queue-count').textContent()) === '1');
  check('the page reopens without signal (service worker) and still shows the queued report');

  await phone.setOffline(false);
  await waitFor('the queue to empty', async () => (await courier.locator('#queue-count').textContent()) === '0');
  await waitFor('the report to arrive', async () => (await count()) === before + 1);
  await courier.waitForTimeout(6000); // two retry periods: nothing more may arrive
  assert.equal(await count(), before + 1);
  const accepted = posts.filter((p) => p.status === 202);
  assert.equal(accepted.length, 1, JSON.stringify(posts));
  check('back online: the queued report arrived exactly once');
  await courier.locator('#mine li[data-report-id]').nth(before).waitFor();
  await shot(courier, 'courier-phone-mine');
}

try {
  await main();
  assert.deepEqual(problems, []);
  check('no page errors and no Content-Security-Policy violations');
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  console.error(`not ok - ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
}
