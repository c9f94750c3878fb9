// Field kit: what else a visit needs offline — its status (done, no-show, cancelled) and summary, queued through
// the outbox as one visit.update naming the version it started from; the client's card (budget, intent, area, tags,
// a call link, the latest notes); queued photos as thumbnails from their blobs; and a search over cached clients.
import { createElement as h, useEffect, useState } from "react";
import { queueVisitUpdate } from "./sync.js";
import { useDraft } from "./notes.js";
import { fill } from "./words.js";

const localeOf = (lang) => (lang === "zh" ? "zh-CN" : "en");

// The change waiting for this visit (a pending or conflicting visit.update), if any.
export function waitingUpdate(outbox, visitId) {
  return outbox.find((item) => item.type === "op" && item.op.kind === "visit.update"
    && String(item.op.data.id) === String(visitId)) || null;
}

export function StatusActions({ visit, waiting, labels, onQueued }) {
  const [busy, setBusy] = useState(false);
  const shown = waiting?.op.data.status || visit.status;
  async function mark(status) {
    if (busy) return;
    setBusy(true);
    try {
      await queueVisitUpdate(visit, { status });
      if (onQueued) onQueued();
    } finally {
      setBusy(false);
    }
  }
  const text = labels.visit_status?.[shown] || shown;
  return h("div", { className: "stack", id: "fk-status" },
    h("p", { id: "fk-status-text", "data-status": shown, "data-waiting": String(Boolean(waiting?.op.data.status)) },
      waiting?.op.data.status ? fill(labels.status_waiting, { status: text }) : text),
    h("div", { className: "actions" }, ...[["done", labels.mark_done], ["no_show", labels.mark_no_show],
                                            ["cancelled", labels.mark_cancelled]].map(([status, word]) =>
      h("button", { type: "button", key: status, className: `button ${shown === status ? "" : "secondary"}`,
                    "data-mark": status, "aria-pressed": String(shown === status), disabled: busy,
                    onClick: () => mark(status) }, word))));
}

export function SummaryEditor({ visit, waiting, labels, onQueued }) {
  const draft = useDraft(`visit:${visit.id}:summary`);
  const [busy, setBusy] = useState(false);
  const current = waiting?.op.data.summary ?? visit.summary ?? "";
  async function save(event) {
    event.preventDefault();
    const text = draft.text.trim();
    if (!text || busy) return;
    setBusy(true);
    try {
      await queueVisitUpdate(visit, { summary: text });
      await draft.clear();
      if (onQueued) onQueued();
    } finally {
      setBusy(false);
    }
  }
  return h("form", { className: "stack", id: "fk-summary-form", onSubmit: save },
    current ? h("p", { id: "fk-summary-text", "data-waiting": String(waiting?.op.data.summary !== undefined) },
      current) : null,
    h("textarea", { className: "input", id: "fk-summary-body", rows: 3, maxLength: 5000, value: draft.text,
                    placeholder: labels.summary_placeholder, "aria-label": labels.summary_placeholder,
                    onInput: (event) => draft.change(event.target.value) }),
    h("button", { type: "submit", className: "button secondary block", id: "fk-summary-save",
                  disabled: busy || !draft.text.trim() }, labels.save_summary));
}

function budgetText(client, lang) {
  const money = new Intl.NumberFormat(localeOf(lang), { notation: "compact", style: "currency", currency: "CNY",
                                                         maximumFractionDigits: 1 });
  const { budget_min: low, budget_max: high } = client;
  if (low == null && high == null) return "";
  if (low != null && high != null) return `${money.format(low)} – ${money.format(high)}`;
  return money.format(low ?? high);
}

export function ClientCard({ client, notes, labels, lang }) {
  if (!client) return null;
  const fact = (key, label, value) => (value ? [h("dt", { key: `${key}-t` }, label),
                                                h("dd", { key: `${key}-d`, "data-fact": key }, value)] : []);
  const latest = [...notes].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, 3);
  return h("section", { className: "card", id: "fk-client", "data-id": String(client.id) },
    h("h2", { className: "section-title" }, labels.client_card),
    h("p", { className: "title" }, client.name),
    client.phone ? h("a", { className: "button block", id: "fk-call", href: `tel:${client.phone.replace(/[^\d+]/g, "")}` },
      fill(labels.call, { phone: client.phone })) : null,
    h("dl", { className: "facts" },
      ...fact("budget", labels.budget, budgetText(client, lang)),
      ...fact("intent", labels.intent, labels.intent_words?.[client.intent] || client.intent),
      ...fact("area", labels.area, client.area_preference),
      ...fact("tags", labels.tags, (client.tags || []).join(lang === "zh" ? "、" : ", "))),
    h("h3", null, labels.last_notes),
    latest.length ? h("ul", { className: "list", id: "fk-client-notes" }, ...latest.map((note) =>
      h("li", { key: String(note.id), className: "fk-note", "data-id": String(note.id) }, h("p", null, note.body))))
      : h("p", { className: "empty" }, labels.no_notes));
}

function Thumbnail({ item, labels }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    const blob = item.photo?.blob;
    if (!(blob instanceof Blob)) return undefined;
    const made = URL.createObjectURL(blob);
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [item.id]);
  return h("li", { className: "fk-thumb", "data-id": item.id, "data-state": item.state },
    url ? h("img", { src: url, alt: labels.queued_photo, width: 96, height: 96, loading: "lazy" }) : null);
}

export function QueuedPhotos({ items, labels }) {
  if (!items.length) return null;
  return h("ul", { className: "fk-thumbs", id: "fk-queued-photos" },
    ...items.map((item) => h(Thumbnail, { key: item.id, item, labels })));
}

// Search over the clients this phone holds (name, phone, area, tags); a hit opens that client's next visit.
export function ClientSearch({ data, labels, onOpen }) {
  const [text, setText] = useState("");
  const needle = text.trim().toLowerCase();
  const hits = needle ? [...data.clients.values()].filter((client) => [client.name, client.phone,
    client.area_preference, ...(client.tags || [])].some((value) => String(value || "").toLowerCase().includes(needle)))
    : [];
  const visitOf = (client) => [...data.visits].filter((v) => String(v.client_id) === String(client.id))
    .sort((a, b) => String(a.scheduled_at).localeCompare(String(b.scheduled_at)))[0];
  return h("section", { className: "card stack", id: "fk-search" },
    h("input", { className: "input", type: "search", id: "fk-search-input", value: text,
                 placeholder: labels.search_clients, "aria-label": labels.search_clients,
                 onInput: (event) => setText(event.target.value) }),
    needle && !hits.length ? h("p", { className: "empty" }, labels.no_clients_found) : null,
    hits.length ? h("ul", { className: "list", id: "fk-search-results" }, ...hits.slice(0, 20).map((client) => {
      const visit = visitOf(client);
      return h("li", { key: String(client.id), "data-id": String(client.id) },
        h("button", { type: "button", className: "list-link fk-search-hit", disabled: !visit,
                      onClick: () => visit && onOpen(visit.id) },
          h("div", { className: "grow" }, h("div", { className: "title" }, client.name),
            h("div", { className: "meta" }, [client.area_preference, client.phone].filter(Boolean).join(" · ")))));
    })) : null);
}
