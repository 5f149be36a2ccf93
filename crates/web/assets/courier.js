// The courier page: photo (shrunk to a 2048 px long edge, its EXIF evidence
// carried over), position (followed while the page is open, or a named
// place, or the photo's own GPS), category, text; sent through the offline
// outbox. Then "my reports", live from the event stream.

import { el, fill, t, translate, languageToggle, whoami, signInForm, signOutButton, api, when, addStrings } from './common.js';
import { jurisdictions, namedPlaces } from './map.js';
import { carryExif, readEvidence } from './exif.js';
import { watchPosition } from './position.js';
import { follow, showLive, debounce } from './live.js';
import * as outbox from './queue.js';
import * as mine from './my_reports.js';
import * as verify from './verify.js';
import * as rewards from './courier_rewards.js';

addStrings({
  zh: {
    nav_nearby: '附近核查', nav_rewards: '积分兑换', pick_place: '手动选择地点',
    routing: '已提交，正在分派…', delivered: '已送达 {office}', delivered_due: '已送达 {office}，{due}',
  },
  en: {
    nav_nearby: 'Fixes nearby', nav_rewards: 'Rewards', pick_place: 'Pick a place by hand',
    routing: 'Sent, finding the office…', delivered: 'Delivered to {office}', delivered_due: 'Delivered to {office}, {due}',
  },
});

const $ = (id) => document.getElementById(id);
const LONG_EDGE = 2048;
const CATEGORIES = ['', 'manhole', 'elevator', 'electrical_box', 'other'];
/** Polling while the event stream is down: every 30 s. */
const POLL_MS = 30000;
const state = {
  photo: null, photoGps: null, places: [], lastKey: null, tracking: null, me: null, open: null, position: null,
  /** The result line's words and class, re-rendered on a language change. */
  said: null,
  /** Whether the event stream is up (null before it said). */
  live: null,
};

/** The photo scaled so its long edge is at most 2048 px, as JPEG, with the original's EXIF evidence. */
async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { blob: file, note: `${Math.round(file.size / 1024)} KB` };
  }
  const scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
  const w = Math.round(bitmap.width * scale), h = Math.round(bitmap.height * scale);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  const jpeg = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  if (!jpeg) return { blob: file, note: `${Math.round(file.size / 1024)} KB` };
  const original = new Uint8Array(await file.arrayBuffer());
  const carried = carryExif(original, new Uint8Array(await jpeg.arrayBuffer()));
  const blob = new Blob([carried], { type: 'image/jpeg' });
  return { blob, note: `${w}×${h}, ${Math.round(blob.size / 1024)} KB`, w, h, exif: carried.length > jpeg.size };
}

function showPhotoGps() {
  const box = $('photo-gps');
  box.hidden = !state.photo;
  box.textContent = t(state.photoGps ? 'photo_position' : 'photo_position_none');
  box.className = state.photoGps ? 'ok' : 'muted';
}

function setupPhoto() {
  const input = $('photo'), preview = $('preview');
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    const evidence = readEvidence(new Uint8Array(await file.arrayBuffer()));
    const shrunk = await shrink(file);
    state.photo = shrunk.blob;
    state.photoGps = evidence && evidence.gps;
    $('photo-status').removeAttribute('data-i18n');
    $('photo-status').textContent = shrunk.note;
    $('photo-status').dataset.exif = shrunk.exif ? 'carried' : 'none';
    if (shrunk.w) $('photo-status').dataset.size = `${shrunk.w}x${shrunk.h}`;
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(shrunk.blob);
    preview.hidden = false;
    showPhotoGps();
  });
}

function setupChips() {
  const box = $('chips');
  const chips = CATEGORIES.map((c, i) => el('label', { class: 'chip' },
    el('input', { type: 'radio', name: 'category', value: c, checked: i === 0 }),
    el('span', { 'data-i18n': c || 'any' }, t(c || 'any'))));
  fill(box, chips);
}

async function setupPlaces(tries = 10) {
  state.places = namedPlaces(await jurisdictions());
  renderPlaces();
  // No list (no signal, a dropped connection): try again shortly.
  if (!state.places.length && tries > 1) setTimeout(() => setupPlaces(tries - 1), 3000);
}

function renderPlaces() {
  const select = $('place'), chosen = select.value;
  fill(select, el('option', { value: '' }, '—'),
    state.places.map((p, i) => el('option', { value: String(i) }, p.name)));
  select.value = chosen;
}

