// Field kit, part one: photo capture and upload. A plain ES module, embedded in ReactPy screens with
// component_from_url and (later) mounted by the offline shell, so there is one capture UI, not two.
//
// Order for each photo: read capture time (and GPS, when the user allowed location) from the ORIGINAL file →
// compress in the browser (≤ 1600 px long edge, JPEG, which drops all EXIF) → upload over HTTP with a client UUID,
// the CSRF token and progress → tell the Python side (onUploaded) so the gallery re-renders.
// Offline (or when the upload cannot reach the server) the outbox (sync.js) sits between "compress" and "upload".
import { createElement as h, useEffect, useRef, useState } from "react";
import { csrfToken, newId } from "./ids.js";
import { uploadPhoto } from "./upload.js";
import { queuePhoto } from "./sync.js";

export const MAX_EDGE = 1600;
export const JPEG_QUALITY = 0.82;
const LOCATION_KEY = "ipms.capture.location";
const EXIF_SCAN_BYTES = 256 * 1024;

// ---- identity and tokens ----------------------------------------------------------------------------------------

// ---- EXIF: capture time and GPS from the original file ----------------------------------------------------------

function exifDate(text) {
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text || "");
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : null;
}

function readTiff(view, tiff) {
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (o) => view.getUint16(tiff + o, little);
  const u32 = (o) => view.getUint32(tiff + o, little);
  const ascii = (offset, count) => {
    let text = "";
    for (let i = 0; i < count; i++) {
      const c = view.getUint8(tiff + offset + i);
      if (c === 0) break;
      text += String.fromCharCode(c);
    }
    return text;
  };
  const entries = (ifd) => {
    const out = new Map();
    if (!ifd || tiff + ifd + 2 > view.byteLength) return out;
    const count = u16(ifd);
    for (let i = 0; i < count; i++) {
      const at = ifd + 2 + i * 12;
      if (tiff + at + 12 > view.byteLength) break;
      out.set(u16(at), { type: u16(at + 2), count: u32(at + 4), at: at + 8 });
    }
    return out;
  };
  const text = (entry) => {
    if (!entry) return null;
    const offset = entry.count > 4 ? u32(entry.at) : entry.at;
    return ascii(offset, entry.count);
  };
  const rationals = (entry) => {
    if (!entry || entry.type !== 5) return null;
    const offset = u32(entry.at);
    const values = [];
    for (let i = 0; i < entry.count; i++) {
      const denominator = u32(offset + i * 8 + 4);
      values.push(denominator ? u32(offset + i * 8) / denominator : 0);
    }
    return values;
  };
  const ifd0 = entries(u32(4));
  const exif = ifd0.has(0x8769) ? entries(u32(ifd0.get(0x8769).at)) : new Map();
  const gps = ifd0.has(0x8825) ? entries(u32(ifd0.get(0x8825).at)) : new Map();
  const local = exifDate(text(exif.get(0x9003))) || exifDate(text(ifd0.get(0x0132)));
  const offset = text(exif.get(0x9011));
  const result = { takenAt: local && offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? local + offset : local };
  const lat = rationals(gps.get(2));
  const lon = rationals(gps.get(4));
  if (lat && lon && lat.length === 3 && lon.length === 3) {
    const deg = (v) => v[0] + v[1] / 60 + v[2] / 3600;
    result.latitude = deg(lat) * ((text(gps.get(1)) || "N").startsWith("S") ? -1 : 1);
    result.longitude = deg(lon) * ((text(gps.get(3)) || "E").startsWith("W") ? -1 : 1);
  }
  return result;
}

export async function readExif(file) {
  try {
    const view = new DataView(await file.slice(0, EXIF_SCAN_BYTES).arrayBuffer());
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return {};
    let offset = 2;
    while (offset + 4 <= view.byteLength) {
      const marker = view.getUint16(offset);
      const length = view.getUint16(offset + 2);
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) return readTiff(view, offset + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break;
      offset += 2 + length;
    }
  } catch (error) {
    console.warn("IPMS capture: could not read EXIF", error);
  }
  return {};
}

// ---- location consent -------------------------------------------------------------------------------------------

export function locationAllowed() {
  return localStorage.getItem(LOCATION_KEY) === "yes";
}

export function setLocationAllowed(allowed) {
  localStorage.setItem(LOCATION_KEY, allowed ? "yes" : "no");
}

function currentPosition(timeoutMs = 8000) {
  return new Promise((resolve) => {
    if (!("geolocation" in navigator)) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({ latitude: position.coords.latitude, longitude: position.coords.longitude }),
      () => resolve(null),
      { enableHighAccuracy: false, timeout: timeoutMs, maximumAge: 120000 },
    );
  });
}

// ---- compression --------------------------------------------------------------------------------------------------

