// The office console's ticket detail: re-triage (category, urgency, reason)
// for office staff and supervisors; every report merged into the ticket
// (each courier's words, distance from the first, time, photos); and the
// evidence ingest read from each photo (time taken, GPS, camera) with every
// flag's measured value and threshold in words (an unreadable EXIF's reason
// as ingest wrote it). Text only, never HTML.

import { el, t, lang, api, when, duration } from './common.js';

const ACTIVE = ['open', 'acknowledged', 'in_progress', 'reopened'];
/** Category names in both languages: the select shows both. */
const CATEGORIES = {
  manhole: ['井盖', 'Manhole'], elevator: ['电梯', 'Elevator'],
  electrical_box: ['配电箱', 'Electrical box'], other: ['其他', 'Other'],
};
const STRINGS = {
  zh: {
    triage: '更正分类', triage_reason: '更正原因（必填）', triage_apply: '更正', urgent_box: '紧急',
    reports: '全部上报', first_report: '首报', from_first: '距首报', courier: '上报人', evidence: '照片证据',
    taken_at: '拍摄时间', gps: 'GPS 位置', camera: '相机', no_evidence: '照片无 EXIF 信息',
    flag_taken_long_before: (f) => `照片拍摄于提交前 ${duration(f.age_s * 1000)}（阈值 ${duration(f.threshold_s * 1000)}）`,
    flag_far_from_reported: (f) => `照片 GPS 位置距上报位置 ${metres(f.distance_m)}（阈值 ${metres(f.threshold_m)}）`,
    flag_photo_reuse: (f) => `与更早的报告 ${short(f.earlier_report)} 的照片相同（相差 ${f.distance_bits} 位，阈值 ${f.threshold_bits} 位）`,
    flag_exif_unreadable: (f) => `照片 EXIF 信息无法读取，已舍弃该部分（照片本身已收下）：${f.reason}`,
    flag_position_from_exif: () => '上报未带位置，位置取自照片的 EXIF GPS（未做距离核对）',
    photo_n: (n) => `照片 ${n + 1}`,
  },
  en: {
    triage: 'Re-triage', triage_reason: 'Reason (required)', triage_apply: 'Correct', urgent_box: 'Urgent',
    reports: 'All reports', first_report: 'first report', from_first: 'from the first', courier: 'courier', evidence: 'Photo evidence',
    taken_at: 'Taken', gps: 'GPS position', camera: 'Camera', no_evidence: 'no EXIF in the photo',
    flag_taken_long_before: (f) => `photo taken ${duration(f.age_s * 1000)} before it was sent (limit ${duration(f.threshold_s * 1000)})`,
    flag_far_from_reported: (f) => `photo GPS ${metres(f.distance_m)} from the reported position (limit ${metres(f.threshold_m)})`,
    flag_photo_reuse: (f) => `same picture as earlier report ${short(f.earlier_report)} (${f.distance_bits} bits apart, limit ${f.threshold_bits})`,
    flag_exif_unreadable: (f) => `unreadable EXIF dropped (the photo itself was kept): ${f.reason}`,
    flag_position_from_exif: () => 'sent without a position: the position is the photo\'s EXIF GPS (no distance check)',
    photo_n: (n) => `photo ${n + 1}`,
  },
};

/** This module's string (or a function of one) in the page's language. */
function s(key) {
  return STRINGS[lang()][key] ?? STRINGS.en[key];
}

