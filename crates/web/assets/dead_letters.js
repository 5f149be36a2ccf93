// The supervisor dashboard's dead letters: messages a consumer gave up on
// (they did not decode, or were refused again and again), each with the
// consumer, the subject, the last error, the deliveries and the report or
// ticket it was about, from GET /v1/dead-letters (newest first). A section
// of its own, so that no message is lost silently; text only (el() never
// parses HTML).

import { el, fill, lang, t, api, when } from './common.js';

const WORDS = {
  zh: { title: '死信', deliveries: '次投递', report: '报告', ticket: '工单' },
  en: { title: 'Dead letters', deliveries: 'deliveries', report: 'report', ticket: 'ticket' },
};

function w(key) {
  return (WORDS[lang()] || WORDS.zh)[key];
}

/** One dead letter: consumer, subject, when, deliveries, what it was about, the error. */
function letterRow(d) {
  const about = d.ticket_id ? `${w('ticket')} ${d.ticket_id}` : d.report_id ? `${w('report')} ${d.report_id}` : d.preview;
  return el('li', { class: 'row', 'data-dead-letter': String(d.sequence), 'data-consumer': d.consumer },
    el('span', { class: 'pill overdue' }, d.consumer), ' ',
    el('strong', {}, d.subject), ' ',
    el('span', { class: 'muted' }, `${when(d.dead_at)} · ${d.deliveries ?? '?'} ${w('deliveries')}`),
    el('div', { class: 'muted' }, about || ''),
    el('div', { class: 'deadline overdue' }, d.error || ''));
}

/**
 * Fills `list` with the newest dead letters and `count` with how many
 * were listed; leaves both as they are when the request fails.
 */
export async function loadDeadLetters(list, count, title) {
  if (title) title.textContent = w('title');
  const answer = await api('/v1/dead-letters?limit=50').catch(() => null);
  if (!answer || !answer.ok) return;
  const rows = answer.data;
  count.textContent = String(rows.length);
  fill(list, rows.length ? rows.map(letterRow) : el('li', { class: 'muted' }, t('none')));
}
