// The courier's outbox: every report is first saved in IndexedDB with its
// Idempotency-Key, then sent; it leaves the outbox only once the server
// accepted it (or refused it for good, which is kept and shown). A retry
// reuses the key, so the server never takes the same report twice.

import { api } from './common.js';

const DB = 'civicprobe';
const STORE = 'outbox';

function request(r) {
  return new Promise((resolve, reject) => {
    r.addEventListener('success', () => resolve(r.result));
    r.addEventListener('error', () => reject(r.error));
  });
}

let dbPromise = null;
function db() {
  if (!dbPromise) {
    const r = indexedDB.open(DB, 1);
    r.addEventListener('upgradeneeded', () => r.result.createObjectStore(STORE, { keyPath: 'key' }));
    dbPromise = request(r);
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const store = (await db()).transaction(STORE, mode).objectStore(STORE);
  return request(fn(store));
}

/** Saves a report {key, report, photo, created}. */
export const add = (item) => tx('readwrite', (s) => s.put(item));
/** Everything waiting, oldest first. */
export const all = async () => (await tx('readonly', (s) => s.getAll())).sort((a, b) => a.created - b.created);
/** Drops one. */
export const remove = (key) => tx('readwrite', (s) => s.delete(key));

async function markFailed(item, why) {
  await add({ ...item, failed: why });
}

/** A fresh Idempotency-Key (a v4 UUID, also outside secure contexts). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function send(item) {
  const form = new FormData();
  form.append('report', new Blob([JSON.stringify(item.report)], { type: 'application/json' }));
  form.append('photo', item.photo, 'photo.jpg');
  return api('/v1/reports', { method: 'POST', body: form, headers: { 'Idempotency-Key': item.key } });
}

/** Outcomes worth retrying later rather than showing as refused. */
function transient(status) {
  return status >= 500 || status === 408 || status === 429 || status === 0;
}

async function sendAll(hooks) {
  const tried = new Set();
  for (;;) {
    // Re-read each time: a report queued meanwhile goes out in this run.
    const item = (await all()).find((i) => !i.failed && !tried.has(i.key));
    if (!item || !navigator.onLine) return;
    tried.add(item.key);
    let r;
    try {
      r = await send(item);
    } catch {
      hooks.retry?.();
      return;
    }
    if (r.ok) {
      await remove(item.key);
      hooks.sent?.(item, r.data && r.data.report_id);
    } else if (r.status === 401) {
      hooks.unauthorized?.();
      return;
    } else if (transient(r.status)) {
      hooks.retry?.();
      return;
    } else {
      await markFailed(item, (r.data && (r.data.detail || r.data.title)) || `HTTP ${r.status}`);
    }
    hooks.changed?.();
  }
}

let running = null;

/**
 * Sends what waits, one at a time, one sender per browser (Web Locks when
 * available, and never two runs in this page).
 */
export function flush(hooks = {}) {
  if (!running) {
    const run = () => sendAll(hooks);
    const go = navigator.locks ? navigator.locks.request('civicprobe-outbox', run) : run();
    running = go.finally(() => { running = null; hooks.changed?.(); });
  }
  return running;
}
