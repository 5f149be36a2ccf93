// The supervisor dashboard's disputes: tickets an office rejected as "not
// our area", waiting for a supervisor, who reroutes them to an office or
// upholds the rejection with a note. Rows are kept across refreshes (keyed
// by the rejection's event id) so that a note being typed survives them;
// only their text is redrawn. Everything shown is text (common.js's el),
// never HTML.

import { el, fill, t, api, when, duration, keptRows } from './common.js';

/** Rows on screen, by rejection event id. */
const rows = new Map();

/** What went wrong with an API reply, for a status line. */
function problem(r) {
  return (r && r.data && (r.data.detail || r.data.title)) || t('network');
}

/** The note box and the uphold button of one dispute. */
function upholdControl(ticketId, after) {
  const note = el('input', { type: 'text', class: 'uphold-note', maxlength: 2000, placeholder: t('uphold_note') });
  const button = el('button', { type: 'button', class: 'ghost uphold' }, t('uphold'));
  const status = el('span', { class: 'status' });
  button.addEventListener('click', async () => {
    if (!note.value.trim()) { status.textContent = t('need_note'); return; }
    const path = `/v1/disputes/${encodeURIComponent(ticketId)}/uphold`;
    const r = await api(path, { method: 'POST', json: { note: note.value } }).catch(() => null);
    status.textContent = r && r.ok ? t('upheld') : problem(r);
    if (r && r.ok) after();
  });
  return el('div', { class: 'uphold-control' }, el('label', {}, note), ' ', button, ' ', status);
}

/** The text of one dispute: who rejected it, why, how long it waits. */
function describe(d) {
  const x = d.ticket || {};
  const late = d.late_s > 0 ? el('span', { class: 'deadline overdue' }, ` · ${t('overdue')} ${duration(d.late_s * 1000)}`) : null;
  return [
    el('span', { class: 'pill disputed' }, t('disputed')), ' ',
    x.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null, ' ',
    el('strong', {}, t(x.category || 'other')), ' ',
    el('span', { class: 'muted' }, `${t('received')} ${when(x.received_at)}`),
    el('div', {}, `${t('rejected_by')}: ${d.office_name || d.office_id}`,
      d.raised_by_name ? ` (${d.raised_by_name})` : '', ' · ',
      el('span', { class: 'waiting', 'data-waiting-s': d.waiting_s }, `${t('waiting')} ${duration(d.waiting_s * 1000)}`), late),
    d.note ? el('div', { class: 'note' }, `${t('note')}: ${d.note}`) : null,
    el('div', { class: 'text' }, (x.text || '').slice(0, 200)),
  ];
}

/** A new row: its text, then the two controls (kept while it lives). */
function newRow(d, routeControl, after) {
  const info = el('div', { class: 'info' });
  const li = el('li', { class: 'row', 'data-ticket-id': d.ticket_id, 'data-dispute': d.rejection_event_id }, info,
    el('div', { class: 'reroute-control' },
      routeControl(`dispute:${d.ticket_id}`, `/v1/tickets/${encodeURIComponent(d.ticket_id)}/reroute`, t('reroute'), d.office_id, after)),
    upholdControl(d.ticket_id, after));
  return { li, update: (next) => fill(info, describe(next)) };
}

/**
 * Draws the open disputes into `list` and their number into `count`.
 * `routeControl(key, path, label, excludeOffice, after)` is the
 * dashboard's office picker; `after` runs once one is settled.
 */
export async function loadDisputes(list, count, routeControl, after) {
  const r = await api('/v1/disputes').catch(() => null);
  if (!r || !r.ok) return;
  const disputes = (r.data && r.data.disputes) || [];
  count.textContent = String(disputes.length);
  keptRows(list, rows, disputes, (d) => d.rejection_event_id, (d) => newRow(d, routeControl, after));
}
