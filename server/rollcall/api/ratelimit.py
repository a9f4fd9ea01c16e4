"""Per-caller rate limits for the routes that make the directory work, through Flask-Limiter.

Where the counts live: `memory://` (each process its own) without ROLLCALL_REDIS_URL; with it,
that Redis (limits' redis:// storage), so every process and every worker spends one budget per
caller. Redis is a cache here, not a store: when it stops answering, Flask-Limiter carries on
with the same limits in this process's memory (`in_memory_fallback_enabled`) and goes back to
Redis once it answers again; any other storage error is logged and the request let through
(`swallow_errors`). A request is never refused, nor failed, because Redis is away.

How the two settings become limits. ROLLCALL_RATE_LIMIT_BURST and ..._PER_MINUTE used to size a
token bucket: `burst` requests at once, then one every `interval` (60 / per_minute seconds).
limits has no token bucket, but what a bucket allows is a family of moving windows: at most
burst + k - 1 requests in any k intervals, for every k >= 1. Two of them are kept, as moving
windows (exact counts, where the sliding window counter only estimates):

- `burst` per interval (k = 1): `burst` at once, then the next one an interval later, and
  Retry-After says so, as the bucket did;
- max(per_minute, burst) per minute: the rate itself, over any minute.

Between the two the budget is spent a little differently: the bucket allowed
burst + per_minute - 1 in the first minute, this never more than per_minute in any minute
(stricter); but within the minute a caller may take a whole burst again each interval, where
the bucket gave one request (with 60 and 20: 20, 20 and 20 a second apart, then nothing until
the minute has passed). The interval is rounded up to whole seconds, limits' smallest unit
(7 a minute: 9 s).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, g
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.errors import StorageError

from ..errors import RollcallError

EXTENSION = "rollcall.ratelimits"  # app.extensions[EXTENSION]: the app's CallerLimits
KEY_PREFIX = "rollcall:limit"  # Redis keys, beside the shared caches' rollcall:x:, rollcall:r:
_CALLER = "rollcall_rate_limit_caller"  # flask.g: whose request check() is counting


class RateLimited(RollcallError):
    """Too many requests from one caller; `Retry-After` says when the next one will be taken."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}


def windows(per_minute: int, burst: int) -> str:
    """The limits for a rate and a burst (module docstring): (6, 2) -> "2 per 10 seconds; 6 per 1
    minute". per_minute must be at least 1."""
    burst = max(1, burst)
    interval_s = min(60, math.ceil(60 / per_minute))
    minute = f"{max(per_minute, burst)} per 1 minute"
    return minute if interval_s == 60 else f"{burst} per {interval_s} seconds; {minute}"


def storage_uri(redis_url: str | None) -> str:
    """limits' storage for ROLLCALL_REDIS_URL: memory:// without one (unix:// is redis+unix://)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


class CallerLimits:
    """One app's limits by name (`what`: "count", "import", ...), each counted per caller and
    shared by every route limited with that name."""

    def __init__(self, app: Flask, redis_url: str | None) -> None:
        shared = bool(redis_url)
        options: dict[str, Any] = {}
        if shared:
            from ..shared.redis_link import TIMEOUT_S  # redis-py loads only when it is used

            # A limiter that waits on a slow Redis slows every request it guards: give up as
            # soon as the shared caches do, and count in memory meanwhile.
            options = {"key_prefix": KEY_PREFIX, "wrap_exceptions": True,
                       "socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S}
        self._limiter = Limiter(
            _caller, app=app, storage_uri=storage_uri(redis_url), storage_options=options,
            strategy="moving-window", in_memory_fallback_enabled=shared, swallow_errors=True,
            headers_enabled=False)
        self._checks: dict[str, Callable[[], None]] = {}
        self._windows: dict[str, list[RateLimitItem]] = {}
        app.extensions[EXTENSION] = self

    def add(self, what: str, per_minute: int, burst: int) -> None:
        """Limit `what` to `per_minute` a minute per caller, `burst` at once (per_minute >= 1)."""
        limits = windows(per_minute, burst)
        self._windows[what] = parse_many(limits)
        # Flask-Limiter counts where a decorated callable is called: one per name, called by
        # check() from inside the view, after sign-in has said who the caller is.
        self._checks[what] = self._limiter.shared_limit(limits, scope=what)(_passed(what))

    def check(self, what: str, caller: str) -> None:
        """Count one `what` request of `caller` (a mailbox); RateLimited when they have none left.
        A name without a limit passes."""
        passed = self._checks.get(what)
        if passed is None:
            return
        setattr(g, _CALLER, caller)
        try:
            passed()
        except RateLimitExceeded:
            wait_s = max(1, math.ceil(self._wait_s(what)))
            raise RateLimited(f"Too many {what} requests; try again in {wait_s} s",
                              wait_s) from None

    def _wait_s(self, what: str) -> float:
        # The caller may go again when every full window has let its oldest request go, not
        # only the first one Flask-Limiter found full: else Retry-After would invite a retry
        # that the minute's window refuses.
        breached = self._limiter.current_limit
        if breached is None:
            return float(max(item.get_expiry() for item in self._windows[what]))
        try:
            stats = [self._limiter.limiter.get_window_stats(item, *breached.request_args)
                     for item in self._windows[what]]
        except StorageError:  # Redis went away just now: the full window Flask-Limiter found
            return float(breached.limit.get_expiry())
        now = time.time()
        return max((s.reset_time - now for s in stats if s.remaining <= 0),
                   default=float(breached.limit.get_expiry()))


def _caller() -> str:
    # Flask-Limiter's key function: the mailbox check() was given (never raises: an exception
    # here would be taken for Redis failing).
    return str(g.get(_CALLER, ""))


def _passed(what: str) -> Callable[[], None]:
    def passed() -> None:
        """Reached when Flask-Limiter let the request through."""

    # Flask-Limiter files decorated limits under the callable's qualified name: one per `what`.
    passed.__name__ = passed.__qualname__ = f"rate_limited[{what}]"
    return passed
