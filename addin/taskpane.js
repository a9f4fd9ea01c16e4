// The task pane: reads To/Cc/Bcc in Outlook (or pasted text in a browser tab), asks the server for
// the count, and shows the number, the list tree, the findings and how the number adds up.

import { showAdmin } from "./admin.js";
import { ApiError, count, kindForStatus } from "./api.js";
import { forgetToken } from "./auth.js";
import { fromHistory, renderChart } from "./chart.js";
import { announce } from "./announce.js";
import { renderContributions } from "./contributions.js";
import { $, el, plural, show } from "./dom.js";
import { renderFindings, throttled } from "./findings.js";
import { onRecipientsChanged, outlookItem, readRecipients, readSubject } from "./mailbox.js";
import { parsePasted } from "./recipients.js";
import { supportReport } from "./report.js";
import { offerSend } from "./send.js";
import { anyCached, renderTree } from "./tree.js";

const PROGRESS_AFTER_MS = 300; // quicker answers never flash a spinner
const RECOUNT_AFTER_MS = 600; // recipients arrive one by one while the sender types

// Titles and advice per error kind; the kind is the server's `code` or the transport's verdict.
const PROBLEMS = {
  unreachable: ["Can't reach Rollcall",
    "The Rollcall server didn't answer. Check your connection and try again; if it keeps "
    + "happening, the server may be down: tell your IT team."],
  unauthorized: ["You're not signed in",
    "Rollcall couldn't confirm who you are. Sign in, then Rollcall counts again. If this keeps "
    + "happening, sign out of Outlook and back in, or tell your IT team."],
  rate_limited: ["Too many counts at once",
    "You've asked for a lot of counts in a short time. Wait a moment, then try again."],
  identity_unavailable: ["Can't check who you are",
    "Rollcall can't reach its sign-in service just now. Try again in a minute."],
  forbidden: ["Not allowed", "Your account isn't allowed to use Rollcall. Ask your IT team."],
  throttled: ["Exchange is throttling us",
    "Exchange asked Rollcall to slow down. Wait a minute, then try again."],
  not_configured: ["Rollcall isn't set up yet",
    "An administrator still has to connect Rollcall to Exchange."],
  exchange_unreachable: ["Can't reach Exchange",
    "Rollcall is running but Exchange didn't answer, so nobody could be counted. Try again in "
    + "a minute."],
  exchange_busy: ["Exchange is busy",
    "Exchange asked Rollcall to wait, so nobody could be counted yet. Try again in a moment."],
  exchange_unauthorized: ["Exchange refused Rollcall",
    "Exchange didn't accept Rollcall's sign-in (its service account, or its permissions in "
    + "Microsoft 365). Tell your IT team."],
  too_many_recipients: ["Too many recipients",
    "This message has more entries than Rollcall counts at once. Count a part of them."],
  bad_request: ["Rollcall couldn't read the recipients",
    "Check the recipients for typing mistakes and try again."],
  cancelled: ["Count cancelled", "Nothing was counted. Count again when you're ready."],
  outlook: ["Outlook didn't give us the recipients",
    "Outlook couldn't read To, Cc and Bcc just now. Try again."],
  server_error: ["Something went wrong",
    "Rollcall ran into a problem counting. Try again; if it keeps happening, copy the details "
    + "below for your IT team."],
};
const BAD_REQUEST = new Set(["not_json", "no_recipients", "bad_recipient", "bad_expected",
  "bad_refresh", "bad_mailbox", "bad_request"]);

const state = {
  item: null,
  recipients: [],
  report: null,
  controller: null,
  sequence: 0,
  recountTimer: null,
};

async function start() {
  wire();
  try {
    state.item = await outlookItem();
  } catch {
    state.item = null; // Office.js present but broken: the paste box still works
  }
  show($("waiting"), false);
  $("app").setAttribute("aria-busy", "false");
  showAdmin(); // the admin's "Server information"; nothing for anyone else
  if (state.item) {
    await onRecipientsChanged(state.item, scheduleRecount);
    await recountFromOutlook();
  } else {
    show($("paste"));
    $("paste-text").focus();
  }
}

