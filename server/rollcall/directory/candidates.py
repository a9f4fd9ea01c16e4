"""Choosing among a name's candidates: the same rules whichever directory found them (EWS's
ResolveNames, Graph's searches), so a name means the same person either way. Pure."""

from __future__ import annotations

from collections.abc import Callable

from rollcall.core.entries import is_internal
from rollcall.core.model import Entry, Kind, Resolution


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


def decide(query: str, found: list[Entry], smtp: str, name: str,
           internal: tuple[str, ...],
           unlisted: Callable[[str, str], Entry | None]) -> Resolution:
    """A recipient's Resolution from what the directory found, the same rules for every
    directory: one person however many ways found; nobody found is a one-off outside the
    organisation's domains, and inside them whatever `unlisted(smtp, name)` says Exchange
    delivers to (a recipient no search shows), else unresolved; several people is ambiguous."""
    candidates = distinct_candidates(found)
    if not candidates:
        if smtp and not is_internal(smtp, internal):
            # Outlook sends to any SMTP address; outside our domains nobody can check it.
            return Resolution(query, Entry(name or smtp, smtp, Kind.ONE_OFF))
        hidden = unlisted(smtp, name) if smtp else None  # names: not found means nobody
        return Resolution(query, hidden, None if hidden else "unresolved")
    chosen = choose(candidates, smtp, name)
    if chosen is None:
        return Resolution(query, None, "ambiguous", tuple(candidates))
    return Resolution(query, chosen, None, tuple(candidates) if len(candidates) > 1 else ())
