"""The numbers behind Server information's SMTP service section, read in one transaction: the
switch, the queue by state, the relays' health and traffic, and the sends still going."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..sending.model import PENDING
from ..sending.queue_view import RECENT_H, ActiveSend, QueueView, RelayView
from .outbox import UNCHARGED
from .outbox_models import DeliveryAttemptRow, RelayStateRow, SendRecipientRow, SendRow
from .queries import utcnow
from .queue_control import switch
from .send_records import send_summary
from .transaction import Transactor

ACTIVE_SENDS = 20  # the section lists the oldest unfinished sends, no more
_PENDING = tuple(s.value for s in PENDING)
_ATTEMPTS = DeliveryAttemptRow


class QueueStatus:
    """Reads the SMTP service's state for Server information."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)

    def read(self, relays: Sequence[tuple[str, str]], per_hour: int,
             now: datetime | None = None) -> QueueView:
        """`relays` are the configured (name, host:port), primary first."""
        def work(s: Session) -> QueueView:
            at = now or utcnow()
            r = SendRecipientRow
            pending = dict(s.execute(select(r.state, func.count())
                                     .where(r.state.in_(_PENDING)).group_by(r.state)).all())
            since = at - timedelta(hours=RECENT_H)
            recent = dict(s.execute(
                select(r.state, func.count()).join(SendRow, SendRow.id == r.send_id)
                .where(SendRow.created_at > since).group_by(r.state)).all())
            oldest = s.scalar(select(func.min(r.queued_at)).where(r.state.in_(_PENDING)))
            return QueueView(
                switch=switch(s), pending=pending, recent=recent, oldest_pending_at=oldest,
                relays=tuple(_relay(s, name, label, per_hour, at) for name, label in relays),
                sends=_active(s, at), configured=bool(relays))

        return self._tx.read(work)


def _relay(s: Session, name: str, label: str, per_hour: int, at: datetime) -> RelayView:
    row = s.get(RelayStateRow, name)
    took = _ATTEMPTS.outcome == "accepted"
    sent_5m, sent_60m, charged = s.execute(
        select(func.count().filter(took, _ATTEMPTS.finished_at > at - timedelta(minutes=5)),
               func.count().filter(took),
               func.count().filter(_ATTEMPTS.outcome.not_in(UNCHARGED)))
        .where(_ATTEMPTS.relay == name, _ATTEMPTS.started_at > at - timedelta(hours=1))).one()
    if row is None:
        return RelayView(name=name, label=label, state="unknown", until=None, reason=None,
                         last_error=None, last_ok_at=None, down_since=None, tls=None,
                         authenticated=None, sent_5m=sent_5m, sent_60m=sent_60m,
                         budget_hour=per_hour - charged, limit_hour=per_hour)
    # A row is made by the first claim or check: untried until it took or refused a message.
    untried = row.state == "active" and row.last_ok_at is None and row.last_error is None
    return RelayView(
        name=name, label=label, state="unknown" if untried else row.state, until=row.until,
        reason=row.reason, last_error=row.last_error, last_ok_at=row.last_ok_at,
        down_since=row.down_since, tls=row.tls, authenticated=row.authenticated,
        sent_5m=sent_5m, sent_60m=sent_60m, budget_hour=per_hour - charged,
        limit_hour=per_hour, checks=row.checks, checked_at=row.checked_at)


def _active(s: Session, at: datetime) -> tuple[ActiveSend, ...]:
    rows = s.scalars(select(SendRow).where(SendRow.finished_at.is_(None))
                     .order_by(SendRow.id).limit(ACTIVE_SENDS)).all()
    if not rows:
        return ()
    paced = dict(s.execute(
        select(SendRecipientRow.send_id, func.count()).select_from(_ATTEMPTS)
        .join(SendRecipientRow, SendRecipientRow.id == _ATTEMPTS.recipient_id)
        .where(SendRecipientRow.send_id.in_([row.id for row in rows]),
               _ATTEMPTS.outcome == "accepted",
               _ATTEMPTS.finished_at > at - timedelta(minutes=5))
        .group_by(SendRecipientRow.send_id)).all())
    stopped = not switch(s).running
    return tuple(ActiveSend(send_summary(s, row, stopped), paced.get(row.id, 0),
                            (at - _aware(row.created_at)).total_seconds()) for row in rows)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
