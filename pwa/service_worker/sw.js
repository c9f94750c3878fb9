// IPMS service worker: precaches the revisioned static files and the user-neutral app shell (/app-shell) at install,
// serves static files cache-first, and answers navigations network-first with a short timeout, falling back to that
// shell — which holds no user and no CSRF token (the field kit takes both from the session kept in IndexedDB), so it
// is there from the very first sign-in and survives sign-out without leaking anything. A new version waits until the
// page's "update available" button posts SKIP_WAITING (the first install takes over at once). Background Sync (where
// the browser has it) tells open pages to flush the field kit's outbox. Everything else (the API, /healthz, the
// ReactPy websocket) is never answered here. One named function per event.
importScripts("/sw-push.js"); // push, notificationclick, pushsubscriptionchange (pwa/service_worker/push.js)
const REVISION = "__REVISION__";
const STATIC_CACHE = `ipms-static-${REVISION}`;
const PRECACHE = __PRECACHE__;
const NAVIGATION_TIMEOUT_MS = 3000;
const APP_SHELL = "/app-shell";

async function onInstall() {
  const cache = await caches.open(STATIC_CACHE);
  await cache.addAll([...PRECACHE, APP_SHELL]);
}

async function onActivate() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith("ipms-") && !name.endsWith(REVISION))
    .map((name) => caches.delete(name)));
  await self.clients.claim();
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error) => { clearTimeout(timer); reject(error); });
  });
}

async function navigate(request) {
  try {
    return await withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS);
  } catch (error) {
    const shell = await caches.match(APP_SHELL, { cacheName: STATIC_CACHE });
    if (shell) return shell;
    throw error;
  }
}

async function staticFirst(request) {
  const cached = await caches.match(request, { cacheName: STATIC_CACHE });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(STATIC_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

function onFetch(event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith(`/static/${REVISION}/`)) {
    event.respondWith(staticFirst(request));
  }
}

function onMessage(event) {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
}

// Background Sync: the outbox lives in the page's IndexedDB and replays with the page's session, so wake the open
// pages (the sync engine in pwa/static/fieldkit/sync.js answers SYNC_OUTBOX); with none open, the next start flushes.
async function onSync(event) {
  if (event.tag !== "ipms-outbox") return;
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  pages.forEach((page) => page.postMessage({ type: "SYNC_OUTBOX" }));
}

self.addEventListener("install", (event) => event.waitUntil(onInstall()));
self.addEventListener("message", onMessage);
self.addEventListener("sync", (event) => event.waitUntil(onSync(event)));
self.addEventListener("activate", (event) => event.waitUntil(onActivate()));
self.addEventListener("fetch", onFetch);
