// Field kit: the sync engine. One round = register the device → push the outbox (batches of 100) → upload photos
// whose parent exists on the server → pull until `more` is false (each answer applied with its cursor in one
// IndexedDB transaction, one pull at a time per user through navigator.locks). Protocol: backend/sync/services.py.
//
// Only the session this browser last saw online (db.currentSession) is synced, and only that user's outbox: another
// user's outbox waits for its owner. A 401 (expired session) stops the round and touches nothing in IndexedDB.
// Triggers: start(), the ReactPy websocket (re)opening and any request to the server succeeding ("ipms:reachable"),
// `online`, returning to the foreground, a timer while open, and the service worker's Background Sync message (where
// the browser has it). `navigator.onLine` stays true on a weak signal or captive Wi-Fi, so it is never waited for:
// while the outbox holds items and the server cannot be reached, a light probe (GET /healthz, no-store, which the
// service worker never answers) runs every 3 s ± 1 s and starts a round as soon as it is answered.
import * as db from "./db.js";
import { deviceLabel, deviceTime, newId } from "./ids.js";
import { uploadPhoto } from "./upload.js";

export const BATCH = 100;
export const PERIOD_MS = 3 * 60 * 1000;
const SYNC_TAG = "ipms-outbox";
const KINDS = ["client", "project", "opportunity", "visit", "milestone", "note"];
const listeners = new Set();
let status = { user: null, running: false, pending: 0, problems: 0, lastSync: null, lastError: null, progress: null,
               persisted: null };
export const PROBE_MS = 3000;
// A server that accepts and never answers must not hold a round (and every later one) forever.
export const CALL_TIMEOUT_MS = 30000;
const timeoutSignal = (ms) => (typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(ms) : undefined);
export const PROBE_JITTER_MS = 1000;
let probeTimer = null;
let started = false;
let registeredFor = null;

export class SyncStop extends Error {
  constructor(code, message) { super(message || code); this.code = code; }
}

// ---- status for the UI --------------------------------------------------------------------------------------------

export function onStatus(listener) {
  listeners.add(listener);
  listener(status);
  return () => listeners.delete(listener);
}

function setStatus(change) {
  status = { ...status, ...change };
  listeners.forEach((listener) => { try { listener(status); } catch (error) { console.warn(error); } });
}

export async function refreshStatus() {
  const session = await db.currentSession();
  if (!session) return setStatus({ user: null, pending: 0, problems: 0 });
  const [items, state] = await Promise.all([db.outboxOf(session.userId), db.stateOf(session.userId)]);
  setStatus({ user: session.userId, pending: items.filter((i) => i.state === "pending").length,
              problems: items.filter((i) => i.state !== "pending").length, lastSync: state.lastSync,
              lastError: state.lastError, persisted: state.persisted ?? null });
}

// ---- HTTP -----------------------------------------------------------------------------------------------------------

