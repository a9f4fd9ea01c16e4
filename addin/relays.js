// Server information: one block per SMTP relay (its health as the workers last saw it, its
// traffic, its budget, its last health check) and its three tools: Test connection (nothing
// sent), Send a test email (to the administrator's own mailbox) and Check health (open relay,
// blacklists, SPF, DKIM, DMARC). A block is built once and updated in place every refresh:
// its buttons keep the focus and a test's result stays until the next test.

import { relayHealth, relayTest } from "./api.js";
import { busy, isBusy } from "./confirm.js";
import { el, show } from "./dom.js";
import { clock, count, keyed, perMinute, refill, setText, trouble } from "./words.js";

const NAMES = { primary: "Primary relay", fallback: "Fallback relay" };
const STEPS = { connect: "Connect", ehlo: "Greeting (EHLO)", helo: "Greeting (HELO)",
  starttls: "Encryption (STARTTLS)", auth: "Sign-in (AUTH)", mail: "Sender (MAIL FROM)",
  rcpt: "Recipient (RCPT TO)", data: "Message (DATA)", rset: "Reset (RSET)",
  quit: "Goodbye (QUIT)" };
const LEVEL_WORDS = { ok: "OK", warning: "Warning", error: "Problem" };
const ICONS = { ok: "\u2713", warning: "\u26a0", error: "\u2715" };

// The level as a word and an icon, never colour alone.
export function level(name, text, props = {}) {
  return el("p", { class: "level", "data-level": name, ...props },
    el("span", { class: "level-icon", "aria-hidden": "true", text: ICONS[name] }),
    el("span", { class: "level-word", text: `${LEVEL_WORDS[name]}:` }), " ",
    el("span", { class: "level-text", text }));
}

// Keeps one block per relay in `box`, in the order the server lists them.
export function syncRelays(box, relays, mailbox, fallback) {
  keyed(box, relays, (r) => r.name, (r) => relayBlock(r.name, mailbox), fallback);
  if (!relays.length) box.append(el("p", { class: "hint", text: "No relay is configured." }));
}

