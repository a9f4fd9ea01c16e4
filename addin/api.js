// Rollcall's API on the pane's own origin, with the signed-in person's token. Failures become an
// ApiError whose `kind` the pane switches on: the server's error code where it sent one, else
// what the transport tells us.

import { accessToken, forgetToken } from "./auth.js";

export class ApiError extends Error {
  constructor(kind, status, message, retryAfter = null, requestId = null) {
    super(message || kind);
    this.kind = kind;
    this.status = status;
    this.retryAfter = retryAfter;
    this.requestId = requestId; // what support looks up in the server's log
  }
}

export function count(recipients, { expected = null, refresh = false, signal } = {}) {
  return call("api/count", { method: "POST", body: { recipients, expected, refresh }, signal },
    (body) => typeof body?.total === "number");
}

export function me() {
  return call("api/me", {}, (body) => typeof body?.mailbox === "string");
}

export function serverStatus() {
  return call("api/admin/status", {}, (body) => Boolean(body?.rollcall));
}

// One retry with a fresh token: an expired or revoked one is the usual reason for a 401 (which
// means nothing was done, so asking again is safe even for a POST).
export async function call(path, { method = "GET", body, signal } = {}, looksRight, fresh = false) {
  let token;
  try {
    token = await accessToken({ fresh });
  } catch (e) {
    throw new ApiError("not_signed_in", 401, e.message);
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw new ApiError("cancelled", 0);
    throw new ApiError("unreachable", 0, e.message);
  }
  if (response.status === 401 && !fresh) {
    forgetToken();
    return call(path, { method, body, signal }, looksRight, true);
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: the status alone must decide.
  }
  if (response.ok && looksRight(answer)) return answer;
  const code = answer?.error?.code;
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  const requestId = answer?.error?.request_id || response.headers.get("X-Request-Id");
  const error = new ApiError(code || kindForStatus(response.status), response.status,
    answer?.error?.message, retryAfter, requestId);
  error.sendCheck = answer?.error?.send_check || null; // a blocked send's verdict
  throw error;
}

// What an answer without a code we know means, from its status alone: a proxy's error page,
// or a code the server added later. The pane's states use the same table (problemKey).
export function kindForStatus(status) {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 413) return "too_many_recipients";
  if (status === 429 || status === 503) return "throttled";
  if (status === 502 || status === 504) return "exchange_unreachable";
  return status >= 500 || !status ? "server_error" : "bad_request";
}

// --- Server information's SMTP service (administrators) and a sender's own send controls

const isSection = (body) => Boolean(body?.verdict) && Array.isArray(body?.relays);

// STOP, START (answer: the SMTP section) and EMPTY (answer: {cancelled, smtp}) of the queue.
export function queueControl(action, { reason, sendId } = {}) {
  const body = { ...(reason ? { reason } : {}), ...(sendId ? { send_id: sendId } : {}) };
  return call(`api/admin/queue/${action}`, { method: "POST", body },
    action === "empty" ? (b) => typeof b?.cancelled === "number" && isSection(b.smtp)
      : isSection);
}

// Pause, resume, cancel or retry one send: the send's summary, and how many copies changed.
export function sendControl(id, action, reason) {
  return call(`api/sends/${id}/${action}`, { method: "POST", body: reason ? { reason } : {} },
    (b) => typeof b?.id === "number" && typeof b?.counts === "object");
}

// Test a relay (nothing sent; with `to`, one real test message to that address).
export function relayTest(name, to) {
  return call(`api/admin/relays/${name}/test`, { method: "POST", body: to ? { to } : {} },
    (b) => Array.isArray(b?.steps));
}

// The relay's health: the open-relay self-test and the DNS checks.
export function relayHealth(name) {
  return call(`api/admin/relays/${name}/health`, { method: "POST", body: {} },
    (b) => Boolean(b?.open_relay) && Boolean(b?.dns));
}

// Every copy a Message-ID, a relay queue id or an address names.
export function traceMessage(query) {
  return call(`api/admin/trace?q=${encodeURIComponent(query)}`, {},
    (b) => Array.isArray(b?.traces));
}

// The SMTP section alone (no Exchange probe): Server information's refresh every few seconds.
export function smtpStatus() {
  return call("api/admin/smtp", {}, isSection);
}

// --- Bounce-backs, the suppression list and the list fixes a hard bounce offers

const isBounces = (b) => Array.isArray(b?.bounces);
const isObject = (b) => Boolean(b) && typeof b === "object";
const part = (text) => encodeURIComponent(text);

// One send's bounce-backs (its sender or an administrator), newest first.
export function sendBounces(id) {
  return call(`api/sends/${id}/bounces`, {}, isBounces);
}

// Every send's bounce-backs, or only those matching nobody (administrators).
export function adminBounces({ unmatched = false } = {}) {
  return call(`api/admin/bounces${unmatched ? "?unmatched=true" : ""}`, {}, isBounces);
}

export function suppressions() {
  return call("api/admin/suppressions", {}, (b) => Array.isArray(b?.suppressions));
}

export function liftSuppression(address, reason) {
  return call("api/admin/suppressions/lift", { method: "POST",
    body: { address, ...(reason ? { reason } : {}) } }, (b) => typeof b?.lifted === "string");
}

// A Rollcall list's members (the pane reads one member's name before correcting an address).
export function listMembers(name) {
  return call(`api/lists/${part(name)}`, {}, (b) => Array.isArray(b?.active));
}

export function addContact(list, email, name) {
  return call(`api/lists/${part(list)}/members`, { method: "POST",
    body: { email, ...(name ? { name } : {}) } }, isObject);
}

export function removeMember(list, address) {
  return call(`api/lists/${part(list)}/members/${part(address)}`, { method: "DELETE" },
    isObject);
}

// Opted out of every Rollcall list that holds the address (it stays a member, marked).
export function optOut(address) {
  return call(`api/contacts/${part(address)}/opt-out`, { method: "POST",
    body: { opted_out: true } }, isObject);
}
