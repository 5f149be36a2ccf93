// The supervisor dashboard: the office ranking by KPIs (ranking.js),
// response-time bar charts drawn here as SVG,
// overdue and unrouted lists (with routing), disputed rejections
// (disputes.js), the district map, the audit log check, alert deliveries
// that keep failing (deliveries.js), dead letters (dead_letters.js),
// points and rewards: the leaderboard,
// the catalogue and the redemptions (rewards.js). Live: refreshed on every event of the
// stream (debounced), escalations alert; polls while the stream is down.

import { el, svg, fill, t, translate, languageToggle, whoami, signInForm, signOutButton, api, when, every, timeLeft, duration } from './common.js';
import { jurisdictions, drawMap, officeName } from './map.js';
import { loadDisputes } from './disputes.js';
import { loadFailingDeliveries } from './deliveries.js';
import { loadDeadLetters } from './dead_letters.js';
import { loadRewards } from './rewards.js';
import { loadRanking } from './ranking.js';
import { follow, showLive, alertButton, raiseAlert, debounce } from './live.js';

const $ = (id) => document.getElementById(id);
const STEPS = [['acknowledge', 'step_ack'], ['make_safe', 'step_safe'], ['resolve', 'step_resolve'], ['verify', 'step_verify']];
const state = { geo: { features: [] }, office: {}, category: {}, overdue: null, unrouted: [], open: [], verify: null, choice: {} };

/** Minutes with one decimal below ten. */
function minutes(seconds) {
  const m = seconds / 60;
  return m < 10 ? m.toFixed(1) : String(Math.round(m));
}

/** `核查未通过 2/4 (50%)`: fixes that failed verification, or nothing. */
function failedText(g) {
  const f = g.failed_verification;
  if (!f || !f.of) return '';
  return ` · ${t('failed_verification')} ${f.count}/${f.of} (${Math.round(f.share * 100)}%)`;
}

/** The chart in words, for screen readers: each group's median and p90 per step. */
function chartWords(groups, label) {
  return `${t('chart_alt')} ` + groups.map((g) => `${label(g)} (${g.count}): ` + STEPS.map(([step, name]) => {
    const s = g[step] || {};
    return s.count ? `${t(name)} ${t('median')} ${minutes(s.median_s || 0)} min, ${t('p90')} ${minutes(s.p90_s || 0)} min` : `${t(name)} —`;
  }).join(', ')).join('; ');
}

/**
 * Horizontal bars per group: median and p90 (minutes) of each step (the
 * last one resolve → verify, which has no deadline), the share within the
 * deadline as text, and the share of fixes that failed verification.
 * Scaled to the largest p90.
 */
function barChart(report, label) {
  const groups = (report && report.groups) || [];
  if (!groups.length) return el('p', { class: 'muted' }, t('none'));
  const max = Math.max(1, ...groups.flatMap((g) => STEPS.map(([s]) => (g[s] && g[s].p90_s) || 0)));
  const rowH = 20, groupH = STEPS.length * rowH + 30, left = 70, width = 440, barW = width - left - 140;
  const root = svg('svg', { class: 'bars', viewBox: `0 0 ${width} ${groups.length * groupH + 4}`, role: 'img',
    'aria-label': chartWords(groups, label) });
  groups.forEach((g, gi) => {
    const y0 = gi * groupH + 16;
    root.append(svg('text', { x: 0, y: y0, class: 'group', 'data-group': g.group }, `${label(g)} (${g.count})${failedText(g)}`));
    STEPS.forEach(([step, name], si) => {
      const s = g[step] || {};
      const y = y0 + 6 + si * rowH;
      root.append(svg('text', { x: 4, y: y + 13, class: 'step' }, t(name)));
      const p90 = ((s.p90_s || 0) / max) * barW, med = ((s.median_s || 0) / max) * barW;
      root.append(svg('rect', { x: left, y, width: p90.toFixed(1), height: rowH - 5, class: 'p90' }, svg('title', {}, `${t('p90')} ${s.p90_s ?? '—'} s`)));
      root.append(svg('rect', { x: left, y, width: med.toFixed(1), height: rowH - 5, class: `median ${step}` }, svg('title', {}, `${t('median')} ${s.median_s ?? '—'} s`)));
      const share = s.within_deadline == null ? '—' : `${Math.round(s.within_deadline * 100)}%`;
      const text = s.count ? `${minutes(s.median_s || 0)}/${minutes(s.p90_s || 0)} min · ${share}` : '—';
      root.append(svg('text', { x: left + Math.max(p90, med) + 4, y: y + 13, class: 'value', 'data-step': step, 'data-count': s.count || 0 }, text));
    });
  });
  const legend = el('p', { class: 'legend muted' },
    el('span', { class: 'key median' }), ` ${t('median')} `, el('span', { class: 'key p90' }), ` ${t('p90')} · min · ${t('within')}`);
  return [root, legend];
}

