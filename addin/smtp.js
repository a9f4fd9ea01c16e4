// Server information's "SMTP service" section (GET /api/admin/status's `smtp`): the verdict
// first, in its level's words; the service (running or stopped, by whom, when, why) with STOP,
// START and EMPTY; each relay (relays.js); the queue; each send still going, with Pause,
// Resume, Cancel, Retry now and Cancel waiting. Every control asks first (confirm.js) and the
// section is drawn again from the answer. Built once, then updated in place on each refresh
// (admin.js, every 5 s): unchanged text is not written again and focused buttons stay put.

import { queueControl, sendControl } from "./api.js";
import { PAUSED_BY_ROLLCALL } from "./bounces.js";
import { ask, busy, isBusy } from "./confirm.js";
import { el, show } from "./dom.js";
import { level, syncRelays } from "./relays.js";
import { age, clock, count, eta, keyed, messages, percent, perMinute, refill, setText,
  trouble } from "./words.js";

const STATES = ["sent", "failed", "bounced", "cancelled", "suppressed"];

// `refresh()` asks for the whole status again; `fresh()` says a control's answer was just drawn
// (the next regular refresh can wait its full period).
export function smtpSection(root, { mailbox, refresh, fresh = () => {} }) {
  let shown = 0; // the ticket of what is on screen: an older answer never overwrites it
  let issued = 0;
  let last = null;
  let saidFor = null; // the service's state serviceSaid spoke of: cleared once it changes
  const ticket = () => ++issued;

  const heading = (text) => el("h4", { class: "smtp-heading", tabindex: "-1", text });
  const verdict = el("div", { class: "smtp-verdict", role: "status", "aria-live": "polite",
    "aria-atomic": "true" });
  const serviceFacts = el("dl", { class: "facts smtp-service" });
  const toggle = el("button", { type: "button", class: "secondary", "data-action": "stop" });
  const empty = el("button", { type: "button", class: "secondary", "data-action": "empty",
    text: "Empty the queue" });
  const serviceSaid = el("p", { class: "control-said", role: "status", "aria-live": "polite" });
  const serviceProblem = el("p", { class: "control-problem", role: "alert", hidden: true });
  const serviceConfirm = el("div", { class: "confirm-host" });
  const relays = el("div", { class: "relays" });
  const queueFacts = el("dl", { class: "facts smtp-queue" });
  const sendsTitle = heading("Sends in progress");
  const sendsSaid = el("p", { class: "control-said", role: "status", "aria-live": "polite" });
  const sends = el("div", { class: "smtp-sends" });
  const none = el("p", { class: "hint", text: "No sends in progress.", hidden: true });
  const serviceTitle = heading("Service");
  const parts = el("div", { class: "smtp-parts" },
    serviceTitle, serviceFacts, el("div", { class: "row" }, toggle, empty), serviceSaid,
    serviceProblem, serviceConfirm,
    heading("Relays"), relays,
    heading("Queue"), queueFacts,
    sendsTitle, sendsSaid, none, sends);
  root.replaceChildren(verdict, parts);

  // STOP or START (one button: its label follows the service, so the focus stays on it) and
  // EMPTY; each answers the section, drawn at once.
  toggle.addEventListener("click", () => {
    const stopping = toggle.dataset.action === "stop";
    const waiting = last?.queue?.waiting || 0;
    control(toggle, serviceConfirm, serviceProblem, {
      title: stopping ? "Stop the SMTP service?" : "Start the SMTP service?",
      text: stopping ? "Workers finish what they hold and send nothing more until started. "
        + "Waiting messages stay queued."
        : `Workers start sending again: ${count(waiting, "waiting message")} go out.`,
      label: stopping ? "Stopping\u2026" : "Starting\u2026",
    }, async (reason) => {
      const t = ticket();
      drawn(await queueControl(stopping ? "stop" : "start", { reason }), t);
      setText(serviceSaid, stopping ? "Stopped: nothing more is sent until it is started."
        : "Started: the workers are sending again.");
      saidFor = stopping ? "stopped" : "running";
    });
  });
  empty.addEventListener("click", () => {
    const waiting = last?.queue?.waiting || 0;
    control(empty, serviceConfirm, serviceProblem, {
      title: `Cancel all ${count(waiting, "waiting message")}?`,
      text: "Every send's queued and deferred messages are cancelled. Sent ones stay sent; "
        + "nothing is deleted (they show as cancelled).",
      label: "Emptying\u2026",
    }, async (reason) => {
      const t = ticket();
      const answer = await queueControl("empty", { reason });
      drawn(answer.smtp, t);
      setText(serviceSaid, `Cancelled ${messages(answer.cancelled)}; sent ones stay sent.`);
      saidFor = answer.smtp?.service?.state || null;
    }, () => toggle);
  });

  // Asks, then runs `act(reason)` with the button busy; a failure said beside the button.
  async function control(button, host, problem, { title, text, label }, act, after = null) {
    if (isBusy(button)) return;
    const answer = await ask({ host, opener: button, title, text });
    if (!answer) return;
    show(problem, false);
    busy(button, label);
    try {
      await act(answer.reason);
    } catch (e) {
      problem.textContent = trouble(e);
      show(problem);
    } finally {
      busy(button, null);
      if (last) update(last, shown); // its label follows the state the answer brought
      // A button the new state hides hands the focus on rather than dropping it.
      if (button.hidden && [document.body, button].includes(document.activeElement)) {
        (after?.() || serviceTitle).focus();
      }
    }
  }

  function sendBlock(first) {
    const subject = el("h5", { class: "send-subject" });
    const from = el("p", { class: "hint send-from" });
    const state = el("p", { class: "send-state" });
    const bar = el("progress", { max: "1", value: "0" });
    const done = el("p", { class: "send-done" });
    const facts = el("dl", { class: "facts send-facts" });
    const hold = el("button", { type: "button", class: "secondary", "data-action": "pause" });
    const cancel = el("button", { type: "button", class: "secondary", text: "Cancel send",
      "data-action": "cancel" });
    const retry = el("button", { type: "button", class: "secondary", text: "Retry now",
      "data-action": "retry" });
    const drop = el("button", { type: "button", class: "secondary", text: "Cancel waiting",
      "data-action": "empty" });
    const problem = el("p", { class: "control-problem", role: "alert", hidden: true });
    const host = el("div", { class: "confirm-host" });
    const block = el("section", { class: "smtp-send", "data-send": String(first.id) },
      subject, from, state, bar, done, facts,
      el("div", { class: "row" }, hold, cancel, retry, drop), problem, host);
    let now = first;
    const quoted = () => `\u201c${now.subject}\u201d`;
    const act = (button, words, action, said) => control(button, host, problem, words,
      async (reason) => {
        const t = ticket();
        const answer = action === "empty"
          ? await queueControl("empty", { reason, sendId: now.id })
          : await sendControl(now.id, action, reason);
        setText(sendsSaid, said(action === "empty" ? answer.cancelled : answer.changed));
        if (action === "empty") drawn(answer.smtp, t);
        else refresh(); // the answer is the send's summary: the section is asked again
      });
    hold.addEventListener("click", () => (hold.dataset.action === "pause"
      ? act(hold, { title: `Pause ${quoted()}?`, label: "Pausing\u2026",
        text: "Nothing more of this send goes out until it is resumed. Sent ones stay sent." },
      "pause", () => `Paused ${quoted()}.`)
      : act(hold, { title: `Resume ${quoted()}?`, label: "Resuming\u2026",
        text: `Its ${count(now.remaining, "waiting message")} go out again.` },
      "resume", () => `Resumed ${quoted()}.`)));
    cancel.addEventListener("click", () => act(cancel, { title: `Cancel ${quoted()}?`,
      label: "Cancelling\u2026",
      text: `Its ${count(now.remaining, "waiting message")} are not sent, and it cannot be `
        + "resumed. Sent ones stay sent." },
    "cancel", (n) => `Cancelled ${quoted()}: ${messages(n || 0)} will not be sent.`));
    retry.addEventListener("click", () => act(retry, { title: `Retry ${quoted()} now?`,
      label: "Retrying\u2026",
      text: "Deferred messages are tried again now, and those that failed only because the "
        + "relay kept putting them off are queued again." },
    "retry", (n) => (n ? `${messages(n)} of ${quoted()} go again now.`
      : `Nothing of ${quoted()} was waiting to be retried.`)));
    drop.addEventListener("click", () => act(drop, {
      title: `Cancel ${count(now.remaining, "waiting message")}?`, label: "Cancelling\u2026",
      text: `Of ${quoted()}. Sent ones stay sent; nothing is deleted (they show as `
        + "cancelled)." },
    "empty", (n) => `Cancelled ${messages(n || 0)} of ${quoted()}; sent ones stay sent.`));

    block.update = (s) => {
      now = s;
      setText(subject, s.subject + (s.test ? " (a test)" : ""));
      setText(from, `From ${s.sender}`);
      setText(state, sendState(s));
      bar.max = Math.max(s.to_send, 1);
      bar.value = s.done;
      setText(done, `${s.done.toLocaleString("en-US")} of ${messages(s.to_send)} handled `
        + `(${percent(s.progress || 0)})`);
      refill(facts, sendFacts(s), () => sendFacts(s).flatMap(([k, v]) => [
        el("dt", { text: k }), el("dd", { text: v })]));
      if (!isBusy(hold)) {
        const paused = s.status === "paused";
        hold.dataset.action = paused ? "resume" : "pause";
        setText(hold, paused ? "Resume" : "Pause");
      }
      show(drop, s.remaining > 0);
    };
    return block;
  }

  function drawn(smtp, t) {
    update(smtp, t);
    fresh();
  }

  function update(smtp, t) {
    if (!smtp || t < shown) return;
    shown = t;
    last = smtp;
    const lvl = ["ok", "warning", "error"].includes(smtp.verdict?.level) ? smtp.verdict.level
      : "warning";
    refill(verdict, [lvl, smtp.verdict?.text], () => level(lvl, smtp.verdict?.text || ""));
    root.dataset.level = lvl;
    show(parts, smtp.ok !== false && smtp.configured !== false);
    if (smtp.ok === false || smtp.configured === false) return;
    const svc = smtp.service || {};
    const running = svc.state !== "stopped";
    if (saidFor && saidFor !== svc.state) { // someone else changed it since: old news
      setText(serviceSaid, "");
      saidFor = null;
    }
    refill(serviceFacts, [svc], () => [el("dt", { text: "State" }),
      el("dd", { "data-fact": "service", text: serviceWords(svc) })]);
    if (!isBusy(toggle)) {
      toggle.dataset.action = running ? "stop" : "start";
      setText(toggle, running ? "Stop sending" : "Start sending");
    }
    show(empty, (smtp.queue?.waiting || 0) > 0 || isBusy(empty));
    syncRelays(relays, smtp.relays || [], mailbox, serviceTitle);
    refill(queueFacts, queueFactsOf(smtp.queue), () => queueFactsOf(smtp.queue)
      .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    keyed(sends, smtp.sends || [], (s) => s.id, sendBlock, sendsTitle);
    show(none, !(smtp.sends || []).length);
  }

  return { update, ticket };
}

function serviceWords(svc) {
  const who = svc.changed_by ? ` by ${svc.changed_by}` : "";
  const when = svc.changed_at ? ` at ${clock(svc.changed_at)}` : "";
  const why = svc.reason ? ` (${svc.reason})` : "";
  if (svc.state === "stopped") {
    return `Stopped${who}${when}${why}: nothing is sent until it is started.`;
  }
  return svc.changed_by ? `Running: started${who}${when}${why}.` : "Running.";
}

function queueFactsOf(queue = {}) {
  const p = queue.pending || {};
  const rows = [["Waiting", `${messages(queue.waiting)}: ${(p.queued || 0).toLocaleString(
    "en-US")} queued, ${(p.sending || 0).toLocaleString("en-US")} being sent, `
    + `${(p.deferred || 0).toLocaleString("en-US")} deferred`]];
  if (queue.oldest_pending_s !== null && queue.oldest_pending_s !== undefined) {
    rows.push(["Oldest waiting", age(queue.oldest_pending_s)]);
  }
  const recent = queue.recent || {};
  const said = STATES.filter((k) => recent[k]).map((k) => `${recent[k].toLocaleString(
    "en-US")} ${k}`);
  rows.push([`Last ${queue.recent_hours || 24} hours`, said.length
    ? `${said.join(", ")} (recipients)` : "nothing sent"]);
  return rows;
}

function sendState(s) {
  if (s.status === "paused") {
    const p = s.paused || {};
    const by = p.by === PAUSED_BY_ROLLCALL ? "Rollcall itself, for bounces" : p.by;
    return `Paused${by ? ` by ${by}` : ""}${p.at ? ` at ${clock(p.at)}` : ""}`
      + `${p.reason ? ` (${p.reason})` : ""}: nothing goes out until it is resumed.`;
  }
  if (s.status === "stopped") return "Waiting: the SMTP service is stopped.";
  if (s.status === "cancelled") return "Cancelled: the messages in flight finish, no more go.";
  if (s.waiting) return s.waiting;
  return s.status === "queued" ? "Queued: waiting for a relay." : "Sending.";
}

function sendFacts(s) {
  const rows = [["Deferred", messages(s.deferred)], ["Failed", messages(s.failed)],
    ["Bounced", messages(s.bounced)],
    ["Bounce rate", s.bounce_rate === null || s.bounce_rate === undefined
      ? "none tried yet" : percent(s.bounce_rate)],
    ["Pace", `${perMinute(s.per_minute)} (last 5 min)`]];
  const held = ["paused", "stopped", "cancelled"].includes(s.status);
  rows.push(["Time left", held ? "on hold" : s.eta_s === null || s.eta_s === undefined
    ? "not known: nothing went in the last 5 min" : eta(s.eta_s)]);
  return rows;
}
