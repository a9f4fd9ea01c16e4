"""The send check's per-sender window: which messages went out when, to how many people.

Kept in the database, not in memory, so the window survives a restart and every server process
sees the same one. A sender's check-and-record runs in one transaction, serialised per sender
(PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE already serialises writers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from rollcall.store.models import SendCheckRow
from rollcall.store.queries import utcnow
from rollcall.store.transaction import Transactor

T = TypeVar("T")
# Decides from the sender's earlier sends in the window (and the time) what to answer, and how
# many recipients to record for this message (None: record nothing, it is not going out).
Decide = Callable[[tuple["SentMessage", ...], datetime], tuple[T, int | None]]


@dataclass(frozen=True)
class SentMessage:
    """One earlier send in a sender's window."""

    at: datetime
    recipients: int


class SendLog:
    """Per-sender send records in the store's database; each public method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tx = Transactor(engine)

    def window(self, sender: str, window_s: float, now: datetime | None = None,
               ) -> tuple[SentMessage, ...]:
        """The sender's sends newer than `window_s` seconds, oldest first (read only)."""
        at = now or utcnow()
        return self._tx.read(lambda s: _recent(s, _clean(sender), at - timedelta(seconds=window_s)))

    def check(self, sender: str, key: str, window_s: float, decide: Decide[T],
              now: datetime | None = None) -> T:
        """Run `decide` on the sender's window (this message left out) and record its answer."""
        # `decide` may run more than once (the transaction is retried on conflicts): keep it pure.
        who = _clean(sender)

        def work(s: Session) -> T:
            at = now or utcnow()
            since = at - timedelta(seconds=window_s)
            _lock(s, who)
            # Older rows can never count again; dropping them keeps a sender's window small.
            s.execute(delete(SendCheckRow).where(SendCheckRow.sender == who,
                                                 SendCheckRow.at < since))
            earlier = _recent(s, who, since, exclude=key)
            result, recipients = decide(earlier, at)
            row = s.scalars(select(SendCheckRow).where(
                SendCheckRow.sender == who, SendCheckRow.message_key == key)).first()
            if recipients is None:
                if row is not None:
                    s.delete(row)  # checked again and now held back: it did not go out
            elif row is None:
                s.add(SendCheckRow(sender=who, message_key=key, at=at, recipients=recipients))
            else:
                row.at, row.recipients = at, recipients
            return result

        return self._tx.write(work)


def _clean(sender: str) -> str:
    return sender.strip().lower()


def _recent(s: Session, sender: str, since: datetime,
            exclude: str | None = None) -> tuple[SentMessage, ...]:
    query = (select(SendCheckRow.at, SendCheckRow.recipients)
             .where(SendCheckRow.sender == sender, SendCheckRow.at >= since)
             .order_by(SendCheckRow.at))
    if exclude is not None:
        query = query.where(SendCheckRow.message_key != exclude)
    return tuple(SentMessage(at, recipients) for at, recipients in s.execute(query))


def _lock(s: Session, sender: str) -> None:
    """Serialise one sender's checks across processes, so two sends cannot both slip under."""
    if s.get_bind().dialect.name != "postgresql":
        return  # SQLite: the write transaction began IMMEDIATE, holding the database lock
    digest = hashlib.sha256(f"rollcall-send-window:{sender}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
