// Findings grouped by severity, most serious first, each with the path of lists that leads to it.

import { el, plural } from "./dom.js";

const GROUPS = [
  ["error", "Problems", "Some entries or lists are not counted until these are fixed."],
  ["warning", "Warnings", "Counted, but worth a look before sending."],
  ["info", "Good to know", ""],
];
const MAX_ADDRESSES = 100;
const SEND = {
  block: "On Send: Outlook will stop this message.",
  warn: "On Send: Outlook will ask before sending.",
  allow: "On Send: no question asked.",
};

export function renderFindings(container, findings) {
  container.replaceChildren();
  for (const [severity, title, hint] of GROUPS) {
    const found = findings.filter((f) => f.severity === severity);
    if (!found.length) continue;
    container.append(el("section", { class: `findings-group sev-${severity}` },
      el("h3", {},
        el("span", { class: "sev-icon", "aria-hidden": "true" }),
        el("span", { text: `${title} (${found.length})` })),
      hint ? el("p", { class: "hint", text: hint }) : null,
      el("ul", { class: "finding-list" }, found.map(findingItem))));
  }
}

function findingItem(f) {
  const path = f.path || [];
  const addresses = f.addresses || [];
  return el("li", { class: "finding", "data-code": f.code, "data-action": f.action || "allow" },
    el("p", { class: "finding-message", text: f.message }),
    // What Send does about it, by the same policy the send check applies: no surprise at Send.
    el("p", { class: `send-action send-${f.action || "allow"}`, text: SEND[f.action || "allow"] }),
    path.length ? el("p", { class: "path", "aria-label": "Path" },
      path.flatMap((step, i) => [
        i ? el("span", { class: "sep", "aria-hidden": "true", text: "›" }) : null,
        el("bdi", { class: "step", text: step }),
      ])) : null,
    addresses.length ? el("details", { class: "addresses" },
      el("summary", { text: plural(addresses.length, "address", "addresses") }),
      el("ul", {}, addresses.slice(0, MAX_ADDRESSES).map((a) => el("li", {},
        el("bdi", { text: a })))),
      addresses.length > MAX_ADDRESSES
        ? el("p", { class: "hint", text: `and ${addresses.length - MAX_ADDRESSES} more` })
        : null) : null);
}

export function throttled(findings) {
  return findings.some((f) => f.code === "expansion_failed" && f.throttled);
}
