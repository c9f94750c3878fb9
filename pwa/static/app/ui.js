// Keeps the screen in the URL: Python renders <Router path=…>; links marked data-nav and the back button report
// the new path through onNavigate. A reconnect mounts from window.location, so it rebuilds the same screen.
import { createElement, useEffect, useRef } from "react";

function here() {
  return window.location.pathname + window.location.search;
}

// An alert's URL names the item inside its screen ("#milestone-…"). The screen renders after its data arrives,
// so the browser's own jump to the fragment finds nothing: wait (a bounded while) for the element, then bring it
// into view and mark it, on a page load (a push opened from the lock screen) as after an in-app navigation.
const ANCHOR_WAIT_MS = 10000;

function revealAnchor(hash) {
  const id = decodeURIComponent((hash || "").replace(/^#/, ""));
  if (!id) return;
  const started = Date.now();
  const attempt = () => {
    const target = document.getElementById(id);
    if (target) {
      target.scrollIntoView({ block: "center" });
      document.querySelectorAll("[data-targeted]").forEach((el) => el.removeAttribute("data-targeted"));
      target.setAttribute("data-targeted", "true");
      return;
    }
    if (Date.now() - started < ANCHOR_WAIT_MS) window.setTimeout(attempt, 100);
  };
  attempt();
}

function hashOf(path) {
  const at = (path || "").indexOf("#");
  return at >= 0 ? path.slice(at) : "";
}

export function Router({ path, replace, lang, title, reload, onNavigate }) {
  const callback = useRef(onNavigate);
  callback.current = onNavigate;

  // The URL is the truth when the Router mounts (the user may have pressed back while the page was still loading);
  // afterwards, a new `path` from Python is a navigation to record in the history.
  const seen = useRef(null);
  useEffect(() => {
    if (reload) {
      window.location.assign(reload);
      return;
    }
    if (seen.current === null) {
      seen.current = path;
      if (path && path !== here() && callback.current) callback.current({ path: here() });
      revealAnchor(window.location.hash);
      return;
    }
    if (path === seen.current) return;
    seen.current = path;
    if (!path || path === here() + window.location.hash) return;
    if (replace) window.history.replaceState(null, "", path);
    else window.history.pushState(null, "", path);
    if (hashOf(path)) revealAnchor(hashOf(path));
    else window.scrollTo(0, 0);
  }, [path, replace, reload]);

  useEffect(() => {
    if (lang) document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    if (title) document.title = title;
  }, [lang, title]);

  useEffect(() => {
    const onPopState = () => callback.current && callback.current({ path: here() });
    const onClick = (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const link = event.target instanceof Element ? event.target.closest("a[data-nav]") : null;
      if (!link || link.target) return;
      const url = new URL(link.href, window.location.href);
      if (url.origin !== window.location.origin) return;
      event.preventDefault();
      const next = url.pathname + url.search + url.hash;
      if (next !== here() + window.location.hash) window.history.pushState(null, "", next);
      if (url.hash) revealAnchor(url.hash);
      else window.scrollTo(0, 0);
      if (callback.current) callback.current({ path: next });
    };
    window.addEventListener("popstate", onPopState);
    document.addEventListener("click", onClick);
    return () => {
      window.removeEventListener("popstate", onPopState);
      document.removeEventListener("click", onClick);
    };
  }, []);

  return null;
}

// Buttons and forms that report only what Python needs. ReactPy serialises the whole DOM event (8 KB for a click,
// 38 KB for a form submit with its controls); over a phone's uplink that is a noticeable delay per tap.
export function Button({ onPress, children, type, ...rest }) {
  return createElement("button", { type: type || "button", ...rest, onClick: () => onPress && onPress() }, children);
}

export function Form({ onValues, children, ...rest }) {
  const submit = (event) => {
    event.preventDefault();
    const values = {};
    for (const [name, value] of new FormData(event.currentTarget)) {
      if (typeof value === "string") values[name] = value;
    }
    if (onValues) onValues({ values });
  };
  return createElement("form", { ...rest, onSubmit: submit }, children);
}
