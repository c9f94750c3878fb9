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
}

function onClose(mount) {
  if (mount.url) retiredUrls.add(mount.url);
  if (mount !== current) return;
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

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => console.warn("IPMS: no service worker", error));
  });
}
