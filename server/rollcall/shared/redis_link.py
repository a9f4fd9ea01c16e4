"""One Redis connection pool per process, and what happens when Redis is away: a call fails at
once for a few seconds instead of every count waiting out a connection timeout, and the state
(up, or down since when and why) is there for Server information and /healthz."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT_S = 0.25  # a cache that answers slower than this is not worth asking
RETRY_AFTER_S = 5.0  # after a failure, Redis is not asked again for this long


class RedisDown(Exception):
    """Redis did not answer; callers go on without it."""


class RedisLink:
    """redis-py's client for ROLLCALL_REDIS_URL, made on first use, with a short circuit."""

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.clock = clock
        self._client: redis.Redis | None = None
        self._down_until = 0.0
        self._down_since: float | None = None  # wall clock, for people
        self._error: str | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self.url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
                    health_check_interval=30, max_connections=64)
            return self._client

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """fn(client); raises RedisDown (at once while Redis is known to be away)."""
        if self.clock() < self._down_until:
            raise RedisDown(self._error or "Redis is not answering")
        try:
            result = fn(self.client)
        except redis.RedisError as e:
            self._failed(e)
            raise RedisDown(self._error or "Redis is not answering") from None
        if self._down_since is not None:
            with self._lock:
                self._down_since = self._error = None
            log.warning("Redis answers again at %s: the shared cache is back", _where(self.url))
        return result

    def _failed(self, error: Exception) -> None:
        with self._lock:
            first = self._down_since is None
            self._down_until = self.clock() + RETRY_AFTER_S
            self._error = f"{type(error).__name__}: {str(error)[:200]}"
            if first:
                self._down_since = time.time()
        if first:
            log.warning("Redis at %s is not answering (%s): counting without the shared cache",
                        _where(self.url), self._error)

    def state(self) -> dict[str, Any]:
        """{"backend": "redis", "ok", "error", "down_since"} as it stands, asking Redis now."""
        try:
            self.call(lambda c: c.ping())
        except RedisDown:
            pass
        return {"backend": "redis", "where": _where(self.url), "ok": self._down_since is None,
                "error": self._error, "down_since": self._down_since}


def _where(url: str) -> str:
    """host:port/db of a Redis URL, without a password."""
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]
