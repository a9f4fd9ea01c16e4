// "Send tracked": after a complete count, Rollcall sends one copy of the draft to each person
// through the organisation's relay and says what became of every copy (POST /api/sends and
// GET /api/sends/ID). A test to the sender first; the real send only after a dry run the sender
// has read and confirmed. taskpane.js calls offerSend() after each count, offerSend(null) when
// the count is gone. In Outlook the message is the open draft; in a browser tab (`make demo`,
// recipients pasted) there is no draft, so the sender writes a subject and a plain-text message
// in the pane, sent as text and as HTML made from it (htmlFromText).

import { call as api, kindForStatus } from "./api.js";
import { selfPausedWords, showBounces } from "./bounces.js";
import { $, el, plural, show } from "./dom.js";
import { pending, sendControls } from "./sendcontrols.js";

const POLL_MS = 2000;
const POLL_MAX_MS = 30_000; // errors double the wait up to this: a struggling server gets air
const NEXT_TRY_MS = 10_000; // the deferred ones' next try is asked again at most this often
const SHOWN_WARNINGS = 5; // the send check's findings listed in the confirmation, at most

// What went wrong, per error code (the pane switches on the code, never on the message text).
const PROBLEMS = {
  count_incomplete: "The count is incomplete (some lists could not be expanded), so Rollcall "
    + "won't send from it. Count again with Refresh, and send once the count is complete.",
  smtp_not_configured: "Rollcall has no mail relay to send through, so it can't send. Ask "
    + "your administrator to set one up.",
  not_configured: "Rollcall isn't set up to send yet. Ask your administrator.",
  exchange_unreachable: "Rollcall couldn't reach Exchange to count the people again, so "
    + "nothing was sent. Try again in a minute.",
  exchange_busy: "Exchange asked Rollcall to wait, so nothing was sent yet. Try again in a "
    + "moment.",
  exchange_unauthorized: "Exchange refused Rollcall's sign-in, so nothing was sent. "
    + "Tell your IT team.",
  throttled: "Rollcall or Exchange is busy just now, so nothing was sent. Try again in a minute.",
  unreachable: "Rollcall didn't answer. Check your connection and try again.",
  unauthorized: "Rollcall couldn't confirm who you are. Count again to sign in, then try again.",
  not_signed_in: "Rollcall couldn't confirm who you are. Count again to sign in, then try again.",
  forbidden: "Your account isn't allowed to send with Rollcall. Ask your IT team.",
  rate_limited: "You've asked Rollcall for a lot in a short time. Wait a moment, then try again.",
  too_many_recipients: "This message has more entries than Rollcall sends to at once.",
  no_body: "The message has no body yet. Write it, then try again.",
  bad_subject: "The subject is missing, or too long for a mail header.",
  bad_html: "The message's body is too large for Rollcall to send.",
  send_not_found: "Rollcall can't find this send any more.",
  server_error: "Something went wrong on the Rollcall server. Try again; if it keeps "
    + "happening, tell your IT team and give them the reference below.",
};
const SUPPRESSED = { // the server's words (sending/model.py SUPPRESSION_WORDS) for one recipient
  opted_out: "opted out", deleted: "contact deleted", unsubscribed: "unsubscribed",
  hard_bounce: "bounced before (address does not exist)",
  manual: "suppressed by an administrator",
};
const STATES = { queued: "Queued", sending: "Sending now", deferred: "Deferred (tried again later)",
  sent: "Sent", failed: "Failed", bounced: "Bounced", suppressed: "Not sent",
  cancelled: "Cancelled" };
// Every state the server counts, so the numbers shown add up to the total. "Sending now" is
// shown until the send is done (then it is 0); bounced and cancelled only once there are some.
const COUNTS = { queued: "Queued", sending: "Sending now", sent: "Sent", deferred: "Deferred",
  failed: "Failed", bounced: "Bounced", suppressed: "Suppressed", cancelled: "Cancelled" };
const ALWAYS = ["queued", "sent", "deferred", "failed", "suppressed"];
const COLUMNS = ["Address", "State", "Attempts", "Reply", "Meaning", "Message-ID",
  "Relay queue ID"];

