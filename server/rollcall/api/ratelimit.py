"""Per-caller rate limits for the expensive endpoints (count, validate): a token bucket each.

In memory, per process: with several gunicorn workers each holds its own buckets, so a caller
may get up to `workers` times the limit. That still stops one runaway client from keeping
Exchange busy for everyone, which is the point; exact global limits would need a shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rollcall.errors import RollcallError


class RateLimited(RollcallError):
    """Too many requests from one caller; `Retry-After` says when the next one will be taken."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`per_minute` requests a minute per key, up to `burst` at once; `per_minute` 0 = no limit."""

    def __init__(self, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self.burst = max(1, burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def wait_s(self, key: str) -> float:
        """Take one request for `key`: 0.0 if allowed, else the seconds until one would be."""
        if self.per_minute <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._forget_idle(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self._rate)
                bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._rate

    def check(self, key: str, what: str) -> None:
        """Raise RateLimited when `key` has used up its requests for `what`."""
        wait = self.wait_s(key)
        if wait > 0:
            raise RateLimited(f"Too many {what} requests; try again in {math.ceil(wait)} s",
                              wait)

    def _forget_idle(self, now: float) -> None:
        # A bucket that has filled up again is the same as no bucket: dropping it loses nothing.
        full_after = self.burst / self._rate
        idle = [k for k, b in self._buckets.items() if now - b.at >= full_after]
        for k in idle:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()  # flooded with live keys: forgetting beats growing unbounded

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)
