"""How Graph's failures become Rollcall's directory errors, with the waits Graph asked for.

Graph answers errors as `{"error": {"code", "message"}}` with an HTTP status; `$batch` answers
each item the same way inside a 200. Every branch decides one thing: may the count engine try
again (and after how long), or is the answer final. Retries themselves are the engine's, against
its deadline (counting/engine.py), never a library's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollcall.core.model import DirectoryError, NotFound, Throttled

DEFAULT_RETRY_AFTER_S = 1.0  # a 429 or 503 without Retry-After: Graph's guidance is to wait


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in seconds (Graph sends whole seconds), or None."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def error_code(body: Any) -> tuple[str, str]:
    """(code, message) of Graph's error body; empty strings when it is not one."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")[:300]


def graph_error(status: int, body: Any, headers: Mapping[str, str], what: str) -> DirectoryError:
    """One failed answer (a request's, or one `$batch` item's) as Rollcall's error."""
    code, message = error_code(body)
    detail = f"HTTP {status}" + (f" {code}" if code else "")
    if status in (429, 503):
        # Throttled (429) or busy (503): Graph names its wait; the engine waits if the count's
        # deadline allows, else the count ends incomplete with the wait in its finding.
        return Throttled(f"Microsoft 365 asked Rollcall to slow down while reading {what}",
                         retry_after(headers) or DEFAULT_RETRY_AFTER_S, detail=detail)
    if status in (500, 502, 504):
        return DirectoryError("unavailable", f"Microsoft 365 could not answer {what} just now",
                              retry_after(headers) or DEFAULT_RETRY_AFTER_S, detail=detail)
    if status == 404:
        return NotFound(f"Microsoft 365 does not know {what}", detail=detail)
    if status == 401:
        # An expired or refused token: the token source renews it on the next call.
        return DirectoryError("unauthorized", f"Microsoft 365 refused Rollcall's sign-in while "
                              f"reading {what}", detail=detail)
    if status == 403:
        return DirectoryError("denied", f"Rollcall lacks the permission to read {what} in "
                              "Microsoft 365 (see Server information: permissions)",
                              detail=detail)
    # 400 and the rest: a question Graph will not answer; asking again gets the same answer.
    return DirectoryError("failed", f"Microsoft 365 would not answer {what}"
                          + (f": {message}" if message else ""), detail=detail)


def unreachable(what: str, cause: BaseException) -> DirectoryError:
    """A connection that failed or timed out: worth one more try soon (not a bad certificate,
    which stays bad until ROLLCALL_GRAPH_CA_FILE changes)."""
    import requests

    if isinstance(cause, requests.exceptions.SSLError):
        return DirectoryError("unreachable", f"Microsoft 365's certificate is not trusted "
                              f"(check ROLLCALL_GRAPH_CA_FILE), so {what} could not be read",
                              detail="TLS certificate not trusted", cause=cause)
    why = ("it did not answer in time" if isinstance(cause, requests.exceptions.Timeout)
           else "the connection was refused or dropped")
    return DirectoryError("unreachable", f"Microsoft 365 could not be reached while reading "
                          f"{what}: {why}", 0.5, detail="no connection", cause=cause)
