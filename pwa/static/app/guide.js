// The first-run guide's card: one step at a time, outlining the real control it talks about (found by selector
// and scrolled into view); Back, Next / Done and Close report to Python, which remembers the step per user.
import { createElement as h, useEffect } from "react";

export function Guide({ steps = [], step = 0, labels = {}, onStep, onClose }) {
  const current = steps[Math.min(step, steps.length - 1)] || {};
  useEffect(() => {
    // The screen's data may still be loading: look again a few times until the control is there.
    let target = null;
    let tries = 0;
    const find = () => {
      target = current.selector ? document.querySelector(current.selector) : null;
      if (target) {
        target.classList.add("guide-target");
        target.scrollIntoView({ block: "center", behavior: "smooth" });
      } else if (current.selector && tries++ < 30) {
        timer = setTimeout(find, 300);
      }
    };
    let timer = setTimeout(find, 0);
    return () => {
      clearTimeout(timer);
      if (target) target.classList.remove("guide-target");
    };
  }, [current.selector, step]);
  const last = step >= steps.length - 1;
  return h("section", { className: "card guide", id: "guide", role: "dialog", "aria-modal": "false",
                        "aria-labelledby": "guide-title", "data-step": String(step) },
    h("p", { className: "small muted" }, `${labels.step || ""} ${step + 1} / ${steps.length}`),
    h("h2", { className: "section-title", id: "guide-title" }, current.title || ""),
    h("p", { id: "guide-body" }, current.body || ""),
    h("div", { className: "actions" },
      step > 0 ? h("button", { type: "button", className: "button secondary", id: "guide-back",
                               onClick: () => onStep && onStep({ index: step - 1 }) }, labels.back) : null,
      h("button", { type: "button", className: "button", id: "guide-next",
                    onClick: () => (last ? onClose && onClose({ finished: true })
                                         : onStep && onStep({ index: step + 1 })) }, last ? labels.done : labels.next),
      h("button", { type: "button", className: "button secondary", id: "guide-close",
                    onClick: () => onClose && onClose({ finished: false }) }, labels.close)));
}