function relayBlock(name, mailbox) {
  const title = el("h4", { class: "relay-title" });
  const state = el("div", { class: "relay-state" });
  const facts = el("dl", { class: "facts relay-facts" });
  const result = el("div", { class: "relay-result" });
  // The outcome in one sentence for a screen reader; the steps are there to read at will.
  const said = el("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const problem = el("p", { class: "control-problem", role: "alert", hidden: true });
  const test = el("button", { type: "button", class: "secondary", text: "Test connection",
    "data-action": "test" });
  const mail = el("button", { type: "button", class: "secondary", text: "Send a test email",
    "data-action": "send-test", title: mailbox ? `One test message to ${mailbox}` : null });
  const health = el("button", { type: "button", class: "secondary", text: "Check health",
    "data-action": "health" });
  const block = el("section", { class: "relay", "data-relay": name },
    title, state, facts, el("div", { class: "row relay-tools" }, test, mailbox ? mail : null,
      health), problem, said, result);

  const run = async (button, label, request, render) => {
    if (isBusy(button)) return;
    show(problem, false);
    busy(button, label);
    said.textContent = "";
    try {
      const shown = render(await request());
      result.replaceChildren(shown);
      const verdict = shown.querySelector(".level");
      said.textContent = verdict ? `${verdict.querySelector(".level-word").textContent} `
        + verdict.querySelector(".level-text").textContent : "";
    } catch (e) {
      problem.textContent = trouble(e);
      show(problem);
    } finally {
      busy(button, null);
    }
  };
  test.addEventListener("click", () => run(test, "Testing\u2026", () => relayTest(name),
    (answer) => probe(answer, null)));
  mail.addEventListener("click", () => run(mail, "Sending\u2026", () => relayTest(name, mailbox),
    (answer) => probe(answer, mailbox)));
  health.addEventListener("click", () => run(health, "Checking\u2026", () => relayHealth(name),
    checks));

  block.update = (relay) => {
    setText(title, `${NAMES[relay.name] || relay.name} ${relay.label}`);
    refill(state, [relay.state, relay.reason, relay.until, relay.down_since],
      () => relayState(relay));
    refill(facts, relayFacts(relay), () => relayFacts(relay).flatMap(([k, v]) => [
      el("dt", { text: k }), el("dd", { text: v })]));
  };
  return block;
}

function relayState(relay) {
  const since = relay.down_since ? ` since ${clock(relay.down_since)}` : "";
  const again = relay.until ? `; tried again at ${clock(relay.until)}` : "";
  if (relay.state === "active") return level("ok", "Reachable: it takes mail.");
  if (relay.state === "unknown") {
    return el("p", { class: "level", "data-level": "none",
      text: "Not used yet: no message has gone through it." });
  }
  if (relay.state === "paused") {
    return level("error", `Paused${since}: it refuses Rollcall`
      + (relay.reason ? ` (${relay.reason})` : "") + again + ".");
  }
  return level("error", `Not reachable${since}` + (relay.reason ? ` (${relay.reason})` : "")
    + again + ".");
}

// [name, value] pairs; anything the server does not know yet is left out, never "null".
function relayFacts(relay) {
  const rows = [];
  if (relay.tls !== null && relay.tls !== undefined) {
    rows.push(["Encryption", relay.tls ? "TLS" : "none (plain text)"]);
  }
  if (relay.authenticated !== null && relay.authenticated !== undefined) {
    rows.push(["Signed in", relay.authenticated ? "yes" : "no (no sign-in set for it)"]);
  }
  rows.push(["Last delivery", relay.last_ok_at ? clock(relay.last_ok_at, { seconds: true })
    : "none yet"]);
  if (relay.last_error) {
    rows.push(["Last error", relay.last_error]);
    if (relay.reason) rows.push(["Meaning", relay.reason]);
  }
  rows.push(["Sending", `${perMinute(relay.per_minute_5m)} over 5 min, `
    + `${perMinute(relay.per_minute_60m)} over 60 min`]);
  rows.push(["Left this hour", `${count(relay.budget_hour, "recipient")} of `
    + `${(relay.limit_hour || 0).toLocaleString("en-US")}`]);
  const checked = relay.checks;
  if (checked && relay.checked_at) {
    const said = [checked.open_relay?.verdict, checked.dns?.verdict].filter(Boolean).join(" ");
    rows.push(["Health check", `${clock(relay.checked_at)}: ${said || "done"}`]);
  } else {
    rows.push(["Health check", "not run yet"]);
  }
  return rows;
}

// --- Test connection and Send a test email

function probe(answer, to) {
  const failed = answer.steps.find((s) => !s.ok);
  let verdict;
  if (answer.ok && answer.sent) {
    verdict = level("ok", `Test email sent to ${to}` + (answer.queue_id
      ? `: the relay queued it as ${answer.queue_id}.` : "."));
  } else if (answer.ok) {
    verdict = level("ok", "Every step passed; nothing was sent.");
  } else {
    verdict = level("error", `Failed at ${STEPS[answer.failed_step] || answer.failed_step}: `
      + (answer.meaning || failed?.text || "the relay stopped the conversation."));
  }
  return el("div", { class: "probe", "data-ok": String(answer.ok) },
    verdict,
    el("p", { class: "hint", text: `${to ? "Test email" : "Test connection"} to `
      + `${answer.label} at ${clock(answer.checked_at, { seconds: true })}`
      + (answer.tls ? ", encrypted (TLS)" : "") + (answer.authenticated ? ", signed in" : "")
      + "." }),
    steps(answer.steps, { highlight: true }));
}

// Each step with its time and the relay's own reply; a failing one marked and explained.
function steps(list, { highlight }) {
  return el("ol", { class: "steps" }, list.map((s) => {
    const bad = highlight && !s.ok;
    const reply = [s.code ? String(s.code) : "", s.text || ""].filter(Boolean).join(" ");
    return el("li", { class: "step", "data-step": s.name, "data-ok": String(s.ok) },
      el("span", { class: "step-head" },
        el("span", { class: "step-icon", "aria-hidden": "true", text: s.ok ? "\u2713" : "\u2715" }),
        el("span", { class: "step-name", text: STEPS[s.name] || s.name }),
        el("span", { class: "step-word", text: s.ok ? "ok" : (bad ? "failed" : "refused") }),
        el("span", { class: "step-time", text: `${(s.elapsed_ms || 0).toLocaleString("en-US")} ms` })),
      reply ? el("span", { class: "step-reply", text: reply }) : null,
      bad && s.meaning ? el("span", { class: "step-meaning", text: s.meaning }) : null);
  }));
}

// --- Check health

function checks(answer) {
  const open = answer.open_relay;
  const dns = answer.dns;
  const openLevel = open.open === true ? "error" : open.open === false ? "ok" : "warning";
  const listed = (dns.listings || []).map((x) => el("li", { text: `${x.zone}, ${x.address}: `
    + (x.listed === true ? `listed (${[x.answer, x.reason].filter(Boolean).join(", ")})`
      : x.listed === false ? "not listed" : `could not check (${x.error || "no answer"})`) }));
  const words = (part) => part?.words || "not checked";
  return el("div", { class: "health" },
    el("p", { class: "hint", text: `Checked at ${clock(answer.checked_at, { seconds: true })}`
      + (answer.checked_by ? ` by ${answer.checked_by}` : "") + "." }),
    el("h5", { text: "Open relay" }),
    level(openLevel, open.verdict, { "data-part": "open-relay" }),
    el("details", {}, el("summary", { text: "The self-test's steps" }),
      steps(open.steps || [], { highlight: false })),
    el("h5", { text: "Blacklists" }),
    el("p", { "data-part": "blacklists", text: dns.verdict }),
    listed.length ? el("ul", { class: "listings" }, listed) : null,
    el("h5", { text: "Sender authentication" }),
    el("dl", { class: "facts" },
      el("dt", { text: "SPF" }), el("dd", { "data-part": "spf", text: words(dns.spf) }),
      el("dt", { text: "DKIM" }), el("dd", { "data-part": "dkim", text: words(dns.dkim) }),
      el("dt", { text: "DMARC" }), el("dd", { "data-part": "dmarc", text: words(dns.dmarc) })),
    (dns.whitelist || []).length ? [
      el("h5", { text: "What recipients' IT teams should allow" }),
      el("ul", { class: "whitelist" }, dns.whitelist.map((line) => el("li", { text: line })))]
      : null);
}
