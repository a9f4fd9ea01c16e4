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

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update

from rollcall.store.models import SendCheckRow
from rollcall.store.queries import utcnow
from rollcall.store.transaction import Transactor

T = TypeVar("T")
_TABLE = SendCheckRow.metadata.tables[SendCheckRow.__tablename__]
# Built once: every send check runs these (bench/), and building a statement costs more than
# SQLite takes to run it.
_SENDER = _TABLE.c.sender == bindparam("who")
_MINE = (_SENDER, _TABLE.c.message_key == bindparam("key"))
_DROP_OLD = delete(_TABLE).where(_SENDER, _TABLE.c.at < bindparam("since"))
_DROP_MINE = delete(_TABLE).where(*_MINE)
_UPDATE_MINE = update(_TABLE).where(*_MINE).values(at=bindparam("at"),
                                                    recipients=bindparam("recipients"))
_INSERT = insert(_TABLE)
_WINDOW = (select(_TABLE.c.at, _TABLE.c.recipients)  # "key" is '' when none is left out
           .where(_SENDER, _TABLE.c.at >= bindparam("since"),
                  _TABLE.c.message_key != bindparam("key"))
           .order_by(_TABLE.c.at))
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
        since = at - timedelta(seconds=window_s)
        return self._tx.read_rows(lambda s: _recent(s, _clean(sender), since))

    def check(self, sender: str, key: str, window_s: float, decide: Decide[T],
              now: datetime | None = None) -> T:
        """Run `decide` on the sender's window (this message left out) and record its answer."""
        # `decide` may run more than once (the transaction is retried on conflicts): keep it pure.
        who = _clean(sender)

        def work(s: Connection) -> T:
            at = now or utcnow()
            since = at - timedelta(seconds=window_s)
            _lock(s, who)
            # Older rows can never count again; dropping them keeps a sender's window small.
            s.execute(_DROP_OLD, {"who": who, "since": since})
            earlier = _recent(s, who, since, exclude=key)
            result, recipients = decide(earlier, at)
            mine = {"who": who, "key": key}
            if recipients is None:
                # Checked again and now held back: it did not go out.
                s.execute(_DROP_MINE, mine)
            elif not s.execute(_UPDATE_MINE, {**mine, "at": at, "recipients": recipients}
                               ).rowcount:
                s.execute(_INSERT, {"sender": who, "message_key": key, "at": at,
                                    "recipients": recipients})
            return result

        return self._tx.write_rows(work)


def _clean(sender: str) -> str:
    return sender.strip().lower()


def _recent(s: Connection, sender: str, since: datetime,
            exclude: str | None = None) -> tuple[SentMessage, ...]:
    rows = s.execute(_WINDOW, {"who": sender, "since": since, "key": exclude or ""})
    return tuple(SentMessage(at, recipients) for at, recipients in rows)


def _lock(s: Connection, sender: str) -> None:
    """Serialise one sender's checks across processes, so two sends cannot both slip under."""
    if s.dialect.name != "postgresql":
        return  # SQLite: the write transaction began IMMEDIATE, holding the database lock
    digest = hashlib.sha256(f"rollcall-send-window:{sender}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
