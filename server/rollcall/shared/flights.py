"""Single flight across processes: redis-py's lock, held while a count runs, awaited by another
process counting the same entries for the same mailbox. Redis away: nobody waits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.lock import Lock

from .caches import PREFIX
from .redis_link import RedisDown, RedisLink

HOLD_MAX_S = 60.0  # a leader that died holding the lock frees it after this


class RedisFlights:
    def __init__(self, link: RedisLink) -> None:
        self.link = link

    @contextmanager
    def hold(self, key: str, wait_s: float) -> Iterator[bool]:
        name = PREFIX + "f:" + hashlib.sha256(key.encode()).hexdigest()[:32]
        held: Lock | None = None
        waited = False
        try:
            lock = self.link.call(lambda c: c.lock(name, timeout=HOLD_MAX_S, sleep=0.02))
            if self.link.call(lambda c: lock.acquire(blocking=False)):
                held = lock
            else:
                waited = True
                if self.link.call(lambda c: lock.acquire(blocking=True,
                                                         blocking_timeout=max(0.0, wait_s))):
                    held = lock
                # else: waited long enough; count alongside the leader
        except RedisDown:
            held = None
        try:
            yield waited
        finally:
            if held is not None:
                try:
                    held.release()
                except redis.RedisError:
                    pass  # expired, or Redis gone: the lock frees itself
