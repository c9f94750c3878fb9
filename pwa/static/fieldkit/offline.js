// Field kit: the offline shell UI (today's and upcoming visits, visit detail with client and project summary,
// quick-note composer, photo capture, outbox). shell.js mounts `OfflineApp` itself when the ReactPy websocket
// cannot connect; every piece reads IndexedDB (db.js) of the session this browser last saw online, and writes only
// to the outbox (sync.js). The capture UI is capture.js's `Capture`, the same component the online visit screen
// embeds, so there is one capture UI.
import { createElement as h, useEffect, useState } from "react";
import * as db from "./db.js";
import { Capture } from "./capture.js";
import { NoteComposer } from "./notes.js";
import { Outbox } from "./outbox.js";
import { PendingBadge, PendingCount } from "./badge.js";
import { ClientCard, ClientSearch, QueuedPhotos, StatusActions, SummaryEditor, waitingUpdate } from "./visitkit.js";

// The page embeds the field kit's words in both languages ({"zh": …, "en": …}); `lang` picks one.
export function pageLabels(doc = document, lang = doc.documentElement.lang?.startsWith("zh") ? "zh" : "en") {
  try {
    const all = JSON.parse(doc.getElementById("fieldkit-text")?.textContent || "{}");
    return all[lang === "en" ? "en" : "zh"] || {};
  } catch (error) {
    return {};
  }
}

function fill(text, values) {
  return String(text || "").replace(/\{(\w+)\}/g, (_, key) => (values[key] ?? ""));
}

function localeOf(lang) {
  return lang === "zh" ? "zh-CN" : "en";
}

function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

function useLocalData(version) {
  const [data, setData] = useState(null);
  useEffect(() => {
    let live = true;
    (async () => {
      const session = await db.currentSession();
      if (!session) return live && setData({ session: null });
      const user = session.userId;
      const [visits, clients, projects, notes, outbox] = await Promise.all([
        db.recordsOf(user, "visit"), db.recordsOf(user, "client"), db.recordsOf(user, "project"),
        db.recordsOf(user, "note"), db.outboxOf(user)]);
      if (live) setData({ session, visits, clients: new Map(clients.map((c) => [String(c.id), c])),
                          projects: new Map(projects.map((p) => [String(p.id), p])), notes, outbox });
    })().catch((error) => { console.warn("IPMS offline: cannot read local data", error); if (live) setData({ error }); });
    return () => { live = false; };
  }, [version]);
  return data;
}

function VisitRow({ visit, client, lang, onOpen }) {
  const time = new Date(visit.scheduled_at).toLocaleTimeString(localeOf(lang), { hour: "2-digit", minute: "2-digit" });
  return h("li", { className: "fk-visit-row", "data-id": String(visit.id) },
    h("a", { className: "list-link", href: `/visits/${visit.id}`, onClick: (event) => { event.preventDefault(); onOpen(visit.id); } },
      h("span", { className: "time-box" }, time),
      h("div", { className: "grow" }, h("div", { className: "title" }, client?.name || "—"),
        h("div", { className: "meta" }, visit.address || "")),
      h(PendingCount, { visit: String(visit.id), lang }),
      h("span", { className: "chevron", "aria-hidden": "true" }, "›")));
}

function VisitList({ data, labels, lang, onOpen }) {
  const now = new Date();
  const today = dayKey(now);
  const sorted = [...data.visits].sort((a, b) => String(a.scheduled_at).localeCompare(String(b.scheduled_at)));
  const todays = sorted.filter((v) => dayKey(new Date(v.scheduled_at)) === today);
  const upcoming = sorted.filter((v) => new Date(v.scheduled_at) > now && dayKey(new Date(v.scheduled_at)) !== today);
  const list = (visits, id) => h("ul", { className: "list", id }, ...visits.map((visit) => h(VisitRow, {
    key: String(visit.id), visit, client: data.clients.get(String(visit.client_id)), lang, onOpen })));
  return h("div", { className: "stack" },
    h("section", { className: "card" },
      h("h2", { className: "section-title" }, labels.today, h("span", { className: "count" }, String(todays.length))),
      todays.length ? list(todays, "fk-today") : h("p", { className: "empty" }, labels.no_visits)),
    upcoming.length ? h("section", { className: "card" },
      h("h2", { className: "section-title" }, labels.upcoming, h("span", { className: "count" }, String(upcoming.length))),
      list(upcoming.slice(0, 30), "fk-upcoming")) : null,
    h(ClientSearch, { data, labels, onOpen }));
}

export { NoteComposer };

