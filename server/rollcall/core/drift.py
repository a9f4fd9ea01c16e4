"""Drift: who joined and who left since the previous count of the same entries."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from .attribution import drift_groups
from .model import Recipient, resolved_by_name
from .report_types import Drift, ExpectedSource, Finding, FindingCode

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
          current: Iterable[str], holders_now: Mapping[str, str] | None = None,
          holders_before: Mapping[str, str] | None = None) -> Drift:
    """The difference between two address sets, newest count second; with the list path that
    held each address (now and before), who moved is also grouped by list."""
    now = set(current)
    joined = sorted(now.difference(previous))
    left = sorted(set(previous).difference(now))
    groups = drift_groups(joined, left, holders_now or {}, holders_before or {})
    return Drift(previous_at=previous_at.isoformat(), previous_total=previous_total,
                 joined_count=len(joined), left_count=len(left),
                 joined=tuple(joined[:SHOWN]), left=tuple(left[:SHOWN]), groups=groups)


NAMED = 3  # people named per side in a finding's sentence
MARKED = 50  # addresses a finding carries for the pane to highlight


def explain_with_drift(findings: Sequence[Finding], moved: Drift) -> tuple[Finding, ...]:
    """The findings, with who joined and who left said in the one about a number that moved
    since last time."""
    out = []
    for finding in findings:
        if (finding.code is FindingCode.COUNT_MISMATCH
                and finding.source is ExpectedSource.PREVIOUS_COUNT):
            parts = []
            for side, n, names in (("joined", moved.joined_count, moved.joined),
                                   ("left", moved.left_count, moved.left)):
                if n:
                    shown = ", ".join(names[:NAMED])
                    shown += f" and {n - NAMED} more" if n > NAMED else ""
                    parts.append(f"{n} {side} ({shown})")
            if parts:
                since = moved.previous_at[:10]
                through = [f"{g.path}: {_moves(g.joined, g.left)}" for g in moved.groups[:NAMED]
                           if g.path]
                where = f" By list: {'; '.join(through)}." if through else ""
                finding = replace(finding,
                                  message=finding.message + f" Since {since}: "
                                  + "; ".join(parts) + "." + where,
                                  addresses=(moved.joined + moved.left)[:MARKED])
        out.append(finding)
    return tuple(out)


def _moves(joined: int, left: int) -> str:
    said = [f"{n} {side}" for n, side in ((joined, "joined"), (left, "left")) if n]
    return ", ".join(said)
