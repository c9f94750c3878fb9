// Field kit: its words, from the page's embedded field-kit text (both languages are in every page, the cached
// shell included). A leaf module: it imports nothing.

export function pageWords(lang, doc = globalThis.document) {
  try {
    const all = JSON.parse(doc?.getElementById("fieldkit-text")?.textContent || "{}");
    const chosen = lang || (doc?.documentElement.lang?.startsWith("zh") ? "zh" : "en");
    return all[chosen === "en" ? "en" : "zh"] || {};
  } catch (error) {
    return {};
  }
}

export function fill(text, values) {
  return String(text || "").replace(/\{(\w+)\}/g, (_, key) => (values[key] ?? ""));
}
