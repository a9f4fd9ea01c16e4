"""Expansions and resolutions as compact JSON for Redis: plain data, never pickle (a cache an
attacker could write to must not be able to run code in Rollcall)."""

from __future__ import annotations

import json
from typing import Any

from rollcall.core.model import Entry, Expansion, Kind, MemberStatus, Resolution


def _entry(e: Entry) -> list[Any]:
    row: list[Any] = [e.name, e.address, e.kind.value]
    if e.routing_type != "SMTP" or e.item_id is not None or e.status is not MemberStatus.NORMAL:
        row += [e.routing_type, e.item_id, e.status.value]
    return row


def _unentry(row: list[Any]) -> Entry:
    if len(row) == 3:
        return Entry(row[0], row[1], Kind(row[2]))
    return Entry(row[0], row[1], Kind(row[2]), routing_type=row[3], item_id=row[4],
                 status=MemberStatus(row[5]))


def dump_expansion(x: Expansion, fetched_at: float) -> bytes:
    """An expansion (removals never: lists holding them are not cacheable) and when it was read."""
    return json.dumps({"t": fetched_at, "m": [_entry(m) for m in x.members], "c": x.complete,
                       "v": x.total_in_view, "n": x.note, "e": x.estimate},
                      separators=(",", ":")).encode()


def load_expansion(raw: bytes) -> tuple[float, Expansion]:
    d = json.loads(raw)
    return float(d["t"]), Expansion(tuple(_unentry(r) for r in d["m"]), complete=d["c"],
                                    total_in_view=d["v"], note=d.get("n"), estimate=d.get("e"))


def dump_resolution(r: Resolution) -> bytes:
    return json.dumps({"q": r.query, "e": None if r.entry is None else _entry(r.entry),
                       "p": r.problem, "c": [_entry(c) for c in r.candidates]},
                      separators=(",", ":")).encode()


def load_resolution(raw: bytes) -> Resolution:
    d = json.loads(raw)
    return Resolution(d["q"], None if d["e"] is None else _unentry(d["e"]), d["p"],
                      tuple(_unentry(c) for c in d["c"]))