/** The report's JSON part from the form, or a message saying what is missing. */
function reportFromForm() {
  const place = state.places[Number($('place').value)];
  const pos = $('place').value !== '' && place ? place : state.position.latest();
  if (!state.photo) return { missing: 'need_photo' };
  // Without a fix, a photo with GPS in its EXIF: the server takes that position.
  if (!pos && !state.photoGps) return { missing: 'need_position' };
  const report = { reported_at: new Date().toISOString() };
  if (pos) Object.assign(report, { lat: pos.lat, lon: pos.lon });
  if (pos && pos.accuracy) report.accuracy_m = pos.accuracy;
  const category = document.querySelector('input[name=category]:checked');
  if (category && category.value) report.category_hint = category.value;
  const text = [$('text').value.trim(), $('address').value.trim() && `${t('address_label')}: ${$('address').value.trim()}`]
    .filter(Boolean).join('\n');
  if (text) report.text = text;
  return { report };
}

/** Shows `words()` (a function, so a language change re-renders it) in the result line. */
function say(words, cls = 'status') {
  state.said = { words, cls };
  const result = $('result');
  result.className = cls;
  result.textContent = words();
}

async function submit(event) {
  event.preventDefault();
  // The last report's message and id go: this one gets its own.
  delete $('result').dataset.reportId;
  delete $('result').dataset.state;
  state.tracking = null;
  const { report, missing } = reportFromForm();
  if (missing) return say(() => t(missing), 'warn');
  const item = { key: outbox.newKey(), report, photo: state.photo, created: Date.now() };
  await outbox.add(item);
  state.lastKey = item.key;
  $('report').reset();
  setupChips();
  state.photo = null;
  state.photoGps = null;
  showPhotoGps();
  $('preview').hidden = true;
  $('photo-status').dataset.i18n = 'photo_none';
  $('photo-status').textContent = t('photo_none');
  // `data-size` stays (what the last photo became); `data-exif` is per photo.
  delete $('photo-status').dataset.exif;
  await renderQueue();
  if (!navigator.onLine) return say(() => t('queued'), 'warn');
  say(() => t('sending'));
  await sendNow();
  if ((await outbox.all()).some((i) => i.key === item.key && !i.failed)) say(() => t('queued'), 'warn');
}

/** Where `report` went, in words: its office and response deadline, or sent to the supervisors. */
function whereItWent(report) {
  if (report.state === 'unrouted') return t('state_unrouted');
  const due = mine.deadlineWords(report);
  return t(due ? 'delivered_due' : 'delivered').replace('{office}', mine.officeLabel(report)).replace('{due}', due);
}

/** After submitting: where the report went, once the tracker knows ("正在分派…" until then). */
function sayWhereItWent() {
  const id = state.tracking;
  const report = id && state.me && (state.me.reports || []).find((r) => r.report_id === id);
  if (!id) return;
  if (!report || (report.state !== 'unrouted' && !report.office_id)) return say(() => t('routing'));
  say(() => whereItWent(report), report.state === 'unrouted' ? 'warn' : 'ok');
  $('result').dataset.state = report.state;
  state.tracking = null;
}

const hooks = {
  sent(item, reportId) {
    if (item.key === state.lastKey) {
      // The id is for tests and support; the courier reads where it went.
      $('result').dataset.reportId = reportId;
      state.tracking = reportId;
      say(() => t('routing'));
    }
    // Until the router has placed it: an unrouted report sends no event,
    // and after a time offline the stream may still be reconnecting.
    for (const ms of [0, 500, 1500, 3000, 6000, 10000, 20000]) setTimeout(loadMine, ms);
  },
  unauthorized() { signInForm($('signin-box'), t('bad_token')); },
  changed() { renderQueue(); },
};

function sendNow() {
  return outbox.flush(hooks);
}

async function renderQueue() {
  const items = await outbox.all();
  $('queue-count').textContent = String(items.length);
  const rows = items.map((item) => {
    const li = el('li', { class: item.failed ? 'failed' : 'waiting', 'data-key': item.key },
      el('strong', {}, when(new Date(item.created).toISOString())), ' ',
      el('span', {}, t(item.report.category_hint || 'any')), ' ',
      el('span', { class: 'text user-text' }, item.report.text || ''),
      item.failed ? el('p', { class: 'warn' }, t('failed') + item.failed) : null);
    if (item.failed) {
      const button = el('button', { type: 'button', class: 'ghost' }, t('remove'));
      button.addEventListener('click', async () => { await outbox.remove(item.key); renderQueue(); });
      li.append(button);
    }
    return li;
  });
  fill($('queue'), rows.length ? rows : el('li', { class: 'muted' }, t('queue_empty')));
}

