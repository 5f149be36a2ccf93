// "我的报告 / My reports": each of the courier's reports as a card (their
// photo, their words, the office it went to, the state and the next
// deadline in words, the office's notes and proof photo, the points), and
// a detail view with the steps as a timeline. Everything comes from
// `GET /v1/couriers/me` and, for the timeline, `GET /v1/tickets/{id}`
// (the courier's view: never another reporter's words).

import { el, fill, t, lang, addStrings } from './common.js';
import { jurisdictions, officeName } from './map.js';

addStrings({
  zh: {
    waiting_routing: '等待分派', went_to: '送达', no_text: '（没有描述）', detail_back: '返回列表', timeline: '处理经过',
    your_photos: '你的照片', proof_big: '街道办的办结照片', notes_title: '街道办说明', points_earned: '积分',
    due_ack: '须在 {t} 前响应', due_safe: '须在 {t} 前排除危险', due_resolve: '须在 {t} 前修好',
    late_ack: '已超时：应在 {t} 前响应', late_safe: '已超时：应在 {t} 前排除危险', late_resolve: '已超时：应在 {t} 前修好',
    role_office: '街道办', role_supervisor: '督办', role_system: '系统', role_courier: '上报人',
    state_open: '已送达，等待街道办受理', state_acknowledged: '街道办已受理', state_in_progress: '正在处理',
    state_resolved: '街道办说已修好', state_closed: '已结案', state_reopened: '已重开，等待重新处理',
    state_rejected: '已驳回', state_unrouted: '未在任何街道范围内，已转督办', reopen: '重开', close: '结案',
    verified: '已核查', reason_label: '原因',
  },
  en: {
    waiting_routing: 'waiting for routing', went_to: 'Sent to', no_text: '(no description)', detail_back: 'Back to the list', timeline: 'What happened',
    your_photos: 'Your photos', proof_big: "The office's photo of the fix", notes_title: "Office's notes", points_earned: 'points',
    due_ack: 'to be answered by {t}', due_safe: 'to be made safe by {t}', due_resolve: 'to be fixed by {t}',
    late_ack: 'overdue: should have been answered by {t}', late_safe: 'overdue: should have been made safe by {t}', late_resolve: 'overdue: should have been fixed by {t}',
    role_office: 'Office', role_supervisor: 'Supervisor', role_system: 'System', role_courier: 'Reporter',
    state_open: 'Delivered, waiting for the office', state_acknowledged: 'The office has taken it on', state_in_progress: 'Being fixed',
    state_resolved: 'The office says it is fixed', state_closed: 'Closed', state_reopened: 'Reopened, waiting to be fixed again',
    state_rejected: 'Rejected', state_unrouted: 'Outside every area, sent to the supervisors', reopen: 'Reopen', close: 'Close',
    verified: 'Checked', reason_label: 'reason',
  },
});

let areas = [];
jurisdictions().then((j) => { areas = j.features || []; });

/** The office's name in the page language (the jurisdictions file has both), else the tracker's. */
export function officeLabel(report) {
  const area = areas.find((f) => f.properties && f.properties.office_id === report.office_id);
  return area ? officeName(area) : report.office_name || report.office_id || '';
}