function wire() {
  $("paste-count").addEventListener("click", countPasted);
  $("paste-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) countPasted();
  });
  $("cancel").addEventListener("click", () => state.controller?.abort());
  $("retry").addEventListener("click", () => {
    // "Sign in" asks for a new token (Outlook may show its sign-in window); retries reuse one.
    if ($("problem").dataset.kind === "unauthorized") forgetToken();
    again();
  });
  $("refresh").addEventListener("click", () => again({ refresh: true }));
  $("expected-apply").addEventListener("click", compare);
  $("expected").addEventListener("keydown", (e) => {
    if (e.key === "Enter") compare();
  });
  $("copy").addEventListener("click", copyReport);
}

function again(options = {}) {
  if (state.item) recountFromOutlook(options);
  else if (state.recipients.length) run(state.recipients, options);
  else countPasted();
}

function scheduleRecount() {
  clearTimeout(state.recountTimer);
  state.recountTimer = setTimeout(() => recountFromOutlook(), RECOUNT_AFTER_MS);
}

async function recountFromOutlook(options = {}) {
  let recipients;
  try {
    recipients = await readRecipients(state.item);
  } catch (e) {
    problem("outlook", e.message);
    return;
  }
  if (!recipients.length) {
    state.sequence++; // the count in flight, if any, is no longer wanted: drop it silently
    state.controller?.abort();
    state.recipients = [];
    state.report = null;
    show($("progress"), false);
    problem(null);
    show($("result"), false);
    offerSend(null); // nobody to send to
    const waiting = $("waiting");
    waiting.textContent = "Add people or lists to To, Cc or Bcc and the count appears here.";
    show(waiting);
    return;
  }
  show($("waiting"), false);
  const unchanged = JSON.stringify(recipients) === JSON.stringify(state.recipients);
  if (unchanged && state.report && !options.refresh && $("problem").hidden) return;
  await run(recipients, options);
}

function countPasted() {
  const { recipients, problems } = parsePasted($("paste-text").value);
  $("paste-problem").textContent = problems.join("\n"); // one problem a line (CSS)
  show($("paste-problem"), problems.length > 0);
  if (!recipients.length) {
    problem("bad_request", "Paste at least one address, 'Name <address>' or a group's name.");
    return;
  }
  // An expected count belongs to the recipients it was typed for, not to a new paste.
  if (sameRecipients(recipients, state.recipients) === false) $("expected").value = "";
  run(recipients);
}

function sameRecipients(a, b) {
  if (!b.length) return null; // nothing counted yet: keep what the sender typed first
  const key = (list) => list.map((r) => `${r.displayName}|${r.emailAddress}`.toLowerCase())
    .sort().join("\n");
  return key(a) === key(b);
}

