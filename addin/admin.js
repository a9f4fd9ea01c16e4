// Who is signed in, and for Rollcall's administrators the "Server information" view
// (GET /api/admin/status): Rollcall, Exchange, the database, the cache, sign-in, the SMTP service
// (smtp.js, relays.js), bounces and the suppression list (suppressions.js) and tracing a message
// (trace.js). Opening the card asks for the whole status (Exchange is probed); while it is open
// and the pane visible, the SMTP section alone (GET /api/admin/smtp, cheap) is asked again every
// REFRESH_MS. Failures here never disturb the count: the identity line just stays empty.

import { me, serverStatus, smtpStatus } from "./api.js";
import { dismissConfirmation } from "./confirm.js";
import { $, el, plural, show } from "./dom.js";
import { smtpSection } from "./smtp.js";
import { bouncesPart } from "./suppressions.js";
import { wireTrace } from "./trace.js";
import { refill, setText, trouble } from "./words.js";

const REFRESH_MS = 5000;

let shown = false;
let mailbox = null;
let smtp = null; // the SMTP section, built on the first answer
let bounces = null; // the Bounces part, built when the card first opens
// `full`: the next request is the whole status (the card was opened while one was in flight).
const loop = { timer: null, busy: false, again: false, full: false };

// Safe to call again (after a sign-in that failed at first): it acts once.
export async function showAdmin() {
  if (shown) return;
  let who;
  try {
    who = await me();
  } catch {
    return; // not signed in yet: the count's own error says so
  }
  if (shown) return;
  shown = true;
  $("who").textContent = who.mailbox;
  $("who").title = who.name;
  show($("identity"));
  if (!who.admin) return;
  mailbox = who.mailbox;
  const open = $("server-open");
  open.addEventListener("click", toggle);
  document.addEventListener("visibilitychange", () => (document.hidden ? pause() : refresh()));
  show(open);
}

const isOpen = () => !$("server-info").hidden;

function toggle() {
  const card = $("server-info");
  const open = $("server-open");
  if (isOpen()) {
    dismissConfirmation(card);
    show(card, false);
    open.setAttribute("aria-expanded", "false");
    pause();
    return;
  }
  open.setAttribute("aria-expanded", "true");
  const body = $("server-body");
  if (!body.children.length) {
    body.replaceChildren(el("p", { class: "hint", text: "Asking the server\u2026" }));
  }
  wireTrace();
  show($("trace"));
  bounces ??= bouncesPart($("bounces-body"));
  show($("bounces"));
  show(card);
  refresh(true);
}

function pause() {
  clearTimeout(loop.timer);
  loop.timer = null;
}

// A control's answer was just drawn: the next refresh is a full period from now.
function rest() {
  if (loop.busy || !isOpen() || document.hidden) return;
  pause();
  loop.timer = setTimeout(refresh, REFRESH_MS);
}

// One request at a time; asked again (a control changed something) once the one in flight is in.
// `full` (the card opening): the whole status; otherwise the SMTP section alone, unless there is
// no section on screen to update yet.
async function refresh(full = false) {
  pause();
  if (!isOpen() || document.hidden) return;
  if (loop.busy) {
    loop.again = true;
    loop.full ||= full === true;
    return;
  }
  loop.busy = true;
  loop.again = false;
  const whole = full === true || loop.full || !smtp;
  loop.full = false;
  const ticket = smtp?.ticket();
  bounces?.refresh(whole); // its own pace (every 30 s), at once when the card opens
  try {
    if (whole) {
      const status = await serverStatus();
      if (isOpen()) render(status, ticket);
    } else {
      const section = await smtpStatus();
      if (isOpen()) {
        $("server-body").querySelector(".server-lag")?.remove();
        smtp.update(section, ticket);
      }
    }
  } catch (e) {
    lag(e);
  } finally {
    loop.busy = false;
    if (isOpen() && !document.hidden) {
      loop.timer = setTimeout(refresh, loop.again ? 0 : REFRESH_MS);
    }
  }
}

// Refreshing failed: what was shown stays, with a line saying it is not current.
function lag(error) {
  const body = $("server-body");
  const said = `Couldn't read the status: ${trouble(error)}`;
  if (!body.querySelector("dl")) {
    body.replaceChildren(el("p", { class: "hint server-lag", text: said }));
    return;
  }
  const line = body.querySelector(".server-lag") || body.appendChild(
    el("p", { class: "hint server-lag", role: "status" }));
  setText(line, said);
}

