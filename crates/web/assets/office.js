// The office console: the queue (urgent first, then the nearest deadline),
// one ticket with photo, text, map, history and the actions. Live: an
// event for the office refreshes the queue, a new urgent ticket comes in
// on top and raises an alert; while the stream is down it polls.

import { el, fill, t, translate, languageToggle, whoami, signInForm, signOutButton, api, when, every, timeLeft, nextDeadline } from './common.js';
import { jurisdictions, drawMap, officeName } from './map.js';
import { ticketDetail } from './ticket_detail.js';
import { navigation } from './navigate.js';
import { follow, showLive, alertButton, raiseAlert, debounce } from './live.js';

const $ = (id) => document.getElementById(id);
const ACTIVE = ['open', 'acknowledged', 'in_progress', 'reopened'];
const state = { office: null, tickets: [], seen: null, selected: null, detail: null, geo: { features: [] }, live: false, loadedAt: 0 };
/** How long the queue may go without a reload while the stream is live. */
const LIVE_RELOAD_MS = 60000;

/** Urgent first, then the nearest deadline; finished ones last. */
function order(a, b) {
  const activeA = ACTIVE.includes(a.state), activeB = ACTIVE.includes(b.state);
  if (activeA !== activeB) return activeA ? -1 : 1;
  if (a.urgent !== b.urgent) return a.urgent ? -1 : 1;
  // A new urgent ticket comes in on top.
  const freshA = Boolean(state.fresh?.has(a.ticket_id)), freshB = Boolean(state.fresh?.has(b.ticket_id));
  if (freshA !== freshB) return freshA ? -1 : 1;
  const da = nextDeadline(a)?.at ?? Infinity, db = nextDeadline(b)?.at ?? Infinity;
  return da - db || String(a.received_at).localeCompare(String(b.received_at));
}

async function loadQueue() {
  if (!state.office) return;
  let r;
  try {
    r = await api(`/v1/offices/${encodeURIComponent(state.office)}/tickets`);
  } catch { return; }
  if (r.status === 401) return signInForm($('signin-box'), t('bad_token'));
  if (!r.ok) return;
  state.loadedAt = Date.now();
  const fresh = state.seen ? r.data.tickets.filter((x) => !state.seen.has(x.ticket_id)) : [];
  state.seen = new Set(r.data.tickets.map((x) => x.ticket_id));
  state.fresh = new Set([...(state.fresh || []), ...fresh.map((x) => x.ticket_id)]);
  state.tickets = r.data.tickets.slice().sort(order);
  renderQueue();
  if (state.selected) loadTicket(state.selected, false);
}

function renderQueue() {
  const showClosed = $('show-closed').checked;
  const shown = state.tickets.filter((x) => showClosed || ACTIVE.includes(x.state));
  $('count').textContent = String(shown.length);
  fill($('queue'), shown.length ? shown.map(queueRow) : el('li', { class: 'muted' }, t('none')));
}

function queueRow(ticket) {
  const left = timeLeft(ticket);
  const li = el('li', {
    class: `row ${ticket.ticket_id === state.selected ? 'selected' : ''} ${ticket.urgent ? 'urgent' : ''} ${state.fresh?.has(ticket.ticket_id) ? 'fresh' : ''}`,
    'data-ticket-id': ticket.ticket_id, tabindex: 0, role: 'button',
  },
  ticket.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null,
  ticket.needs_triage ? el('span', { class: 'pill triage' }, t('needs_triage')) : null,
  state.fresh?.has(ticket.ticket_id) ? el('span', { class: 'pill new' }, t('new')) : null,
  marks(ticket, left),
  el('strong', {}, t(ticket.category)), ' ',
  el('span', { class: `pill ${ticket.state}` }, t(ticket.state)),
  el('div', { class: `deadline ${left.cls}` }, left.text),
  el('div', { class: 'text' }, (ticket.text || '').slice(0, 80)));
  const open = () => { state.fresh?.delete(ticket.ticket_id); loadTicket(ticket.ticket_id, true); };
  li.addEventListener('click', open);
  li.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
  return li;
}

