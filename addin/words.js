// Numbers, times and failures as the administrator's pane says them: every number with its
// unit, every time on the pane's own clock (the server's UTC never shown bare), and what went
// wrong in plain words. Also the two update helpers that leave unchanged text alone, so a live
// region is not announced again and a focused control is never rebuilt under the person.

import { plural } from "./dom.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

// "14:05" (or "14:05:09" with seconds) today on the pane's clock, "3 Jun 14:05" on another day;
// "" for no time at all, so a caller never prints a missing value.
export function clock(iso, { seconds = false, now = Date.now() } = {}) {
  const at = iso ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`
    + (seconds ? `:${pad(at.getSeconds())}` : "");
  if (at.toDateString() === new Date(now).toDateString()) return time;
  return `${at.getDate()} ${MONTHS[at.getMonth()]} ${time}`;
}

// How long something has waited: "under a minute", "4 min", "2 h 5 min", "3 days".
export function age(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return "under a minute";
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h` + (minutes % 60 ? ` ${minutes % 60} min` : "");
  return plural(Math.round(hours / 24), "day");
}

// How long until something ends: "under a minute", "about 4 min", "about 2 h".
export function eta(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return "under a minute";
  if (s < 3600) return `about ${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `about ${Math.round(s / 3600)} h`;
  return `about ${plural(Math.round(s / 86400), "day")}`;
}

export const count = (n, one, many) => plural(Number(n) || 0, one, many);
export const messages = (n) => count(n, "message");
export const perMinute = (n) => `${(Number(n) || 0).toLocaleString("en-US",
  { maximumFractionDigits: 1 })} a minute`;
export const percent = (rate) => `${(rate * 100).toLocaleString("en-US",
  { maximumFractionDigits: 1 })}%`;

// What went wrong with a request, for the person who pressed the button. The pane switches on
// the error's kind; a 4xx's own message is written for people (send_state's "Send 7 is done:
// there is nothing left to pause", a 403's reason), so it is said as it came.
export function trouble(error) {
  const kind = error?.kind;
  if (kind === "unreachable") {
    return "Rollcall didn't answer. Check your connection and try again.";
  }
  if (kind === "not_signed_in" || kind === "unauthorized") {
    return "Rollcall couldn't confirm who you are. Sign in again, then try again.";
  }
  if (kind === "rate_limited") return "You've asked a lot in a short time. Wait a moment.";
  const said = error?.message && error.message !== kind ? error.message : "";
  if (error?.status === 403) return said || "This needs Rollcall's administrator role.";
  if (kind === "smtp_not_configured" && said) return said;
  if (error?.status >= 400 && error.status < 500 && said) return said;
  const reference = error?.requestId ? ` Reference for support: ${error.requestId}.` : "";
  if (error?.status === 503 || error?.status === 429) {
    return `Rollcall is busy just now. Try again in a minute.${reference}`;
  }
  return "Something went wrong on the Rollcall server. Try again; if it keeps happening, tell "
    + `your IT team.${reference}`;
}

// Text written only when it changed: a live region is not announced again for the same words.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
  return node;
}

// Children replaced only when what they show changed (`key`, any JSON-able value).
export function refill(node, key, build) {
  const said = JSON.stringify(key);
  if (node.dataset.shown === said) return false;
  node.dataset.shown = said;
  node.replaceChildren(...[build()].flat().filter(Boolean));
  return true;
}

// One child of `box` per item, found again by its key on every refresh and updated in place
// (block.update(item)): a focused button stays where it is. Blocks whose item is gone are
// removed; if the focus was in one of them it goes to `fallback` rather than to nowhere.
export function keyed(box, items, keyOf, make, fallback = null) {
  const focused = box.contains(document.activeElement);
  const old = new Map([...box.children].filter((c) => c.dataset.key)
    .map((c) => [c.dataset.key, c]));
  const wanted = items.map((item) => {
    const key = String(keyOf(item));
    let block = old.get(key);
    old.delete(key);
    if (!block) {
      block = make(item);
      block.dataset.key = key;
    }
    block.update(item);
    return block;
  });
  for (const block of old.values()) block.remove();
  for (const child of [...box.children]) if (!child.dataset.key) child.remove();
  wanted.forEach((block, i) => {
    if (box.children[i] !== block) box.insertBefore(block, box.children[i] || null);
  });
  if (focused && !box.contains(document.activeElement)) fallback?.focus();
}
