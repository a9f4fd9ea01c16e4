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
