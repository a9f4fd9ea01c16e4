// A hard bounce's fixes in one Rollcall list that holds the address (bounces.js lists them):
// correct the address (the right one asked for, its shape checked before anything is sent),
// remove it, or mark it opted out, each through the list routes that already audit it, each
// asked first in the pane (confirm.js). `done(words, optedOut)` says what was done.

import { addContact, listMembers, optOut, removeMember } from "./api.js";
import { ask, busy, isBusy } from "./confirm.js";
import { el, show } from "./dom.js";
import { trouble } from "./words.js";

const FIXES = {
  correct: { label: "Correct the address\u2026", busy: "Correcting\u2026" },
  remove: { label: "Remove from the list", busy: "Removing\u2026" },
  unsubscribe: { label: "Mark opted out", busy: "Opting out\u2026" },
};
export const KNOWN_FIXES = Object.keys(FIXES);
// An address as people write one: something@domain.tld, no spaces or brackets.
const EMAIL = /^[^\s@<>()[\]",;:]+@[^\s@<>()[\]",;:.]+(\.[^\s@<>()[\]",;:.]+)+$/;
const quoted = (text) => `\u201c${text}\u201d`;

// One Rollcall list holding the address: its fixes as buttons, each asking first.
export function fixRow(report, list, offered, done) {
  const host = el("div", { class: "confirm-host" });
  const problem = el("p", { class: "control-problem", role: "alert", hidden: true });
  const buttons = offered.map((fix) => el("button", { type: "button", class: "secondary small",
    text: FIXES[fix].label, "data-fix": fix }));
  const row = el("div", { class: "bounce-fix", "data-list": list },
    el("p", { class: "bounce-fix-title" }, "In the Rollcall list ",
      el("bdi", { text: quoted(list) }), ":"),
    el("div", { class: "row" }, buttons), problem, host);
  buttons.forEach((button) => button.addEventListener("click",
    () => fix(button, report, list, host, problem, done)));
  return row;
}

async function fix(button, report, list, host, problem, done) {
  if (isBusy(button)) return;
  const what = button.dataset.fix;
  const address = report.address;
  const answer = await ask({ host, opener: button, reason: false, ...question(what, address,
    list) });
  if (!answer) return;
  show(problem, false);
  busy(button, FIXES[what].busy);
  let said;
  try {
    said = await act(what, address, list, answer.value);
  } catch (e) {
    problem.textContent = trouble(e);
    show(problem);
    return;
  } finally {
    busy(button, null);
  }
  done(said, what === "unsubscribe" ? address : null);
}

function question(what, address, list) {
  if (what === "remove") {
    return { title: `Remove ${address} from ${quoted(list)}?`, confirmLabel: "Remove",
      text: "The address does not exist, so nothing reaches it. It is taken out of this list; "
        + "the change is kept in the list's history and the audit log." };
  }
  if (what === "unsubscribe") {
    return { title: `Mark ${address} as opted out?`, confirmLabel: "Mark opted out",
      text: "No Rollcall list sends to this address again, this one or any other. It stays a "
        + "member, marked opted out; the change is kept in the audit log." };
  }
  return { title: `Correct ${address} in ${quoted(list)}`, confirmLabel: "Correct",
    text: "Type the right address: it is added to the list and the old one taken out (both "
      + "kept in the audit log).",
    input: { label: "The right address", type: "email",
      check: (value) => (!value ? "Type the right address first."
        : !EMAIL.test(value) ? "That is not an email address (name@domain.com)."
          : value.toLowerCase() === address.toLowerCase()
            ? "That is the address that bounced: type the right one." : null) } };
}

// Does the fix through the list routes; answers what was done, in words.
async function act(what, address, list, value) {
  if (what === "remove") {
    await removeMember(list, address);
    return `Removed ${address} from ${quoted(list)}.`;
  }
  if (what === "unsubscribe") {
    await optOut(address);
    return `Marked ${address} opted out: no Rollcall list sends to it again.`;
  }
  let name = null;
  try { // the person's name goes with them to the right address
    const members = await listMembers(list);
    name = members.active.find((m) => m.address?.toLowerCase() === address.toLowerCase())
      ?.name || null;
  } catch {
    name = null; // the address is corrected all the same, without the name
  }
  await addContact(list, value, name);
  try {
    await removeMember(list, address);
  } catch (e) {
    throw Object.assign(new Error(`Added ${value} to ${quoted(list)}, but ${address} is still `
      + `there: ${trouble(e)}`), { status: 400, kind: "partly_done" });
  }
  return `Corrected ${address} to ${value} in ${quoted(list)}.`;
}
