"""The SMTP service's controls: STOP/START for every worker, EMPTY, and per send pause, resume,
cancel and retry. Each change is one transaction with its audit event (who, when, why).

Nothing is deleted: EMPTY and cancel mark waiting recipients `cancelled`; a recipient a worker
holds right now finishes its attempt (STOP means "claim nothing more", not "drop the line").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Engine, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from ..sending.model import PENDING, State
from ..sending.queue_view import Switch
from .outbox_models import QueueControlRow, SendRecipientRow, SendRow, SuppressionRow
from .queries import record, utcnow
from .transaction import Transactor

SERVICE = "smtp"  # the switch's row
SELF = "rollcall"  # who a send that paused itself (bounces) names
_WAITING = (State.QUEUED.value, State.DEFERRED.value)
_PENDING = tuple(s.value for s in PENDING)


@dataclass(frozen=True, slots=True)
class SendControl:
    """A send's own switch, as its controls need it."""

    id: int
    sender: str
    state: str  # active | paused | cancelled
    finished: bool
    paused_by: str | None
    paused_at: datetime | None
    pause_reason: str | None


class QueueControl:
    """The controls' repository; every call is one transaction, audited."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)

    def switch(self) -> Switch:
        return self._tx.read(switch)

    def stop(self, actor: str, reason: str | None) -> Switch:
        """Workers finish what they hold and claim nothing more."""
        return self._tx.write(lambda s: self._set(s, "stopped", actor, reason))

    def start(self, actor: str, reason: str | None) -> Switch:
        return self._tx.write(lambda s: self._set(s, "running", actor, reason))

    def _set(self, s: Session, state: str, actor: str, reason: str | None) -> Switch:
        at = utcnow()
        row = s.get(QueueControlRow, SERVICE)
        if row is None:
            row = QueueControlRow(name=SERVICE, state=state)
            s.add(row)
        before = row.state
        row.state, row.changed_by, row.changed_at, row.reason = state, actor, at, reason
        action = "queue.stopped" if state == "stopped" else "queue.started"
        record(s, actor, action, at, detail={"reason": reason, "was": before})
        return _switch(row)

    def empty(self, actor: str, reason: str | None, send_id: int | None = None) -> int:
        """Cancel every waiting recipient (queued or deferred), of one send or all; how many.
        Sends left with nothing pending are finished."""
        def work(s: Session) -> int:
            at = utcnow()
            ids = _cancel_waiting(s, at, None if send_id is None else [send_id])
            record(s, actor, "queue.emptied", at,
                   detail={"reason": reason, "send": send_id, "cancelled": ids})
            return ids

        return self._tx.write(work)

    def send(self, send_id: int) -> SendControl | None:
        """A send's switch; None if there is no such send."""
        def work(s: Session) -> SendControl | None:
            row = s.get(SendRow, send_id)
            return None if row is None else _control(row)

        return self._tx.read(work)

    def pause(self, send_id: int, actor: str, reason: str | None,
              unless_resumed: bool = False) -> bool:
        """Pause an active send; `unless_resumed`: not one someone resumed after it paused
        itself for bounces. Whether it paused."""
        def work(s: Session) -> bool:
            at = utcnow()
            query = update(SendRow).where(SendRow.id == send_id, SendRow.state == "active")
            if unless_resumed:
                query = query.where(SendRow.bounce_resumed.is_not(True))
            if not _changed(s, query.values(state="paused", paused_by=actor, paused_at=at,
                                            pause_reason=reason)):
                return False
            record(s, actor, "send.paused", at, detail={"send": send_id, "reason": reason})
            return True

        return self._tx.write(work)

    def resume(self, send_id: int, actor: str, reason: str | None) -> None:
        def work(s: Session) -> None:
            at = utcnow()
            row = s.get(SendRow, send_id)
            if row is None or row.state != "paused":
                return
            # Someone chose to go on after the send paused itself for bounces: it is not
            # paused for them again.
            if row.paused_by == SELF:
                row.bounce_resumed = True
            row.state, row.paused_by, row.paused_at, row.pause_reason = (
                "active", None, None, None)
            record(s, actor, "send.resumed", at, detail={"send": send_id, "reason": reason})

        self._tx.write(work)

    def cancel(self, send_id: int, actor: str, reason: str | None) -> int:
        """The send is cancelled: its waiting recipients too (how many)."""
        def work(s: Session) -> int:
            at = utcnow()
            s.execute(update(SendRow).where(SendRow.id == send_id)
                      .values(state="cancelled", paused_by=None, paused_at=None,
                              pause_reason=None))
            n = _cancel_waiting(s, at, [send_id])
            record(s, actor, "send.cancelled", at,
                   detail={"send": send_id, "reason": reason, "cancelled": n})
            return n

        return self._tx.write(work)

    def retry(self, send_id: int, actor: str, reason: str | None) -> int:
        """Due now: deferred recipients, and those that failed only because temporary refusals
        ran out their time (their clock starts again). How many."""
        def work(s: Session) -> int:
            at = utcnow()
            r = SendRecipientRow
            deferred = _changed(s, update(r).where(r.send_id == send_id,
                                                   r.state == State.DEFERRED.value)
                                .values(next_attempt_at=at, updated_at=at))
            gave_up = _changed(s, update(r).where(
                r.send_id == send_id, r.state == State.FAILED.value, failed_by_deferral())
                .values(state=State.DEFERRED.value, queued_at=at, next_attempt_at=at,
                        updated_at=at))
            if gave_up:
                s.execute(update(SendRow).where(SendRow.id == send_id)
                          .values(finished_at=None))
            record(s, actor, "send.retried", at,
                   detail={"send": send_id, "reason": reason, "due_now": deferred,
                           "requeued": gave_up})
            return deferred + gave_up

        return self._tx.write(work)


    def suppressions(self, limit: int = 500) -> list[dict[str, Any]]:
        """The suppression list in force, newest first."""
        def work(s: Session) -> list[dict[str, Any]]:
            rows = s.scalars(select(SuppressionRow).where(SuppressionRow.lifted_at.is_(None))
                             .order_by(SuppressionRow.id.desc()).limit(limit))
            return [{"address": r.address, "reason": r.reason, "send_id": r.send_id,
                     "created_at": r.created_at.isoformat(), "created_by": r.created_by}
                    for r in rows]

        return self._tx.read(work)

    def lift(self, address: str, actor: str, reason: str | None) -> bool:
        """Take an address off the suppression list (audited); False if it was not on it."""
        def work(s: Session) -> bool:
            at = utcnow()
            row = s.scalar(select(SuppressionRow).where(
                SuppressionRow.address_key == address.lower(),
                SuppressionRow.lifted_at.is_(None)))
            if row is None:
                return False
            row.lifted_at, row.lifted_by = at, actor
            record(s, actor, "suppression.lifted", at,
                   detail={"address": row.address, "was": row.reason, "reason": reason})
            return True

        return self._tx.write(work)


