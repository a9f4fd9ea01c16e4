"""What the admin "Server Information" view shows: Rollcall's version, the organisation's
directory (its version and whether it answers now), the database, the expansion cache and the
SMTP service (its queue, relays and sends). Each part fails on its own."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from rollcall import __version__

PROBE_TIMEOUT_S = 5.0  # an admin page that hangs for a directory's 30 s timeout helps nobody


def server_status(exchange: Callable[[], dict[str, Any]],
                  database: Callable[[], dict[str, Any]],
                  cache: Callable[[], dict[str, Any]],
                  identity: Callable[[], dict[str, Any]] | None = None,
                  smtp: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The status document; every part is a callable so one slow or broken part stays alone."""
    status = {
        "rollcall": {"version": __version__},
        "exchange": exchange(),
        "database": database_status(database),
        "cache": cache(),
    }
    if identity is not None:
        status["identity"] = identity()
    if smtp is not None:
        status["smtp"] = smtp_status(smtp)
    return status


def smtp_status(section: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The SMTP service section, or (the database down) why there is none."""
    try:
        return section()
    except Exception as e:  # noqa: BLE001 - the status reports any failure, it never raises
        return {"ok": False, "error": _describe(e),
                "verdict": {"level": "error", "text": "The SMTP service's state cannot be read: "
                            f"{_describe(e)}"}}


def directory_status(missing: list[str], probe: Callable[[], str | None],
                     timeout_s: float = PROBE_TIMEOUT_S, auth: str = "basic") -> dict[str, Any]:
    """One directory request now: {"configured", "auth", "reachable", "version", "elapsed_ms",
    "error"}; `missing` names the settings the directory needs and lacks."""
    out: dict[str, Any] = {"configured": not missing, "auth": auth, "reachable": False,
                           "version": None, "elapsed_ms": None, "error": None}
    if missing:
        out["error"] = ", ".join(f"ROLLCALL_{m.upper()}" for m in missing) + " not set"
        return out
    started = time.monotonic()
    # A thread of its own, not joined on timeout: the probe ends with EWS's own timeout later.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        out["version"] = pool.submit(probe).result(timeout=timeout_s)
        out["reachable"] = True
    except concurrent.futures.TimeoutError:
        out["error"] = f"Exchange did not answer within {timeout_s:g} s"
    except Exception as e:  # noqa: BLE001 - the status reports any failure, it never raises
        out["error"] = _describe(e)
        # A server that answers "busy" is reachable: it is asking Rollcall to slow down.
        if getattr(e, "code", None) == "throttled":
            out["reachable"], out["busy"] = True, True
    finally:
        pool.shutdown(wait=False)
    out["elapsed_ms"] = round((time.monotonic() - started) * 1000)
    return out


def database_status(health: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """{"ok", "backend", "revision", "error"}: the store's health, or why it has none."""
    try:
        return {"ok": True, "backend": None, "revision": None, **health(), "error": None}
    except Exception as e:  # noqa: BLE001 - the status reports any failure, it never raises
        return {"ok": False, "backend": None, "revision": None, "error": _describe(e)}


def _describe(error: Exception) -> str:
    """An error for an administrator: its own message (never a traceback), first line only."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    detail = getattr(error, "detail", None)  # a directory's own word for it (HTTP 401, ...)
    # SQLAlchemy appends the statement and a link on later lines; the first says what failed.
    first = str(message).splitlines()[0][:300]
    return f"{first} ({detail})" if detail else first
