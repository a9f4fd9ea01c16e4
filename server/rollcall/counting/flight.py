"""Single flight: a count already running for the same entries and mailbox is awaited, not
repeated. The follower then counts from the cache the leader filled, asking the directory
nothing it already answered. A wait never outlasts the follower's own deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Flights(Protocol):
    def hold(self, key: str, wait_s: float) -> AbstractContextManager[bool]:
        """While held, others with `key` wait (up to their `wait_s`); yields whether this one
        waited for another first."""
        ...


class LocalFlights:
    """Single flight among the threads of one process."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str, wait_s: float) -> Iterator[bool]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        waited = not lock.acquire(blocking=False)
        got = not waited or lock.acquire(timeout=max(0.0, wait_s))
        try:
            yield waited
        finally:
            if got:
                lock.release()
            with self._guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class Chained:
    """This process's flights first, then another layer's (the processes' own, in Redis)."""

    def __init__(self, first: Flights, then: Flights) -> None:
        self.first = first
        self.then = then

    @contextmanager
    def hold(self, key: str, wait_s: float) -> Iterator[bool]:
        started = time.monotonic()
        with self.first.hold(key, wait_s) as waited_here:
            left = max(0.0, wait_s - (time.monotonic() - started))
            with self.then.hold(key, left) as waited_there:
                yield waited_here or waited_there
