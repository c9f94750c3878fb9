// Registers the service worker — on the sign-in page too, so that it has installed (and precached the user-neutral
// app shell) by the time the first signed-in page opens — and offers an update when a new version waits.
// Imported by the sign-in page and by shell.js; registering twice is harmless.

function words() {
  try {
    const all = JSON.parse(document.getElementById("fieldkit-text")?.textContent || "{}");
    const lang = document.documentElement.lang?.startsWith("zh") ? "zh" : "en";
    return all[lang] || all.zh || {};
  } catch (error) {
    return {};
  }
}

function offerUpdate(worker) {
  const text = words();
  if (!worker || !text.update_available || document.getElementById("update-prompt")) return; // not on sign-in
  const prompt = document.createElement("div");
  prompt.id = "update-prompt";
  prompt.className = "update-prompt";
  prompt.setAttribute("role", "status");
  const label = document.createElement("span");
  label.textContent = text.update_available;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.id = "update-now";
  button.textContent = text.update_now || "Update";
  button.addEventListener("click", () => worker.postMessage({ type: "SKIP_WAITING" }));
  prompt.append(label, button);
  document.body.appendChild(prompt);
}

let registered = null;

export function registerServiceWorker() {
  if (registered || !("serviceWorker" in navigator)) return registered;
  let reloading = false;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!hadController || reloading) return; // the first install takes over silently; an update reloads
    reloading = true;
    window.location.reload();
  });
  registered = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
    registration.addEventListener("updatefound", () => {
      const worker = registration.installing;
      worker?.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
      });
    });
    return registration;
  }).catch((error) => { console.warn("IPMS: no service worker", error); return null; });
  return registered;
}

registerServiceWorker();