/** Escalated (the SLA clock flagged a step) and overdue (a deadline passed). */
function marks(ticket, left) {
  const escalated = (ticket.escalated_steps || []).length > 0;
  return [escalated ? el('span', { class: 'pill escalated', title: ticket.escalated_steps.map((s) => t(s)).join(', ') }, t('escalated_mark')) : null,
    left.cls === 'overdue' ? el('span', { class: 'pill overdue' }, t('overdue_mark')) : null];
}

/** Tickets an event named that the queue did not show yet (the tracker may record them a moment later). */
const awaited = new Set();
let awaitRounds = 0;
const refreshSoon = debounce(async () => {
  await loadQueue();
  for (const id of [...awaited]) if (state.seen?.has(id)) awaited.delete(id);
  if (awaited.size && ++awaitRounds <= 5) refreshSoon();
  else { awaited.clear(); awaitRounds = 0; }
}, 250);

/** One live event: refresh the queue if it concerns this office, alert if urgent or escalated. */
function onTicketEvent(e) {
  if (e.office_id !== state.office && e.from_office !== state.office) return;
  if (e.kind === 'opened' || e.kind === 'merged') awaited.add(e.ticket_id);
  refreshSoon();
  if (e.office_id !== state.office) return;
  const what = `${t(e.category)}: ${(e.text || '').slice(0, 80)}`;
  if (e.kind === 'opened' && e.urgent) raiseAlert(t('alert_urgent'), what, e.ticket_id);
  if (e.kind === 'merged' && e.urgent) raiseAlert(t('alert_merged'), what, e.ticket_id);
  if (e.kind === 'escalated') raiseAlert(t('alert_escalated'), `${t(e.category)} · ${t(e.reason || '')}`, e.ticket_id);
}

async function loadTicket(id, fresh) {
  state.selected = id;
  if (fresh) { location.hash = `ticket=${id}`; renderQueue(); }
  let r;
  try { r = await api(`/v1/tickets/${encodeURIComponent(id)}`); } catch { return; }
  if (!r.ok) return;
  // Someone who has touched a control of the open ticket (typed a note,
  // picked an office, chosen a proof photo) keeps it as is: a live refresh
  // must never reset what they are about to send. Their own action
  // redraws it (`settled`), and a stale version then answers 409.
  const chosen = $('proof') && $('proof').files.length > 0;
  const focused = document.activeElement && $('ticket').contains(document.activeElement);
  const busy = !fresh && (chosen || state.touched || focused);
  if (busy && state.detail && state.detail.ticket_id === r.data.ticket_id) return;
  state.detail = r.data;
  state.touched = false;
  renderTicket(r.data);
}

/** After an action: the ticket may be redrawn again. */
function settled() {
  state.touched = false;
  if ($('proof')) $('proof').value = '';
  document.activeElement?.blur();
}

function photoStrip(ticket) {
  const imgs = (ticket.photos || []).map((p, n) => {
    const img = el('img', { class: 'photo', alt: t('photo'), src: `/v1/reports/${ticket.report_id}/photos/${n}`, 'data-sha256': p.sha256 || '' });
    img.addEventListener('error', () => img.replaceWith(el('span', { class: 'muted' }, t('photo_missing'))));
    return img;
  });
  // Merged duplicates: from a list if the API gives one, else the `merged` events.
  const fromEvents = (ticket.events || []).filter((e) => e.kind === 'merged')
    .map((e) => e.report_id || ((e.note || '').match(/[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}/) || [])[0]).filter(Boolean);
  const dups = (ticket.duplicates || fromEvents).map((d) => {
    const rid = d.report_id || d;
    const img = el('img', { class: 'thumb', alt: t('duplicates'), src: `/v1/reports/${rid}/photos/0?size=thumbnail`, 'data-report-id': rid });
    img.addEventListener('error', () => img.remove());
    return img;
  });
  return [el('div', { class: 'photos' }, imgs),
    dups.length ? [el('h3', {}, t('duplicates')), el('div', { class: 'strip' }, dups)] : null];
}

