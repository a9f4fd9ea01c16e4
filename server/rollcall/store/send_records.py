"""Reading sends back: summaries, every recipient's record, tracked links and events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..sending.model import RecipientRecord, SendSummary, State, status
from .outbox_models import (
    DeliveryAttemptRow,
    SendLinkRow,
    SendRecipientRow,
    SendRow,
    TrackingEventRow,
)
from .queries import utcnow
from .queue_control import switch
from .transaction import Transactor


class SendRecords:
    """Sends as people ask about them; one transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)

    def summary(self, send_id: int) -> SendSummary | None:
        """One send with its counts per state; None if there is no such send."""
        def work(s: Session) -> SendSummary | None:
            row = s.get(SendRow, send_id)
            return None if row is None else send_summary(s, row, not switch(s).running)

        return self._tx.read(work)

    def owner(self, send_id: int) -> str | None:
        """Who owns a send (lower case); None if there is no such send."""
        return self._tx.read(lambda s: s.scalar(select(SendRow.sender).where(
            SendRow.id == send_id)))

    def sends(self, sender: str | None = None, limit: int = 100,
              unfinished: bool = False) -> list[SendSummary]:
        """The newest sends first, of one sender or (None) everyone's."""
        def work(s: Session) -> list[SendSummary]:
            query = select(SendRow).order_by(SendRow.id.desc()).limit(limit)
            if sender is not None:
                query = query.where(SendRow.sender == sender)
            if unfinished:
                query = query.where(SendRow.finished_at.is_(None))
            stopped = not switch(s).running
            return [send_summary(s, row, stopped) for row in s.scalars(query)]

        return self._tx.read(work)

    def save_links(self, send_id: int, links: Sequence[str]) -> None:
        """Remember a send's tracked links (click tokens carry only their index)."""
        def work(s: Session) -> None:
            known = set(s.scalars(select(SendLinkRow.idx).where(SendLinkRow.send_id == send_id)))
            for idx, url in enumerate(links):
                if idx not in known:
                    s.add(SendLinkRow(send_id=send_id, idx=idx, url=url))

        self._tx.write(work)

    def records(self, send_id: int, state: State | None = None) -> list[RecipientRecord]:
        """Every recipient's record, in the order they were queued."""
        def work(s: Session) -> list[RecipientRecord]:
            query = select(SendRecipientRow).where(SendRecipientRow.send_id == send_id)
            if state is not None:
                query = query.where(SendRecipientRow.state == state.value)
            return [_record(r) for r in s.scalars(query.order_by(SendRecipientRow.id))]

        return self._tx.read(work)

    def by_token(self, token: str) -> tuple[int, int, str] | None:
        """(send id, recipient id, address) for a recipient's token."""
        def work(s: Session) -> tuple[int, int, str] | None:
            row = s.execute(select(SendRecipientRow.send_id, SendRecipientRow.id,
                                   SendRecipientRow.address)
                            .where(SendRecipientRow.token == token)).first()
            return (row[0], row[1], row[2]) if row else None

        return self._tx.read(work)

    def origin(self, who: str) -> tuple[int, int | None, datetime | None] | None:
        """(send id, recipient id, when it went) for a tracking token's `who`: a recipient's
        token (individual tracking) or "s<send id>" (anonymous: no recipient)."""
        def work(s: Session) -> tuple[int, int | None, datetime | None] | None:
            if who.startswith("s") and who[1:].isdecimal():
                send = s.execute(select(SendRow.id, SendRow.created_at)
                                 .where(SendRow.id == int(who[1:]))).first()
                return (send[0], None, send[1]) if send else None
            row = s.execute(select(SendRecipientRow.send_id, SendRecipientRow.id,
                                   SendRecipientRow.sent_at)
                            .where(SendRecipientRow.token == who)).first()
            return (row[0], row[1], row[2]) if row else None

        return self._tx.read(work)

    def link(self, send_id: int, idx: int) -> str | None:
        """A tracked link's target."""
        return self._tx.read(lambda s: s.scalar(select(SendLinkRow.url).where(
            SendLinkRow.send_id == send_id, SendLinkRow.idx == idx)))

    def tracking_event(self, send_id: int, recipient_id: int | None, kind: str,
                       link_index: int | None, verdict: str, ip_prefix: str) -> None:
        """Record an open or a click with its verdict."""
        def work(s: Session) -> None:
            s.add(TrackingEventRow(send_id=send_id, recipient_id=recipient_id, kind=kind,
                                   link_index=link_index, verdict=verdict, ip_prefix=ip_prefix,
                                   at=utcnow()))

        self._tx.write(work)

    def engagement(self, send_id: int) -> dict[str, dict[str, int]]:
        """kind -> verdict -> events, for one send."""
        def work(s: Session) -> dict[str, dict[str, int]]:
            found: dict[str, dict[str, int]] = {}
            for kind, verdict, n in s.execute(
                    select(TrackingEventRow.kind, TrackingEventRow.verdict, func.count())
                    .where(TrackingEventRow.send_id == send_id)
                    .group_by(TrackingEventRow.kind, TrackingEventRow.verdict)):
                found.setdefault(kind, {})[verdict] = n
            return found

        return self._tx.read(work)


def send_summary(s: Session, row: SendRow, stopped: bool) -> SendSummary:
    counts: dict[str, int] = {}
    suppressed: dict[str, int] = {}
    relays: dict[str, int] = {}
    for state, reason, relay, n in s.execute(
            select(SendRecipientRow.state, SendRecipientRow.reason, SendRecipientRow.relay,
                   func.count()).where(SendRecipientRow.send_id == row.id)
            .group_by(SendRecipientRow.state, SendRecipientRow.reason, SendRecipientRow.relay)):
        counts[state] = counts.get(state, 0) + n
        if state == State.SUPPRESSED.value and reason:
            suppressed[reason] = suppressed.get(reason, 0) + n
        if relay and state in (State.SENT.value, State.FAILED.value, State.BOUNCED.value):
            relays[relay] = relays.get(relay, 0) + n  # the relay that took (or refused) them
    last: datetime | None = s.scalar(select(func.max(SendRecipientRow.sent_at)).where(
        SendRecipientRow.send_id == row.id))
    attempted = last is not None or s.scalar(
        select(DeliveryAttemptRow.id).join(
            SendRecipientRow, SendRecipientRow.id == DeliveryAttemptRow.recipient_id)
        .where(SendRecipientRow.send_id == row.id).limit(1)) is not None
    return SendSummary(
        id=row.id, sender=row.sender, from_address=row.from_address, subject=row.subject,
        status=status(counts, paused=row.state == "paused", stopped=stopped,
                      attempted=attempted, cancelled=row.state == "cancelled"),
        recipients=sum(counts.values()), counts=counts, suppressed=suppressed,
        created_at=row.created_at, finished_at=row.finished_at, last_sent_at=last,
        relays=relays, test=row.test, report=row.report,
        paused=_paused(row) if row.state == "paused" else None)


def _paused(row: SendRow) -> dict[str, Any]:
    return {"by": row.paused_by, "reason": row.pause_reason,
            "at": row.paused_at.isoformat() if row.paused_at else None}


def _record(r: SendRecipientRow) -> RecipientRecord:
    return RecipientRecord(
        address=r.address, state=State(r.state), reason=r.reason, attempts=r.attempts,
        message_id=r.message_id, remote_id=r.remote_id, relay=r.relay, stage=r.last_stage,
        code=r.last_code, enhanced=r.last_enhanced, text=r.last_text, meaning=r.meaning,
        next_attempt_at=r.next_attempt_at, sent_at=r.sent_at)