def switch(s: Session) -> Switch:
    row = s.get(QueueControlRow, SERVICE)
    return Switch(running=True) if row is None else _switch(row)


def stopped(s: Session) -> bool:
    """In a claim's transaction: the service is stopped (claim nothing)."""
    return s.scalar(select(QueueControlRow.state).where(
        QueueControlRow.name == SERVICE)) == "stopped"


def failed_by_deferral() -> Any:
    """A failed recipient whose last refusal was temporary (4xx, or the line dropped mid-
    message): it gave up on time, not because the address is bad."""
    r = SendRecipientRow
    return or_(and_(r.last_code >= 400, r.last_code < 500),
               and_(r.last_code.is_(None), r.last_stage.in_(("mail", "rcpt", "data"))))


def _cancel_waiting(s: Session, at: datetime, send_ids: Sequence[int] | None) -> int:
    r = SendRecipientRow
    waiting = select(r.send_id).where(r.state.in_(_WAITING)).distinct()
    if send_ids is not None:
        waiting = waiting.where(r.send_id.in_(send_ids))
    touched = list(s.scalars(waiting))
    if not touched:
        return 0
    n = _changed(s, update(r).where(r.state.in_(_WAITING), r.send_id.in_(touched))
                 .values(state=State.CANCELLED.value, updated_at=at,
                         meaning="Cancelled before it was sent"))
    # A send whose waiting copies were cancelled is cancelled: "done" would claim it finished.
    s.execute(update(SendRow).where(SendRow.id.in_(touched))
              .values(state="cancelled", paused_by=None, paused_at=None, pause_reason=None))
    # Sends with nothing pending any more are finished (those a worker still holds finish
    # with the worker's last reply).
    pending = exists().where(r.send_id == SendRow.id, r.state.in_(_PENDING))
    s.execute(update(SendRow).where(SendRow.finished_at.is_(None), ~pending,
                                    SendRow.id.in_(touched)).values(finished_at=at))
    return n


def _changed(s: Session, statement: Any) -> int:
    """Rows an UPDATE changed."""
    result: CursorResult[Any] = s.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def _switch(row: QueueControlRow) -> Switch:
    return Switch(running=row.state != "stopped", changed_by=row.changed_by,
                  changed_at=row.changed_at, reason=row.reason)


def _control(row: SendRow) -> SendControl:
    return SendControl(id=row.id, sender=row.sender, state=row.state,
                       finished=row.finished_at is not None, paused_by=row.paused_by,
                       paused_at=row.paused_at, pause_reason=row.pause_reason)