function metres(m) {
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

function short(id) {
  return String(id || '').slice(0, 8);
}

/**
 * The detail parts for `ticket` (the staff JSON of GET /v1/tickets/{id}):
 * `onChanged()` reloads the ticket and the queue after a re-triage.
 */
export function ticketDetail(ticket, { role, onChanged } = {}) {
  const staff = role === 'office' || role === 'supervisor';
  return el('div', { class: 'ticket-detail' },
    staff && ACTIVE.includes(ticket.state) ? triageForm(ticket, onChanged) : null,
    reportList(ticket));
}

function triageForm(ticket, onChanged) {
  const category = el('select', { id: 'triage-category' }, Object.entries(CATEGORIES).map(([value, [zh, en]]) =>
    el('option', { value, selected: value === ticket.category }, `${zh} ${en}`)));
  const urgent = el('input', { type: 'checkbox', id: 'triage-urgent', checked: ticket.urgent });
  const reason = el('input', { type: 'text', id: 'triage-reason', maxlength: 500, placeholder: s('triage_reason') });
  const status = el('p', { class: 'status', role: 'status', id: 'triage-status' });
  const button = el('button', { type: 'button', id: 'do-triage', class: 'primary' }, s('triage_apply'));
  button.addEventListener('click', async () => {
    const body = { reason: reason.value.trim() };
    if (category.value !== ticket.category) body.category = category.value;
    if (urgent.checked !== ticket.urgent) body.urgent = urgent.checked;
    status.textContent = '…';
    let r;
    try {
      r = await api(`/v1/tickets/${encodeURIComponent(ticket.ticket_id)}/triage`, { method: 'POST', json: body });
    } catch {
      status.textContent = t('network');
      return;
    }
    status.textContent = r.ok ? t('done') : (r.data && (r.data.detail || r.data.title)) || `HTTP ${r.status}`;
    status.className = r.ok ? 'status ok' : 'status warn';
    if (r.ok) {
      document.activeElement?.blur();
      onChanged?.();
    }
  });
  return el('div', { class: 'actions triage', id: 'triage' },
    el('h3', {}, s('triage')),
    el('label', { for: 'triage-category' }, t('category')), category,
    el('label', { class: 'inline' }, urgent, ' ', s('urgent_box')),
    el('label', { for: 'triage-reason' }, s('triage_reason')), reason,
    el('div', { class: 'buttons' }, button), status);
}

function reportList(ticket) {
  const reports = ticket.reports || [];
  if (!reports.length) return null;
  return [el('h3', {}, `${s('reports')} (${reports.length})`),
    el('ol', { class: 'list reports', id: 'reports' }, reports.map((r, i) => reportItem(r, i)))];
}

function reportItem(report, i) {
  const where = report.location ? `${report.location.lat.toFixed(5)}, ${report.location.lon.toFixed(5)}` : '';
  const accuracy = report.accuracy_m != null ? ` ±${Math.round(report.accuracy_m)} m` : '';
  const head = i === 0 ? s('first_report')
    : [report.distance_m != null ? `${s('from_first')} ${metres(report.distance_m)}` : null,
      report.merge_reason ? t(report.merge_reason.by) : null].filter(Boolean).join(' · ');
  return el('li', { class: 'report', 'data-report-id': report.report_id },
    el('div', {}, el('strong', {}, head), ' ',
      el('span', { class: 'muted' }, `${when(report.received_at)} · ${s('courier')} ${short(report.courier_id)} · ${where}${accuracy}`)),
    el('div', { class: 'courier-text report-text' }, report.text || '—'),
    thumbnails(report),
    evidence(report));
}

function thumbnails(report) {
  const imgs = (report.photos || []).map((p, n) => {
    const src = `/v1/reports/${encodeURIComponent(report.report_id)}/photos/${n}`;
    const img = el('img', { class: 'thumb', alt: s('photo_n')(n), src: `${src}?size=thumbnail`, 'data-sha256': p.sha256 || '' });
    img.addEventListener('error', () => img.replaceWith(el('span', { class: 'muted' }, t('photo_missing'))));
    return el('a', { href: src, target: '_blank', rel: 'noopener' }, img);
  });
  return imgs.length ? el('div', { class: 'strip' }, imgs) : null;
}

/** Each photo's EXIF, then every flag of the report, in words. */
function evidence(report) {
  const ev = report.evidence || {};
  const photos = (ev.photos || []).map((p, n) => el('li', { class: 'exif' },
    el('strong', {}, s('photo_n')(n)), ': ', exifWords(p).join(' · ') || s('no_evidence')));
  const flags = (ev.flags || []).map((f) => {
    const words = s(`flag_${f.flag}`);
    return el('li', { class: 'warn flag', 'data-flag': f.flag },
      f.photo != null ? `${s('photo_n')(f.photo)}: ` : '', words ? words(f) : f.flag);
  });
  if (!photos.length && !flags.length) return null;
  return el('div', { class: 'evidence' }, el('div', { class: 'muted' }, s('evidence')),
    el('ul', { class: 'evidence-list' }, photos, flags));
}

function exifWords(p) {
  return [
    p.taken_at ? `${s('taken_at')} ${when(p.taken_at)}` : null,
    p.gps ? `${s('gps')} ${p.gps.lat.toFixed(5)}, ${p.gps.lon.toFixed(5)}` : null,
    p.camera ? `${s('camera')} ${p.camera}` : null,
  ].filter(Boolean);
}
