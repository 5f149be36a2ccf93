// The courier page: photo (shrunk to a 2048 px long edge), position (GPS or
// a named place), category, text; sent through the offline outbox.

import { el, fill, t, translate, languageToggle, whoami, signInForm, signOutButton, api, when, every } from './common.js';
import { jurisdictions, namedPlaces } from './map.js';
import * as outbox from './queue.js';

const $ = (id) => document.getElementById(id);
const LONG_EDGE = 2048;
const CATEGORIES = ['', 'manhole', 'elevator', 'electrical_box', 'other'];
const state = { gps: null, photo: null, places: [], lastKey: null, me: null };

/** The photo scaled so its long edge is at most 2048 px, as JPEG. */
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
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  return { blob: blob || file, note: `${w}×${h}, ${Math.round((blob || file).size / 1024)} KB`, w, h };
}

function setupPhoto() {
  const input = $('photo'), preview = $('preview');
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    const shrunk = await shrink(file);
    state.photo = shrunk.blob;
    $('photo-status').removeAttribute('data-i18n');
    $('photo-status').textContent = shrunk.note;
    if (shrunk.w) $('photo-status').dataset.size = `${shrunk.w}x${shrunk.h}`;
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(shrunk.blob);
    preview.hidden = false;
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
    state.places.map((p, i) => el('option', { value: String(i) }, `${p.name} (${p.lat}, ${p.lon})`)));
  select.value = chosen;
}

function locate() {
  const gps = $('gps');
  const failed = () => {
    gps.removeAttribute('data-i18n');
    gps.textContent = t('no_gps');
    gps.className = 'warn';
  };
  if (!navigator.geolocation) return failed();
  navigator.geolocation.getCurrentPosition((p) => {
    state.gps = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy };
    gps.removeAttribute('data-i18n');
    gps.className = 'ok';
    gps.textContent = `${t('located')}: ${state.gps.lat.toFixed(5)}, ${state.gps.lon.toFixed(5)} ±${Math.round(state.gps.accuracy)} m`;
  }, failed, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
}

/** The report's JSON part from the form, or a message saying what is missing. */
function reportFromForm() {
  const place = state.places[Number($('place').value)];
  const pos = $('place').value !== '' && place ? place : state.gps;
  if (!state.photo) return { missing: 'need_photo' };
  if (!pos) return { missing: 'need_position' };
  const report = { lat: pos.lat, lon: pos.lon, reported_at: new Date().toISOString() };
  if (pos === state.gps && state.gps.accuracy) report.accuracy_m = state.gps.accuracy;
  const category = document.querySelector('input[name=category]:checked');
  if (category && category.value) report.category_hint = category.value;
  const text = [$('text').value.trim(), $('address').value.trim() && `${t('address_label')}: ${$('address').value.trim()}`]
    .filter(Boolean).join('\n');
  if (text) report.text = text;
  return { report };
}

function say(message, cls = 'status') {
  const result = $('result');
  result.className = cls;
  result.textContent = message;
}

async function submit(event) {
  event.preventDefault();
  const { report, missing } = reportFromForm();
  if (missing) return say(t(missing), 'warn');
  const item = { key: outbox.newKey(), report, photo: state.photo, created: Date.now() };
  await outbox.add(item);
  state.lastKey = item.key;
  $('report').reset();
  setupChips();
  state.photo = null;
  $('preview').hidden = true;
  $('photo-status').textContent = t('photo_none');
  await renderQueue();
  if (!navigator.onLine) return say(t('queued'), 'warn');
  say(t('sending'));
  await sendNow();
  if ((await outbox.all()).some((i) => i.key === item.key && !i.failed)) say(t('queued'), 'warn');
}

const hooks = {
  sent(item, reportId) {
    if (item.key === state.lastKey) {
      say(`${t('sent')}${reportId}`, 'ok');
      $('result').dataset.reportId = reportId;
    }
    // The ticket appears once the router and tracker have it: look again soon.
    for (const ms of [0, 1500, 4000]) setTimeout(loadMine, ms);
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
      el('span', { class: 'text' }, item.report.text || ''),
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
}

function renderMine() {
  const me = state.me;
  if (!me) return;
  $('points').textContent = String(me.points ?? 0);
  const rows = (me.reports || []).map((r) => el('li', { class: `state-${r.state}`, 'data-report-id': r.report_id },
    el('span', { class: `pill ${r.state}` }, t(r.state)), ' ',
    el('strong', {}, t(r.category)), ' ',
    el('span', { class: 'muted' }, when(r.received_at)), ' ',
    r.points ? el('span', { class: 'badge' }, `+${r.points}`) : null,
    el('div', { class: 'mono muted' }, r.report_id)));
  fill($('mine'), rows.length ? rows : el('li', { class: 'muted' }, t('none')));
}

function render() {
  renderPlaces();
  renderQueue();
  renderMine();
  if (state.gps) locate();
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
  $('signout').hidden = false;
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => null);
  setupPhoto();
  setupChips();
  locate();
  $('report').addEventListener('submit', submit);
  window.addEventListener('online', sendNow);
  setInterval(() => { if (navigator.onLine) sendNow(); }, 5000);
  every(10000, loadMine);
  await setupPlaces();
  await renderQueue();
  sendNow();
}

main();
