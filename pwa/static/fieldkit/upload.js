// Field kit: the photo upload over HTTP (multipart, with progress), used by the capture card and the outbox.
import { csrfToken } from "./ids.js";

export const UPLOAD_URL = "/api/photos";
export const UPLOAD_TIMEOUT_MS = 120000;

// `csrf`: the token kept with the session in IndexedDB when the outbox replays (the page's own token otherwise).
export function uploadPhoto(photo, onProgress, { csrf = csrfToken() } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("id", photo.id);
    form.append(`${photo.parent.kind}_id`, photo.parent.id);
    if (photo.takenAt) form.append("taken_at", photo.takenAt);
    form.append("location_allowed", photo.withLocation ? "true" : "false");
    if (photo.location) {
      form.append("latitude", String(photo.location.latitude));
      form.append("longitude", String(photo.location.longitude));
    }
    form.append("file", photo.blob, photo.blob.type === "image/jpeg" ? "photo.jpg" : photo.name);
    const request = new XMLHttpRequest();
    request.open("POST", UPLOAD_URL);
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.responseType = "json";
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status === 200 || request.status === 201) resolve(request.response);
      else reject(Object.assign(new Error(request.response?.message || `HTTP ${request.status}`),
                                { status: request.status, body: request.response }));
    };
    request.onerror = () => reject(Object.assign(new Error("network"), { status: 0 }));
    request.timeout = UPLOAD_TIMEOUT_MS; // a server that never answers: the outbox keeps the photo and retries
    request.ontimeout = () => reject(Object.assign(new Error("timeout"), { status: 0 }));
    request.send(form);
  });
}
