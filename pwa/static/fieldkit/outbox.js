// Field kit: the outbox view (pending items, progress, last sync, errors with retry; a rejected item stays visible
// with its reason; a conflict shows both versions and a choice) and the sign-out button that syncs first.
// Plain ES module: the offline shell renders `Outbox`; ReactPy screens embed `Outbox` and `SignOut` with
// component_from_url.
import { createElement as h, useEffect, useState } from "react";
import * as db from "./db.js";
import { discard, onStatus, resolveConflict, retry, signOut, start, syncNow } from "./sync.js";

import { fill, pageWords } from "./words.js";

// Why an item was not sent, in words: the server's refusal by its code (refused, too large, not a photo, the record
// is gone, no longer allowed, session or token changed), else the server's own message.
export function reasonOf(item, labels) {
  const code = item.errorCode || (item.state === "conflict" ? "conflict" : "");
  const words = labels[`reason_${code}`];
  if (words) return words;
  return fill(labels.rejected, { reason: item.error || code || "?" });
}

function describe(item, labels) {
  if (item.type === "photo") return `${labels.photo_item || "Photo"} · ${item.label || ""}`;
  if (item.op?.kind === "note.create") return `${labels.note_item || "Note"} · ${item.op.data.body.slice(0, 60)}`;
  if (item.op?.kind === "visit.update") {
    const data = item.op.data;
    const parts = [data.status ? labels.visit_status?.[data.status] || data.status : "", (data.summary || "").slice(0, 60)];
    return `${labels.visit_item || "Visit"} · ${parts.filter(Boolean).join(" · ")}`;
  }
  return item.op?.kind || item.type;
}

// A conflict: each field I changed, my value beside the server's, so the user can choose knowing both.
function Versions({ item, labels }) {
  const mine = { ...item.op.data };
  const theirs = item.current || {};
  const keys = Object.keys(mine).filter((key) => !["id", "version", "written_at"].includes(key));
  const show = (key, value) => (key === "status" ? labels.visit_status?.[value] || value : value ?? "");
  return h("dl", { className: "facts fk-versions" }, ...keys.flatMap((key) => [
    h("dt", { key: `${key}-k` }, labels[`field_${key}`] || key),
    h("dd", { key: `${key}-v`, "data-field": key },
      h("div", { className: "fk-mine" }, `${labels.my_version}: ${show(key, mine[key])}`),
      h("div", { className: "fk-theirs" }, `${labels.server_version}: ${show(key, theirs[key])}`))]));
}

