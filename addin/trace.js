// Server information's "Trace a message" (GET /api/admin/trace): every copy a Message-ID, the
// relay's queue id or an address names, with its history (time, what happened, which relay, its
// reply and what that means), where to look next (the command to run there, with a Copy
// button) and the support report, copied as "Field: value" lines.

import { traceMessage } from "./api.js";
import { copyText } from "./clipboard.js";
import { busy, isBusy } from "./confirm.js";
import { $, el, show } from "./dom.js";
import { clock, count, trouble } from "./words.js";

const KINDS = { queued: "Queued", attempt: "Tried", sent: "Accepted by the relay",
  deferred: "Deferred", failed: "Failed", bounced: "Bounced", suppressed: "Not sent",
  cancelled: "Cancelled", opened: "Opened", clicked: "Clicked",
  unsubscribed: "Unsubscribed" };
const STATES = { queued: "queued", sending: "being sent now", deferred: "deferred (tried again "
  + "later)", sent: "sent", failed: "failed", bounced: "bounced", suppressed: "not sent "
  + "(suppressed)", cancelled: "cancelled" };
const TRIED = { message_id: "a Message-ID", queue_id: "a relay queue id", address: "an address" };

let wired = false;

export function wireTrace() {
  if (wired) return;
  wired = true;
  const form = $("trace-form");
  const input = $("trace-query");
  const go = $("trace-go");
  const status = $("trace-status");
  const results = $("trace-results");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(go)) return;
    const query = input.value.trim();
    if (!query) {
      status.textContent = "Type a Message-ID, a relay queue id or an address first.";
      input.focus();
      return;
    }
    busy(go, "Tracing\u2026");
    status.textContent = "Looking\u2026";
    let answer;
    try {
      answer = await traceMessage(query);
    } catch (e) {
      status.textContent = trouble(e);
      results.replaceChildren();
      return;
    } finally {
      busy(go, null);
    }
    const traces = answer.traces;
    const tried = (answer.tried || []).map((k) => TRIED[k]).filter(Boolean);
    status.textContent = traces.length
      ? `${count(traces.length, "copy", "copies")} found for \u201c${answer.query}\u201d.`
      : `Nothing matches \u201c${answer.query}\u201d`
        + (tried.length ? ` (looked for it as ${tried.join(" and as ")}).` : ".");
    results.replaceChildren(...traces.map(copyOf));
  });
}

function copyOf(t) {
  const facts = [
    ["Send", `\u201c${t.subject}\u201d from ${t.sender}` + (t.test ? " (a test)" : "")],
    ["Message-ID", t.message_id],
    ["Relay queue id", t.remote_id],
    ["Relay", t.relay ? `${t.relay}${t.relay_label ? ` ${t.relay_label}` : ""}` : null],
    ["Attempts", count(t.attempts || 0, "attempt")],
    ["Queued", clock(t.queued_at, { seconds: true })],
    ["Sent", clock(t.sent_at, { seconds: true })],
    ["Last reply", t.last_reply],
  ].filter(([, v]) => v);
  const copied = el("span", { class: "hint copy-said", role: "status", "aria-live": "polite" });
  const report = el("button", { type: "button", class: "secondary", text: "Copy support report",
    "data-action": "copy-report",
    onclick: async () => say(copied, await copyText(t.support_text || "")) });
  return el("article", { class: "trace-copy", "data-address": t.address },
    el("h5", { text: `${t.address}: ${STATES[t.state] || t.state}` }),
    el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", { text: k }),
      el("dd", { class: k === "Message-ID" || k === "Relay queue id" ? "mono" : null,
        text: v })])),
    el("h6", { text: "What happened" }),
    el("ol", { class: "events" }, (t.events || []).map(event)),
    (t.next_steps || []).length ? [el("h6", { text: "Where to look next" }),
      el("ul", { class: "next-steps" }, t.next_steps.map(nextStep))] : null,
    el("div", { class: "row" }, report, copied));
}

function event(e) {
  const reply = e.kind === "attempt"
    ? [e.code ? String(e.code) : "", e.text || ""].filter(Boolean).join(" ") : "";
  const where = [e.relay ? `${e.relay} relay` : ""].filter(Boolean).join("");
  return el("li", { class: "event", "data-kind": e.kind },
    el("span", { class: "event-head" },
      el("span", { class: "event-time", text: clock(e.at, { seconds: true }) }),
      el("span", { class: "event-kind", text: KINDS[e.kind] || e.kind }),
      where ? el("span", { class: "event-relay", text: where }) : null),
    reply ? el("span", { class: "event-reply", text: reply }) : null,
    e.meaning ? el("span", { class: "event-meaning", text: e.meaning }) : null);
}

function nextStep(step) {
  return el("li", { class: "next-step" },
    el("p", { class: "next-where", text: step.where }),
    el("p", { class: "next-why", text: step.why }),
    step.command ? command(step.command) : null,
    step.alternative ? [el("p", { class: "hint", text: "Or:" }), command(step.alternative)]
      : null);
}

function command(text) {
  const said = el("span", { class: "hint copy-said", role: "status", "aria-live": "polite" });
  return el("div", { class: "command" },
    el("pre", {}, el("code", { text })),
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary small", text: "Copy",
        "aria-label": "Copy the command",
        onclick: async () => say(said, await copyText(text)) }), said));
}

function say(node, copied) {
  node.textContent = "";
  show(node);
  // Emptied first: a second "Copied" after the first is still announced.
  setTimeout(() => {
    node.textContent = copied ? "Copied." : "Couldn't copy: select the text and copy it.";
  }, 50);
}