const s = {
  report: null,
  recipients: [],
  item: null,
  offer: 0, // bumped by every count: a dry run made for other recipients is dropped
  tracked: null, // the queued send: once there is one, the section shows it whatever comes
  test: null, // the test send's watcher
};

export function offerSend(report, recipients = [], item = null) {
  s.offer++;
  if (s.tracked) return;
  s.report = report;
  s.recipients = recipients;
  s.item = item;
  wire();
  closeConfirm(false);
  problem(null);
  // Nothing to send to without people. Outside Outlook the sender writes the message here.
  const visible = Boolean(report && (report.total > 0 || !report.complete));
  show($("send"), visible);
  if (!visible) return;
  show($("send-compose"), !item);
  show($("send-needs"), !report.complete);
  show($("send-offer"), report.complete);
  setBusy(false);
}

let wired = false;
function wire() {
  if (wired) return;
  wired = true;
  $("send-test").addEventListener("click", sendTest);
  $("send-start").addEventListener("click", dryRun);
  document.addEventListener("visibilitychange", resumeOrPause);
  window.addEventListener("pagehide", () => watchers.forEach((w) => w.stop()));
  $("send-every").addEventListener("click", () => recipientsTable(false));
  $("send-see-failed").addEventListener("click", () => recipientsTable(true));
  for (const name of ["subject", "message"]) {
    $(`send-${name}`).addEventListener("input", () => fieldError(name, null));
  }
}

function setBusy(busy) {
  $("send-test").disabled = busy;
  $("send-start").disabled = busy;
}

// The draft as Outlook has it now (or as written in the pane outside Outlook); null, and the
// reason on screen, when there is nothing to send.
async function readDraft() {
  if (!s.item) return readWritten();
  let subject;
  let html;
  try {
    subject = typeof s.item.subject === "string" ? s.item.subject
      : await officeValue((cb) => s.item.subject.getAsync(cb));
    html = await officeValue((cb) => s.item.body.getAsync(Office.CoercionType.Html, cb));
  } catch {
    problem("Outlook didn't give Rollcall the message's subject and body just now. Try again.");
    return null;
  }
  if (!subject || !subject.trim()) {
    problem("Give the message a subject first: Rollcall sends nothing without one.");
    return null;
  }
  if (!html || !html.trim()) {
    problem("The message has no body yet. Write it, then try again.");
    return null;
  }
  return { subject: subject.trim(), html, text: null };
}

// Outside Outlook: the Subject and Message fields. Each empty one says so beside itself, the
// first of them gets the focus, and nothing is asked of the server.
function readWritten() {
  const subject = $("send-subject").value.trim();
  const text = $("send-message").value;
  const missing = [];
  fieldError("subject", subject ? null : "Write a subject first");
  if (!subject) missing.push("subject");
  fieldError("message", text.trim() ? null : "Write the message first");
  if (!text.trim()) missing.push("message");
  if (missing.length) {
    $(`send-${missing[0]}`).focus();
    return null;
  }
  return { subject, html: htmlFromText(text), text };
}

