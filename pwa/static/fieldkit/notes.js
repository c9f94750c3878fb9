// Field kit: the note composer and the notes still waiting on this phone, one component for the online visit screen
// (embedded by pwa/screens/visit.py) and the offline field kit. A note always goes through the outbox (sync.js), so
// a dropped connection cannot lose it; what is typed is kept as a draft in IndexedDB per visit while typing
// (debounced, and at once when the page hides or the composer unmounts), restored after a reload, a dropped
// connection or the app being killed, and removed when the note is queued.
import { createElement as h, useEffect, useRef, useState } from "react";
import * as db from "./db.js";
import { onStatus, queueNote, start } from "./sync.js";
import { pageWords } from "./words.js";

export const DRAFT_DEBOUNCE_MS = 300;

// A text box whose content survives anything: `draftKey` names it ("visit:<id>:note"), per user.
export function useDraft(draftKey) {
  const [text, setText] = useState("");
  const [restored, setRestored] = useState(false);
  const latest = useRef({ text: "", dirty: false, user: null });
  const timer = useRef(null);
  useEffect(() => {
    let live = true;
    setRestored(false);
    db.currentSession().then(async (session) => {
      if (!session || !live) return;
      latest.current.user = session.userId;
      const saved = await db.draftOf(session.userId, draftKey);
      if (live && saved && !latest.current.dirty) { setText(saved); latest.current.text = saved; }
    }).catch((error) => console.warn("IPMS: cannot read the draft", error))
      .finally(() => { if (live) setRestored(true); });
    const flush = () => save();
    const onHide = () => { if (document.visibilityState === "hidden") flush(); };
    document.addEventListener("visibilitychange", onHide);
    window.addEventListener("pagehide", flush);
    return () => {
      live = false;
      document.removeEventListener("visibilitychange", onHide);
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, [draftKey]);

  function save() {
    clearTimeout(timer.current);
    const { user, dirty, text: value } = latest.current;
    if (!user || !dirty) return Promise.resolve();
    latest.current.dirty = false;
    return db.saveDraft(user, draftKey, value).catch((error) => console.warn("IPMS: draft not saved", error));
  }

  function change(value) {
    setText(value);
    latest.current.text = value;
    latest.current.dirty = true;
    clearTimeout(timer.current);
    timer.current = setTimeout(save, DRAFT_DEBOUNCE_MS);
  }

  async function clear() {
    clearTimeout(timer.current);
    latest.current = { ...latest.current, text: "", dirty: false };
    setText("");
    if (latest.current.user) await db.dropDraft(latest.current.user, draftKey);
  }

  return { text, change, clear, restored };
}

export function NoteComposer({ parentKind, parentId, labels = {}, onQueued, formId }) {
  const draft = useDraft(`${parentKind}:${parentId}:note`);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  async function save(event) {
    event.preventDefault();
    const text = draft.text.trim();
    if (!text || busy) return;
    setBusy(true);
    setProblem(null);
    try {
      await queueNote({ kind: parentKind, id: String(parentId) }, text);
      await draft.clear();
      if (onQueued) onQueued();
    } catch (error) {
      // A full disk (QuotaExceededError) or no session: the text stays in the box, and the user is told.
      console.warn("IPMS: note not queued", error);
      setProblem(error?.name === "QuotaExceededError" ? labels.storage_full : labels.not_saved);
    } finally {
      setBusy(false);
    }
  }
  return h("form", { className: "stack fk-note-form", id: formId, onSubmit: save,
                     "data-restored": String(draft.restored) },
    h("textarea", { className: "input", id: "fk-note-body", value: draft.text, placeholder: labels.note_placeholder,
                    rows: 3, maxLength: 5000, "aria-label": labels.note_placeholder,
                    onInput: (event) => draft.change(event.target.value) }),
    problem ? h("p", { className: "message error", id: "fk-note-problem", role: "alert" }, problem) : null,
    h("button", { type: "submit", className: "button block", id: "fk-note-save", disabled: busy || !draft.text.trim() },
      labels.save_note));
}

function isFor(item, parentKind, parentId) {
  return item.type === "op" && item.op.kind === "note.create"
    && String(item.op.data[`${parentKind}_id`]) === String(parentId);
}

// The notes of one parent still in the outbox (shown as waiting until the server has them).
export function useQueuedNotes(parentKind, parentId, version = 0) {
  const [items, setItems] = useState([]);
  const [status, setStatus] = useState(null);
  useEffect(() => {
    start().catch(() => null);
    return onStatus(setStatus);
  }, []);
  useEffect(() => {
    let live = true;
    db.currentSession().then((session) => (session ? db.outboxOf(session.userId) : []))
      .then((all) => { if (live) setItems(all.filter((item) => isFor(item, parentKind, parentId))); })
      .catch(() => null);
    return () => { live = false; };
  }, [parentKind, parentId, version, status?.pending, status?.problems, status?.running]);
  return items;
}

export function QueuedNotes({ items, labels }) {
  if (!items.length) return null;
  return h("ul", { className: "list", id: "fk-queued-notes" }, ...items.map((item) => h("li", {
    key: item.id, className: "fk-note queued", "data-id": item.id, "data-state": item.state },
    h("p", null, item.op.data.body),
    h("span", { className: `chip ${item.state === "pending" ? "plain" : "danger"}` },
      item.state === "pending" ? labels.queued : labels.badge_word_failed))));
}

// The online visit screen's notes box: queued notes (waiting), then the composer. `onSynced` (Python) reloads the
// screen's notes after a round, so a note moves from "waiting" to the list without a manual reload.
export function VisitNotes({ parentKind = "visit", parentId, lang, onSynced }) {
  const labels = pageWords(lang);
  const [version, setVersion] = useState(0);
  const items = useQueuedNotes(parentKind, parentId, version);
  const callback = useRef(onSynced);
  callback.current = onSynced;
  useEffect(() => {
    const synced = () => { setVersion((n) => n + 1); if (callback.current) callback.current({ parent: parentId }); };
    window.addEventListener("ipms:synced", synced);
    return () => window.removeEventListener("ipms:synced", synced);
  }, [parentId]);
  return h("div", { className: "stack fk-visit-notes", "data-parent": `${parentKind}:${parentId}` },
    h(QueuedNotes, { items, labels }),
    h(NoteComposer, { parentKind, parentId, labels, formId: "note-form",  // the online screens' note form id
                      onQueued: () => setVersion((n) => n + 1) }));
}
