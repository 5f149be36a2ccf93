// The live event stream (GET /v1/events) for the office console and the
// dashboard, and the alerts it raises: a page follows the stream and
// refreshes what an event touched; while the stream is down the page polls
// as before. Alerts are a browser notification (Notification API, once the
// user allowed it with the alerts button; the choice is remembered) and a
// short tone made with Web Audio (no sound file).

import { t, addStrings } from './common.js';

addStrings({
  zh: {
    alerts_enable: '开启提醒', alerts_on: '提醒已开启', live: '实时', polling: '轮询中',
    alert_urgent: '紧急工单', alert_escalated: '工单已督办', alert_merged: '紧急重复报告',
    escalated_mark: '已督办', overdue_mark: '超时',
  },
  en: {
    alerts_enable: 'Enable alerts', alerts_on: 'Alerts on', live: 'live', polling: 'polling',
    alert_urgent: 'Urgent ticket', alert_escalated: 'Ticket escalated', alert_merged: 'Urgent duplicate report',
    escalated_mark: 'escalated', overdue_mark: 'overdue',
  },
});

const ALERTS = 'cp_alerts';

/**
 * Follows the stream. Handlers: `ticket(data)`, `unrouted(data)`, `reset()`
 * (refetch everything), `live(up)` (whether events are flowing). The
 * browser reconnects by itself with Last-Event-ID; a stream the server
 * refused (closed for good) is reopened after a pause from the last id.
 */
export function follow(on) {
  let last = '';
  let source = null;
  let pause = 1000;
  const parsed = (handler) => (e) => {
    if (e.lastEventId) last = e.lastEventId;
    let data = null;
    try { data = JSON.parse(e.data); } catch { return; }
    handler?.(data);
  };
  const open = () => {
    source = new EventSource(last ? `/v1/events?last_event_id=${encodeURIComponent(last)}` : '/v1/events');
    source.addEventListener('ready', parsed(() => { pause = 1000; on.live?.(true); }));
    source.addEventListener('ticket', parsed(on.ticket));
    source.addEventListener('unrouted', parsed(on.unrouted));
    source.addEventListener('reset', parsed(() => on.reset?.()));
    source.addEventListener('error', () => {
      on.live?.(false);
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(open, pause);
      pause = Math.min(pause * 2, 30000);
    });
  };
  if (!('EventSource' in window)) { on.live?.(false); return { close() {} }; }
  open();
  return { close: () => source?.close() };
}

/** Shows whether the page is live or polling in `badge`. */
export function showLive(badge, up) {
  badge.hidden = false;
  badge.textContent = t(up ? 'live' : 'polling');
  badge.className = `pill ${up ? 'live' : 'polling'}`;
}

/** `fn` once, `ms` after the last of a burst of calls. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function alertsOn() {
  return localStorage.getItem(ALERTS) === 'on' && 'Notification' in window && Notification.permission === 'granted';
}

/** The button that asks for the notification permission, or turns alerts off. */
export function alertButton(button) {
  const show = () => {
    button.textContent = t(alertsOn() ? 'alerts_on' : 'alerts_enable');
    button.setAttribute('aria-pressed', String(alertsOn()));
  };
  button.hidden = !('Notification' in window);
  button.addEventListener('click', async () => {
    audio();
    if (alertsOn()) {
      localStorage.setItem(ALERTS, 'off');
    } else {
      const permission = await Notification.requestPermission();
      localStorage.setItem(ALERTS, permission === 'granted' ? 'on' : 'off');
    }
    show();
  });
  show();
}

/** A notification and a tone, if the user turned alerts on. */
export function raiseAlert(title, body, tag) {
  if (!alertsOn()) return;
  try {
    const n = new Notification(title, { body, tag, renotify: true });
    n.addEventListener('click', () => { window.focus(); n.close(); });
  } catch { /* a browser that only notifies from a service worker */ }
  tone();
}

let context = null;
/** The page's audio context; browsers start it only after a user gesture. */
function audio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!context && Ctx) context = new Ctx();
  context?.resume?.().catch(() => {});
  return context;
}
document.addEventListener('pointerdown', () => audio(), { once: true });

/** Two short beeps, high then low. */
function tone() {
  const ctx = audio();
  if (!ctx) return;
  const now = ctx.currentTime;
  [880, 660].forEach((hz, i) => {
    const start = now + i * 0.22;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.21);
  });
}
