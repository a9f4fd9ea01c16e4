"""Drift: who joined and who left since the previous count of the same entries."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from .model import Recipient

SHOWN = 500  # addresses listed per side; the counts are always exact


def count_key(recipients: Sequence[Recipient], mailbox: str | None) -> str:
    """The same entries give the same key, in any order and case.

    The mailbox is part of the key only when an entry has no address: a contact group found by
    name is that mailbox's own, while lists and addresses mean the same for every sender.
    """
    parts = sorted({(r.address or r.name).strip().lower() for r in recipients})
    needs_mailbox = any(not (r.address or "").strip() and not r.name.lower().startswith("list:")
                        for r in recipients)
    prefix = f"{(mailbox or '').lower()}|" if needs_mailbox else ""
    return prefix + "\n".join(parts)


def drift(previous_at: datetime, previous_total: int, previous: Collection[str],
          current: Iterable[str]) -> dict[str, Any]:
    """The difference between two address sets, newest count second."""
    now = set(current)
    joined = sorted(now.difference(previous))
    left = sorted(set(previous).difference(now))
    return {
        "previous_at": previous_at.isoformat(),
        "previous_total": previous_total,
        "joined_count": len(joined),
        "left_count": len(left),
        "joined": joined[:SHOWN],
        "left": left[:SHOWN],
    }