export async function compress(file, maxEdge = MAX_EDGE, quality = JPEG_QUALITY) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    const scale = Math.min(1, maxEdge / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // transparent PNGs become white, not black, in JPEG
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0, width, height);
    const blob = canvas.convertToBlob ? await canvas.convertToBlob({ type: "image/jpeg", quality })
      : await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    return { blob, width, height };
  } finally {
    bitmap.close();
  }
}

// ---- preparing and uploading one photo ----------------------------------------------------------------------------

export async function preparePhoto(file, parent, { withLocation = locationAllowed() } = {}) {
  const exif = await readExif(file);
  let location = null;
  if (withLocation) {
    location = exif.latitude !== undefined ? { latitude: exif.latitude, longitude: exif.longitude } : await currentPosition();
  }
  let blob = file;
  try {
    blob = (await compress(file)).blob;
  } catch (error) {
    console.warn("IPMS capture: browser could not decode the photo; uploading the original", error);
  }
  const takenAt = exif.takenAt || (file.lastModified ? new Date(file.lastModified).toISOString() : null);
  return { id: newId(), parent, blob, takenAt, location, withLocation, name: file.name || "photo.jpg" };
}


// ---- the component ---------------------------------------------------------------------------------------------------

// Props: parentKind ("visit" | "project" | "note"), parentId, labels {take, choose, location, uploading, failed,
// retry, done, queued}, onUploaded({photoId, bytes, created}), onQueued({photoId, bytes}), offline (the offline
// shell: always queue). With no network (or when the upload cannot reach the server) the photo goes into the
// field kit's outbox (sync.js) and uploads when the network returns.
export function Capture({ parentKind, parentId, labels = {}, onUploaded, onQueued, offline = false }) {
  const [items, setItems] = useState([]);
  const [withLocation, setWithLocation] = useState(locationAllowed());
  const camera = useRef(null);
  const library = useRef(null);
  const callback = useRef(onUploaded);
  callback.current = onUploaded;
  const queued = useRef(onQueued);
  queued.current = onQueued;
  const update = (key, change) => setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));

  async function queue(key, photo) {
    await queuePhoto(photo);
    update(key, { state: "queued", progress: 0, photo: null });
    if (queued.current) queued.current({ photoId: photo.id, bytes: photo.blob.size });
  }

  async function send(key, photo) {
    if (offline || !navigator.onLine) return queue(key, photo);
    update(key, { state: "uploading", progress: 0, photo });
    try {
      const body = await uploadPhoto(photo, (progress) => update(key, { progress }));
      update(key, { state: "done", progress: 1 });
      if (callback.current) callback.current({ photoId: body?.id || photo.id, bytes: photo.blob.size, created: true });
    } catch (error) {
      if (!error.status) return queue(key, photo); // the network went away: the outbox takes it
      update(key, { state: "failed", error: error.message });
    }
  }

  async function onFiles(event) {
    const files = Array.from(event.target.files || []);
    event.target.value = "";
    for (const file of files) {
      const key = newId();
      setItems((list) => [...list, { key, name: file.name, state: "preparing", progress: 0 }]);
      const photo = await preparePhoto(file, { kind: parentKind, id: parentId }, { withLocation });
      await send(key, photo);
    }
  }

  function toggleLocation(event) {
    const allowed = event.target.checked;
    setLocationAllowed(allowed);
    setWithLocation(allowed);
  }

  useEffect(() => () => { callback.current = null; }, []);

  const visible = items.filter((item) => item.state !== "done");
  return h("div", { className: "capture", "data-parent": `${parentKind}:${parentId}` },
    h("div", { className: "actions" },
      h("button", { type: "button", className: "button", "data-capture": "camera", onClick: () => camera.current?.click() },
        labels.take || "Camera"),
      h("button", { type: "button", className: "button secondary", "data-capture": "library",
                    onClick: () => library.current?.click() }, labels.choose || "Library")),
    h("input", { ref: camera, type: "file", accept: "image/*", capture: "environment", onChange: onFiles,
                 "aria-label": labels.take, tabIndex: -1 }),
    h("input", { ref: library, type: "file", accept: "image/*", multiple: true, onChange: onFiles,
                 "aria-label": labels.choose, tabIndex: -1, "data-capture-input": "library" }),
    h("label", { className: "row small muted" },
      h("input", { type: "checkbox", checked: withLocation, onChange: toggleLocation }), labels.location || "GPS"),
    ...visible.map((item) => h("div", { key: item.key, className: "upload", "data-upload-state": item.state },
      h("span", null, item.state === "failed" ? (labels.failed || "!")
        : item.state === "queued" ? (labels.queued || "⏳") : (labels.uploading || "…")),
      item.state === "queued" ? null : h("progress", { max: 1, value: item.progress || 0 }),
      item.state === "failed" && item.photo
        ? h("button", { type: "button", className: "button secondary", onClick: () => send(item.key, item.photo) },
            labels.retry || "↻")
        : null)),
  );
}
