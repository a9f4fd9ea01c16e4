"""Choosing among a name's candidates: the same rules whichever directory found them (EWS's
ResolveNames, Graph's searches), so a name means the same person either way. Pure."""

from __future__ import annotations

from rollcall.core.model import Entry


def distinct_candidates(candidates: list[Entry]) -> list[Entry]:
    """ResolveNames' candidates, one per address: a directory object and the sender's Contacts
    item with the same address are one person, and the directory object is kept (it is the
    real recipient). Entries without an address (contact groups) never merge with each other."""
    kept: dict[object, Entry] = {}
    for i, c in enumerate(candidates):
        address = (c.address or "").strip().lower()
        key: object = (c.routing_type, address) if address else i
        first = kept.get(key)
        # A Contacts item carries an ItemId; the directory object it copies does not.
        if first is None or (first.item_id and not c.item_id):
            kept[key] = c  # a replaced key keeps the first one's place in the order
    return list(kept.values())


def choose(candidates: list[Entry], smtp: str, name: str) -> Entry | None:
    """The candidate (from `distinct_candidates`) a recipient means: its exact address, else
    the exact name, else the only one; None when that leaves several people."""
    if len(candidates) == 1:
        return candidates[0]
    if smtp:
        for c in candidates:
            if (c.address or "").lower() == smtp.lower():
                return c
    exact = [c for c in candidates if c.name.strip().lower() == name.strip().lower()]
    return exact[0] if len(exact) == 1 else None
