// Bounce-backs in the sender's send panel (GET /api/sends/ID/bounces): the send's bounce rate
// and its warning while it goes, what Rollcall says when it paused the send itself for bounces,
// and a "Bounce-backs (N)" disclosure listing each one in words. A hard bounce whose address
// sits in Rollcall lists offers, per list, the three fixes (bouncefixes.js): correct the
// address, remove it, mark it opted out. The list is asked for every POLL_MS while the
// disclosure is open, and for LATE_MS after the send is done (bounce-backs come minutes
// later), never while the pane is hidden.

import { sendBounces } from "./api.js";
import { fixRow, KNOWN_FIXES } from "./bouncefixes.js";
import { dismissConfirmation } from "./confirm.js";
import { $, el, show } from "./dom.js";
import { level } from "./relays.js";
import { clock, count, keyed, refill, setText, trouble } from "./words.js";

const POLL_MS = 5000;
const LATE_MS = 120_000;
export const PAUSED_BY_ROLLCALL = "rollcall"; // sending/bounce_rate.py PAUSED_BY

// Each kind in words; the colour of a kind is never the only way it is said.
export const KINDS = {
  hard: "address does not exist",
  policy: "refused as policy/spam",
  soft: "temporary (mailbox full, or the server busy): it may get through later",
  delayed: "delayed: the receiving side is still trying (not a bounce)",
  autoreply: "an automatic reply, such as out of office (not a bounce)",
  unknown: "a bounce-back Rollcall could not read",
};

const b = {
  wired: false,
  id: null,
  summary: null,
  reports: null, // the last list the server gave, newest first
  doneAt: null, // when the send was first seen done: the late window starts
  timer: null,
  busy: false,
  again: false,
  optedOut: new Set(), // addresses opted out here: their fixes are done with
  onLate: null, // asks send.js for the summary again (a late bounce changes its numbers)
};

const quoted = (text) => `\u201c${text}\u201d`;
const sentence = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");
const final = (summary) => ["done", "cancelled"].includes(summary?.status);

// send.js calls this with every summary it shows; `onLate()` fetches the summary once more.
export function showBounces(summary, onLate) {
  wire();
  b.onLate = onLate;
  if (b.id !== summary.id) reset(summary.id);
  b.summary = summary;
  rate(summary);
  if (final(summary) && b.doneAt === null) {
    b.doneAt = Date.now();
    schedule(0); // what came back already, then every POLL_MS for LATE_MS
  }
  label();
}

function reset(id) {
  clearTimeout(b.timer);
  Object.assign(b, { id, reports: null, doneAt: null, timer: null, again: false });
  b.optedOut.clear();
  $("send-bounces-list").replaceChildren();
  setText($("send-bounces-said"), "");
  close();
}

function wire() {
  if (b.wired) return;
  b.wired = true;
  $("send-bounces-open").addEventListener("click", () => (isOpen() ? close() : open()));
  document.addEventListener("visibilitychange", () => (document.hidden
    ? clearTimeout(b.timer) : schedule(0)));
}

// --- The bounce rate, its warning, and a send Rollcall paused itself

function rate(summary) {
  const box = $("send-bounce");
  const c = summary.counts || {};
  const tried = (c.sent || 0) + (c.failed || 0) + (c.bounced || 0);
  const bad = (c.failed || 0) + (c.bounced || 0);
  const selfPaused = summary.status === "paused" && summary.paused?.by === PAUSED_BY_ROLLCALL;
  const warning = selfPaused ? summary.paused.reason || summary.bounce_warning
    : summary.bounce_warning;
  const known = summary.bounce_rate !== null && summary.bounce_rate !== undefined;
  // Whole percent, as the server's own words say it ("bounce rate 14% is ...").
  const line = known ? `Bounce rate: ${Math.round(summary.bounce_rate * 100)}% (${bad
    .toLocaleString("en-US")} of the ${count(tried, "message")} tried bounced or were `
    + "refused)." : "";
  // A pause's reason is the rate when it paused; the line above is the rate now.
  const said = selfPaused ? `Why it paused: ${warning}.` : `${sentence(warning)}.`;
  const key = [line, warning, selfPaused];
  refill(box, key, () => [
    line ? el("p", { class: "send-bounce-rate", text: line }) : null,
    warning ? level(selfPaused ? "error" : "warning", said, { "data-part": "bounce-warning" })
      : null,
    selfPaused ? el("p", { class: "hint", "data-part": "bounce-advice", text: "Resume if you "
      + "know why (an old list, say): Rollcall does not pause it for bounces again. Cancel "
      + "stops the rest; the messages sent stay sent." }) : null,
  ]);
  show(box, Boolean(line || warning));
}

// The headline of a send Rollcall paused itself (send.js shows it), on the sender's clock.
export function selfPausedWords(summary) {
  if (summary.status !== "paused" || summary.paused?.by !== PAUSED_BY_ROLLCALL) return null;
  const at = clock(summary.paused.at);
  return `Paused by Rollcall itself${at ? ` at ${at}` : ""}: too many of its messages bounced `
    + "or were refused. Nothing goes out until you resume or cancel it.";
}

// --- The disclosure

const isOpen = () => $("send-bounces-open").getAttribute("aria-expanded") === "true";