async function loadMine() {
  try {
    const r = await api('/v1/couriers/me');
    if (r.ok) state.me = r.data;
  } catch { /* offline: keep the last list */ }
  renderMine();
  sayWhereItWent();
  if (state.open) openDetail(state.open, { quiet: true });
}

function renderMine() {
  const me = state.me;
  if (!me) return;
  $('points').textContent = String(me.points ?? 0);
  const cards = (me.reports || []).map((r) => mine.card(r, (x) => verify.controls(x, loadMine)));
  fill($('mine'), cards.length ? cards : el('li', { class: 'muted' }, t('none')));
}

/** Opens the detail view of a report (its ticket's steps fetched as the courier sees them). */
async function openDetail(reportId, { quiet = false } = {}) {
  const report = state.me && (state.me.reports || []).find((r) => r.report_id === reportId);
  if (!report) return;
  state.open = reportId;
  let view = null;
  if (report.ticket_id) {
    const r = await api(`/v1/tickets/${report.ticket_id}`).catch(() => null);
    if (r && r.ok) view = r.data;
  }
  mine.detail($('detail'), report, view, (x) => verify.controls(x, loadMine));
  $('mine-box').hidden = true;
  if (!quiet) $('detail').scrollIntoView({ block: 'start' });
}

function closeDetail() {
  state.open = null;
  $('detail').hidden = true;
  $('mine-box').hidden = false;
}

function setupCards() {
  const opens = (e) => {
    if (e.target.closest('button, input, textarea, label, a, .verify')) return;
    const li = e.target.closest('li[data-report-id]');
    if (li) openDetail(li.dataset.reportId);
  };
  $('mine').addEventListener('click', opens);
  $('mine').addEventListener('keydown', (e) => { if (e.key === 'Enter') opens(e); });
  $('detail').addEventListener('click', (e) => { if (e.target.id === 'detail-back') closeDetail(); });
}

/** Live: each event of the courier's own reports refreshes them; polling while the stream is down. */
function goLive() {
  let poll = null;
  let errors = 0;
  const refresh = debounce(loadMine, 300);
  follow({
    ticket: refresh,
    reset: refresh,
    live(up) {
      errors = up ? 0 : errors + 1;
      state.live = up;
      showLive($('live'), up);
      if (up && poll) { clearInterval(poll); poll = null; }
      // Repeated errors: the stream is not coming back soon.
      if (!up && errors >= 3 && !poll) poll = setInterval(() => { if (!document.hidden) loadMine(); }, POLL_MS);
    },
  });
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('#tabs .tab')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      for (const other of tabs) {
        const on = other === tab;
        other.setAttribute('aria-pressed', String(on));
        $(`tab-${other.dataset.tab}`).hidden = !on;
      }
      if (tab.dataset.tab === 'nearby') verify.showNearby($('nearby'), $('nearby-status'), state.position.latest());
      if (tab.dataset.tab === 'rewards') rewards.show();
    });
  }
}

function render() {
  renderPlaces();
  renderQueue();
  renderMine();
  state.position.render();
  if (state.photo) showPhotoGps();
  if (state.open) openDetail(state.open, { quiet: true });
  if (state.said) say(state.said.words, state.said.cls);
  if (state.live !== null) showLive($('live'), state.live);
  rewards.render();
}

async function main() {
  translate();
  languageToggle($('lang'), render);
  signOutButton($('signout'));
  const who = await whoami();
  if (!who || who.role !== 'courier') {
    $('signout').hidden = !who;
    return signInForm($('signin-box'), who ? t('wrong_role') : '');
  }
  $('app').hidden = false;
  $('tabs').hidden = false;
  $('signout').hidden = false;
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => null);
  state.position = watchPosition($('gps'), () => { $('manual').open = true; });
  setupPhoto();
  setupChips();
  setupCards();
  setupTabs();
  $('report').addEventListener('submit', submit);
  window.addEventListener('online', () => { sendNow(); loadMine(); });
  setInterval(() => { if (navigator.onLine) sendNow(); }, 5000);
  loadMine();
  goLive();
  await setupPlaces();
  await renderQueue();
  sendNow();
}

main();
