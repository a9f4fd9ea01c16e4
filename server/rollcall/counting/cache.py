"""An in-memory, thread-safe cache of list expansions that outlives single counts."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from rollcall.core.model import Expansion


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

    def put(self, key: str, expansion: Expansion) -> None:
        """Remember an expansion as fetched now."""
        with self._lock:
            self._items[key] = (self._clock(), expansion)
            self._items.move_to_end(key)
            # Oldest first: a bounded cache cannot grow without end on a busy server.
            while len(self._items) > self._max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