function expectedValue() {
  const text = $("expected").value.trim();
  if (!text) return null;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function compare() {
  if (expectedValue() === undefined) {
    $("expected").setCustomValidity("A whole number, 0 or more");
    $("expected").reportValidity();
    return;
  }
  $("expected").setCustomValidity("");
  if (state.recipients.length) run(state.recipients);
}

async function run(recipients, { refresh = false } = {}) {
  state.controller?.abort();
  const controller = new AbortController();
  const sequence = ++state.sequence;
  state.controller = controller;
  state.recipients = recipients;
  problem(null);
  const timer = setTimeout(() => {
    if (sequence === state.sequence) show($("progress"));
  }, PROGRESS_AFTER_MS);
  try {
    const expected = expectedValue() ?? null;
    const report = await count(recipients, { expected, refresh, signal: controller.signal });
    if (sequence !== state.sequence) return;
    state.report = report;
    render(report);
    showAdmin(); // a no-op unless the first sign-in failed and this one worked
  } catch (e) {
    if (sequence !== state.sequence) return;
    const error = e instanceof ApiError ? e : new ApiError("server_error", 0, String(e));
    problem(error.kind, error.message, error.status, error.retryAfter, error.requestId);
  } finally {
    clearTimeout(timer);
    if (sequence === state.sequence) show($("progress"), false);
  }
}

function problem(kind, detail = "", status = 0, retryAfter = null, requestId = null) {
  const box = $("problem");
  if (!kind) {
    show(box, false);
    return;
  }
  const key = problemKey(kind, status);
  const [title, text] = PROBLEMS[key];
  box.dataset.kind = key;
  $("problem-title").textContent = title;
  $("problem-text").textContent = retryAfter ? `${text} (about ${retryAfter} s)` : text;
  const code = kind === key && !status ? "" : `Code: ${kind}${status ? ` (HTTP ${status})` : ""}`;
  // The card already says what the server's message would repeat for these.
  const said = key === "exchange_busy" || key === "exchange_unreachable";
  const extra = detail && detail !== kind && !said ? detail : "";
  const reference = requestId ? `Reference for support: ${requestId}` : "";
  $("problem-detail").textContent = [extra, code, reference].filter(Boolean).join(" · ");
  $("retry").textContent = { cancelled: "Count again", unauthorized: "Sign in" }[key]
    || "Try again";
  show($("result"), false); // a number next to an error would look current when it is not
  offerSend(null); // nor a Send button
  show(box);
}

// Codes this pane has no words for fall back on the HTTP status, so a code added on the server
// later (the identity issue's, a proxy's) still lands in the right state.
function problemKey(kind, status) {
  if (PROBLEMS[kind]) return kind;
  if (BAD_REQUEST.has(kind)) return "bad_request";
  return kindForStatus(status);
}

function render(report) {
  show($("result"));
  show($("refresh"));
  // An incomplete count is a lower bound, never a bare number.
  $("total-prefix").textContent = report.complete ? "" : "at least";
  show($("total-prefix"), !report.complete);
  $("total").textContent = report.total.toLocaleString("en-US");
  $("total-label").textContent = report.total === 1 ? "unique recipient" : "unique recipients";
  const badge = $("badge");
  const missing = report.not_found || 0;
  const clean = report.complete && !missing;
  badge.textContent = !report.complete ? "Incomplete"
    : missing ? `Complete, ${plural(missing, "entry", "entries")} not found` : "Complete";
  badge.className = `badge ${clean ? "badge-ok" : "badge-warn"}`;
  const lists = report.lists ? `${plural(report.lists, "list")}, nested ${report.max_depth} deep`
    : "no lists";
  $("stats").textContent = `${lists} · `
    + `${plural(report.requests, "request")} in ${report.elapsed_ms} ms`
    + (anyCached(report.tree) ? " · some lists from cache (Refresh reads them again)" : "");
  banner(report);
  difference(report);
  renderChart($("chart"), report);
  renderContributions($("contributions"), report);
  renderDrift($("drift"), report.drift);
  renderTree($("tree"), report.tree);
  $("lists-empty").textContent = report.total
    ? "No lists: every recipient is a single person." : "No lists.";
  show($("lists-empty"), !report.tree.length);
  const shown = withSendCheck(report);
  renderFindings($("findings"), shown);
  show($("findings-empty"), !shown.length);
  announce(`${report.complete ? "" : "At least "}${plural(report.total, "unique recipient")}. `
    + `${badge.textContent}.`);
  $("copied").textContent = "";
  show($("copy-fallback"), false);
  offerSend(report, state.recipients, state.item); // "Send tracked" for a complete count
}

// Who joined and who left since the last count of the same recipients: why the number moved.
function renderDrift(box, drift) {
  if (!drift || (!drift.joined_count && !drift.left_count)) {
    show(box, false);
    return;
  }
  const side = (verb, count, addresses) => (count ? el("details", { class: "addresses" },
    el("summary", { text: `${plural(count, "person", "people")} ${verb}` }),
    el("ul", {}, addresses.map((a) => el("li", { text: a }))),
    count > addresses.length
      ? el("p", { class: "hint", text: `and ${count - addresses.length} more` }) : null) : null);
  const groups = (drift.groups || []).filter((g) => g.path);
  const byList = groups.length ? el("ul", { class: "drift-groups", "aria-label": "By list" },
    groups.map((g) => el("li", {},
      el("span", { class: "drift-path", text: g.path }),
      el("span", { class: "drift-moves", text: moves(g) })))) : null;
  // replaceChildren writes a null as the text "null": only what there is goes in.
  box.replaceChildren(...[
    el("p", { text: `Since the last count on ${drift.previous_at.slice(0, 10)} `
      + `(${drift.previous_total.toLocaleString("en-US")}):` }),
    byList,
    side("joined", drift.joined_count, drift.joined),
    side("left", drift.left_count, drift.left)].filter(Boolean));
  show(box);
}

function moves(group) {
  return [group.joined ? `${group.joined} joined` : "", group.left ? `${group.left} left` : ""]
    .filter(Boolean).join(", ");
}

// Each finding with what Send would do about it (the send check's policy, one table for both),
// and the send check's own findings (a large audience, the per-message limit) beside them.
function withSendCheck(report) {
  const check = report.send_check;
  if (!check) return report.findings;
  const key = (f) => `${f.code}\n${f.message}`;
  const fired = new Map(check.findings.map((f) => [key(f), f]));
  const own = report.findings.map((f) => ({ ...f, ...(fired.get(key(f)) ? {
    rule: fired.get(key(f)).rule, action: fired.get(key(f)).action } : {}) }));
  const known = new Set(report.findings.map(key));
  return [...own, ...check.findings.filter((f) => !known.has(key(f)))];
}

function banner(report) {
  const box = $("banner");
  if (report.complete) {
    show(box, false);
    return;
  }
  const slow = throttled(report.findings);
  box.className = `banner ${slow ? "banner-throttled" : "banner-incomplete"}`;
  box.dataset.kind = slow ? "throttled" : "incomplete";
  box.replaceChildren(
    el("strong", { text: slow ? "Exchange is throttling us." : "Count incomplete." }),
    " ",
    slow
      ? "Some lists could not be expanded because Exchange asked Rollcall to slow down, so the "
        + "real number may be higher. Wait a minute and try again."
      : "Some lists could not be fully expanded, so the real number may be higher. See Problems "
        + "below.",
    " ",
    el("button", { type: "button", class: "link", text: "Try again", onclick: () => again() }));
  show(box);
}

function difference(report) {
  const line = $("difference");
  if (report.expected === null || report.expected === undefined) {
    show(line, false);
    return;
  }
  const d = report.difference;
  const n = (v) => v.toLocaleString("en-US");
  const than = fromHistory(report) ? `the last count (${n(report.expected)})`
    : `the ${n(report.expected)} you expected`;
  line.className = `difference ${d === 0 ? "same" : "off"}`;
  const same = fromHistory(report) ? "Same as the last count."
    : `Exactly the ${n(report.expected)} you expected.`;
  const sign = d > 0 ? "+" : "−";
  line.textContent = d === 0 ? same
    : `${n(Math.abs(d))} ${d > 0 ? "more" : "fewer"} than ${than} (${sign}${n(Math.abs(d))}).`;
  show(line);
}

async function copyReport() {
  if (!state.report) return;
  const subject = state.item ? await readSubject(state.item) : "(pasted in a browser, no message)";
  const report = { ...state.report, findings: withSendCheck(state.report) };
  const text = supportReport({ report, recipients: state.recipients, subject });
  const status = $("copied");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied. Paste it into your ticket.";
    return;
  } catch {
    // Outlook's frames may not grant the Clipboard API; a selected textarea still copies.
  }
  const area = $("copy-fallback");
  area.value = text;
  show(area);
  area.select();
  const copied = document.execCommand && document.execCommand("copy");
  status.textContent = copied ? "Copied. Paste it into your ticket."
    : "Select the text below and copy it.";
}

start();
