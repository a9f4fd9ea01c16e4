"""Drift: who joined and who left since the previous count of the same entries."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from .model import Recipient, resolved_by_name

SHOWN = 500  # addresses listed per side; the counts are always exact


def count_key(recipients: Sequence[Recipient], mailbox: str | None) -> str:
    """The same entries give the same key, in any order and case.

    The mailbox is part of the key when an entry is found by name (no SMTP or X.500 address, not
    a Rollcall list): that is the sender's own contact group, while lists and addresses mean the
    same for every sender. Keying such counts per mailbox keeps one person's contact group out of
    another's drift and expected count, whatever text the other puts in the address field.
    """
    parts = sorted(entries(recipients))
    needs_mailbox = any(resolved_by_name(r.name, r.address) for r in recipients)
    prefix = f"{(mailbox or '').lower()}|" if needs_mailbox else ""
    return prefix + "\n".join(parts)


def entries(recipients: Iterable[Recipient]) -> frozenset[str]:
    """What a count is of: each entry's address, else its name, in any order and case."""
    return frozenset((r.address or r.name).strip().lower() for r in recipients)


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


NAMED = 3  # people named per side in a finding's sentence
MARKED = 50  # addresses a finding carries for the pane to highlight


def explain_with_drift(findings: list[dict[str, Any]], moved: dict[str, Any]) -> None:
    """Say who joined and who left in the finding about a number that moved since last time."""
    for finding in findings:
        if finding["code"] == "count_mismatch" and finding.get("source") == "previous_count":
            parts = []
            for side in ("joined", "left"):
                n = moved[f"{side}_count"]
                if n:
                    shown = ", ".join(moved[side][:NAMED])
                    shown += f" and {n - NAMED} more" if n > NAMED else ""
                    parts.append(f"{n} {side} ({shown})")
            if parts:
                since = moved["previous_at"][:10]
                finding["message"] += f" Since {since}: " + "; ".join(parts) + "."
                finding["addresses"] = (moved["joined"] + moved["left"])[:MARKED]
