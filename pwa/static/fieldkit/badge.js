// Field kit: what waits to be sent, visible on every screen. `PendingBadge` sits in the header of the online frame
// (embedded by pwa/app.py) and of the offline field kit; it shows the count and the state (waiting, sending,
// failed) and a tap opens the outbox (the one on the screen if there is one, else a sheet holding it, rendered at
// the end of <body> so no header or bottom navigation covers it).
// `PendingCount` is the same count for one visit, on its home-screen row. Words come from the page's field-kit text
// (both languages are in every page), so the badge needs no labels from Python.
import { createElement as h, createPortal, useEffect, useState } from "react";
import * as db from "./db.js";
import { onStatus, start } from "./sync.js";
import { Outbox } from "./outbox.js";
import { fill, pageWords } from "./words.js";

export { pageWords };

// "sending" while a round runs with items left, "failed" when an item was refused or conflicts, else "waiting".
export function badgeState(status) {
  const count = (status?.pending || 0) + (status?.problems || 0);
  if (!count) return { count: 0, state: "empty" };
  if (status.problems) return { count, state: "failed" };
  return { count, state: status.running ? "sending" : "waiting" };
}

function useSyncStatus() {
  const [status, setStatus] = useState(null);
  useEffect(() => {
    start().catch((error) => console.warn("IPMS sync: start failed", error));
    return onStatus(setStatus);
  }, []);
  return status;
}

export function PendingBadge({ lang }) {
  const status = useSyncStatus();
  const [open, setOpen] = useState(false);
  const words = pageWords(lang);
  const { count, state } = badgeState(status);
  const text = count ? fill(words[`badge_${state}`], { count }) : words.all_sent;
  function press() {
    const onScreen = document.querySelector(".app #fk-outbox, .fieldkit-mount #fk-outbox");
    if (onScreen) {
      onScreen.scrollIntoView({ block: "start" });
      onScreen.querySelector("button")?.focus({ preventScroll: true });
    } else {
      setOpen(true);
    }
  }
  return h("span", { className: "fk-badge-wrap" },
    h("button", { type: "button", className: `fk-badge ${state}`, id: "fk-badge", hidden: !count,
                  "data-count": String(count), "data-state": state, "aria-label": text, title: text, onClick: press },
      h("span", { className: "fk-badge-dot", "aria-hidden": "true" }),
      h("span", { className: "fk-badge-count" }, String(count)),
      h("span", { className: "fk-badge-text" }, words[`badge_word_${state}`] || "")),
    open ? createPortal(h("div", { className: "fk-sheet", id: "fk-outbox-sheet", role: "dialog", "aria-modal": "true",
                      "aria-label": words.outbox, onClick: (event) => { if (event.target === event.currentTarget) setOpen(false); } },
      h("div", { className: "fk-sheet-body card" },
        h("button", { type: "button", className: "button secondary", id: "fk-outbox-close", onClick: () => setOpen(false) },
          words.close || "×"),
        h(Outbox, { labels: words, lang: lang || "zh" }))), document.body) : null);
}

function belongsTo(item, visitId) {
  const id = String(visitId);
  if (item.type === "photo") return String(item.photo?.parent?.id) === id || String(item.parent?.id) === id;
  const data = item.op?.data || {};
  return String(data.visit_id) === id || (item.op?.kind?.startsWith("visit.") && String(data.id) === id);
}

export function PendingCount({ visit, lang }) {
  const status = useSyncStatus();
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    db.currentSession().then((session) => (session ? db.outboxOf(session.userId) : []))
      .then((items) => { if (live) setCount(items.filter((item) => belongsTo(item, visit)).length); })
      .catch(() => null);
    return () => { live = false; };
  }, [visit, status?.pending, status?.problems, status?.running]);
  if (!count) return null;
  return h("span", { className: "chip warn fk-visit-pending", "data-pending": String(count) },
    fill(pageWords(lang).visit_pending, { count }));
}
