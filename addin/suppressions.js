// Server information's "Bounces" part (administrators): the bounce-backs of the last 24 hours
// by kind (GET /api/admin/bounces), those matching no send (?unmatched=true), listed to read,
// and the suppression list (GET /api/admin/suppressions) with Lift per address (POST
// /api/admin/suppressions/lift, asked first, with an optional reason for the audit). Asked when
// the card opens and then every REFRESH_MS with the card's own refresh (admin.js); built once
// and updated in place, so a focused Lift button stays put.

import { adminBounces, liftSuppression, suppressions } from "./api.js";
import { KINDS } from "./bounces.js";
import { ask, busy, isBusy } from "./confirm.js";
import { el, show } from "./dom.js";
import { clock, count, keyed, refill, setText, trouble } from "./words.js";

const REFRESH_MS = 30_000; // bounce-backs trickle in: the SMTP section's 5 s would be waste
const RECENT_MS = 24 * 3600 * 1000;
const SHOWN_UNMATCHED = 20;
const ORDER = ["hard", "policy", "soft", "delayed", "autoreply", "unknown"];
const REASONS = { // sending/model.py SUPPRESSION_WORDS, as an administrator reads them
  hard_bounce: "bounced: the address does not exist",
  opted_out: "opted out",
  unsubscribed: "unsubscribed",
  deleted: "contact deleted",
  manual: "suppressed by an administrator",
};

