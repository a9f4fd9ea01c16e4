// An in-pane confirmation for the controls that change what Rollcall sends (Outlook blocks
// window.confirm in add-ins): what will happen in words, an optional reason for the audit,
// Confirm and Cancel. Escape cancels. The focus goes into it (the reason field) and back to the
// control that opened it. One at a time: opening another cancels the first.

import { el } from "./dom.js";

let current = null;
let made = 0;

// Resolves {reason} (undefined when none was given) on Confirm, null on Cancel or Escape.
// With `input` ({label, type, check(value) -> what is wrong, or null}) the field asks for that
// value instead of a reason, resolves {value}, and a value `check` refuses is said in the panel.
export function ask({ host, opener, title, text, confirmLabel = "Confirm", reason = true,
  input = null }) {
  current?.dismiss();
  const id = `confirm-${++made}`;
  return new Promise((resolve) => {
    const asks = Boolean(input || reason);
    const field = asks ? el("input", { id: `${id}-${input ? "value" : "reason"}`,
      type: input?.type || "text", maxlength: input ? "320" : "500", autocomplete: "off",
      spellcheck: input ? "false" : null, "aria-describedby": `${id}-text` }) : null;
    const wrong = input ? el("p", { id: `${id}-error`, class: "confirm-error", role: "alert",
      hidden: true }) : null;
    const yes = el("button", { type: "submit", class: "primary", text: confirmLabel,
      "data-confirm": "yes", "aria-describedby": asks ? null : `${id}-text` });
    const no = el("button", { type: "button", class: "secondary", text: "Cancel",
      "data-confirm": "no" });
    const panel = el("form", { class: "confirm", role: "group", "aria-labelledby": `${id}-title`,
      novalidate: true },
    el("p", { id: `${id}-title`, class: "confirm-title", text: title }),
    el("p", { id: `${id}-text`, class: "confirm-text", text }),
    asks ? el("label", { for: field.id,
      text: input?.label || "Reason (optional, kept in the audit log)" }) : null,
    wrong,
    field,
    el("div", { class: "row" }, yes, no));

    const close = (answer, restore = true) => {
      if (current?.panel !== panel) return;
      current = null;
      const hadFocus = panel.contains(document.activeElement);
      panel.remove();
      if (restore && hadFocus && opener?.isConnected) opener.focus();
      resolve(answer);
    };
    panel.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!input) {
        close({ reason: field?.value.trim() || undefined });
        return;
      }
      const value = field.value.trim();
      const problem = input.check?.(value) || null;
      wrong.textContent = problem || "";
      wrong.hidden = !problem;
      if (problem) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", `${id}-error ${id}-text`);
        field.focus();
        return;
      }
      close({ value });
    });
    no.addEventListener("click", () => close(null));
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      close(null);
    });
    current = { panel, dismiss: () => close(null, false) };
    host.replaceChildren(panel);
    (field || yes).focus();
  });
}

// Closes an open confirmation (the card closed, its send finished): as Cancel, focus untouched.
export function dismissConfirmation(within = document) {
  if (current && within.contains(current.panel)) current.dismiss();
}

// A control busy with its request: still focusable (a disabled button would drop the focus a
// confirmation just gave back to it), said to be unavailable, its label saying what happens.
export function busy(button, label) {
  if (label) {
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = label;
    button.setAttribute("aria-disabled", "true");
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    delete button.dataset.label;
    button.removeAttribute("aria-disabled");
  }
}

export const isBusy = (button) => button.getAttribute("aria-disabled") === "true";