async function call(session, method, url, body, extraHeaders = {}) {
  let response;
  try {
    response = await fetch(url, {
      method, credentials: "same-origin", cache: "no-store", signal: timeoutSignal(CALL_TIMEOUT_MS),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf, ...extraHeaders },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new SyncStop("network");
  }
  reachable();
  if (response.status === 401) throw new SyncStop("expired");
  const data = await response.json().catch(() => ({}));
  if (response.status === 403 && data.error === "csrf") throw Object.assign(new SyncStop("csrf", data.message),
                                                                             { status: 403, body: data });
  if (!response.ok) throw Object.assign(new SyncStop(response.status >= 500 ? "server" : "refused", data.message),
                                        { status: response.status, body: data });
  return data;
}

async function registerDevice(session) {
  let device = await db.deviceFor(session.userId);
  if (registeredFor === `${session.userId}:${device.id}`) return device;
  try {
    await call(session, "PUT", `/api/auth/devices/${device.id}`, { label: deviceLabel() });
  } catch (error) {
    if (error.code !== "refused") throw error;
    device = await db.deviceFor(session.userId, { fresh: true }); // the id belonged to another user
    await call(session, "PUT", `/api/auth/devices/${device.id}`, { label: deviceLabel() });
  }
  registeredFor = `${session.userId}:${device.id}`;
  return device;
}

// ---- push -----------------------------------------------------------------------------------------------------------

async function pushOps(session, device) {
  for (;;) {
    const pending = (await db.outboxOf(session.userId)).filter((i) => i.type === "op" && i.state === "pending");
    if (!pending.length) return;
    const batch = pending.slice(0, BATCH);
    setStatus({ progress: { phase: "push", count: batch.length } });
    const answer = await call(session, "POST", "/api/sync/push", { device_id: device.id, device_now: deviceTime(),
                                                                    ops: batch.map((i) => i.op) });
    const byId = new Map(batch.map((item) => [item.op.op_id, item]));
    await db.transaction(["outbox"], "readwrite", (s) => {
      for (const result of answer.results || []) {
        const item = byId.get(result.op_id);
        if (!item) continue;
        if (result.status === "applied" || result.status === "duplicate") s.outbox.delete(item.id);
        else if (result.status === "conflict") s.outbox.put({ ...item, state: "conflict", current: result.current,
                                                              error: result.error?.message || "conflict" });
        else s.outbox.put({ ...item, state: "rejected", error: result.error?.message || result.status,
                            errorCode: result.error?.error });
      }
    });
    await refreshStatus();
  }
}

async function uploadPhotos(session) {
  const items = await db.outboxOf(session.userId);
  const waitingNotes = new Set(items.filter((i) => i.type === "op" && i.op.kind === "note.create")
    .map((i) => String(i.op.data.id || i.op.op_id)));
  for (const item of items.filter((i) => i.type === "photo" && i.state === "pending")) {
    const photo = item.photo;
    if (photo.parent.kind === "note" && waitingNotes.has(String(photo.parent.id))) continue; // parent not applied yet
    setStatus({ progress: { phase: "photo", id: item.id, done: 0 } });
    try {
      await uploadPhoto(photo, (fraction) => setStatus({ progress: { phase: "photo", id: item.id, done: fraction } }),
                        { csrf: session.csrf });
      await db.remove("outbox", item.id);
    } catch (error) {
      if (error.status === 401) throw new SyncStop("expired");
      if (error.status === 403 && error.body?.error === "csrf") throw new SyncStop("csrf");
      if (!error.status || error.status >= 500) throw new SyncStop("network");
      await db.put("outbox", { ...item, state: "rejected", error: error.message,
                               errorCode: error.body?.error || `http_${error.status}` });
    }
    await refreshStatus();
  }
}

// ---- pull -----------------------------------------------------------------------------------------------------------

async function applyPull(user, answer) {
  await db.transaction(["records", "state"], "readwrite", async (s, done) => {
    if (answer.reset) {
      const keys = await done(s.records.index("user").getAllKeys(IDBKeyRange.only(user)));
      keys.forEach((key) => s.records.delete(key));
    }
    for (const kind of KINDS) {
      for (const record of answer.records?.[kind] || []) s.records.put({ user, kind, id: String(record.id), data: record });
      for (const id of answer.tombstones?.[kind] || []) s.records.delete([user, kind, String(id)]);
    }
    const state = (await done(s.state.get(user))) || { user };
    s.state.put({ ...state, cursor: answer.cursor, lastSync: new Date().toISOString(), lastError: null,
                  window: answer.window });
  });
}

async function pull(session, device) {
  const run = async () => {
    for (let page = 0; page < 50; page++) {
      const { cursor } = await db.stateOf(session.userId);
      setStatus({ progress: { phase: "pull" } });
      // A POST: each pull records a manifest generation on the server (and CSRF guards it like any write).
      const answer = await call(session, "POST", "/api/sync/pull", { device_id: device.id, cursor: cursor || 0 });
      await applyPull(session.userId, answer);
      if (!answer.more) return;
    }
  };
  if (navigator.locks) return navigator.locks.request(`ipms-pull-${session.userId}`, run);
  return run();
}

// ---- one round --------------------------------------------------------------------------------------------------------

let running = null;

let again = null; // a round asked for while one runs: it runs once more after (what was queued meanwhile goes too)

export function syncNow(reason = "manual") {
  if (running) {
    again = again || running.then(() => { again = null; return syncNow(reason); });
    return again;
  }
  running = round(reason).finally(() => { running = null; });
  return running;
}

async function round(reason) {
  let session = await db.currentSession();
  if (!session) return { ok: false, reason: "no-session" };
  stopProbe();
  setStatus({ running: true, user: session.userId, lastError: null });
  try {
    if (!db.pageSession()) session = (await adoptServerSession()) || session;
    const device = await registerDevice(session);
    await pushOps(session, device);
    await uploadPhotos(session);
    await pull(session, device);
    setStatus({ running: false, progress: null });
    await refreshStatus();
    window.dispatchEvent(new CustomEvent("ipms:synced", { detail: { reason } }));
    return { ok: true };
  } catch (error) {
    const code = error.code || "failed";
    console.warn("IPMS sync stopped:", code, error.message);
    // An expired session writes nothing to IndexedDB: the outbox simply waits for the next sign-in.
    if (code !== "expired") await db.patchState(session.userId, { lastError: code }).catch(() => null);
    setStatus({ running: false, progress: null, lastError: code });
    await refreshStatus().catch(() => null);
    if (code === "expired") setStatus({ lastError: "expired" });
    if (code === "network" || code === "server") scheduleProbe();
    if (code === "csrf" && !db.pageSession()) scheduleProbe(); // the next round takes the token the server has now
    return { ok: false, reason: code };
  }
}

// ---- reachability --------------------------------------------------------------------------------------------------

// Something reached the server (a sync call, the probe, the ReactPy websocket opening): start a round now if
// anything waits — at most one round runs at a time (syncNow), and a running one simply continues.
function reachable() {
  if (status.running) return;
  if (status.pending > 0 || status.lastError === "network" || status.lastError === "server") {
    queueMicrotask(() => syncNow("reachable"));
  }
}

function stopProbe() {
  clearTimeout(probeTimer);
  probeTimer = null;
}

// While items wait and the server is out of reach: GET /healthz every 3 s ± 1 s until it answers.
function scheduleProbe() {
  stopProbe();
  if (!status.pending) return; // nothing waits: the timer, `online` and the foreground are enough
  const delay = PROBE_MS - PROBE_JITTER_MS + Math.random() * 2 * PROBE_JITTER_MS;
  probeTimer = setTimeout(probe, delay);
}

async function probe() {
  probeTimer = null;
  try {
    const response = await fetch("/healthz", { cache: "no-store", credentials: "omit",
                                               signal: timeoutSignal(PROBE_MS) });
    if (response.ok) return syncNow("probe");
  } catch (error) { /* still out of reach */ }
  return scheduleProbe();
}

// On the neutral shell (no session in the page) the server's current session is the truth for the user and the
// CSRF token (it may have changed since it was kept); unreachable or signed out, the kept one stays.
async function adoptServerSession() {
  const fresh = await db.serverSession();
  if (!fresh) return null;
  const kept = await db.currentSession();
  if (!kept || kept.userId !== fresh.userId || kept.csrf !== fresh.csrf || kept.lang !== fresh.lang) {
    await db.rememberSession(fresh);
  }
  return fresh;
}

// ---- queueing (called by the capture UI and the note composer) -----------------------------------------------------

async function requestPersist(user) {
  const state = await db.stateOf(user);
  if (state.persisted !== undefined && state.persisted !== null) return state.persisted;
  let persisted = false;
  try {
    persisted = navigator.storage?.persist ? await navigator.storage.persist() : false;
  } catch (error) { persisted = false; }
  await db.patchState(user, { persisted });
  return persisted;
}

async function enqueue(item) {
  const session = await db.currentSession();
  if (!session) throw new SyncStop("no-session");
  await db.put("outbox", { ...item, user: session.userId, state: "pending", attempts: 0, createdAt: Date.now() });
  await requestPersist(session.userId);
  await refreshStatus();
  requestBackgroundSync();
  syncNow("queued"); // fails at once without a network, and the probe takes over

  return item;
}

export function queueNote(parent, body) {
  const id = newId();
  return enqueue({ id, type: "op", op: { op_id: id, kind: "note.create",
                                         data: { id, body, [`${parent.kind}_id`]: parent.id,
                                                 written_at: deviceTime() } },
                   label: body.slice(0, 80), parent });
}

// A visit's status or summary changed on the phone: one visit.update naming the version it started from. A second
// change before the first was sent joins it (same op, same base version), so the two never conflict with each other.
export async function queueVisitUpdate(visit, changes) {
  const session = await db.currentSession();
  if (!session) throw new SyncStop("no-session");
  const waiting = (await db.outboxOf(session.userId)).find((item) => item.type === "op" && item.state === "pending"
    && item.op.kind === "visit.update" && String(item.op.data.id) === String(visit.id));
  if (waiting) {
    const op = { ...waiting.op, data: { ...waiting.op.data, ...changes, written_at: deviceTime() } };
    await db.put("outbox", { ...waiting, op, label: visitLabel(op.data) });
    await refreshStatus();
    syncNow("queued");
    return waiting;
  }
  const id = newId();
  const data = { id: String(visit.id), version: visit.version, ...changes, written_at: deviceTime() };
  return enqueue({ id, type: "op", op: { op_id: id, kind: "visit.update", data }, label: visitLabel(data),
                   parent: { kind: "visit", id: String(visit.id) } });
}

function visitLabel(data) {
  return [data.status, data.summary ? data.summary.slice(0, 60) : ""].filter(Boolean).join(" · ");
}

export function queuePhoto(photo) {
  return enqueue({ id: photo.id, type: "photo", photo, label: photo.name, parent: photo.parent });
}

export async function retry(itemId) {
  const item = await db.get("outbox", itemId);
  if (item) await db.put("outbox", { ...item, state: "pending", error: null, errorCode: null, current: null });
  await refreshStatus();
  return syncNow("retry");
}

// Conflict: "mine" queues a new operation based on the server's version; "theirs" drops my edit.
export async function resolveConflict(itemId, choice) {
  const item = await db.get("outbox", itemId);
  if (!item) return;
  if (choice === "mine" && item.current) {
    const opId = newId();
    await db.put("outbox", { ...item, state: "pending", error: null, current: null,
                             op: { ...item.op, op_id: opId, data: { ...item.op.data, version: item.current.version } } });
  } else {
    await db.remove("outbox", itemId);
  }
  await refreshStatus();
  if (choice === "mine") syncNow("conflict");
}

export async function discard(itemId) {
  await db.remove("outbox", itemId);
  await refreshStatus();
}

function requestBackgroundSync() {
  navigator.serviceWorker?.ready?.then((registration) => {
    if ("sync" in registration) return registration.sync.register(SYNC_TAG);
    return null;
  }).catch(() => null);
}

// ---- sign-out --------------------------------------------------------------------------------------------------------

// Sync first; if items remain, `confirmDiscard()` decides. Then sign out on the server (X-Device-Id drops this
// device's push subscription) and wipe this user's IndexedDB data and the caches holding their pages.
export async function signOut(confirmDiscard = () => true) {
  const session = await db.currentSession() || db.pageSession();
  if (session) {
    await syncNow("sign-out");
    const left = await db.outboxOf(session.userId);
    if (left.length && !(await confirmDiscard(left.length))) return false;
  }
  const device = session ? await db.get("devices", session.userId) : null;
  const csrf = session?.csrf || db.pageSession()?.csrf || "";
  await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf, ...(device ? { "X-Device-Id": device.id } : {}) } }).catch(() => null);
  if (session) await db.wipeUser(session.userId);
  await db.forgetSession();
  if (globalThis.caches) {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => !name.startsWith("ipms-static-")).map((name) => caches.delete(name)));
  }
  return true;
}

// ---- start -------------------------------------------------------------------------------------------------------------

export async function start() {
  if (started) return;
  started = true;
  // A page the network served names the signed-in user (it is never cached); the neutral shell asks the server.
  const session = db.pageSession();
  if (session) await db.rememberSession(session);
  else await adoptServerSession().catch(() => null);
  window.addEventListener("online", () => syncNow("online"));
  // The ReactPy websocket (re)opened: a round at once (it also pulls what changed meanwhile).
  window.addEventListener("ipms:reachable", (event) => (event.detail?.via === "websocket" ? syncNow("websocket")
    : reachable()));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncNow("foreground");
  });
  setInterval(() => { if (navigator.onLine) syncNow("timer"); }, PERIOD_MS);
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "SYNC_OUTBOX") syncNow("background-sync");
  });
  await refreshStatus();
  if (navigator.onLine) syncNow("start");
}

export const currentStatus = () => status;
