"""How many directory calls one count keeps in flight: additive increase, multiplicative decrease.
Pure: the engine tells it what happened; it never touches a clock or a thread."""

from __future__ import annotations


class AdaptiveLimit:
    """Directory calls one count keeps in flight, found by AIMD as TCP finds a path's capacity.

    From ROLLCALL_CONCURRENCY it grows by one each time as many answers as the limit come back
    while it is in use, up to ROLLCALL_MAX_CONCURRENCY; a throttled call halves it (not below
    1) once per round: calls started before a halving say nothing about the new limit.

    One per count, never shared. EWSMaxConcurrency is per user: a shared limit would need a key
    the engine cannot see (endpoint and acting mailbox, behind the port) and a lock across
    request threads, and would carry one count's throttling into the next, while counts that
    share a budget at the same moment settle on fair shares by AIMD itself. The price is the
    climb, a round trip a step (about 0.3 s at 20 ms from 8 to 24), paid by cold counts only.
    """

    def __init__(self, start: int, most: int) -> None:
        if not 1 <= start <= most:
            raise ValueError(f"the limit must start from 1 to {most}, not {start}")
        self.limit = start
        self.most = most
        self.peak = start  # the highest the limit reached
        self.in_flight = 0
        self.halvings = 0
        self._round = 0  # the halvings so far: which limit a call was started under
        self._answers = 0  # answers toward the next step up

    def room(self) -> bool:
        """Whether one more call may start now."""
        return self.in_flight < self.limit

    def started(self) -> int:
        """Count a call in flight; hand the token back when it ends."""
        self.in_flight += 1
        return self._round

    def answered(self, token: int) -> None:
        """A call came back with an answer (not found and denied are answers too)."""
        in_use = self.in_flight >= self.limit
        self.in_flight -= 1
        # Growing while calls are fewer than the limit would raise it untested: the directory
        # has shown it keeps up with `limit` calls only when that many were in flight.
        if token != self._round or not in_use:
            return
        self._answers += 1
        if self._answers >= self.limit and self.limit < self.most:
            self.limit += 1
            self.peak = max(self.peak, self.limit)
            self._answers = 0

    def throttled(self, token: int) -> None:
        """A call was refused as too much load (EWS ErrorServerBusy, HTTP 503)."""
        self.in_flight -= 1
        if token != self._round:
            return  # already halved for the load this call was part of
        self.limit = max(1, self.limit // 2)
        self.halvings += 1
        self._round += 1
        self._answers = 0

    def failed(self) -> None:
        """A call failed some other way (unreachable, an adapter's bug): no word on load."""
        self.in_flight -= 1