function ticketMap(ticket) {
  const area = state.geo.features.filter((f) => f.properties.office_id === ticket.office_id);
  const point = { lat: ticket.location.lat, lon: ticket.location.lon, cls: ticket.urgent ? 'urgent' : '', title: t(ticket.category) };
  return drawMap(area.length ? area : state.geo.features, [point], { highlight: ticket.office_id, labels: false, width: 320 });
}

function history(ticket) {
  return el('ol', { class: 'history' }, (ticket.events || []).map((e) => el('li', {},
    el('strong', {}, t(e.kind)), ' ', el('span', { class: 'muted' }, `${when(e.at)} · ${e.actor_name || e.actor}`),
    e.reason ? el('div', {}, e.kind === 'rejected' ? `${t('reason')}: ${t(e.reason)}` : t(e.reason)) : null,
    e.note ? el('div', { class: 'note' }, e.note) : null,
    e.proof_photo_sha256 ? proofPhoto(ticket, e.proof_photo_sha256) : null)));
}

/** The office's proof photo of a resolution: a thumbnail linking to it. */
function proofPhoto(ticket, sha256) {
  const src = `/v1/tickets/${ticket.ticket_id}/proof-photos/${sha256}`;
  const img = el('img', { class: 'thumb proof', alt: t('proof_photo'), src: `${src}?size=thumbnail`, 'data-sha256': sha256 });
  img.addEventListener('error', () => img.replaceWith(el('span', { class: 'muted' }, t('photo_missing'))));
  return el('div', {}, el('a', { href: src, target: '_blank', rel: 'noopener' }, img));
}

function renderTicket(ticket) {
  const left = timeLeft(ticket);
  fill($('ticket'),
    el('h2', {}, ticket.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null,
      ticket.needs_triage ? el('span', { class: 'pill triage', id: 'ticket-triage' }, t('needs_triage')) : null, ' ', t(ticket.category), ' ',
      el('span', { class: `pill ${ticket.state}`, id: 'ticket-state', 'data-state': ticket.state }, t(ticket.state))),
    el('p', { class: `deadline ${left.cls}` }, left.text),
    el('p', { class: 'muted' }, `${t('received')}: ${when(ticket.received_at)} · ${ticket.office_name} · ${ticket.location.lat.toFixed(5)}, ${ticket.location.lon.toFixed(5)}`),
    photoStrip(ticket),
    el('h3', {}, t('courier_text')),
    el('p', { class: 'courier-text', id: 'courier-text' }, ticket.text || '—'),
    ticketMap(ticket),
    navigation(ticket),
    ticketDetail(ticket, { role: state.role, onChanged: () => { settled(); return loadQueue().then(() => loadTicket(ticket.ticket_id, false)); } }),
    el('h3', {}, t('actions')), actions(ticket),
    el('h3', {}, t('history')), history(ticket));
}

function actions(ticket) {
  const note = el('textarea', { id: 'note', rows: 2, maxlength: 2000, placeholder: t('note') });
  const reason = el('select', { id: 'reason' }, ['duplicate', 'not_a_hazard', 'not_our_area'].map((r) => el('option', { value: r }, t(r))));
  const status = el('p', { class: 'status', role: 'status', id: 'action-status' });
  const proof = el('input', { type: 'file', id: 'proof', accept: 'image/*' });
  const allowed = {
    acknowledge: ['open', 'reopened'], make_safe: ['acknowledged', 'in_progress'],
    resolve: ['acknowledged', 'in_progress'], reject: ['open', 'acknowledged'],
  };
  const buttons = Object.keys(allowed).map((action) => {
    const b = el('button', { type: 'button', id: `do-${action}`, class: action === 'reject' ? 'danger' : 'primary', disabled: !allowed[action].includes(ticket.state) }, t(action));
    b.addEventListener('click', () => act(ticket, action, { note: note.value.trim() || undefined, reason: action === 'reject' ? reason.value : undefined }, status,
      action === 'resolve' ? proof.files[0] : undefined));
    return b;
  });
  return el('div', { class: 'actions' }, note, el('label', {}, t('reason'), ' ', reason),
    el('label', {}, t('proof_photo'), ' ', proof),
    el('div', { class: 'buttons' }, buttons), state.role === 'supervisor' ? reroute(ticket, note, status) : null, status);
}