function officeLabel(g) {
  const id = (g.key && g.key.office) || g.group;
  const f = state.geo.features.find((x) => x.properties.office_id === id);
  return f ? officeName(f) : id;
}

function categoryLabel(g) {
  return t((g.key && g.key.category) || g.group);
}

async function get(path) {
  try {
    const r = await api(path);
    if (r.status === 401) signInForm($('signin-box'), t('bad_token'));
    return r.ok ? r.data : null;
  } catch { return null; }
}

async function loadFigures() {
  const [office, category] = await Promise.all([
    get('/v1/audit/response-times?group_by=office'), get('/v1/audit/response-times?group_by=category')]);
  if (office) fill($('by-office'), barChart(office, officeLabel));
  if (category) fill($('by-category'), barChart(category, categoryLabel));
}

async function loadOpenTickets() {
  const lists = await Promise.all(state.geo.features.map((f) =>
    get(`/v1/offices/${encodeURIComponent(f.properties.office_id)}/tickets`)));
  state.open = lists.flatMap((l) => (l ? l.tickets : [])).filter((x) => ['open', 'acknowledged', 'in_progress', 'reopened'].includes(x.state));
  const points = state.open.map((x) => {
    const left = timeLeft(x);
    return { lat: x.location.lat, lon: x.location.lon, cls: left.cls === 'overdue' ? 'overdue' : x.urgent ? 'urgent' : '', title: `${t(x.category)} · ${t(x.state)} · ${left.text}` };
  });
  fill($('district'), drawMap(state.geo.features, points, { width: 560 }),
    el('p', { class: 'muted', id: 'open-count', 'data-count': points.length }, `${t('tickets')}: ${points.length}`));
  renderTriage();
}

async function loadOverdue() {
  const data = await get('/v1/audit/overdue');
  const tickets = (data && data.tickets) || [];
  $('overdue-count').textContent = String(tickets.length);
  fill($('overdue'), tickets.length ? tickets.map(overdueRow) : el('li', { class: 'muted' }, t('none')));
}

/** One overdue ticket: office, category, the steps missed and by how long. */
function overdueRow(x) {
  const f = state.geo.features.find((g) => g.properties.office_id === x.office_id);
  const name = Object.fromEntries(STEPS);
  const missed = (x.breaches || []).map((b) => `${t(name[b.step] || b.step)} ${t('overdue')} ${duration(b.late_s * 1000)}`).join(' · ');
  return el('li', { class: 'row', 'data-ticket-id': x.ticket_id },
    x.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null, ' ',
    x.disputed ? el('span', { class: 'pill disputed' }, t('disputed')) : null, ' ',
    el('strong', {}, `${f ? officeName(f) : x.office_id} · ${t(x.category)}`), ' ',
    el('span', { class: `pill ${x.state}` }, t(x.state)),
    el('div', { class: 'deadline overdue' }, missed || timeLeft(x).text));
}

async function loadUnrouted() {
  const data = await get('/v1/unrouted');
  const list = Array.isArray(data) ? data : (data && (data.reports || data.unrouted)) || [];
  $('unrouted-count').textContent = String(list.length);
  fill($('unrouted'), list.length ? list.map(unroutedRow) : el('li', { class: 'muted' }, t('none')));
}

/**
 * An office picker and a button that POSTs `{office_id}` to `path`; the
 * choice survives the list's refreshes. `exclude`: the current office.
 */
function routeControl(key, path, label, exclude, after) {
  const offices = state.geo.features.filter((f) => f.properties.office_id !== exclude);
  const select = el('select', {}, offices.map((f) => el('option', { value: f.properties.office_id }, officeName(f))));
  if (state.choice[key]) select.value = state.choice[key];
  select.addEventListener('change', () => { state.choice[key] = select.value; });
  const button = el('button', { type: 'button', class: 'ghost' }, label);
  const status = el('span', { class: 'status' });
  button.addEventListener('click', async () => {
    const r = await api(path, { method: 'POST', json: { office_id: select.value } }).catch(() => null);
    status.textContent = r && r.ok ? t('done') : (r && r.data && (r.data.detail || r.data.title)) || t('network');
    after();
  });
  return [el('label', {}, t('route_to'), ' ', select), ' ', button, ' ', status];
}

