// Field kit: push notifications for this device. A plain ES module; the settings screen embeds `PushSettings`
// with component_from_url. Permission is asked only from the button's click (a user gesture); `pushManager.subscribe`
// gets a timeout because in some browser states it neither resolves nor rejects; on iOS in a browser tab (not
// installed) push does not exist, so the user is told to "Add to Home Screen" instead of getting a broken button.
import { createElement as h, useEffect, useState } from "react";
import { csrfToken, deviceLabel, newId } from "./ids.js";

export const SUBSCRIBE_TIMEOUT_MS = 15000;
const DEVICE_KEY = "ipms.device.id"; // the offline issue may move this to IndexedDB; keep deviceId() the one reader
const PUSH_META_CACHE = "push-meta"; // read by the service worker (pwa/service_worker/push.js) after a key change
const PUSH_DEVICE_KEY = "/push-meta/device-id";

const DEFAULT_LABELS = {
  title: "Notifications",
  turn_on: "Turn on notifications",
  turn_off: "Turn off on this device",
  working: "Asking the browser…",
  enabled: "Notifications are on for this device.",
  disabled: "Notifications are off for this device.",
  ios_tab: "On iPhone and iPad, notifications work only in the installed app: tap Share, then “Add to Home Screen”, "
    + "and open IPMS from the home screen.",
  unsupported: "This browser cannot receive push notifications.",
  denied: "Notifications are blocked for this site. Allow them in the browser's site settings, then try again.",
  timeout: "The browser did not answer the subscription request in time. Check that notifications are allowed and "
    + "that the browser can reach its push service, then try again.",
  failed: "Notifications could not be turned on:",
  devices: "Your devices",
  this_device: "this device",
  receives: "receives notifications",
  silent: "no notifications",
  remove: "Stop notifications",
  prompt_title: "Get alerts on this device",
  prompt_body: "Turn on notifications to get deadlines, escalations and nudges on this device, even when it is locked.",
  prompt_later: "Not now",
  prompt_close: "Close",
};

export class PushError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code; // "timeout" | "denied" | "unsupported" | "ios-tab" | "server" | "failed"
  }
}

// ---- what this browser can do -------------------------------------------------------------------------------------

export function isIos(nav = navigator) {
  return /iPad|iPhone|iPod/.test(nav.userAgent || "") || (nav.platform === "MacIntel" && nav.maxTouchPoints > 1);
}

export function isStandalone(win = window) {
  return win.navigator.standalone === true
    || Boolean(win.matchMedia && win.matchMedia("(display-mode: standalone)").matches);
}

// null when push can work here, else why not: "ios-tab", "unsupported" or "denied".
export function pushBlocker(win = window) {
  if (isIos(win.navigator) && !isStandalone(win)) return "ios-tab";
  if (!("serviceWorker" in win.navigator) || !("PushManager" in win) || !("Notification" in win)) return "unsupported";
  if (win.Notification.permission === "denied") return "denied";
  return null;
}

export function withTimeout(promise, ms, code = "timeout") {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new PushError(code)), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

// ---- server calls -------------------------------------------------------------------------------------------------


async function api(method, url, body) {
  const response = await fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new PushError("server", detail.message || `HTTP ${response.status}`);
  }
  return response.status === 204 ? null : response.json();
}

export { deviceLabel };

// This install's device record: made once, registered with the server, and shared with the service worker.
export async function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = newId();
    localStorage.setItem(DEVICE_KEY, id);
  }
  await api("PUT", `/api/auth/devices/${id}`, { label: deviceLabel() });
  if (globalThis.caches) {
    const cache = await caches.open(PUSH_META_CACHE);
    await cache.put(PUSH_DEVICE_KEY, new Response(id));
  }
  return id;
}