function VisitDetail({ data, visitId, labels, captureLabels, lang, onBack, onChanged }) {
  const visit = data.visits.find((v) => String(v.id) === String(visitId));
  if (!visit) return h("p", { className: "empty" }, labels.no_visits);
  const client = data.clients.get(String(visit.client_id));
  const project = visit.project_id ? data.projects.get(String(visit.project_id)) : null;
  const notes = data.notes.filter((n) => String(n.visit_id ?? n.visit) === String(visit.id));
  const clientNotes = client ? data.notes.filter((n) => String(n.client_id) === String(client.id)
    || data.visits.some((v) => String(v.id) === String(n.visit_id) && String(v.client_id) === String(client.id))) : [];
  const queuedNotes = data.outbox.filter((i) => i.type === "op" && i.op.kind === "note.create"
    && String(i.op.data.visit_id) === String(visit.id));
  const queuedPhotos = data.outbox.filter((i) => i.type === "photo" && String(i.photo.parent.id) === String(visit.id));
  const waiting = waitingUpdate(data.outbox, visit.id);
  const when = new Date(visit.scheduled_at).toLocaleString(localeOf(lang), { dateStyle: "medium", timeStyle: "short" });
  const fact = (label, value) => (value ? [h("dt", { key: `${label}-t` }, label), h("dd", { key: `${label}-d` }, value)] : []);
  return h("div", { className: "stack", id: "fk-visit", "data-id": String(visit.id), "data-version": String(visit.version) },
    h("button", { type: "button", className: "button secondary", id: "fk-back", onClick: onBack }, `‹ ${labels.back}`),
    h("section", { className: "card stack" },
      h("h2", null, when),
      h("dl", { className: "facts" },
        ...fact(labels.client, client ? client.name : ""),
        ...fact(labels.project, project ? project.title : ""),
        ...fact(labels.address, visit.address)),
      h(StatusActions, { visit, waiting, labels, onQueued: onChanged }),
      h(SummaryEditor, { visit, waiting, labels, onQueued: onChanged })),
    h(ClientCard, { client, notes: clientNotes, labels, lang }),
    h("section", { className: "card" },
      h("h2", { className: "section-title" }, labels.photos,
        h("span", { className: "count", id: "fk-photo-count" }, String(queuedPhotos.length))),
      h(QueuedPhotos, { items: queuedPhotos, labels }),
      h(Capture, { parentKind: "visit", parentId: String(visit.id), labels: captureLabels, offline: true,
                   onQueued: onChanged })),
    h("section", { className: "card" },
      h("h2", { className: "section-title" }, labels.notes,
        h("span", { className: "count" }, String(notes.length + queuedNotes.length))),
      h("ul", { className: "list", id: "fk-notes" },
        ...queuedNotes.map((item) => h("li", { key: item.id, className: "fk-note queued", "data-id": item.id },
          h("p", null, item.op.data.body), h("span", { className: "chip plain" }, labels.queued))),
        ...notes.map((note) => h("li", { key: String(note.id), className: "fk-note", "data-id": String(note.id) },
          h("p", null, note.body)))),
      h(NoteComposer, { parentKind: "visit", parentId: visit.id, labels, onQueued: onChanged })));
}

// Props: labels (fieldkit.* without the prefix), captureLabels (capture.*), lang.
// The visit the URL names (/visits/<id>): the field kit opens at the place the online screen was.
function visitInUrl() {
  const match = /^\/visits\/([0-9a-f-]{36})$/i.exec(window.location.pathname);
  return match ? match[1] : null;
}

export function OfflineApp({ labels = {}, captureLabels = {}, lang = "zh" }) {
  const [visitId, setVisit] = useState(visitInUrl);
  // The URL follows, so that the online screen opens at the same visit when the connection returns.
  const setVisitId = (id) => {
    setVisit(id);
    const path = id ? `/visits/${id}` : "/";
    if (window.location.pathname !== path) window.history.replaceState(null, "", path);
  };
  const [version, setVersion] = useState(0);
  const data = useLocalData(version);
  const changed = () => setVersion((n) => n + 1);
  useEffect(() => {
    const refresh = () => changed();
    window.addEventListener("ipms:synced", refresh);
    return () => window.removeEventListener("ipms:synced", refresh);
  }, []);
  let body;
  if (!data) body = h("p", { className: "empty" }, "…");
  else if (!data.session) body = h("p", { className: "empty" }, labels.no_visits);
  else if (visitId) body = h(VisitDetail, { data, visitId, labels, captureLabels, lang, onBack: () => setVisitId(null),
                                            onChanged: changed });
  else body = h(VisitList, { data, labels, lang, onOpen: setVisitId });
  return h("div", { className: "fieldkit-offline", id: "offline-kit", "data-screen": visitId ? "visit" : "home" },
    h("header", { className: "app-header" }, h("h1", { id: "fk-title" }, labels.offline_title),
      h(PendingBadge, { lang })),
    h("main", { className: "screen stack" },
      h("p", { className: "message" }, labels.offline_note),
      body,
      h("section", { className: "card" }, h(Outbox, { labels, lang, version, onChanged: changed }))));
}
