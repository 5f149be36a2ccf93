// Verification (核查) from the courier's page: the reporter confirms a fix
// ("已修好") or sends it back ("没修好"), with a note and an optional photo;
// a courier passing by checks a fix nearby with a fresh photo at the spot.
// `POST /v1/tickets/{id}/verify {fixed, note?, photo_sha256?, lat?, lon?}`;
// photos go first to ingest's `POST /v1/tickets/{id}/verification-photos`.

import { el, fill, t, api, addStrings } from './common.js';
import { problemWords } from './courier_rewards.js';

addStrings({
  zh: {
    fixed: '已修好', not_fixed: '没修好', verify_note: '补充说明（可选）', verify_photo: '拍一张现场照片（可选）',
    verify_photo_required: '拍一张现场照片', verify_sent_fixed: '已确认修好，谢谢！', verify_sent_not_fixed: '已退回街道办重新处理。',
    verify_points: '获得 {n} 积分', nearby_title: '附近有待核查的隐患', nearby_none: '附近没有待核查的隐患。',
    nearby_need_position: '需要定位才能找到附近的任务。', nearby_away: '距离 {m} 米', resolved_at: '修复于',
    need_fresh_photo: '请先在现场拍照。', uploading: '正在上传照片…',
    v_awaiting: '等待核查', v_verified: '已核查', v_failed: '核查未通过', v_disputed: '有争议',
    vb_reporter: '上报人', vb_courier: '附近骑手', vb_supervisor: '督办', vb_auto: '到期自动',
  },
  en: {
    fixed: 'Fixed', not_fixed: 'Not fixed', verify_note: 'Note (optional)', verify_photo: 'Take a photo of the spot (optional)',
    verify_photo_required: 'Take a photo of the spot', verify_sent_fixed: 'Confirmed as fixed, thank you!', verify_sent_not_fixed: 'Sent back to the office.',
    verify_points: '{n} points earned', nearby_title: 'Fixes to check nearby', nearby_none: 'No fixes to check nearby.',
    nearby_need_position: 'A position is needed to find tasks nearby.', nearby_away: '{m} m away', resolved_at: 'fixed at',
    need_fresh_photo: 'Take a photo at the spot first.', uploading: 'Uploading the photo…',
    v_awaiting: 'awaiting a check', v_verified: 'checked', v_failed: 'check failed', v_disputed: 'disputed',
    vb_reporter: 'by the reporter', vb_courier: 'by a courier nearby', vb_supervisor: 'by a supervisor', vb_auto: 'automatically',
  },
});

/** Uploads `file` as a verification photo of `ticket`; its sha256, or throws a message. */
async function uploadPhoto(ticket, file) {
  const form = new FormData();
  form.append('photo', file, 'verify.jpg');
  const r = await api(`/v1/tickets/${ticket}/verification-photos`, { method: 'POST', body: form });
  if (!r.ok) throw new Error(problemWords(r));
  return r.data.sha256;
}

/** Sends a verification; `{ok, message, points}`. */
async function send(ticket, fixed, { note, photo, position }) {
  try {
    const body = { fixed };
    if (note) body.note = note;
    if (photo) body.photo_sha256 = await uploadPhoto(ticket, photo);
    if (position) Object.assign(body, { lat: position.lat, lon: position.lon });
    const r = await api(`/v1/tickets/${ticket}/verify`, { method: 'POST', json: body });
    if (!r.ok) return { ok: false, message: problemWords(r) };
    return { ok: true, message: t(fixed ? 'verify_sent_fixed' : 'verify_sent_not_fixed'), points: r.data && r.data.points_earned };
  } catch (e) {
    return { ok: false, message: e.message || t('network') };
  }
}

/** The verification state in words, or null. */
function verificationWords(v) {
  if (!v || !v.state) return null;
  const by = v.verified_by ? ` (${t(`vb_${v.verified_by}`)})` : '';
  return el('p', { class: `verification v-${v.state}`, 'data-verification': v.state }, `${t(`v_${v.state}`)}${by}`);
}

/** A note field, a photo input and the Fixed / Not fixed buttons; `done` after a send. */
function form(ticket, { photoRequired = false, position = null, done }) {
  const note = el('input', { type: 'text', class: 'verify-note', maxlength: '500', placeholder: t('verify_note'), 'aria-label': t('verify_note') });
  const photo = el('input', { type: 'file', class: 'verify-photo', accept: 'image/*', capture: 'environment' });
  const status = el('p', { class: 'status verify-status', role: 'status' });
  const go = async (fixed) => {
    const file = photo.files && photo.files[0];
    if (photoRequired && !file) return fill(status, t('need_fresh_photo'));
    buttons.forEach((b) => { b.disabled = true; });
    fill(status, file ? t('uploading') : t('sending'));
    const r = await send(ticket, fixed, { note: note.value.trim(), photo: file, position: position && position() });
    status.className = `status verify-status ${r.ok ? 'ok' : 'warn'}`;
    fill(status, r.message);
    buttons.forEach((b) => { b.disabled = false; });
    if (r.ok) done?.(r, status);
  };
  const buttons = [
    el('button', { type: 'button', class: 'primary do-fixed' }, t('fixed')),
    el('button', { type: 'button', class: 'danger do-not-fixed' }, t('not_fixed')),
  ];
  buttons[0].addEventListener('click', () => go(true));
  buttons[1].addEventListener('click', () => go(false));
  return el('div', { class: 'verify' }, note,
    el('label', { class: 'verify-photo-label' }, t(photoRequired ? 'verify_photo_required' : 'verify_photo'), photo),
    el('div', { class: 'buttons' }, buttons), status);
}

/** What a report's card and detail offer: its verification state, and the buttons when the courier may verify. */
export function controls(report, reload) {
  const v = report.verification;
  const words = verificationWords(v);
  if (!(v && v.can_verify && report.state === 'resolved' && report.ticket_id)) return words;
  return el('div', {}, words, form(report.ticket_id, { done: () => setTimeout(reload, 800) }));
}

/** `GET /v1/verifications/nearby` for `position` into `list`. */
export async function showNearby(list, status, position) {
  if (!position) { fill(status, t('nearby_need_position')); return fill(list); }
  const r = await api(`/v1/verifications/nearby?lat=${position.lat}&lon=${position.lon}`).catch(() => null);
  if (!r || !r.ok) { fill(status, r ? problemWords(r) : t('network')); return fill(list); }
  const tasks = (r.data && Array.isArray(r.data.tickets)) ? r.data.tickets : [];
  fill(status, tasks.length ? '' : t('nearby_none'));
  fill(list, tasks.map((task) => nearbyTask(task, () => position)));
}

function nearbyTask(task, position) {
  const li = el('li', { class: 'report-card nearby-task', 'data-ticket-id': task.ticket_id },
    el('div', { class: 'card-body' },
      el('p', { class: 'card-head' },
        task.urgent ? el('span', { class: 'pill urgent' }, t('urgent')) : null, ' ',
        el('strong', {}, `${t(task.category)} · ${task.office_name || ''}`), ' ',
        el('span', { class: 'muted' }, t('nearby_away').replace('{m}', String(Math.round(task.distance_m || 0))))),
      task.note ? el('p', { class: 'note user-text' }, task.note) : null,
      form(task.ticket_id, {
        photoRequired: true, position,
        done: (r, status) => {
          const n = r.points;
          if (n != null) status.append(' ', el('strong', { class: 'points-earned', 'data-points': String(n) }, t('verify_points').replace('{n}', String(n))));
        },
      })));
  return li;
}