function label() {
  const known = b.reports ? b.reports.length : 0;
  const n = Math.max(known, b.summary?.counts?.bounced || 0);
  setText($("send-bounces-open"), `Bounce-backs (${n.toLocaleString("en-US")})`);
  show($("send-bounces"), n > 0);
}

function open() {
  $("send-bounces-open").setAttribute("aria-expanded", "true");
  const list = $("send-bounces-list");
  if (!b.reports) list.replaceChildren(el("p", { class: "hint", text: "Asking Rollcall\u2026" }));
  else draw();
  show(list);
  schedule(0);
}

function close() {
  const list = $("send-bounces-list");
  dismissConfirmation(list);
  $("send-bounces-open").setAttribute("aria-expanded", "false");
  show(list, false);
  if (!late()) clearTimeout(b.timer);
}

const late = () => b.doneAt !== null && Date.now() - b.doneAt < LATE_MS;

function schedule(ms = POLL_MS) {
  clearTimeout(b.timer);
  b.timer = null;
  if (b.id === null || document.hidden || !(isOpen() || late())) return;
  b.timer = setTimeout(load, ms);
}

// One request at a time; one more once it is in when something asked meanwhile (a fix).
async function load() {
  b.timer = null;
  if (b.busy) {
    b.again = true;
    return;
  }
  b.busy = true;
  const id = b.id;
  let failed = null;
  try {
    do {
      b.again = false;
      const { bounces } = await sendBounces(id);
      if (id !== b.id) return;
      const before = b.reports;
      b.reports = bounces;
      // A bounce that came after the last summary changes the send's numbers: ask for them.
      if (before && bounces.length !== before.length && final(b.summary)) b.onLate?.();
      label();
      if (isOpen()) draw();
    } while (b.again);
  } catch (e) {
    failed = e;
  } finally {
    b.busy = false;
  }
  if (failed && isOpen()) lag(failed);
  else $("send-bounces-list").querySelector(".send-bounces-lag")?.remove();
  if (id === b.id) schedule();
}

function lag(error) {
  const list = $("send-bounces-list");
  const said = el("p", { class: "hint send-bounces-lag", role: "status",
    text: `Couldn't ask for the bounce-backs just now: ${trouble(error)}` });
  const before = list.querySelector(".send-bounces-lag");
  if (before) before.replaceWith(said);
  else list.prepend(said);
}

function draw() {
  const list = $("send-bounces-list");
  let items = list.querySelector("ul.bounces");
  let hint = list.querySelector(".send-bounces-hint");
  if (!items) {
    hint = el("p", { class: "hint send-bounces-hint" });
    items = el("ul", { class: "bounces" });
    list.replaceChildren(hint, items);
  }
  setText(hint, b.reports.length
    ? "Bounce-backs come from the receiving side, often minutes after the send; this list is "
      + "checked every few seconds while it is open."
    : "None yet. Bounce-backs come from the receiving side, often minutes after the send.");
  keyed(items, b.reports, (r) => r.id, item, $("send-bounces-open"));
}

function item(first) {
  const head = el("p", { class: "bounce-head" });
  const facts = el("dl", { class: "facts bounce-facts" });
  const fixes = el("div", { class: "bounce-fixes" });
  const block = el("li", { class: "bounce", "data-kind": first.kind }, head, facts, fixes);
  block.update = (r) => {
    block.dataset.kind = r.kind;
    block.dataset.address = r.address || "";
    refill(head, [r.address, r.kind], () => [
      el("bdi", { class: "bounce-address", text: r.address || "(no address in the report)" }),
      ": ", el("span", { class: "bounce-kind", text: KINDS[r.kind] || KINDS.unknown })]);
    const rows = bounceFacts(r);
    refill(facts, rows, () => rows.flatMap(([k, v, part]) => [
      el("dt", { text: k }), el("dd", { text: v, "data-part": part })]));
    const offered = r.address && !b.optedOut.has(r.address.toLowerCase())
      ? (r.fixes || []).filter((f) => KNOWN_FIXES.includes(f)) : [];
    const said = r.address && b.optedOut.has(r.address.toLowerCase())
      ? `Opted out here: no Rollcall list sends to ${r.address} again.` : "";
    refill(fixes, [offered.length ? r.lists : [], offered, said], () => {
      dismissConfirmation(fixes);
      return [said ? el("p", { class: "hint", text: said }) : null,
        ...(offered.length ? r.lists : []).map((name) => fixRow(r, name, offered, fixed))];
    });
  };
  return block;
}

// [name, value, data-part]; what the report does not say is left out, never "null".
function bounceFacts(r) {
  const rows = [];
  if (r.status || r.meaning) {
    rows.push(["Status", [r.status, r.meaning].filter(Boolean).join(": "), "status"]);
  }
  if (r.diagnostic) rows.push(["Their server said", quoted(r.diagnostic), "diagnostic"]);
  if (r.remote_mta) rows.push(["Refused by", r.remote_mta, "remote-mta"]);
  const at = clock(r.received_at);
  if (at) rows.push(["Came back", at, "received"]);
  return rows;
}

// A fix was done: its words take the focus (the row its buttons were in goes), and the list is
// asked again (the address has left the list, or is opted out).
function fixed(said, optedOut) {
  if (optedOut) b.optedOut.add(optedOut.toLowerCase());
  const line = $("send-bounces-said");
  setText(line, said);
  line.focus();
  load();
}