/** "12:30" today, else a short date and time. */
export function clock(iso) {
  const d = new Date(iso);
  const locale = lang() === 'zh' ? 'zh-CN' : 'en-GB';
  const today = d.toDateString() === new Date().toDateString();
  return today ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** The next deadline in words ("须在 12:30 前响应"), or '' when none applies. */
export function deadlineWords(report, now = Date.now()) {
  const d = report.deadlines;
  if (!d) return '';
  const step = { open: ['ack', d.acknowledge_by], reopened: ['resolve', d.resolve_by],
    acknowledged: ['safe', d.make_safe_by], in_progress: ['resolve', d.resolve_by] }[report.state];
  if (!step || !step[1]) return '';
  const late = new Date(step[1]).getTime() < now;
  return t(`${late ? 'late' : 'due'}_${step[0]}`).replace('{t}', clock(step[1]));
}

/** The state in a sentence. */
export function stateWords(state) {
  return t(`state_${state}`);
}

function thumb(report) {
  if (!(report.photos || []).length) return null;
  return el('img', { class: 'card-thumb', alt: t('your_photos'), loading: 'lazy',
    src: `/v1/reports/${encodeURIComponent(report.report_id)}/photos/0?size=thumbnail` });
}

function proofSrc(report, size = '') {
  const p = report.proof_photo;
  return p && report.ticket_id ? `/v1/tickets/${report.ticket_id}/proof-photos/${p.sha256}${size}` : null;
}

function noteList(notes) {
  if (!(notes || []).length) return null;
  return el('ul', { class: 'notes' }, notes.map((n) => el('li', { 'data-kind': n.kind },
    el('span', { class: 'muted' }, `${t(`role_${n.role}`)} · ${t(n.kind)} · ${clock(n.at)}`), ' ',
    el('span', { class: 'note user-text' }, n.note))));
}

/** Where the report went: the office's name, or waiting for routing. */
function whereWords(report) {
  if (report.state === 'unrouted' || !report.office_id) return t('waiting_routing');
  return `${t('went_to')} ${officeLabel(report)}`;
}

/** One report as a card; `extra(report)` adds what other modules offer (verification). */
export function card(report, extra) {
  const proof = proofSrc(report, '?size=thumbnail');
  return el('li', { class: `report-card state-${report.state}`, 'data-report-id': report.report_id,
    'data-ticket-id': report.ticket_id || '', tabindex: '0', role: 'button' },
  thumb(report),
  el('div', { class: 'card-body' },
    el('p', { class: 'card-head' },
      el('span', { class: `pill ${report.state}` }, t(report.state)), ' ',
      report.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null, ' ',
      el('strong', { class: 'office' }, whereWords(report)),
      report.points ? el('span', { class: 'badge points' }, `+${report.points} ${t('points_earned')}`) : null),
    el('p', { class: 'text user-text' }, report.text || t('no_text')),
    el('p', { class: 'state-words' }, stateWords(report.state)),
    deadlineWords(report) ? el('p', { class: 'deadline' }, deadlineWords(report)) : null,
    noteList(report.notes),
    proof ? el('img', { class: 'card-proof', alt: t('proof_big'), loading: 'lazy', src: proof }) : null,
    extra ? extra(report) : null));
}

/** The steps of a courier's ticket view as a timeline in words. */
function timeline(view) {
  return el('ol', { class: 'timeline' }, (view.events || []).map((e) => el('li', { 'data-kind': e.kind },
    el('strong', {}, clock(e.at)), ' ', t(e.kind), ' · ', t(`role_${e.role}`),
    e.reason ? el('span', { class: 'muted' }, ` (${t(e.reason)})`) : null,
    e.note ? el('div', { class: 'note user-text' }, e.note) : null)));
}

/** The detail view of `report` into `box`; `view` is `GET /v1/tickets/{id}` as the courier sees it, or null. */
export function detail(box, report, view, extra) {
  const photos = (report.photos || []).map((p, n) => el('img', { class: 'photo', alt: t('your_photos'),
    src: `/v1/reports/${encodeURIComponent(report.report_id)}/photos/${n}` }));
  const proof = proofSrc(report);
  fill(box,
    el('button', { type: 'button', class: 'ghost back', id: 'detail-back' }, t('detail_back')),
    el('h2', {}, el('span', { class: `pill ${report.state}` }, t(report.state)), ' ', whereWords(report)),
    el('p', { class: 'courier-text user-text' }, report.text || t('no_text')),
    el('p', { class: 'state-words' }, stateWords(report.state)),
    deadlineWords(report) ? el('p', { class: 'deadline' }, deadlineWords(report)) : null,
    report.points ? el('p', {}, el('span', { class: 'badge points' }, `+${report.points} ${t('points_earned')}`)) : null,
    el('h3', {}, t('your_photos')), el('div', { class: 'photos' }, photos),
    proof ? [el('h3', {}, t('proof_big')), el('img', { class: 'photo proof', alt: t('proof_big'), src: proof })] : null,
    (report.notes || []).length ? [el('h3', {}, t('notes_title')), noteList(report.notes)] : null,
    view ? [el('h3', {}, t('timeline')), timeline(view)] : null,
    extra ? extra(report) : null);
  box.hidden = false;
}
