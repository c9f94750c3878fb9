// Field kit: local data in IndexedDB, keyed by user. A thin promise wrapper of our own (no vendored library).
//
// Stores (database "ipms-fieldkit"):
//   meta     key → value: "current" = { userId, csrf, lang } of the session this browser last saw online
//   devices  userId → { user, id, label }: the device record of this install for that user (server device ids
//            belong to one user, so a phone that changes hands gets one per user)
//   state    userId → { user, cursor, lastSync, lastError, persisted }
//   records  [user, kind, id] → { user, kind, id, data }: what POST /api/sync/pull gave that user
//   outbox   id → { id, user, type: "op" | "photo", op, photo, state, error, current, attempts, createdAt }
//   drafts   [user, key] → { user, key, text, savedAt }: half-typed notes and summaries ("visit:<id>:note")
//            (version 2)
// Nothing of one user is ever read under another: every read takes the user id. The database keeps its name and
// its stores across app updates; a new store comes with a new version number, an old one is never renamed.
import { newId, setSessionCsrf } from "./ids.js";
export const DB_NAME = "ipms-fieldkit";
const VERSION = 2;
const DEVICE_KEY = "ipms.device.id"; // push.js reads the current user's device id from here
let opening = null;

export function openDb() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = (event) => {
      const db = request.result;
      if (event.oldVersion < 1) {
        db.createObjectStore("meta");
        db.createObjectStore("devices", { keyPath: "user" });
        db.createObjectStore("state", { keyPath: "user" });
        db.createObjectStore("records", { keyPath: ["user", "kind", "id"] }).createIndex("user", "user");
        db.createObjectStore("outbox", { keyPath: "id" }).createIndex("user", "user");
      }
      if (event.oldVersion < 2) db.createObjectStore("drafts", { keyPath: ["user", "key"] }).createIndex("user", "user");
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    request.onerror = () => { opening = null; reject(request.error); };
  });
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
  });
}

// Run `work(stores)` in one transaction over `names`; resolves with work's result after the commit.
export async function transaction(names, mode, work) {
  const db = await openDb();
  const tx = db.transaction(names, mode);
  const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
  const result = await work(stores, done);
  await finished(tx);
  return result;
}

export const get = (store, key) => transaction([store], "readonly", (s) => done(s[store].get(key)));
export const put = (store, value, key) => transaction([store], "readwrite", (s) => done(key === undefined
  ? s[store].put(value) : s[store].put(value, key)));
export const remove = (store, key) => transaction([store], "readwrite", (s) => done(s[store].delete(key)));
export const byUser = (store, user) => transaction([store], "readonly",
  (s) => done(s[store].index("user").getAll(IDBKeyRange.only(user))));

// ---- session ---------------------------------------------------------------------------------------------------

// The page's signed-in user (from the meta tags of a page the network served; never cached); null on the sign-in
// page and on the neutral shell the service worker answers with, where `currentSession()` is the truth.
export function pageSession(doc = document) {
  const userId = doc.querySelector('meta[name="ipms-user"]')?.content;
  if (!userId) return null;
  return { userId, csrf: doc.querySelector('meta[name="csrf-token"]')?.content || "",
           lang: doc.documentElement.lang?.startsWith("zh") ? "zh" : "en" };
}

// The session as the server sees it now (GET /api/auth/me): null when signed out, undefined when unreachable.
export async function serverSession() {
  let response;
  try {
    response = await fetch("/api/auth/me", { credentials: "same-origin", cache: "no-store",
                                             signal: AbortSignal.timeout?.(5000) });
  } catch (error) {
    return undefined;
  }
  if (response.status === 401) return null;
  if (!response.ok) return undefined;
  const body = await response.json();
  const fallback = globalThis.document?.documentElement.lang?.startsWith("zh") ? "zh" : "en";
  return { userId: String(body.user.id), csrf: body.csrf_token, lang: body.user.language || fallback };
}

export async function currentSession() {
  const session = await get("meta", "current");
  if (session) setSessionCsrf(session.csrf);
  return session;
}
export const rememberSession = (session) => { setSessionCsrf(session.csrf); return put("meta", session, "current"); };
export const forgetSession = () => remove("meta", "current");

// ---- device -----------------------------------------------------------------------------------------------------

// This install's device record for `user` (made on first use; the first user adopts push.js's id).
export async function deviceFor(user, { fresh = false } = {}) {
  let device = fresh ? null : await get("devices", user);
  if (!device) {
    const all = await transaction(["devices"], "readonly", (s) => done(s.devices.getAll()));
    const legacy = globalThis.localStorage?.getItem(DEVICE_KEY);
    const taken = new Set(all.map((d) => d.id));
    device = { user, id: !fresh && legacy && !taken.has(legacy) ? legacy : newId(), registered: false };
    await put("devices", device);
  }
  globalThis.localStorage?.setItem(DEVICE_KEY, device.id);
  return device;
}

// ---- state, records, outbox -----------------------------------------------------------------------------------

export async function stateOf(user) {
  return (await get("state", user)) || { user, cursor: 0, lastSync: null, lastError: null };
}

export async function patchState(user, change) {
  return transaction(["state"], "readwrite", async (s) => {
    const current = (await done(s.state.get(user))) || { user, cursor: 0, lastSync: null, lastError: null };
    const next = { ...current, ...change };
    s.state.put(next);
    return next;
  });
}

export async function recordsOf(user, kind) {
  const rows = await byUser("records", user);
  return rows.filter((row) => !kind || row.kind === kind).map((row) => row.data);
}

export async function recordOf(user, kind, id) {
  const row = await get("records", [user, kind, String(id)]);
  return row ? row.data : null;
}

export const outboxOf = async (user) => (await byUser("outbox", user)).sort((a, b) => a.createdAt - b.createdAt);

// ---- drafts ----------------------------------------------------------------------------------------------------

export async function draftOf(user, key) {
  return (await get("drafts", [user, key]))?.text || "";
}

export function saveDraft(user, key, text) {
  if (!text) return remove("drafts", [user, key]);
  return put("drafts", { user, key, text, savedAt: Date.now() });
}

export const dropDraft = (user, key) => remove("drafts", [user, key]);

// Everything of `user` goes: records, outbox, drafts, state (the device stays registered on the server).
export async function wipeUser(user) {
  await transaction(["records", "outbox", "drafts", "state", "meta"], "readwrite", async (s) => {
    for (const name of ["records", "outbox", "drafts"]) {
      const keys = await done(s[name].index("user").getAllKeys(IDBKeyRange.only(user)));
      keys.forEach((key) => s[name].delete(key));
    }
    s.state.delete(user);
    const current = await done(s.meta.get("current"));
    if (current && current.userId === user) s.meta.delete("current");
  });
}