// How Rollcall acts in Exchange as the person counting (README: "Acting in Exchange").
const ACTING = {
  basic: "; a service account impersonates each sender",
  ntlm: "; a service account impersonates each sender",
  oauth: "; each sender's own token (on behalf of)",
  obo: "; each sender's own token (on behalf of)",
  app: "; Rollcall's own app permissions, for the sender",
};

// Microsoft Graph's part: the endpoint, what is granted against what each feature needs, and
// what Graph cannot see here (README: "Exchange Online through Microsoft Graph").
function graphRows(exchange) {
  if (exchange.directory !== "graph") return [];
  const rows = [["Directory", `Microsoft Graph at ${exchange.endpoint ?? "(not set)"}`]];
  const unread = exchange.permissions_error ?? exchange.details_error;
  if (unread) {
    rows.push(["Permissions", `can't be read: ${unread}`]);
    return rows;
  }
  const needed = exchange.needed ?? [];
  const lacking = needed.filter((p) => !p.granted);
  const required = needed.filter((p) => !p.optional);
  rows.push(["Permissions", needed.length === 0 ? "unknown"
    : lacking.length === 0 ? `all ${needed.length} granted`
    : lacking.every((p) => p.optional) && required.length
    ? `all ${required.length} required granted; ` + lacking.map((p) => `${p.name} missing `
      + `(optional, for ${p.for})`).join("; ")
    : lacking.map((p) => `${p.name} missing (${p.optional ? "optional, " : "needed "}`
      + `for ${p.for})`).join("; ")]);
  // How each kind of list is read here, limited or not ("Hidden membership ...: read." too).
  (exchange.limits ?? []).forEach((text, i) => rows.push([i === 0 ? "What Graph sees" : "",
    text]));
  return rows;
}

function render(status, ticket) {
  const { rollcall, exchange, database, cache, identity } = status;
  const rows = [
    ["Rollcall", rollcall.version],
    ["Exchange" + (exchange.directory === "graph" ? " Online" : ""), (exchange.busy ? `reachable but busy: ${exchange.error}`
      : exchange.reachable
      ? `reachable, ${exchange.directory === "graph" ? "" : "build "}`
        + `${exchange.version ?? "unknown"} (${exchange.elapsed_ms} ms)`
      : `not reachable: ${exchange.error ?? "unknown error"}`) + (ACTING[exchange.auth] ?? "")],
    ...graphRows(exchange),
    ["Database", database.ok ? `${database.backend}, schema ${database.revision ?? "none"}`
      : `failing: ${database.error}`],
    ["Cache", `${cache.entries} list expansions, kept ${Math.round(cache.ttl_s)} s`
      + (cache.shared?.backend === "redis"
        ? (cache.shared.ok ? `; shared through Redis at ${cache.shared.where}`
          : `; ${cache.warning}`)
        : "; this process's own")],
  ];
  if (exchange.internal_domains) {
    // Recipients elsewhere are external; an unknown address inside these is "not found".
    rows.push(["Internal domains", (exchange.internal_domains.join(", ") || "none")
      + (exchange.internal_domains_source === "default"
        ? " (from the mailboxes Rollcall acts as; set ROLLCALL_INTERNAL_DOMAINS to choose)"
        : "")]);
  }
  if (identity) {
    rows.push(["Sign-in",
      `${identity.issuer || "not configured"} (${plural(identity.keys, "signing key")})`]);
  }
  const body = $("server-body");
  body.querySelector(".server-lag")?.remove();
  if (!body.querySelector("dl")) body.replaceChildren(el("dl", { class: "facts" }));
  // Exchange's probe time changes on every refresh; the list is rewritten only when it does.
  refill(body.querySelector("dl"), rows, () => rows.flatMap(([name, value]) => [
    el("dt", { text: name }), el("dd", { text: value, "data-fact": name.toLowerCase() })]));
  const ok = exchange.reachable && database.ok;
  $("server-info").dataset.health = ok ? "ok" : "degraded";
  if (status.smtp) {
    show($("smtp"));
    smtp ??= smtpSection($("smtp-body"), { mailbox, refresh, fresh: rest });
    smtp.update(status.smtp, ticket ?? smtp.ticket());
  } else {
    show($("smtp"), false);
  }
}