// `storage`: say whether the browser keeps the data (off in Settings, whose storage card says more).
export function Outbox({ labels: given = {}, lang = "zh", version = 0, onChanged, storage = true }) {
  const labels = { ...pageWords(lang), ...given };
  const [status, setStatus] = useState(null);
  const [items, setItems] = useState([]);
  const [confirming, setConfirming] = useState(null);
  useEffect(() => {
    start().catch((error) => console.warn("IPMS sync: start failed", error));
    return onStatus(setStatus);
  }, []);
  useEffect(() => {
    let live = true;
    db.currentSession().then((session) => (session ? db.outboxOf(session.userId) : []))
      .then((list) => { if (live) setItems(list); }).catch(() => null);
    return () => { live = false; };
  }, [version, status?.pending, status?.problems, status?.running]);
  const waiting = items.filter((item) => item.state === "pending").length;
  const act = (promise) => Promise.resolve(promise).then(() => onChanged && onChanged());
  const when = status?.lastSync ? new Date(status.lastSync).toLocaleString(lang === "zh" ? "zh-CN" : "en") : null;
  const error = status?.lastError ? labels[`error_${status.lastError}`] || labels.error_failed : null;
  return h("div", { className: "stack fk-outbox", id: "fk-outbox", "data-pending": String(items.length),
                    "data-running": String(Boolean(status?.running)) },
    h("h2", { className: "section-title" }, labels.outbox, h("span", { className: "count", id: "fk-outbox-count" },
                                                              String(items.length))),
    h("p", { className: "small muted", id: "fk-sync-state" },
      status?.running ? labels.syncing : waiting ? fill(labels.pending, { count: waiting })
        : items.length ? fill(labels.badge_failed, { count: items.length }) : labels.all_sent,
      " · ", when ? fill(labels.last_sync, { when }) : labels.never_synced),
    error ? h("p", { className: "message error", id: "fk-sync-error", "data-error": status.lastError }, error) : null,
    !storage || status?.persisted === null || status?.persisted === undefined ? null
      : h("p", { className: "small muted", id: "fk-storage" },
          status.persisted ? labels.storage_persisted : labels.storage_best_effort),
    items.length ? h("ul", { className: "list" }, ...items.map((item) => h("li", {
      key: item.id, className: "fk-outbox-item", "data-state": item.state, "data-type": item.type },
      h("div", { className: "spread" }, h("span", null, describe(item, labels)),
        item.state === "pending" ? h("span", { className: "chip plain" }, status?.running ? labels.syncing : labels.queued)
          : null),
      item.state === "rejected" ? h("p", { className: "message error fk-reason" }, reasonOf(item, labels)) : null,
      item.state === "conflict" ? h("div", { className: "stack" }, h("p", { className: "message" }, labels.conflict),
        h(Versions, { item, labels }),
        h("div", { className: "actions" },
          h("button", { type: "button", className: "button", "data-action": "keep-mine",
                        onClick: () => act(resolveConflict(item.id, "mine")) }, labels.mine),
          h("button", { type: "button", className: "button secondary", "data-action": "keep-theirs",
                        onClick: () => act(resolveConflict(item.id, "theirs")) }, labels.theirs))) : null,
      item.state === "rejected" && confirming !== item.id ? h("div", { className: "actions" },
        h("button", { type: "button", className: "button secondary", "data-action": "retry",
                      onClick: () => act(retry(item.id)) }, labels.retry),
        h("button", { type: "button", className: "button danger", "data-action": "discard",
                      onClick: () => setConfirming(item.id) }, labels.discard)) : null,
      item.state === "rejected" && confirming === item.id ? h("div", { className: "stack fk-confirm" },
        h("p", { className: "message" }, labels.discard_confirm),
        h("div", { className: "actions" },
          h("button", { type: "button", className: "button danger", "data-action": "discard-confirm",
                        onClick: () => { setConfirming(null); act(discard(item.id)); } }, labels.discard_yes),
          h("button", { type: "button", className: "button secondary", "data-action": "discard-cancel",
                        onClick: () => setConfirming(null) }, labels.discard_no))) : null))) : null,
    h("button", { type: "button", className: "button secondary block", id: "fk-sync-now", disabled: Boolean(status?.running),
                  onClick: () => act(syncNow("button")) }, labels.sync_now));
}

// Sign-out for the settings screen: sync first, ask before discarding what could not be sent, sign out on the
// server with X-Device-Id, wipe this user's IndexedDB data and caches, then go to the sign-in page.
export function SignOut({ labels = {}, text = "Sign out" }) {
  const [busy, setBusy] = useState(false);
  async function press() {
    if (busy) return;
    setBusy(true);
    try {
      await start();
      const ok = await signOut((count) => window.confirm(fill(labels.sign_out_discard, { count })));
      if (ok) window.location.assign("/login");
    } finally {
      setBusy(false);
    }
  }
  return h("button", { type: "button", className: "button danger block", id: "sign-out", disabled: busy, onClick: press },
    busy ? labels.signing_out || "…" : text);
}

function megabytes(bytes, lang) {
  return new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: 1 }).format(bytes / 1048576);
}

// Storage honesty for the settings screen: the space this app uses on the phone and the browser's quota, whether
// the browser promised to keep it, and — only when it refused — one plain hint (install to the home screen).
export function StorageInfo({ lang = "zh" }) {
  const labels = pageWords(lang);
  const [info, setInfo] = useState(null);
  useEffect(() => {
    let live = true;
    (async () => {
      const estimate = navigator.storage?.estimate ? await navigator.storage.estimate() : null;
      const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : null;
      const session = await db.currentSession();
      const asked = session ? (await db.stateOf(session.userId)).persisted : null;
      if (live) setInfo({ estimate, persisted, asked: asked !== undefined && asked !== null });
    })().catch(() => live && setInfo({ estimate: null, persisted: null, asked: false }));
    return () => { live = false; };
  }, []);
  if (!info) return h("div", { id: "fk-storage-info", "data-state": "loading" });
  const { estimate, persisted, asked } = info;
  return h("div", { className: "stack", id: "fk-storage-info", "data-persisted": String(persisted) },
    estimate ? h("p", { id: "fk-storage-usage", "data-usage": String(estimate.usage || 0),
                        "data-quota": String(estimate.quota || 0) },
      fill(labels.storage_usage, { used: megabytes(estimate.usage || 0, lang),
                                   quota: megabytes(estimate.quota || 0, lang) })) : null,
    h("p", { className: "small muted" }, persisted ? labels.storage_persisted : labels.storage_best_effort),
    persisted === false && asked ? h("p", { className: "message", id: "fk-storage-hint" }, labels.storage_hint) : null);
}
