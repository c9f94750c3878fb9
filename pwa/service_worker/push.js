// IPMS service worker, push part: shows each push as a notification, opens the right screen on click, and keeps
// the server's copy of the subscription current. A plain script: sw.js loads it with importScripts("/sw-push.js"),
// so it registers its listeners while the worker starts. The decisions (which notification, which window, which
// URL) are pure functions, tested directly: no tool can click a notification.
//
// Payload (notifications/push/payload.py): {title, body, url, tag, project_id, kind, urgency}, UTF-8 JSON < 3 KB.

const PUSH_ICON = "__PUSH_ICON__";
const PUSH_BADGE = "__PUSH_BADGE__";
const PUSH_META_CACHE = "push-meta"; // not "ipms-…": activate() deletes those on every new revision
const PUSH_DEVICE_KEY = "/push-meta/device-id";
const FALLBACK_TITLE = "IPMS";

// ---- pure decisions -----------------------------------------------------------------------------------------------

// The in-app URL a notification opens: a same-origin path (with query and hash), never another site.
function pushTargetUrl(url, origin) {
  try {
    const target = new URL(url || "/", origin);
    if (target.origin !== origin) return origin + "/";
    return target.href;
  } catch (error) {
    return origin + "/";
  }
}

// What showNotification() gets for one push message (a parsed payload, or null when it was unreadable).
function notificationFor(message, origin) {
  const data = message && typeof message === "object" ? message : {};
  const escalation = data.kind === "escalation" || data.urgency === "high";
  const tag = String(data.tag || (data.project_id ? `p-${data.project_id}` : "ipms"));
  return {
    title: String(data.title || FALLBACK_TITLE),
    options: {
      body: String(data.body || ""),
      icon: PUSH_ICON,
      badge: PUSH_BADGE,
      tag,
      renotify: escalation, // a newer escalation about the same project buzzes again instead of replacing silently
      requireInteraction: escalation,
      data: { url: pushTargetUrl(data.url, origin), project_id: data.project_id || null, kind: data.kind || "" },
    },
  };
}

// Which window a click uses. `windows`: [{url, focused, visibilityState}] as clients.matchAll() lists them (most
// recently focused first). Returns {action: "focus", index} when a window already shows the URL,
// {action: "navigate", index, url} to reuse an app window (the focused one, else a visible one, else the first),
// or {action: "open", url} when the app has no window open.
function chooseWindow(windows, targetUrl, origin) {
  const ours = windows.map((w, index) => ({ ...w, index })).filter((w) => {
    try { return new URL(w.url).origin === origin; } catch (error) { return false; }
  });
  const exact = ours.find((w) => w.url === targetUrl);
  if (exact) return { action: "focus", index: exact.index };
  const reuse = ours.find((w) => w.focused) || ours.find((w) => w.visibilityState === "visible") || ours[0];
  if (reuse) return { action: "navigate", index: reuse.index, url: targetUrl };
  return { action: "open", url: targetUrl };
}

// ---- event handlers -----------------------------------------------------------------------------------------------

function readPayload(data) {
  if (!data) return null;
  try {
    return data.json();
  } catch (error) {
    return { body: data.text() };
  }
}

function onPush(event) {
  const { title, options } = notificationFor(readPayload(event.data), self.location.origin);
  event.waitUntil(self.registration.showNotification(title, options));
}

async function openTarget(targetUrl) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const choice = chooseWindow(windows.map((w) => ({ url: w.url, focused: w.focused,
    visibilityState: w.visibilityState })), targetUrl, self.location.origin);
  if (choice.action === "open") return self.clients.openWindow(choice.url);
  const chosen = windows[choice.index];
  const focused = await chosen.focus();
  if (choice.action === "focus") return focused;
  try {
    return await (focused || chosen).navigate(choice.url); // only windows this worker controls can be navigated
  } catch (error) {
    return self.clients.openWindow(choice.url);
  }
}

function onNotificationClick(event) {
  event.notification.close();
  const url = pushTargetUrl(event.notification.data && event.notification.data.url, self.location.origin);
  event.waitUntil(openTarget(url));
}

function urlBase64ToBytes(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function readDeviceId() {
  const cache = await caches.open(PUSH_META_CACHE);
  const stored = await cache.match(PUSH_DEVICE_KEY);
  return stored ? (await stored.text()) || null : null;
}

// The browser replaced (or dropped) the subscription: subscribe again with the app's key and tell the server,
// naming the old endpoint so it finds the device even without the stored device id.
async function renewSubscription(oldSubscription, newSubscription) {
  let subscription = newSubscription;
  if (!subscription) {
    let key = oldSubscription && oldSubscription.options && oldSubscription.options.applicationServerKey;
    if (!key) {
      const reply = await fetch("/api/push/key", { credentials: "same-origin" });
      if (!reply.ok) return;
      key = urlBase64ToBytes((await reply.json()).public_key);
    }
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const me = await fetch("/api/auth/me", { credentials: "same-origin" });
  if (!me.ok) return; // signed out: the app re-registers after the next sign-in (fieldkit/push.js syncSubscription)
  const { csrf_token: csrf } = await me.json();
  const deviceId = await readDeviceId();
  const body = { ...subscription.toJSON(), replaces: oldSubscription ? oldSubscription.endpoint : undefined };
  if (deviceId) body.device_id = deviceId;
  await fetch("/api/push/subscription", {
    method: "PUT", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
  });
}

function onPushSubscriptionChange(event) {
  event.waitUntil(renewSubscription(event.oldSubscription || null, event.newSubscription || null));
}

if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("push", onPush);
  self.addEventListener("notificationclick", onNotificationClick);
  self.addEventListener("pushsubscriptionchange", onPushSubscriptionChange);
}
if (typeof module !== "undefined") {
  module.exports = { pushTargetUrl, notificationFor, chooseWindow }; // for tests run with node
}
