"""The expansion and resolution caches every process shares through Redis, each in front of the
process's own in-memory one: a hit in memory costs nothing, one in Redis a round trip, and
with Redis away the memory one carries on alone."""

from __future__ import annotations

import logging
import time

from rollcall.core.model import Expansion, Resolution
from rollcall.counting.cache import ExpansionCache, ResolutionCache

from .codec import dump_expansion, dump_resolution, load_expansion, load_resolution
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)
PREFIX = "rollcall:"


class SharedExpansionCache(ExpansionCache):
    """ExpansionCache whose entries are also in Redis for `ttl_s`, under the directory's name
    (`scope`: EWS and Graph keys never mix)."""

    def __init__(self, link: RedisLink, ttl_s: float, scope: str) -> None:
        super().__init__()
        self.link = link
        self.ttl_s = ttl_s
        self.prefix = f"{PREFIX}x:{scope}:"

    def get(self, key: str, max_age_s: float) -> Expansion | None:
        local = super().get(key, max_age_s)
        if local is not None:
            return local
        try:
            raw = self.link.call(lambda c: c.get(self.prefix + key))
        except RedisDown:
            return None
        if raw is None:
            return None
        fetched_at, expansion = load_expansion(raw)  # type: ignore[arg-type]
        age = max(0.0, time.time() - fetched_at)
        if age >= max_age_s:
            return None
        super().put(key, expansion, age_s=age)  # kept here for the rest of its life only
        return expansion

    def put(self, key: str, expansion: Expansion, age_s: float = 0.0) -> None:
        super().put(key, expansion, age_s)
        if self.ttl_s <= 0:
            return
        raw = dump_expansion(expansion, time.time() - age_s)
        try:
            self.link.call(lambda c: c.set(self.prefix + key, raw, px=int(self.ttl_s * 1000)))
        except RedisDown:
            pass  # this process still has it; the others ask the directory themselves


class SharedResolutionCache(ResolutionCache):
    """ResolutionCache mirrored in Redis for `ttl_s`."""

    def __init__(self, link: RedisLink, ttl_s: float, scope: str) -> None:
        super().__init__(ttl_s)
        self.link = link
        self.prefix = f"{PREFIX}r:{scope}:"

    def get(self, key: str) -> Resolution | None:
        local = super().get(key)
        if local is not None:
            return local
        try:
            raw = self.link.call(lambda c: c.get(self.prefix + key))
        except RedisDown:
            return None
        if raw is None:
            return None
        resolution = load_resolution(raw)  # type: ignore[arg-type]
        super().put(key, resolution)
        return resolution

    def put(self, key: str, resolution: Resolution) -> None:
        super().put(key, resolution)
        if self.ttl_s <= 0:
            return
        raw = dump_resolution(resolution)
        try:
            self.link.call(lambda c: c.set(self.prefix + key, raw, px=int(self.ttl_s * 1000)))
        except RedisDown:
            pass
