// Who is signed in, and for Rollcall's administrators the "Server information" view
// (GET /api/admin/status). Failures here never disturb the count: the line just stays empty.

import { me, serverStatus } from "./api.js";
import { $, el, plural, show } from "./dom.js";

let shown = false;

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
  const open = $("server-open");
  open.addEventListener("click", toggle);
  show(open);
}

async function toggle() {
  const card = $("server-info");
  const open = $("server-open");
  if (!card.hidden) {
    show(card, false);
    open.setAttribute("aria-expanded", "false");
    return;
  }
  open.setAttribute("aria-expanded", "true");
  const body = $("server-body");
  body.replaceChildren(el("p", { class: "hint", text: "Asking the server…" }));
  show(card);
  try {
    render(body, await serverStatus());
  } catch (e) {
    body.replaceChildren(el("p", { class: "hint", text: `Couldn't read the status: ${e.message}` }));
  }
}

// How Rollcall acts in Exchange as the person counting (README: "Acting in Exchange").
const ACTING = {
  basic: "; a service account impersonates each sender",
  ntlm: "; a service account impersonates each sender",
  oauth: "; each sender's own token (on behalf of)",
};

function render(body, status) {
  const { rollcall, exchange, database, cache, identity } = status;
  const rows = [
    ["Rollcall", rollcall.version],
    ["Exchange", (exchange.busy ? `reachable but busy: ${exchange.error}`
      : exchange.reachable
      ? `reachable, build ${exchange.version ?? "unknown"} (${exchange.elapsed_ms} ms)`
      : `not reachable: ${exchange.error ?? "unknown error"}`) + (ACTING[exchange.auth] ?? "")],
    ["Database", database.ok ? `${database.backend}, schema ${database.revision ?? "none"}`
      : `failing: ${database.error}`],
    ["Cache", `${cache.entries} list expansions, kept ${Math.round(cache.ttl_s)} s`],
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
  const list = el("dl", { class: "facts" });
  for (const [name, value] of rows) {
    list.append(el("dt", { text: name }),
      el("dd", { text: value, "data-fact": name.toLowerCase() }));
  }
  body.replaceChildren(list);
  const ok = exchange.reachable && database.ok;
  $("server-info").dataset.health = ok ? "ok" : "degraded";
}
