import { h } from "../dom.js";

/** The shopping assistant's panel: the assistant service is not served yet, and the panel says so. */
export function assistantPanel(): { toggle: HTMLButtonElement; panel: HTMLElement } {
  const panel = h(
    "aside",
    { id: "assistant", class: "assistant", "aria-labelledby": "assistant-title", hidden: true },
    h("h2", { id: "assistant-title" }, "Shopping assistant"),
    h(
      "p",
      { class: "notice unavailable", role: "note" },
      "The assistant is not available yet: its service is not part of this deployment. " +
        "Search and the filters on the shop page find products in the meantime.",
    ),
  );
  const toggle = h("button", { type: "button", class: "assistant-toggle", "aria-expanded": "false", "aria-controls": "assistant" }, "Assistant");
  const close = h("button", { type: "button" }, "Close");
  panel.append(close);
  const set = (open: boolean): void => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    (open ? close : toggle).focus();
  };
  toggle.addEventListener("click", () => set(panel.hidden));
  close.addEventListener("click", () => set(false));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") set(false);
  });
  return { toggle, panel };
}
