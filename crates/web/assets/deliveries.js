// The supervisor dashboard's alert deliveries that keep failing: failing
// (to be retried) and failed (given up), each with its channel, office,
// event, attempts and last error, from GET /v1/alerts/deliveries. A
// section of its own, so that no failing alert is silent; text only
// (el() never parses HTML).

import { el, fill, lang, t, api, when } from './common.js';

const WORDS = {
  zh: { title: '推送失败', failing: '重试中', failed: '已放弃', attempts: '次尝试', next: '下次', channel: '渠道', supervisors: '督办组' },
  en: { title: 'Failing alerts', failing: 'retrying', failed: 'given up', attempts: 'attempts', next: 'next', channel: 'channel', supervisors: 'supervisors' },
};

function w(key) {
  return (WORDS[lang()] || WORDS.zh)[key];
}

/** One delivery: state, channel (format, label, masked URL), office, event, attempts, last error. */
function deliveryRow(d) {
  const ch = d.channel || {};
  const whose = ch.audience === 'supervisors' ? w('supervisors') : (ch.office_id || d.office_id || '—');
  const channel = [ch.format, ch.label, ch.url].filter(Boolean).join(' · ') || d.channel_id;
  const next = d.state === 'failing' && d.next_attempt_at ? ` · ${w('next')} ${when(d.next_attempt_at)}` : '';
  return el('li', { class: 'row', 'data-delivery-id': d.delivery_id, 'data-state': d.state },
    el('span', { class: `pill ${d.state === 'failed' ? 'overdue' : 'urgent'}` }, w(d.state)), ' ',
    el('strong', {}, `${whose} · ${t(d.kind)}`), ' ',
    el('span', { class: 'muted' }, `${d.attempts} ${w('attempts')}${next}`),
    el('div', { class: 'muted' }, `${w('channel')}: ${channel}`),
    el('div', { class: 'deadline overdue' }, d.last_error || ''));
}

/**
 * Fills `list` with failing and failed deliveries (newest first) and
 * `count` with how many; leaves both as they are when the request fails.
 */
export async function loadFailingDeliveries(list, count, title) {
  if (title) title.textContent = w('title');
  const get = (state) => api(`/v1/alerts/deliveries?state=${state}`).then((r) => (r.ok ? r.data : null)).catch(() => null);
  const [failing, failed] = await Promise.all([get('failing'), get('failed')]);
  if (!failing || !failed) return;
  const rows = [...failing.deliveries, ...failed.deliveries];
  count.textContent = String(failing.failing + failed.failed);
  fill(list, rows.length ? rows.map(deliveryRow) : el('li', { class: 'muted' }, t('none')));
}
