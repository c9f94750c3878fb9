// The page shell: mounts the ReactPy root, shows the offline/reconnecting banner, re-mounts when the network returns.
//
// ReactPy never retries a websocket whose first connection failed, and every reconnect rebuilds the layout from the
// URL anyway. So the shell owns reconnection: when the socket closes it retires that client (its own retries get an
// inert socket) and mounts a fresh one with backoff, at once on `online` or when the app returns to the foreground.
// The old screen stays visible, dimmed, until the new mount has painted.
import { mountReactPy } from "./reactpy/index.js";

const COMPONENT_PATH = "pwa.app.root/";
const NativeWebSocket = window.WebSocket;
const retiredUrls = new WeakSet();
const app = document.getElementById("app");
const banner = document.getElementById("connection-banner");
let current = null; // { element, url, opened }
let retryDelay = 1000;
let retryTimer = null;

function setStatus(status) {
  document.body.dataset.connection = status;
  if (banner) banner.textContent = banner.dataset[status] || "";
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
  whenPainted(mount.element, unmountFieldKit);
}

function onClose(mount) {
  if (mount.url) retiredUrls.add(mount.url);
  if (mount !== current) return;
  if (!mount.opened) mountFieldKit(); // the websocket cannot connect: the field kit works from IndexedDB meanwhile
  setStatus(navigator.onLine ? "reconnecting" : "offline");
  scheduleRemount(retryDelay);
  retryDelay = Math.min(retryDelay * 2, 15000);
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
  current = { element, url: null, opened: false };
  mountReactPy({ mountElement: element, pathPrefix: "/reactpy/", componentPath: COMPONENT_PATH,
                 reconnectInterval: 750, reconnectMaxInterval: 15000, reconnectMaxRetries: 1 });
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

function mountFieldKit() {
  if (fieldKit || !document.querySelector('meta[name="ipms-user"]')) return;
  const element = document.createElement("div");
  element.className = "fieldkit-mount";
  app.prepend(element);
  app.querySelector(".boot")?.remove();
  fieldKit = element;
  Promise.all([import("react"), import("./fieldkit/offline.js")]).then(([react, offline]) => {
    if (fieldKit !== element) return;
    const words = offline.pageLabels();
    react.render(react.createElement(offline.OfflineApp, { labels: words, captureLabels: words.capture || {},
                                                           lang: document.documentElement.lang.startsWith("zh") ? "zh" : "en" }), element);
  }).catch((error) => console.warn("IPMS: cannot mount the offline field kit", error));
}

function unmountFieldKit() {
  const element = fieldKit;
  fieldKit = null;
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

// The field kit's sync engine: outbox and pull on start, `online`, foreground, a timer and Background Sync.
import("./fieldkit/sync.js").then((sync) => sync.start()).catch((error) => console.warn("IPMS: sync not started", error));

// ---- service worker and the "update available" prompt ----------------------------------------------------------

function offerUpdate(worker) {
  if (!worker || document.getElementById("update-prompt")) return;
  let words = {};
  try { words = JSON.parse(document.getElementById("fieldkit-text")?.textContent || "{}"); } catch (error) { /* none */ }
  const prompt = document.createElement("div");
  prompt.id = "update-prompt";
  prompt.className = "update-prompt";
  prompt.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = words.update_available || "Update available";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.id = "update-now";
  button.textContent = words.update_now || "Update";
  button.addEventListener("click", () => worker.postMessage({ type: "SKIP_WAITING" }));
  prompt.append(text, button);
  document.body.appendChild(prompt);
}

if ("serviceWorker" in navigator) {
  let reloading = false;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!hadController || reloading) return;
    reloading = true;
    window.location.reload();
  });
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((registration) => {
      if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const worker = registration.installing;
        worker?.addEventListener("statechange", () => {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
        });
      });
    }).catch((error) => console.warn("IPMS: no service worker", error));
  });
}
