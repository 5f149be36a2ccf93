// The office ranking on the supervisor dashboard: GET /v1/audit/kpis by
// office, ranked by response rate, then resolution and satisfaction (higher
// first) and rework (lower first). Each cell shows count/of and the rate;
// each office links to its printable monthly report.

import { el, fill, t } from './common.js';

/** `12/15 (80%)`, or `—` with nothing to measure. */
function cell(r) {
  if (!r || !r.of) return el('td', { class: 'num muted' }, '—');
  return el('td', { class: 'num', 'data-count': r.count, 'data-of': r.of }, `${r.count}/${r.of} (${Math.round(r.rate * 100)}%)`);
}

const rate = (r, none) => (r && r.of ? r.rate : none);

/** Better first: response, resolution, satisfaction high; rework low. */
function compare(a, b) {
  return (rate(b.response, -1) - rate(a.response, -1))
    || (rate(b.resolution, -1) - rate(a.resolution, -1))
    || (rate(b.satisfaction, -1) - rate(a.satisfaction, -1))
    || (rate(a.rework, 2) - rate(b.rework, 2))
    || a.group.localeCompare(b.group);
}

/** This month, UTC, `YYYY-MM`. */
function thisMonth() {
  return new Date().toISOString().slice(0, 7);
}

/** Fills `box` with the ranking; `label(group)` names an office. */
export async function loadRanking(box, get, label) {
  const data = await get('/v1/audit/kpis?group_by=office');
  if (!data) return;
  const groups = [...(data.groups || [])].sort(compare);
  if (!groups.length) return fill(box, el('p', { class: 'muted' }, t('none')));
  const head = el('tr', {}, ['rank', 'office', 'kpi_response', 'kpi_resolution', 'kpi_rework', 'kpi_satisfaction', 'monthly_report']
    .map((k) => el('th', { scope: 'col' }, t(k))));
  const rows = groups.map((g, i) => {
    const office = (g.key && g.key.office) || g.group;
    const report = `/v1/audit/offices/${encodeURIComponent(office)}/monthly?month=${thisMonth()}`;
    return el('tr', { 'data-office': office, 'data-rank': i + 1 },
      el('td', { class: 'num' }, String(i + 1)), el('th', { scope: 'row' }, label(g)),
      cell(g.response), cell(g.resolution), cell(g.rework), cell(g.satisfaction),
      el('td', {}, el('a', { href: report, target: '_blank' }, t('print'))));
  });
  fill(box, el('div', { class: 'table-wrap' }, el('table', { class: 'table ranking' }, el('thead', {}, head), el('tbody', {}, rows))),
    el('p', { class: 'legend muted' }, t('ranking_note')));
}