function unroutedRow(u) {
  return el('li', { class: 'row', 'data-report-id': u.report_id }, el('strong', {}, t(u.category)), ' ',
    el('span', { class: 'muted' }, `${when(u.received_at)} · ${u.location.lat.toFixed(4)}, ${u.location.lon.toFixed(4)}`),
    el('div', { class: 'text' }, u.text || ''),
    routeControl(u.report_id, `/v1/unrouted/${u.report_id}/route`, t('route'), null, refresh));
}

/** Open tickets the router was unsure of, with reroute. */
function renderTriage() {
  const list = state.open.filter((x) => x.needs_triage);
  $('triage-count').textContent = String(list.length);
  fill($('triage'), list.length ? list.map((x) => el('li', { class: 'row', 'data-ticket-id': x.ticket_id },
    el('span', { class: 'pill triage' }, t('needs_triage')), ' ',
    el('strong', {}, `${x.office_name || x.office_id} · ${t(x.category)}`), ' ',
    el('span', { class: 'muted' }, when(x.received_at)),
    el('div', { class: 'text' }, (x.text || '').slice(0, 100)),
    routeControl(x.ticket_id, `/v1/tickets/${x.ticket_id}/reroute`, t('reroute'), x.office_id, refresh)))
    : el('li', { class: 'muted' }, t('none')));
}

async function loadVerify() {
  const data = await get('/v1/audit/verify');
  const box = $('verify');
  if (!data) { box.textContent = '—'; return; }
  box.className = data.intact ? 'ok' : 'warn';
  const figures = data.figures || [];
  const wrong = figures.length ? ` ${t('figures_disagree')} ${figures.map((f) => `${f.ticket_id} ${f.column}`).join(', ')}` : '';
  const a = data.anchor || { status: 'unanchored' };
  const anchor = a.status === 'holds' ? `${t('anchor_holds')} (#${a.head.chain_seq})`
    : a.status === 'broken' ? `${t('anchor_broken')} ${a.problem}` : t('anchor_unanchored');
  box.textContent = (data.intact ? `✓ ${t('intact')}` : `✗ ${t('broken')} ${data.report.broken ? JSON.stringify(data.report.broken) : ''}${wrong}`) + ` · ${anchor}`;
}

function refresh() {
  loadRanking($('ranking'), get, officeLabel);
  loadFigures();
  loadOpenTickets();
  loadOverdue();
  loadUnrouted();
  loadDisputes($('disputes'), $('disputes-count'), routeControl, refresh);
  loadVerify();
  loadFailingDeliveries($('deliveries'), $('deliveries-count'), $('deliveries-title'));
  loadDeadLetters($('dead-letters'), $('dead-letters-count'), $('dead-letters-title'));
  loadRewards({ leaderboard: $('leaderboard'), form: $('reward-form-box'), catalogue: $('rewards'), redemptions: $('redemptions'), count: $('pickups-count') }, refresh);
}

async function main() {
  translate();
  languageToggle($('lang'), refresh);
  signOutButton($('signout'));
  const who = await whoami();
  if (!who || who.role !== 'supervisor') {
    $('signout').hidden = !who;
    return signInForm($('signin-box'), who ? t('wrong_role') : '');
  }
  $('app').hidden = false;
  $('signout').hidden = false;
  state.geo = await jurisdictions();
  alertButton($('alerts'));
  let live = false, loadedAt = 0;
  const reload = () => { loadedAt = Date.now(); refresh(); };
  // Every event refreshes the dashboard (once per burst); escalations alert.
  const soon = debounce(reload, 1000);
  follow({
    live: (up) => { if (up && !live) soon(); live = up; showLive($('live'), up); },
    ticket: (e) => {
      soon();
      if (e.kind === 'escalated') raiseAlert(t('alert_escalated'), `${e.office_id} · ${t(e.category)} · ${t(e.reason || '')}`, e.ticket_id);
    },
    unrouted: soon,
    reset: reload,
  });
  // Polls while the stream is down; reloads now and then while it is up.
  every(5000, () => { if (!live || Date.now() - loadedAt > 60000) reload(); });
}

main();
