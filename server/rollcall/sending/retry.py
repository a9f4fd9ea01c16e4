"""When to try again: a recipient's back-off after a transient refusal, when a deferred recipient
has waited long enough to count as failed, and how long a relay's circuit stays open.

Pure: the caller reads the clock and passes times in as seconds (any epoch, the same one for
both). Jitter spreads retries so that a relay that deferred a thousand recipients in one minute
is not asked about all of them again in the same second.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_SHARED = random.Random()  # jitter needs no reproducibility in production; tests pass their own


def parse_schedule(text: str) -> tuple[float, ...]:
    """Seconds from "60,300,900"; ValueError naming the problem for an empty list, an item that
    is not a number, one not above zero, or one smaller than the item before it."""
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise ValueError("the retry schedule is empty: give seconds separated by commas, "
                         "such as 60,300,900")
    delays: list[float] = []
    for position, item in enumerate(items, start=1):
        if not item:
            raise ValueError(f"retry schedule item {position} is empty (a stray comma?)")
        try:
            delay = float(item)
        except ValueError:
            raise ValueError(f"retry schedule item {position} ({item!r}) is not a number of "
                             "seconds") from None
        if not math.isfinite(delay) or delay <= 0:
            raise ValueError(f"retry schedule item {position} ({item!r}) must be a number of "
                             "seconds above zero")
        # A shorter wait after more failures is almost certainly a typo (600 for 6000).
        if delays and delay < delays[-1]:
            raise ValueError(f"retry schedule item {position} ({item}) is shorter than the one "
                             f"before it ({delays[-1]:g}); waits must not shrink")
        delays.append(delay)
    return tuple(delays)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A deferred recipient's waits: the schedule, then every `then_every_s`, each within
    ±jitter of its value, until `expire_s` after it was first queued."""

    schedule_s: tuple[float, ...] = (60, 300, 900, 1800, 3600)
    then_every_s: float = 3600
    expire_s: float = 86400
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if any(not math.isfinite(s) or s <= 0 for s in self.schedule_s):
            raise ValueError("every wait in the retry schedule must be above zero")
        if any(b < a for a, b in zip(self.schedule_s, self.schedule_s[1:], strict=False)):
            raise ValueError("the retry schedule's waits must not shrink")
        if not (math.isfinite(self.then_every_s) and self.then_every_s > 0):
            raise ValueError("then_every_s must be above zero")
        if not (math.isfinite(self.expire_s) and self.expire_s > 0):
            raise ValueError("expire_s must be above zero")
        # Below 1 so a wait never reaches zero or less.
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be at least 0 and below 1")

    def next_delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure (1 is the first); ValueError below 1."""
        if attempts < 1:
            raise ValueError(f"attempts counts failures so far and starts at 1, not {attempts}")
        base = (self.schedule_s[attempts - 1] if attempts <= len(self.schedule_s)
                else self.then_every_s)
        if not self.jitter:
            return float(base)
        return base * (1 + (rng or _SHARED).uniform(-self.jitter, self.jitter))

    def expired(self, first_queued_at: float, now: float) -> bool:
        """Whether a recipient first queued then has waited its whole `expire_s` (and so has
        failed, keeping its last reply)."""
        return now - first_queued_at >= self.expire_s


@dataclass(frozen=True, slots=True)
class RelayBackoff:
    """How long a relay's circuit stays open after relay-level transients in a row: 1, 2, 5,
    10, then 30 minutes (notes/sending.md §6.3)."""

    steps_s: tuple[float, ...] = (60, 120, 300, 600, 1800)
    hint_cap_s: float = 3600

    def __post_init__(self) -> None:
        if not self.steps_s or any(not math.isfinite(s) or s <= 0 for s in self.steps_s):
            raise ValueError("the relay back-off needs at least one pause, each above zero")

    def pause_for(self, consecutive_failures: int, hint_s: float | None = None) -> float:
        """Seconds to keep the relay paused; the reply's own hint wins when longer, capped at
        `hint_cap_s`. ValueError when consecutive_failures is below 1."""
        if consecutive_failures < 1:
            raise ValueError("a relay is paused after at least one failure, "
                             f"not {consecutive_failures}")
        base = float(self.steps_s[min(consecutive_failures, len(self.steps_s)) - 1])
        # A nonsense hint (negative, NaN) is ignored rather than trusted.
        if hint_s is None or not math.isfinite(hint_s):
            return base
        return max(base, min(hint_s, self.hint_cap_s))