function fieldError(name, message) {
  const field = $(`send-${name}`);
  const error = $(`send-${name}-error`);
  error.textContent = message || "";
  show(error, Boolean(message));
  const described = (field.getAttribute("aria-describedby") || "").split(" ")
    .filter((id) => id && id !== error.id);
  if (message) described.unshift(error.id); // read out when the field gets the focus
  if (described.length) field.setAttribute("aria-describedby", described.join(" "));
  else field.removeAttribute("aria-describedby");
  if (message) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

// Plain text as HTML: every character escaped, a blank line (spaces allowed) between paragraphs,
// a single line break kept as <br>. Nothing the sender typed is ever read as markup.
export function htmlFromText(text) {
  const paragraphs = String(text).replace(/\r\n?/g, "\n").split(/\n[ \t]*(?:\n[ \t]*)+/)
    .map((p) => p.replace(/^(?:[ \t]*\n)+|(?:\n[ \t]*)+$/g, "")) // a lone blank line at either end
    .filter((p) => p.trim())
    .map((p) => `<p>${p.split("\n").map(escapeHtml).join("<br>\n")}</p>`);
  return `<html><body>\n${paragraphs.join("\n")}\n</body></html>`;
}

function officeValue(call) {
  return new Promise((resolve, reject) => {
    call((result) => {
      if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
      else reject(new Error(result.error?.message || "Outlook did not answer"));
    });
  });
}

// --- Send a test to myself

async function sendTest() {
  problem(null);
  const status = $("send-test-status");
  const draft = await readDraft();
  if (!draft) return;
  setBusy(true);
  status.textContent = "Sending a test to you…";
  show(status);
  let summary;
  try {
    summary = await api("api/sends/test", { method: "POST", body: draft }, isSummary);
  } catch (e) {
    show(status, false);
    problem(e);
    return;
  } finally {
    setBusy(false);
  }
  s.test?.stop();
  s.test = watch(summary, async (now, error) => {
    if (error) {
      status.textContent = "Sending a test to you… (Rollcall isn't answering; still trying)";
      return;
    }
    if (now.status !== "done") {
      status.textContent = now.waiting ? `Sending a test to you… ${now.waiting}`
        : "Sending a test to you…";
      return;
    }
    const reply = await firstReply(now.id);
    const said = relayWords(reply);
    // The relay's own words, quoted, and Rollcall's reading of them, each on its own line.
    status.replaceChildren(...[
      el("span", { class: "send-status-line", text: now.counts.sent
        ? "Test sent to you: check your inbox."
        : `The test wasn't sent${reply ? "." : ": the relay refused it."}` }),
      said ? el("span", { class: "send-status-line", "data-part": "reply",
        text: `The relay replied: \u201c${said}\u201d` }) : null,
      reply?.meaning ? el("span", { class: "send-status-line", "data-part": "meaning",
        text: `Meaning: ${reply.meaning}` }) : null,
    ].filter(Boolean));
  });
}

async function firstReply(id) {
  try {
    const { recipients } = await api(`api/sends/${id}/recipients`, {}, isRecipients);
    return recipients[0]?.reply || null;
  } catch {
    return null; // the counts already said whether it went
  }
}

// The relay's reply as it sent it: "250 2.0.0 Ok: queued as 4F2A1C0B7". The record keeps the
// basic code apart; the text still opens with the enhanced code when the relay gave one.
export function relayWords(reply) {
  if (!reply) return "";
  let text = (reply.text || "").trim();
  if (reply.enhanced && !text.startsWith(reply.enhanced)) text = `${reply.enhanced} ${text}`;
  return [reply.code ? String(reply.code) : "", text.trim()].filter(Boolean).join(" ");
}

// --- Send tracked: dry run, confirmation, the real send

async function dryRun() {
  problem(null);
  const offer = s.offer;
  const draft = await readDraft();
  if (!draft || offer !== s.offer) return;
  setBusy(true);
  const body = { recipients: s.recipients, ...draft, dry_run: true };
  if (s.report.expected_source === "sender") body.expected = s.report.expected;
  let answer;
  try {
    answer = await api("api/sends", { method: "POST", body },
      (b) => typeof b?.plan?.messages === "number");
  } catch (e) {
    if (offer === s.offer) problem(e);
    return;
  } finally {
    if (offer === s.offer) setBusy(false);
  }
  if (offer !== s.offer) return; // the recipients changed while the server counted
  confirm(answer.plan, { ...body, dry_run: false });
}

function confirm(plan, body) {
  const box = $("send-confirm");
  const n = plan.messages;
  const facts = [el("li", { "data-fact": "messages",
    text: `${plural(n, "message")}, one per person.` })];
  const left = Object.values(plan.suppressed).reduce((a, b) => a + b, 0);
  if (left) {
    const reasons = Object.entries(plan.suppressed);
    const said = (reason) => plan.suppressed_words[reason] || reason.replace(/_/g, " ");
    // One reason needs no second number: "2 not sent: opted out".
    const why = reasons.length === 1 ? said(reasons[0][0])
      : reasons.map(([reason, k]) => `${k.toLocaleString("en-US")} ${said(reason)}`).join(", ");
    facts.push(el("li", { "data-fact": "suppressed",
      text: `${left.toLocaleString("en-US")} not sent: ${why}.` }));
  }
  facts.push(el("li", { "data-fact": "relay", text: `Through the relay ${plan.relay}`
    + (plan.fallback ? `, or ${plan.fallback} if it is down.` : ".") }));
  if (n) {
    facts.push(el("li", { "data-fact": "time", text: `Takes ${duration(plan.estimated_s)} at `
      + `the sending limit (${plan.rate.per_minute.toLocaleString("en-US")} a minute).` }));
  }
  const check = plan.send_check;
  const queue = el("button", { type: "button", class: "primary", id: "send-queue",
    text: `Queue ${plural(n, "message")}`, onclick: () => queueSend(body) });
  box.replaceChildren(...[
    el("h3", { id: "send-confirm-title", tabindex: "-1", text: "Before Rollcall sends" }),
    el("p", { class: "send-subject", text: `Subject: ${body.subject}` }),
    el("ul", { class: "send-plan" }, facts),
    check?.action === "warn" ? warning(check) : null,
    n ? null : el("p", { text: "Nobody is left to send to." }),
    el("div", { class: "row" }, n ? queue : null,
      el("button", { type: "button", class: "secondary", id: "send-cancel", text: "Cancel",
        onclick: () => closeConfirm(true) })),
  ].filter(Boolean));
  show($("send-offer"), false);
  show(box);
  $("send-confirm-title").focus();
}

// The send check's warning, as its findings say it. Its `message` is written for Outlook's Smart
// Alerts dialog: at most 500 characters, ending "... check the recipients with Get Recipient
// Count", which makes no sense inside this very pane. The findings behind it are plain
// sentences, all of them, so the pane lists those (the first few; the rest are under Findings).
function warning(check) {
  const said = [...new Set((check.findings || []).map((f) => f.message).filter(Boolean))];
  if (!said.length) {
    return check.message ? el("p", { class: "send-warning", "data-fact": "send-check",
      text: check.message }) : null;
  }
  const more = said.length - SHOWN_WARNINGS;
  return el("div", { class: "send-warning", "data-fact": "send-check" },
    el("p", { text: "Rollcall's send check warns:" }),
    el("ul", {}, said.slice(0, more > 0 ? SHOWN_WARNINGS : said.length)
      .map((text) => el("li", { text }))),
    more > 0 ? el("p", { text: `and ${plural(more, "more finding")}: see Findings above.` })
      : null);
}

function closeConfirm(focus) {
  const box = $("send-confirm");
  if (box.hidden) return;
  show(box, false);
  box.replaceChildren();
  show($("send-offer"), Boolean(s.report?.complete));
  if (focus) $("send-start").focus();
}

async function queueSend(body) {
  problem(null);
  for (const b of $("send-confirm").querySelectorAll("button")) b.disabled = true;
  let summary;
  try {
    summary = await api("api/sends", { method: "POST", body }, isSummary);
  } catch (e) {
    closeConfirm(false);
    // No answer: the send may be queued all the same, and a second try would send twice.
    problem(e.kind === "unreachable" ? Object.assign(e, { kind: "unreachable_send" }) : e);
    return;
  }
  s.tracked = { id: summary.id, last: null, done: false, table: { busy: false, again: false,
    shown: false }, deferred: { count: 0, at: 0, next: undefined, busy: false } };
  $("send-note").textContent = s.item
    ? "The draft is still open: discard it yourself (Rollcall sent the copies)."
    : "Sent from Rollcall; nothing else to do.";
  show($("send-confirm"), false);
  show($("send-offer"), false);
  show($("send-needs"), false);
  progress(summary);
  $("send-title").focus(); // the confirmation that had the focus is gone
  s.tracked.watcher = watch(summary, (now, error) => progress(now, error));
}

// --- Progress and the outcome

function progress(summary, error = null) {
  const box = $("send-progress");
  show(box);
  if (error) {
    $("send-lag").textContent = error.kind === "send_not_found" ? PROBLEMS.send_not_found
      : "Rollcall isn't answering just now; still trying.";
    show($("send-lag"));
    return;
  }
  show($("send-lag"), false);
  s.tracked.last = summary;
  const c = summary.counts;
  const total = summary.recipients;
  const handled = c.sent + c.failed + c.bounced + c.suppressed + c.cancelled;
  const done = summary.status === "done";
  const cancelled = summary.status === "cancelled";
  const failed = c.failed + c.bounced;
  // Paused and stopped say who, when and why in the server's words (summary.waiting).
  const held = { paused: "Paused: nothing goes out until it is resumed.",
    stopped: "Waiting: an administrator stopped the SMTP service; nothing is sent until it is "
      + "started again." }[summary.status];
  // Rollcall's own pause (too many bounces) in the sender's words and clock, not the record's.
  const going = selfPausedWords(summary) || (held && (summary.waiting || held)) || {
    cancelled: `Cancelled: ${c.sent.toLocaleString("en-US")} sent before it was cancelled.`,
    queued: `Queued: ${plural(total - handled, "message")} waiting for the relay.` }[
    summary.status] || `Sending: ${handled.toLocaleString("en-US")} of `
    + `${plural(total, "message")} handled.`;
  // Failures are there to see as soon as there are any: "see them" follows the colon.
  setText($("send-headline"), done ? outcome(c) : going + (failed
    ? ` ${failed.toLocaleString("en-US")} ${failedWord(c)}${cancelled ? "" : " so far"}:` : ""));
  show($("send-see-failed"), failed > 0);
  const bar = $("send-bar");
  bar.max = Math.max(total, 1);
  bar.value = handled;
  const shown = Object.keys(COUNTS).filter((k) => ALWAYS.includes(k) || c[k]
    || (k === "sending" && !done));
  const key = shown.map((k) => `${k}=${c[k]}`).join(" ");
  const counts = $("send-counts");
  if (counts.dataset.shown !== key) { // unchanged numbers are not written again (a live region)
    counts.dataset.shown = key;
    counts.replaceChildren(...shown.flatMap((k) => [
      el("dt", { text: COUNTS[k] }),
      el("dd", { "data-state": k, text: (c[k] || 0).toLocaleString("en-US") })]));
  }
  const waiting = held ? "" : summary.waiting || ""; // a held send's words are the headline
  setText($("send-waiting"), waiting);
  show($("send-waiting"), Boolean(waiting));
  s.tracked.done = done || (cancelled && !pending(summary));
  sendControls(summary, (now) => progress(now));
  showBounces(summary, summaryOnce);
  show($("send-after"));
  show($("send-note"), done);
  nextTry(c.deferred || 0);
  if (!$("send-table").hidden) loadTable(); // an open table follows the send, poll by poll
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// A bounce-back came after the send was done: its numbers (bounced, the rate) are asked again.
async function summaryOnce() {
  const id = s.tracked?.id;
  try {
    const now = await api(`api/sends/${id}`, {}, isSummary);
    if (s.tracked?.id === id) progress(now);
  } catch {
    // The numbers stay as they were; the next bounce-back asks again.
  }
}

// Refused by the relay (failed) and returned later (bounced) are told apart, as the counts are.
function failedWord(c) {
  return c.failed && c.bounced ? "failed or bounced" : c.bounced ? "bounced" : "failed";
}

function outcome(c) {
  const n = (k) => k.toLocaleString("en-US");
  const failed = c.failed + c.bounced;
  const parts = [failed ? `${n(c.sent)} sent, ${n(failed)} ${failedWord(c)}`
    : c.sent ? `All ${n(c.sent)} delivered to the relay` : "Nothing was sent"];
  if (c.suppressed) parts.push(`${n(c.suppressed)} not sent (suppressed)`);
  if (c.cancelled) parts.push(`${n(c.cancelled)} cancelled`);
  return parts.join(", ") + (failed ? ":" : "."); // "see them" follows the colon
}

// "3 deferred: next try at 14:05", under the counts while the relay has asked to wait. The
// earliest next_attempt_at comes from an open table's rows, else from the deferred recipients
// alone (?state=deferred), asked when their number changes and at most every NEXT_TRY_MS.
function nextTry(deferred) {
  const d = s.tracked.deferred;
  if (!deferred) {
    Object.assign(d, { count: 0, next: undefined });
    show($("send-next"), false);
    return;
  }
  sayNextTry(deferred);
  if ($("send-table").hidden && !d.busy
    && (d.count !== deferred || Date.now() - d.at >= NEXT_TRY_MS)) {
    d.count = deferred;
    fetchNextTry();
  }
}

async function fetchNextTry() {
  const d = s.tracked.deferred;
  d.busy = true;
  try {
    const { recipients } = await api(`api/sends/${s.tracked.id}/recipients?state=deferred`, {},
      isRecipients);
    learnNextTry(recipients);
  } catch {
    d.at = Date.now(); // the line keeps what it knew; asked again in NEXT_TRY_MS
  } finally {
    d.busy = false;
  }
}

function learnNextTry(rows) {
  const d = s.tracked.deferred;
  const deferred = rows.filter((r) => r.state === "deferred");
  const times = deferred.map((r) => Date.parse(r.next_attempt_at)).filter(Number.isFinite);
  d.at = Date.now();
  const now = s.tracked.last?.counts.deferred || 0;
  if (!now) return; // none deferred any more: an answer that came late says nothing
  d.next = times.length ? Math.min(...times) : null;
  sayNextTry(now);
}

function sayNextTry(deferred) {
  const line = $("send-next");
  const next = s.tracked.deferred.next;
  if (!deferred || next === undefined) return; // nothing known yet: it waits for the answer
  setText(line, `${deferred.toLocaleString("en-US")} deferred: `
    + (next === null ? "Rollcall tries again later." : `next try ${when(next)}.`));
  show(line);
}

// A time as the sender's clock says it: "at 14:05"; "on 12 Jun at 09:00" on another day; "due
// now" once it has come (the worker picks it up within a second or so).
export function when(ms, now = Date.now()) {
  if (ms <= now) return "due now";
  const at = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (at.toDateString() === new Date(now).toDateString()) return `at ${time}`;
  return `on ${at.getDate()} ${MONTHS[at.getMonth()]} at ${time}`;
}
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

// "Show every recipient" (or only the failed ones): each copy's fate, as support asks for it.
// Offered from the moment the send is queued; while it is open it is asked again on every poll.
function recipientsTable(onlyFailed) {
  const toggle = $("send-every");
  const box = $("send-table");
  const open = !box.hidden && box.dataset.only === String(onlyFailed);
  if (open) {
    show(box, false);
    toggle.setAttribute("aria-expanded", "false");
    return;
  }
  toggle.setAttribute("aria-expanded", String(!onlyFailed));
  box.dataset.only = String(onlyFailed);
  box.replaceChildren(el("p", { class: "hint", text: "Asking Rollcall…" }));
  show(box);
  loadTable(true);
}

async function loadTable(fresh = false) {
  const t = s.tracked.table;
  if (fresh) t.shown = false;
  if (t.busy) { // one request at a time: the answer in flight is followed by one more
    t.again = true;
    return;
  }
  t.busy = true;
  try {
    do {
      t.again = false;
      await fillTable();
    } while (t.again && !$("send-table").hidden);
  } finally {
    t.busy = false;
  }
}

async function fillTable() {
  const t = s.tracked.table;
  const box = $("send-table");
  let rows;
  try {
    rows = (await api(`api/sends/${s.tracked.id}/recipients`, {}, isRecipients)).recipients;
  } catch (e) {
    if (box.hidden) return;
    const said = el("p", { class: "hint send-table-lag", text: words(e) });
    const before = box.querySelector(".send-table-lag");
    if (!t.shown) box.replaceChildren(said); // nothing to keep
    else if (before) before.replaceWith(said);
    else box.prepend(said); // the rows stay as they were, said to be so
    return;
  }
  learnNextTry(rows);
  if (box.hidden) return;
  const onlyFailed = box.dataset.only === "true";
  if (onlyFailed) rows = rows.filter((r) => r.state === "failed" || r.state === "bounced");
  const left = box.scrollLeft;
  box.replaceChildren(...[
    s.tracked.done ? null : el("p", { class: "hint", text: "Updated every few seconds until "
      + "the send is done." }),
    recipientRows(rows, onlyFailed)].filter(Boolean));
  box.scrollLeft = left;
  t.shown = true;
}

// A table, with its roles spelled out: at pane width (send.css) each row is stacked as a card
// of labelled lines, and a table laid out as blocks keeps its semantics only by ARIA.
function recipientRows(rows, onlyFailed) {
  const cell = (label, props) => el("td", { role: "cell", "data-label": label, ...props });
  return el("table", { class: "send-recipients", role: "table" },
    el("caption", { class: "visually-hidden",
      text: onlyFailed ? "Recipients that failed" : "Every recipient" }),
    el("thead", { role: "rowgroup" }, el("tr", { role: "row" },
      COLUMNS.map((h) => el("th", { scope: "col", role: "columnheader", text: h })))),
    el("tbody", { role: "rowgroup" }, rows.map((r) => el("tr", { role: "row",
      "data-state": r.state },
    cell("Address", { class: "addr", text: r.address }),
    cell("State", { class: "state", text: stateWords(r) }),
    cell("Attempts", { class: "num", text: String(r.attempts ?? 0) }),
    cell("Reply", { class: "reply", text: relayWords(r.reply) }),
    cell("Meaning", { class: "meaning", text: r.reply?.meaning || "" }),
    cell("Message-ID", { class: "mono", text: r.message_id || "" }),
    cell("Relay queue ID", { class: "mono", text: r.remote_id || "" })))));
}

function stateWords(r) {
  if (r.state === "suppressed") return `Not sent: ${SUPPRESSED[r.reason] || r.reason
    || "suppressed"}`;
  const next = r.state === "deferred" ? Date.parse(r.next_attempt_at) : NaN;
  if (Number.isFinite(next)) return `Deferred: next try ${when(next)}`;
  return STATES[r.state] || r.state;
}

function duration(seconds) {
  if (seconds < 60) return "under a minute";
  if (seconds < 3600) return `about ${plural(Math.round(seconds / 60), "minute")}`;
  return `about ${plural(Math.round(seconds / 3600), "hour")}`;
}

// --- Polling: every 2 s until done, paused while the pane is hidden, slower after errors

const watchers = new Set();

function watch(summary, onChange) {
  const w = { id: summary.id, delay: POLL_MS, timer: null, busy: false, stopped: false };
  w.stop = () => {
    w.stopped = true;
    clearTimeout(w.timer);
    watchers.delete(w);
  };
  w.tick = async () => {
    w.timer = null;
    if (w.stopped || w.busy || document.hidden) return; // visibilitychange resumes it
    w.busy = true;
    try {
      const now = await api(`api/sends/${w.id}`, {}, isSummary);
      if (w.stopped) return;
      w.delay = POLL_MS;
      await onChange(now, null);
      if (now.status === "done" || (now.status === "cancelled" && !pending(now))) {
        return w.stop();
      }
    } catch (e) {
      if (w.stopped) return;
      await onChange(null, e);
      if (e.kind === "send_not_found") return w.stop();
      w.delay = Math.min(w.delay * 2, POLL_MAX_MS);
    } finally {
      w.busy = false;
    }
    w.timer = setTimeout(w.tick, w.delay);
  };
  watchers.add(w);
  w.timer = setTimeout(w.tick, POLL_MS);
  return w;
}

function resumeOrPause() {
  for (const w of watchers) {
    clearTimeout(w.timer);
    w.timer = null;
    if (!document.hidden) w.tick();
  }
}

// --- Errors

function problem(error) {
  const box = $("send-problem");
  if (!error) {
    show(box, false);
    return;
  }
  const text = typeof error === "string" ? error : words(error);
  const reference = error.requestId ? `Reference for support: ${error.requestId}` : "";
  $("send-problem-text").textContent = text;
  $("send-problem-detail").textContent = reference;
  show($("send-problem-detail"), Boolean(reference));
  show(box);
}

function words(error) {
  if (error.kind === "send_blocked") {
    const said = error.sendCheck?.message;
    return `Rollcall's send check stops this send${said ? `: ${said}` : "."}`;
  }
  if (error.kind === "unreachable_send") {
    return "Rollcall didn't answer, so the send may or may not be queued. Ask your IT team "
      + "before trying again, so nobody gets it twice.";
  }
  if (PROBLEMS[error.kind]) return PROBLEMS[error.kind];
  // A 4xx the pane has no words for: the server's message is written for people.
  if (error.status >= 400 && error.status < 500 && error.message && error.message !== error.kind
    && ![401, 403, 413, 429].includes(error.status)) return error.message;
  return PROBLEMS[kindForStatus(error.status)] || PROBLEMS.server_error;
}

// --- What the send routes answer

const isSummary = (b) => typeof b?.id === "number" && typeof b?.counts === "object";
const isRecipients = (b) => Array.isArray(b?.recipients);

