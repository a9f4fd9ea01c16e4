// POST /api/count on the pane's own origin. Failures become an ApiError whose `kind` the pane
// switches on: the server's error code where it sent one, else what the transport tells us.

export class ApiError extends Error {
  constructor(kind, status, message) {
    super(message || kind);
    this.kind = kind;
    this.status = status;
  }
}

export async function count(recipients, { expected = null, refresh = false, signal } = {}) {
  let response;
  try {
    response = await fetch("api/count", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ recipients, expected, refresh }),
      credentials: "same-origin",
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw new ApiError("cancelled", 0);
    throw new ApiError("unreachable", 0, e.message);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: the status alone must decide.
  }
  if (response.ok && body && typeof body.total === "number") return body;
  const code = body?.error?.code;
  throw new ApiError(code || kindForStatus(response.status), response.status, body?.error?.message);
}

function kindForStatus(status) {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 429 || status === 503) return "throttled";
  if (status === 502 || status === 504) return "exchange_unreachable";
  return status >= 500 ? "server_error" : "bad_request";
}