function keyBytes(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// Call from a click handler only: asks permission, subscribes (with a timeout), registers on this device record.
export async function subscribe({ timeoutMs = globalThis.IPMS_PUSH_TIMEOUT_MS || SUBSCRIBE_TIMEOUT_MS } = {}) {
  const blocker = pushBlocker();
  if (blocker) throw new PushError(blocker);
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new PushError("denied");
  const registration = await withTimeout(navigator.serviceWorker.ready, timeoutMs);
  const { public_key: key } = await api("GET", "/api/push/key");
  const subscription = await withTimeout(registration.pushManager.subscribe({
    userVisibleOnly: true, applicationServerKey: keyBytes(key),
  }), timeoutMs);
  const id = await deviceId();
  return api("PUT", "/api/push/subscription", { ...subscription.toJSON(), device_id: id });
}

export async function unsubscribe() {
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (subscription) await subscription.unsubscribe();
  const id = localStorage.getItem(DEVICE_KEY);
  if (id) await api("DELETE", `/api/push/subscription?device_id=${id}`).catch(() => null);
}

// At app start: if the server has push on for this device, send it the browser's current subscription (the
// browser may have renewed it while no worker ran). Never subscribes anyone: after a sign-out, or on a phone that
// changed hands, the user turns push on again with the button.
export async function syncSubscription() {
  const id = localStorage.getItem(DEVICE_KEY);
  if (!id || pushBlocker() || Notification.permission !== "granted") return false;
  const devices = await api("GET", "/api/push/devices");
  if (!devices.some((d) => d.id === id && d.subscribed)) return false;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && await registration.pushManager.getSubscription();
  if (!subscription) return false;
  await api("PUT", "/api/push/subscription", { ...subscription.toJSON(), device_id: await deviceId() });
  return true;
}

// The X-Device-Id header sign-out sends, so the server drops this device's subscription with the session.
export function signOutHeaders() {
  const id = localStorage.getItem(DEVICE_KEY);
  return id ? { "X-Device-Id": id } : {};
}

// ---- the settings card --------------------------------------------------------------------------------------------

export function PushSettings({ labels = {} }) {
  const t = { ...DEFAULT_LABELS, ...labels };
  const [state, setState] = useState(() => pushBlocker() || "checking");
  const [message, setMessage] = useState("");
  const [devices, setDevices] = useState([]);

  // "on" only when the server pushes to this device and the browser still holds a subscription.
  async function refresh() {
    const listed = await api("GET", "/api/push/devices").catch(() => []);
    setDevices(listed);
    if (pushBlocker()) return;
    const id = localStorage.getItem(DEVICE_KEY);
    const registration = await navigator.serviceWorker.getRegistration("/").catch(() => null);
    const subscription = registration && await registration.pushManager.getSubscription().catch(() => null);
    const serverOn = listed.some((d) => d.id === id && d.subscribed);
    setState((current) => current === "failed" || current === "working" ? current
      : subscription && serverOn && Notification.permission === "granted" ? "on" : "off");
  }

  useEffect(() => { refresh(); }, []);

  async function turnOn() {
    setState("working");
    setMessage("");
    try {
      await subscribe();
      setState("on");
    } catch (error) {
      const code = error instanceof PushError ? error.code : "failed";
      const known = { timeout: t.timeout, denied: t.denied, unsupported: t.unsupported, "ios-tab": t.ios_tab }[code];
      setState(code === "denied" ? "denied" : "failed");
      setMessage(known || `${t.failed} ${error.message || error}`);
    }
    refresh();
  }

  async function turnOff() {
    setState("working");
    await unsubscribe().catch(() => null);
    setState("off");
    refresh();
  }

  async function removeDevice(id) {
    await api("DELETE", `/api/push/devices/${id}`).catch(() => null);
    refresh();
  }

  const mine = localStorage.getItem(DEVICE_KEY);
  const explanation = state === "ios-tab" ? t.ios_tab : state === "unsupported" ? t.unsupported
    : state === "denied" ? t.denied : "";
  const button = state === "on"
    ? h("button", { type: "button", className: "button secondary block", id: "push-off", onClick: turnOff }, t.turn_off)
    : explanation && state !== "denied" ? null
    : h("button", { type: "button", className: "button block", id: "push-on", disabled: state === "working",
      onClick: turnOn }, state === "working" ? t.working : t.turn_on);
  return h("section", { className: "push-settings stack", "data-push-state": state },
    h("p", { className: "muted", id: "push-status" },
      explanation || (state === "on" ? t.enabled : state === "off" || state === "failed" ? t.disabled : "")),
    button,
    message ? h("p", { className: "message error", role: "alert", id: "push-error" }, message) : null,
    devices.length ? h("div", { className: "stack", id: "push-devices" },
      h("strong", null, t.devices),
      h("ul", { className: "list" }, devices.map((d) => h("li", { key: d.id, "data-device": d.id },
        h("span", null, h("span", { translate: "no" }, d.label || "—"),  // a device's own name, e.g. "Android Chrome"
          `${d.id === mine ? ` (${t.this_device})` : ""} · ${d.subscribed ? t.receives : t.silent}`),
        d.subscribed && d.id !== mine ? h("button", { type: "button", className: "button secondary",
          onClick: () => removeDevice(d.id) }, t.remove) : null)))) : null,
  );
}

// ---- the one-time prompt after sign-in ----------------------------------------------------------------------------
// Shown once per user on this browser, on the home screen, while the browser has not been asked yet. It never asks on
// its own: "Turn on" is the user's gesture. Where permission is already granted it only re-syncs the subscription with
// the server (a subscription the browser renewed while the app was closed reaches the device record).
const PROMPTED_KEY = "ipms.push.prompted.";

export function PushPrompt({ user = "", labels = {} }) {
  const t = { ...DEFAULT_LABELS, ...labels };
  const key = PROMPTED_KEY + user;
  const [state, setState] = useState(() => {
    const blocker = pushBlocker();
    if (localStorage.getItem(key) || blocker === "denied" || blocker === "unsupported") return "hidden";
    if (blocker === "ios-tab") return "ios-tab";
    return Notification.permission === "default" ? "ask" : "hidden";
  });
  const [message, setMessage] = useState("");

  useEffect(() => { syncSubscription().catch(() => null); }, []);

  function dismiss() {
    localStorage.setItem(key, new Date().toISOString());
    setState("hidden");
  }

  async function turnOn() {
    setState("working");
    try {
      await subscribe();
      dismiss();
    } catch (error) {
      const code = error instanceof PushError ? error.code : "failed";
      const known = { timeout: t.timeout, denied: t.denied, unsupported: t.unsupported, "ios-tab": t.ios_tab }[code];
      localStorage.setItem(key, new Date().toISOString()); // asked once; settings keeps the button
      setMessage(known || `${t.failed} ${error.message || error}`);
      setState("failed");
    }
  }

  if (state === "hidden") return null;
  return h("section", { className: "card push-prompt stack", id: "push-prompt", "data-push-prompt": state },
    h("strong", null, t.prompt_title),
    h("p", { className: "muted" }, state === "ios-tab" ? t.ios_tab : t.prompt_body),
    message ? h("p", { className: "message error", role: "alert", id: "push-prompt-error" }, message) : null,
    h("div", { className: "row" },
      state === "ask" || state === "working"
        ? h("button", { type: "button", className: "button", id: "push-prompt-on", disabled: state === "working",
          onClick: turnOn }, state === "working" ? t.working : t.turn_on)
        : null,
      h("button", { type: "button", className: "button secondary", id: "push-prompt-later", onClick: dismiss },
        state === "ask" || state === "working" ? t.prompt_later : t.prompt_close)));
}
