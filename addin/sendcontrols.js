// The sender's own controls while a tracked send goes on (POST /api/sends/ID/pause|resume|
// cancel): Pause and Cancel send ask first, in the pane (confirm.js); Resume needs no asking.
// What an administrator paused only an administrator may resume: the server answers 403, and
// the pane says who paused it. send.js calls sendControls() with every summary it shows.

import { sendControl } from "./api.js";
import { ask, busy, dismissConfirmation, isBusy } from "./confirm.js";
import { $, show } from "./dom.js";
import { count, setText, trouble } from "./words.js";

const c = { summary: null, onSummary: null, wired: false, status: null };

// Copies not final yet: a cancelled send still has those a worker held when it was cancelled.
export const pending = (summary) => ["queued", "sending", "deferred"]
  .reduce((n, k) => n + (summary?.counts?.[k] || 0), 0);

export function sendControls(summary, onSummary) {
  c.summary = summary;
  c.onSummary = onSummary;
  wire();
  if (c.status !== summary.status) problem(null); // what went wrong was about another state
  c.status = summary.status;
  const box = $("send-controls");
  const going = !["done", "cancelled"].includes(summary.status);
  if (!going) {
    const hadFocus = box.contains(document.activeElement);
    dismissConfirmation(box);
    show(box, false);
    if (hadFocus) $("send-title").focus();
    return;
  }
  show(box);
  const hold = $("send-hold");
  if (!isBusy(hold)) {
    const paused = summary.status === "paused";
    hold.dataset.action = paused ? "resume" : "pause";
    setText(hold, paused ? "Resume" : "Pause");
  }
}

function wire() {
  if (c.wired) return;
  c.wired = true;
  const hold = $("send-hold");
  hold.addEventListener("click", () => (hold.dataset.action === "resume"
    ? act(hold, "resume", "Resuming\u2026", null)
    : act(hold, "pause", "Pausing\u2026", { title: "Pause this send?",
      text: "Nothing more goes out until you resume it. The messages already sent stay sent." })));
  const abort = $("send-abort");
  abort.addEventListener("click", () => act(abort, "cancel", "Cancelling\u2026", {
    title: "Cancel this send?",
    text: `Cancel ${count(pending(c.summary), "waiting message")}? Sent ones stay sent, and `
      + "the send cannot be resumed." }));
}

async function act(button, action, label, question) {
  if (isBusy(button) || !c.summary) return;
  let reason;
  if (question) {
    const answer = await ask({ host: $("send-control-confirm"), opener: button, ...question });
    if (!answer) return;
    reason = answer.reason;
  }
  problem(null);
  busy(button, label);
  try {
    c.onSummary(await sendControl(c.summary.id, action, reason));
  } catch (e) {
    problem(words(e, action));
  } finally {
    busy(button, null);
    sendControls(c.summary, c.onSummary); // the label follows the state the answer brought
  }
}

function words(error, action) {
  if (action === "resume" && error.status === 403) {
    const by = c.summary?.paused?.by;
    return `An administrator${by ? ` (${by})` : ""} paused this send, so only an `
      + "administrator can resume it.";
  }
  return trouble(error);
}

function problem(text) {
  const line = $("send-control-problem");
  line.textContent = text || "";
  show(line, Boolean(text));
}
