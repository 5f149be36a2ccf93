// The courier's page opens without signal: the page shell (HTML, scripts,
// styles, the jurisdictions) is kept in a cache and served from it when the
// network fails. Network first, so updates arrive; the API is never cached
// (reports wait in IndexedDB, see queue.js) and nothing but GET is touched.

const CACHE = 'civicprobe-shell-v1';
const SHELL = ['/', '/office', '/audit', '/assets/app.css', '/assets/common.js', '/assets/courier.js',
  '/assets/queue.js', '/assets/map.js', '/assets/office.js', '/assets/ticket_detail.js', '/assets/navigate.js', '/assets/audit.js',
  '/assets/disputes.js', '/assets/deliveries.js', '/assets/dead_letters.js', '/assets/rewards.js', '/assets/live.js', '/assets/icon.svg',
  '/assets/exif.js', '/assets/position.js', '/assets/my_reports.js', '/assets/verify.js', '/assets/courier_rewards.js',
  '/v1/jurisdictions'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((c) => c.put(url.pathname, copy));
      }
      return response;
    })
    .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error())));
});