export function bouncesPart(root) {
  const heading = (text) => el("h4", { tabindex: "-1", text });
  const lagLine = el("p", { class: "hint bounces-lag", role: "status", hidden: true });
  const recent = el("dl", { class: "facts bounce-counts" });
  const quiet = el("p", { class: "hint", hidden: true });
  const unmatched = el("ul", { class: "unmatched" });
  const noUnmatched = el("p", { class: "hint",
    text: "None: every bounce-back matched a send.", hidden: true });
  const more = el("p", { class: "hint", hidden: true });
  const listTitle = heading("Suppression list");
  const said = el("p", { class: "control-said", role: "status", "aria-live": "polite",
    tabindex: "-1" });
  const intro = el("p", { class: "hint", text: "No send reaches these addresses. Lift one "
    + "that bounced for a passing reason; if it bounces again it comes back." });
  const listed = el("div", { class: "suppressions" });
  const empty = el("p", { class: "hint", text: "Nobody is suppressed.", hidden: true });
  root.replaceChildren(lagLine,
    heading("Last 24 hours"), recent, quiet,
    heading("Matching no send"), noUnmatched, unmatched, more,
    listTitle, intro, said, empty, listed);

  const loop = { busy: false, again: false, at: 0 };

  // `force` (the card just opened, a Lift was done): now; otherwise at most every REFRESH_MS.
  async function refresh(force = false) {
    if (!force && Date.now() - loop.at < REFRESH_MS) return;
    if (loop.busy) {
      loop.again = true;
      return;
    }
    loop.busy = true;
    try {
      do {
        loop.again = false;
        loop.at = Date.now();
        const [all, nobody, kept] = await Promise.allSettled([adminBounces(),
          adminBounces({ unmatched: true }), suppressions()]);
        const failed = [all, nobody, kept].find((r) => r.status === "rejected");
        setText(lagLine, failed ? `Couldn't read all of it just now: ${trouble(failed.reason)}`
          : "");
        show(lagLine, Boolean(failed));
        if (all.status === "fulfilled") counts(all.value.bounces);
        if (nobody.status === "fulfilled") orphans(nobody.value.bounces);
        if (kept.status === "fulfilled") suppressed(kept.value.suppressions);
      } while (loop.again);
    } finally {
      loop.busy = false;
    }
  }

  function counts(reports) {
    const since = Date.now() - RECENT_MS;
    const fresh = reports.filter((r) => Date.parse(r.received_at) > since);
    const by = {};
    for (const r of fresh) by[r.kind] = (by[r.kind] || 0) + 1;
    const rows = ORDER.filter((k) => by[k]).map((k) => [KINDS[k], count(by[k], "bounce-back")]);
    const nobody = fresh.filter((r) => r.send_id === null || r.send_id === undefined).length;
    if (nobody) rows.push(["Matched no send", count(nobody, "bounce-back")]);
    refill(recent, rows, () => rows.flatMap(([k, v]) => [
      el("dt", { text: k[0].toUpperCase() + k.slice(1) }), el("dd", { text: v })]));
    show(recent, rows.length > 0);
    // The server answers the newest 100: a busy day may have had more.
    setText(quiet, !rows.length ? "No bounce-backs in the last 24 hours."
      : fresh.length === reports.length && reports.length >= 100
        ? "Counted over the newest 100 bounce-backs." : "");
    show(quiet, Boolean(quiet.textContent));
  }

  function orphans(reports) {
    const shown = reports.slice(0, SHOWN_UNMATCHED);
    refill(unmatched, shown.map((r) => r.id), () => shown.map(orphan));
    show(noUnmatched, !reports.length);
    setText(more, reports.length > shown.length
      ? `and ${(reports.length - shown.length).toLocaleString("en-US")} more.` : "");
    show(more, reports.length > shown.length);
  }

  function suppressed(rows) {
    keyed(listed, rows, (r) => r.address.toLowerCase(), suppression, said);
    show(empty, !rows.length);
  }

  function suppression(first) {
    const address = first.address;
    const title = el("p", { class: "suppression-address" }, el("bdi", { text: address }));
    const why = el("p", { class: "hint suppression-why" });
    const lift = el("button", { type: "button", class: "secondary small", text: "Lift",
      "data-action": "lift", "aria-label": `Lift ${address}` });
    const problem = el("p", { class: "control-problem", role: "alert", hidden: true });
    const host = el("div", { class: "confirm-host" });
    const block = el("div", { class: "suppression", "data-address": address },
      title, why, el("div", { class: "row" }, lift), problem, host);
    lift.addEventListener("click", async () => {
      if (isBusy(lift)) return;
      const answer = await ask({ host, opener: lift, title: `Lift ${address}?`,
        confirmLabel: "Lift",
        text: "Sends reach this address again. If it still does not exist, the next send "
          + "bounces again and puts it back on the list." });
      if (!answer) return;
      show(problem, false);
      busy(lift, "Lifting\u2026");
      try {
        await liftSuppression(address, answer.reason);
        setText(said, `Lifted ${address}: sends reach it again.`);
        said.focus(); // its row goes with the answer below
      } catch (e) {
        problem.textContent = trouble(e); // not_suppressed: someone lifted it meanwhile
        show(problem);
      } finally {
        busy(lift, null);
      }
      refresh(true);
    });
    block.update = (r) => {
      const parts = [REASONS[r.reason] || r.reason?.replace(/_/g, " ") || "suppressed"];
      const at = clock(r.created_at);
      if (at) parts.push(`since ${at}`);
      if (r.created_by) parts.push(r.created_by === "bounce" ? "by a bounce-back"
        : `by ${r.created_by}`);
      if (r.send_id) parts.push(`send ${r.send_id}`);
      setText(why, parts.join(", "));
    };
    return block;
  }

  return { refresh };
}

function orphan(r) {
  const at = clock(r.received_at, { seconds: true });
  const what = [r.subject ? `\u201c${r.subject}\u201d` : "", r.address || ""]
    .filter(Boolean).join(" about ");
  return el("li", { class: "unmatched-report", "data-kind": r.kind },
    el("p", { class: "unmatched-head" },
      at ? el("span", { class: "unmatched-time", text: at }) : null, at ? " " : null,
      el("bdi", { text: what || "A report with no subject or address" })),
    el("p", { class: "unmatched-status", text: [r.status ? `Status ${r.status}` : "",
      KINDS[r.kind] || KINDS.unknown, r.meaning || ""].filter(Boolean).join(": ") }),
    r.diagnostic ? el("p", { class: "unmatched-diagnostic", text: `\u201c${r.diagnostic}\u201d` })
      : null,
    el("p", { class: "hint", text: "Matched nobody: kept for you to read." }));
}