/** Supervisors only: move the ticket to another office (with the note). */
function reroute(ticket, note, status) {
  const others = state.geo.features.filter((f) => f.properties.office_id !== ticket.office_id);
  const select = el('select', { id: 'reroute-to' }, others.map((f) => el('option', { value: f.properties.office_id }, officeName(f))));
  const button = el('button', { type: 'button', id: 'do-reroute', class: 'ghost' }, t('reroute'));
  button.addEventListener('click', () => act(ticket, 'reroute', { office_id: select.value, note: note.value.trim() || undefined }, status));
  return el('div', { class: 'buttons' }, el('label', { class: 'inline' }, t('route_to'), ' ', select), button);
}

/** Uploads a proof photo for the ticket; its sha256, or null (status says why). */
async function uploadProof(ticket, file, status) {
  const form = new FormData();
  form.append('photo', file, file.name || 'proof.jpg');
  const r = await api(`/v1/tickets/${ticket.ticket_id}/proof-photos`, { method: 'POST', body: form });
  if (r.ok) return r.data.sha256;
  status.textContent = `${t('proof_photo')}: ${(r.data && (r.data.detail || r.data.title)) || `HTTP ${r.status}`}`;
  status.className = 'warn';
  return null;
}

async function act(ticket, action, body, status, proofFile) {
  status.textContent = '…';
  try {
    if (proofFile) {
      const sha256 = await uploadProof(ticket, proofFile, status);
      if (!sha256) return;
      body.proof_photo_sha256 = sha256;
    }
    const r = await api(`/v1/tickets/${ticket.ticket_id}/${action}`, { method: 'POST', json: body });
    status.textContent = r.ok ? t('done') : (r.data && (r.data.detail || r.data.title)) || `HTTP ${r.status}`;
    status.className = r.ok ? 'ok' : 'warn';
  } catch {
    status.textContent = t('network');
    return;
  }
  settled();
  await loadQueue();
  await loadTicket(ticket.ticket_id, false);
}

async function chooseOffice(who) {
  state.role = who.role;
  state.geo = await jurisdictions();
  if (who.role === 'office') {
    state.office = who.office_id;
    return;
  }
  const select = $('office');
  const offices = state.geo.features.map((f) => f.properties.office_id);
  fill(select, state.geo.features.map((f) => el('option', { value: f.properties.office_id }, officeName(f))));
  state.office = offices.includes(localStorage.getItem('cp_office')) ? localStorage.getItem('cp_office') : offices[0];
  select.value = state.office;
  select.hidden = false;
  select.addEventListener('change', () => {
    state.office = select.value;
    localStorage.setItem('cp_office', select.value);
    state.seen = null;
    loadQueue();
  });
}

async function main() {
  translate();
  languageToggle($('lang'), () => { renderQueue(); if (state.detail) renderTicket(state.detail); });
  signOutButton($('signout'));
  const who = await whoami();
  if (!who || !['office', 'supervisor'].includes(who.role)) {
    $('signout').hidden = !who;
    return signInForm($('signin-box'), who ? t('wrong_role') : '');
  }
  $('app').hidden = false;
  $('signout').hidden = false;
  $('show-closed').addEventListener('change', renderQueue);
  for (const kind of ['input', 'change']) $('ticket').addEventListener(kind, () => { state.touched = true; });
  await chooseOffice(who);
  const m = location.hash.match(/ticket=([0-9a-f-]{36})/);
  if (m) loadTicket(m[1], false);
  alertButton($('alerts'));
  follow({
    // On (re)connecting, one reload covers what happened before the stream was up.
    live: (up) => { if (up && !state.live) refreshSoon(); state.live = up; showLive($('live'), up); },
    ticket: onTicketEvent,
    reset: () => loadQueue(),
  });
  // Polls while the stream is down; reloads now and then while it is up.
  every(4000, () => { if (!state.live || Date.now() - state.loadedAt > LIVE_RELOAD_MS) loadQueue(); });
  setInterval(() => { if (!document.hidden) renderQueue(); }, 30000);
}

main();
