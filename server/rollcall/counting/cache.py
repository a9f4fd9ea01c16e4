"""In-memory, thread-safe caches that outlive single counts: list expansions (the same for every
sender) and resolutions (per acting mailbox: a name means what that sender's contacts say)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from rollcall.core.model import Expansion, Resolution


class ExpansionCache:
    """Expansions by list key, each with the time it was fetched; callers choose the maximum age.

    Keys are `Entry.key`: public lists by address (the same for every sender) and contact groups
    by ItemId (unique to the mailbox holding them), so one cache can serve all senders.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000):
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, Expansion]] = OrderedDict()

    def get(self, key: str, max_age_s: float) -> Expansion | None:
        """The cached expansion if fetched less than `max_age_s` ago, else None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            fetched_at, expansion = item
            if self._clock() - fetched_at >= max_age_s:
                del self._items[key]  # stale: the next count must ask the directory again
                return None
            return expansion

    def put(self, key: str, expansion: Expansion, age_s: float = 0.0) -> None:
        """Remember an expansion as fetched `age_s` seconds ago (now, unless another process
        fetched it earlier)."""
        with self._lock:
            self._items[key] = (self._clock() - age_s, expansion)
            self._items.move_to_end(key)
            # Oldest first: a bounded cache cannot grow without end on a busy server.
            while len(self._items) > self._max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class ResolutionCache:
    """Resolutions by (acting mailbox, name, address) for `ttl_s`: a warm send check asks the
    directory nothing at all. The engine keeps only entries the directory found (never
    failures, nobody, or Rollcall lists); `--refresh` and the pane's Refresh bypass it."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, Resolution]] = OrderedDict()

    @staticmethod
    def key(mailbox: str | None, name: str, address: str | None) -> str:
        """Per acting mailbox, whatever the entry: a name means what this sender's contacts
        say, and a Rollcall list only what this sender may see. An address is looked up by
        the address alone, whatever name Outlook shows beside it."""
        text = (address or "").strip()
        handle = text.lower() if "@" in text or text.startswith("/") else f"{name}\x1f{text}"
        return f"{(mailbox or '').lower()}\x1f{handle}"

    def get(self, key: str) -> Resolution | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self._clock() - item[0] >= self.ttl_s:
                del self._items[key]
                return None
            return item[1]

    def put(self, key: str, resolution: Resolution) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._items[key] = (self._clock(), resolution)
            self._items.move_to_end(key)
            while len(self._items) > self._max_entries:
                self._items.popitem(last=False)
