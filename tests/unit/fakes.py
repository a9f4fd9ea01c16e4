"""A hand-written in-memory Directory for unit tests of the counting core."""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from rollcall.core.model import (
    DirectoryError,
    Entry,
    Expansion,
    Kind,
    MemberStatus,
    NotFound,
    Resolution,
    Throttled,
)


def person(address: str, name: str | None = None) -> Entry:
    return Entry(name or address.split("@")[0].title(), address, Kind.MAILBOX)


def contact(
    address: str | None, name: str | None = None, status: MemberStatus = MemberStatus.NORMAL
) -> Entry:
    """A contact-group member: a one-off address, maybe Demoted or Unrecognized."""
    return Entry(name or (address or "nobody"), address, Kind.ONE_OFF, status=status)


def ex(legacy_dn: str, name: str = "Legacy") -> Entry:
    return Entry(name, legacy_dn, Kind.MAILBOX, routing_type="EX")


def dl(address: str, name: str | None = None, kind: Kind = Kind.PUBLIC_DL) -> Entry:
    return Entry(name or address.split("@")[0], address, kind)


def contact_group(item_id: str, name: str | None = None) -> Entry:
    return Entry(name or item_id, None, Kind.CONTACT_GROUP, item_id=item_id)


class FakeDirectory:
    """Lists and people from dicts; can throttle, fail or stall chosen calls. Thread-safe."""

    def __init__(
        self,
        lists: Mapping[Entry, Sequence[Entry]] | None = None,
        *,
        people: Iterable[Entry] = (),
        legacy: Mapping[str, str | None] | None = None,
        truncated: Mapping[Entry, int | None] | None = None,
        ambiguous: Mapping[str, Sequence[Entry]] | None = None,
    ) -> None:
        self.lists = {entry.key: tuple(members) for entry, members in (lists or {}).items()}
        self.truncated = {entry.key: total for entry, total in (truncated or {}).items()}
        self.legacy = dict(legacy or {})
        self.ambiguous = {k.lower(): tuple(v) for k, v in (ambiguous or {}).items()}
        self.by_name: dict[str, Entry] = {}
        everyone = list((lists or {}).keys()) + list(people)
        for members in (lists or {}).values():
            everyone += members
        for entry in everyone:
            for handle in (entry.address, entry.name):
                if handle:
                    self.by_name.setdefault(handle.lower(), entry)
        self.throttles: dict[str, deque[float | None]] = {}
        self.errors: dict[str, DirectoryError] = {}
        self.delays: dict[str, float] = {}
        self.calls: Tally[tuple[str, str]] = Tally()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    # -- behaviour switches; `target` is a list key, a resolve name or a legacy DN ------------
    def throttle(self, target: str, *back_offs: float | None) -> None:
        """Raise Throttled(back_off) once per given value before answering `target`."""
        self.throttles[target] = deque(back_offs)

    def fail(self, target: str, error: DirectoryError) -> None:
        self.errors[target] = error

    def stall(self, target: str, seconds: float) -> None:
        self.delays[target] = seconds

    def expand_calls(self) -> dict[str, int]:
        return {target: n for (op, target), n in self.calls.items() if op == "expand"}

    # -- the port ------------------------------------------------------------------------------
    def resolve(self, name: str, address: str | None) -> Resolution:
        self._enter("resolve", name)
        try:
            if name.lower() in self.ambiguous:
                return Resolution(name, None, "ambiguous", self.ambiguous[name.lower()])
            entry = self.by_name.get((address or "").lower()) or self.by_name.get(name.lower())
            if entry is None:
                return Resolution(name, None, "unresolved")
            return Resolution(name, entry)
        finally:
            self._leave()

    def expand(self, entry: Entry) -> Expansion:
        self._enter("expand", entry.key)
        try:
            if entry.key not in self.lists:
                raise NotFound(f"no list {entry.key}")
            members = self.lists[entry.key]
            if entry.key in self.truncated:
                shown = members[: max(1, len(members) // 2)]
                return Expansion(shown, complete=False, total_in_view=self.truncated[entry.key])
            return Expansion(members)
        finally:
            self._leave()

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        self._enter("smtp", legacy_dn)
        try:
            return self.legacy.get(legacy_dn)
        finally:
            self._leave()

    def _enter(self, op: str, target: str) -> None:
        with self._lock:
            self.calls[(op, target)] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            queue = self.throttles.get(target)
            throttled = bool(queue)
            back_off = queue.popleft() if queue else None
            error = self.errors.get(target)
            delay = self.delays.get(target, 0.0)
        if delay:
            time.sleep(delay)
        if throttled:
            self._leave()
            raise Throttled("server busy", back_off)
        if error is not None:
            self._leave()
            raise error

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
