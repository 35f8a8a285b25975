// LifeOS service worker: keeps the app shell and the wasm of this version so
// the app opens with no network. build.sh fills in VERSION and ASSETS.
const VERSION = '{{VERSION}}';
const CACHE = 'lifeos-shell-' + VERSION;
const ASSETS = {{ASSETS}};

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    // The very first version takes over at once; later ones wait for the user.
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('lifeos-shell-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/sw.js') return;
  if (request.mode === 'navigate') {
    // Every app route is the same shell: this version's index.html.
    event.respondWith((async () => {
      const cached = await caches.match('/index.html', { cacheName: CACHE });
      return cached || fetch(request);
    })());
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(request, { cacheName: CACHE });
    return cached || fetch(request);
  })());
});
