// Field kit: identities, in one leaf module every other one imports (it imports nothing).

export function newId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // insecure contexts (plain http on a LAN)
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The CSRF token: the page's own (a page served by the network), else the one kept with the session in IndexedDB
// (the neutral shell the service worker answers with carries none); db.js sets the latter.
let sessionToken = "";

export function setSessionCsrf(token) {
  sessionToken = token || "";
}

export function csrfToken() {
  return globalThis.document?.querySelector('meta[name="csrf-token"]')?.content || sessionToken;
}

// "Android Chrome", "iPhone Safari": the label a device record shows in Settings. One definition, so the label
// never flips between the sync engine and the push card.
export function deviceLabel(ua = globalThis.navigator?.userAgent || "") {
  const os = /iPhone|iPad|iPod/.test(ua) ? "iPhone" : /Android/.test(ua) ? "Android" : /Mac/.test(ua) ? "Mac"
    : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "Device";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome"
    : /Safari\//.test(ua) ? "Safari" : "Browser";
  return `${os} ${browser}`;
}

// The device's time with its UTC offset ("2026-12-02T10:05:00+08:00"): what a queued operation carries as
// `written_at`, and a push batch as `device_now` (the server corrects the one by the other).
export function deviceTime(date = new Date()) {
  const pad = (n, width = 2) => String(Math.trunc(Math.abs(n))).padStart(width, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:`
    + `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
    + `${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}
