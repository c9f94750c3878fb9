// The page shell: mounts the ReactPy root, shows the offline/reconnecting banner, re-mounts when the network returns.
//
// ReactPy never retries a websocket whose first connection failed, and every reconnect rebuilds the layout from the
// URL anyway. So the shell owns reconnection: when the socket closes it retires that client (its own retries get an
// inert socket) and mounts a fresh one with backoff, at once on `online` or when the app returns to the foreground.
// While no socket is open the offline field kit replaces the screen; the new mount shows once it has painted. The remount delay never exceeds 5 s, and
// each socket that opens tells the sync engine the server is reachable again ("ipms:reachable").
//
// The page may be the user-neutral shell the service worker precached (no user, no CSRF token in it): the field kit
// then takes the user, the token and the language from the session kept in IndexedDB.
import { mountReactPy } from "./reactpy/index.js";
import "./register.js";

export const REMOUNT_MAX_MS = 5000;
export const CONNECT_WAIT_MS = 2500;

const COMPONENT_PATH = "pwa.app.root/";
const NativeWebSocket = window.WebSocket;
const retiredUrls = new WeakSet();
const app = document.getElementById("app");
const banner = document.getElementById("connection-banner");
let shellWords = {}; // shell.* in the session's language, for the neutral shell (whose banner words are the install's)
let current = null; // { element, url, opened }
let retryDelay = 1000;
let retryTimer = null;

function setStatus(status) {
  document.body.dataset.connection = status;
  if (banner) banner.textContent = shellWords[status] || banner.dataset[status] || "";
}

function inertSocket() {
  return { readyState: 3, send() {}, close() {}, addEventListener() {}, removeEventListener() {} };
}

function TrackedWebSocket(url, protocols) {
  if (url && typeof url === "object" && retiredUrls.has(url)) return inertSocket();
  const socket = new NativeWebSocket(url, protocols);
  if (current && String(url).includes("/reactpy/") && (current.url === null || current.url === url)) {
    const mount = current;
    mount.url = url;
    socket.addEventListener("open", () => onOpen(mount));
    socket.addEventListener("close", () => onClose(mount));
  }
  return socket;
}
TrackedWebSocket.prototype = NativeWebSocket.prototype;
for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) TrackedWebSocket[name] = NativeWebSocket[name];
window.WebSocket = TrackedWebSocket;

function onOpen(mount) {
  if (mount !== current) return;
  mount.opened = true;
  retryDelay = 1000;
  setStatus("online");
  window.dispatchEvent(new CustomEvent("ipms:reachable", { detail: { via: "websocket" } }));
  whenPainted(mount.element, unmountFieldKit);
}

function onClose(mount) {
  if (mount.url) retiredUrls.add(mount.url);
  if (mount !== current) return;
  // The websocket cannot connect, or dropped mid-session: the field kit replaces the online screen (at the same
  // visit, from the URL) and works from IndexedDB until a new mount has painted.
  mountFieldKit();
  setStatus(navigator.onLine ? "reconnecting" : "offline");
  scheduleRemount(retryDelay);
  retryDelay = Math.min(retryDelay * 2, REMOUNT_MAX_MS);
}

function scheduleRemount(delay) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(mount, delay);
}

function retire(element) {
  import("react").then(({ unmountComponentAtNode }) => {
    try { unmountComponentAtNode(element); } catch (error) { /* already gone */ }
    element.remove();
  });
}

function mount() {
  clearTimeout(retryTimer);
  if (current && current.url) retiredUrls.add(current.url);
  const element = document.createElement("div");
  element.className = "reactpy-mount";
  const previous = Array.from(app.querySelectorAll(".reactpy-mount"));
  if (previous.length) {
    element.hidden = true;
    const observer = new MutationObserver(() => {
      if (!element.querySelector(".app, .state, .signed-out")) return;
      observer.disconnect();
      element.hidden = false;
      previous.forEach(retire);
    });
    observer.observe(element, { childList: true, subtree: true });
  }
  app.appendChild(element);
  app.querySelector(".boot")?.remove();
  const mounting = { element, url: null, opened: false };
  current = mounting;
  // A server that accepts and never answers (captive Wi-Fi, a hung proxy) neither opens nor closes the socket:
  // after CONNECT_WAIT_MS the field kit takes over all the same.
  setTimeout(() => { if (current === mounting && !mounting.opened) mountFieldKit(); }, CONNECT_WAIT_MS);
  mountReactPy({ mountElement: element, pathPrefix: "/reactpy/", componentPath: COMPONENT_PATH,
                 reconnectInterval: 750, reconnectMaxInterval: REMOUNT_MAX_MS, reconnectMaxRetries: 1 });
}

// ---- the offline field kit (pwa/static/fieldkit/offline.js), mounted by the shell itself ----------------------------

let fieldKit = null;

function whenPainted(element, callback) {
  if (element.querySelector(".app, .signed-out")) return callback();
  const observer = new MutationObserver(() => {
    if (!element.querySelector(".app, .signed-out")) return;
    observer.disconnect();
    callback();
  });
  observer.observe(element, { childList: true, subtree: true });
}

async function mountFieldKit() {
  if (fieldKit) return;
  const element = document.createElement("div");
  element.className = "fieldkit-mount";
  fieldKit = element;
  try {
    const [react, offline, db] = await Promise.all([import("react"), import("./fieldkit/offline.js"),
                                                    import("./fieldkit/db.js")]);
    const session = db.pageSession() || await db.currentSession();
    if (fieldKit !== element) return;
    if (!session) { fieldKit = null; return; } // nobody signed in on this phone yet: the sign-in link stays
    app.prepend(element);
    app.querySelector(".boot")?.remove();
    document.body.dataset.fieldkit = "on"; // one screen at a time: the online one is hidden (app.css)
    const lang = session.lang === "en" ? "en" : "zh";
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const words = offline.pageLabels(document, lang);
    react.render(react.createElement(offline.OfflineApp, { labels: words, captureLabels: words.capture || {}, lang }),
                 element);
  } catch (error) {
    if (fieldKit === element) fieldKit = null;
    console.warn("IPMS: cannot mount the offline field kit", error);
  }
}

function unmountFieldKit() {
  const element = fieldKit;
  fieldKit = null;
  delete document.body.dataset.fieldkit;
  if (element) retire(element);
}

function reconnectNow() {
  const status = document.body.dataset.connection;
  if (status === "offline" || status === "reconnecting") mount();
}

window.addEventListener("online", reconnectNow);
window.addEventListener("offline", () => {
  if (document.body.dataset.connection !== "online") setStatus("offline");
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reconnectNow();
});

setStatus(navigator.onLine ? "connecting" : "offline");
mount();
// The neutral shell is what the service worker answers when the network failed: show the field kit at once, and
// give way to the online screen as soon as it has painted.
if (!document.querySelector('meta[name="ipms-user"]')) mountFieldKit();

// The neutral shell speaks the language of the session kept in IndexedDB.
if (!document.querySelector('meta[name="ipms-user"]')) {
  Promise.all([import("./fieldkit/db.js"), import("./fieldkit/offline.js")]).then(async ([db, offline]) => {
    const session = await db.currentSession();
    if (!session) return;
    document.documentElement.lang = session.lang === "en" ? "en" : "zh-CN";
    shellWords = offline.pageLabels(document, session.lang).shell || {};
    setStatus(document.body.dataset.connection);
  }).catch(() => null);
}

// The field kit's sync engine: outbox and pull on start, `online`, foreground, a timer and Background Sync.
import("./fieldkit/sync.js").then((sync) => sync.start()).catch((error) => console.warn("IPMS: sync not started", error));
