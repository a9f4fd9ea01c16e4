"""The outbox: sends and their per-recipient queue in the database, shared by every worker.

Workers claim due recipients under a lease in one statement (`UPDATE ... WHERE id IN (SELECT
... FOR UPDATE SKIP LOCKED)` on PostgreSQL; SQLite's BEGIN IMMEDIATE makes one claimer at a
time), inside the same transaction that reads the rate windows, so many workers share one
budget. A worker that dies leaves its rows leased; `reap` gives them back when the lease runs
out, so nothing is lost and at most what it held is sent twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from ..sending.model import (
    PENDING,
    Claimed,
    NewSend,
    SendContent,
    State,
    Suppression,
)
from ..sending.replies import Reply
from .models import Contact, UTCDateTime
from .outbox_models import (
    DeliveryAttemptRow,
    SendRecipientRow,
    SendRow,
    SuppressionRow,
)
from .queries import utcnow
from .queue_control import stopped
from .relay_state import relay_row
from .transaction import Transactor

_CHUNK = 500  # rows per INSERT and keys per IN (...): well under every driver's limits
_DUE = (State.QUEUED.value, State.DEFERRED.value)
_PENDING = tuple(s.value for s in PENDING)
# Attempts that charge nobody's rate budget: the relay failed, or the copy was held back
# (STOP, pause, cancel) before it was offered.
UNCHARGED = ("relay", "held")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, as the worker decided it (sending/replies.py)."""

    state: State  # sent, deferred, failed (or queued again: a relay problem charges nobody)
    stage: str | None
    code: int | None
    enhanced: str | None
    text: str | None
    meaning: str | None
    outcome: str  # the attempt's class, kept in its row
    remote_id: str | None = None
    next_attempt_at: datetime | None = None
    charge: bool = True  # False: the relay failed, the recipient keeps its attempts


# The worker's per-message statements, built once: Core statements with bound parameters compile
# once and skip the ORM's bookkeeping, which cost ten times the database's own work.
_RECIPIENTS: Table = SendRecipientRow.__table__  # type: ignore[assignment]
_ATTEMPTS: Table = DeliveryAttemptRow.__table__  # type: ignore[assignment]
_SENDS: Table = SendRow.__table__  # type: ignore[assignment]
_R = _RECIPIENTS.c
_A = _ATTEMPTS.c
_CLOSE_ATTEMPT = (update(_ATTEMPTS).where(_A.id == bindparam("attempt"))
                  .values(finished_at=bindparam("at"), stage=bindparam("reply_stage"),
                          code=bindparam("reply_code"), enhanced=bindparam("reply_enhanced"),
                          text=bindparam("reply_text"), outcome=bindparam("kind")))
_RECORD = dict(state=bindparam("new_state"), lease_owner=None, lease_until=None,
               last_stage=bindparam("reply_stage"), last_code=bindparam("reply_code"),
               last_enhanced=bindparam("reply_enhanced"), last_text=bindparam("reply_text"),
               meaning=bindparam("said"), updated_at=bindparam("at"),
               next_attempt_at=bindparam("next"), attempts=_R.attempts + bindparam("charge"),
               remote_id=func.coalesce(bindparam("queue_id", type_=String), _R.remote_id),
               sent_at=func.coalesce(bindparam("went_at", type_=UTCDateTime), _R.sent_at))
_RECORD_SENT = (update(_RECIPIENTS)
                .where(_R.id == bindparam("recipient"), _R.state.in_(_PENDING)).values(**_RECORD))
_RECORD_MINE = (update(_RECIPIENTS)
                .where(_R.id == bindparam("recipient"), _R.lease_owner == bindparam("worker"))
                .values(**_RECORD))
_ANY_PENDING = (select(_R.id).where(_R.send_id == bindparam("send_id"), _R.state.in_(_PENDING))
                .limit(1))
_SEND_FINISHED = (update(_SENDS)
                  .where(_SENDS.c.id == bindparam("send_id"),
                         _SENDS.c.finished_at.is_(None))
                  .values(finished_at=bindparam("at")))


class Outbox:
    """The send tables' repository; every public call is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tx = Transactor(engine)
        self._postgres = engine.dialect.name == "postgresql"

    # Creating

    def create(self, new: NewSend, message_domain: str) -> int:
        """Store a send and queue its recipients; returns its id."""
        def work(s: Session) -> int:
            now = utcnow()
            row = SendRow(sender=new.sender, from_address=new.from_address,
                          subject=new.subject, html=new.html, text=new.text,
                          tracking=new.tracking, base_url=new.base_url, state="active",
                          test=new.test, allow_incomplete=new.allow_incomplete,
                          report=dict(new.report), entries=list(new.entries), created_at=now)
            s.add(row)
            s.flush()
            rows = []
            for r in new.recipients:
                token = secrets.token_hex(12)
                rows.append({
                    "send_id": row.id, "address": r.address, "address_key": r.address.lower(),
                    "token": token, "message_id": f"<{token}.{row.id}@{message_domain}>",
                    "state": r.state.value, "reason": r.reason.value if r.reason else None,
                    "attempts": 0, "queued_at": now, "next_attempt_at": now, "updated_at": now})
            for start in range(0, len(rows), _CHUNK):
                s.execute(insert(SendRecipientRow), rows[start:start + _CHUNK])
            return row.id

        return self._tx.write(work)

    def suppressions(self, addresses: Iterable[str]) -> dict[str, Suppression]:
        """Lower-cased address -> why it must not be sent to: the suppression list, then
        Rollcall contacts opted out or deleted."""
        keys = sorted({a.lower() for a in addresses})

        def work(s: Session) -> dict[str, Suppression]:
            found: dict[str, Suppression] = {}
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start:start + _CHUNK]
                for key, deleted, opted in s.execute(
                        select(Contact.email_key, Contact.deleted_at, Contact.opted_out)
                        .where(Contact.email_key.in_(chunk))):
                    if key is None:
                        continue
                    if deleted is not None:
                        found[key] = Suppression.DELETED
                    elif opted:
                        found[key] = Suppression.OPTED_OUT
                for key, reason in s.execute(
                        select(SuppressionRow.address_key, SuppressionRow.reason)
                        .where(SuppressionRow.address_key.in_(chunk),
                               SuppressionRow.lifted_at.is_(None))):
                    found[key] = Suppression(reason)
            return found

        return self._tx.read(work)

    def suppressions_version(self) -> tuple[Any, ...]:
        """A value that changes whenever the suppression list does (a row added, lifted or
        suppressed again): one aggregate query, so a reader may keep the list between changes."""
        return tuple(self._tx.read_rows(lambda s: s.execute(select(
            func.count(SuppressionRow.id), func.max(SuppressionRow.id),
            func.max(SuppressionRow.created_at), func.max(SuppressionRow.lifted_at))).one()))

    def all_hard_bounced(self) -> frozenset[str]:
        """Every address (lower case) a hard bounce put on the suppression list, not lifted."""
        return frozenset(self._tx.read(lambda s: s.scalars(
            select(SuppressionRow.address_key).where(
                SuppressionRow.reason == Suppression.HARD_BOUNCE.value,
                SuppressionRow.lifted_at.is_(None))).all()))

    def hard_bounced(self, addresses: Iterable[str]) -> list[str]:
        """Of these addresses (lower case), those a hard bounce put on the suppression list."""
        keys = sorted({a.lower() for a in addresses})

        def work(s: Session) -> list[str]:
            found: list[str] = []
            for start in range(0, len(keys), _CHUNK):
                found += s.scalars(select(SuppressionRow.address_key).where(
                    SuppressionRow.address_key.in_(keys[start:start + _CHUNK]),
                    SuppressionRow.reason == Suppression.HARD_BOUNCE.value,
                    SuppressionRow.lifted_at.is_(None))).all()
            return found

        return self._tx.read(work)

    # Claiming

    def claim(self, worker: str, relay: str, limit: int, lease_s: float, per_minute: int,
              per_hour: int, now: datetime | None = None) -> list[Claimed]:
        """Lease up to `limit` due recipients for `relay`, within the relay's and each sender's
        rate windows (recipients, not messages); [] when nothing is due or the budget is spent."""
        def work(s: Session) -> list[Claimed]:
            at = now or utcnow()
            if stopped(s):  # an administrator stopped the SMTP service: claim nothing more
                return []
            relay_row(s, relay, at, lock=self._postgres)  # serialises the budget per relay
            allowance = min(limit, self._left(s, DeliveryAttemptRow.relay == relay, at,
                                              per_minute, per_hour))
            claimed: list[Claimed] = []
            if allowance <= 0:
                return claimed
            # Unfinished active sends, oldest first (a handful: reading the queue's rows to
            # find them would cost a scan of the outbox per claim).
            due = (select(SendRow.id, SendRow.sender)
                   .where(SendRow.state == "active", SendRow.finished_at.is_(None))
                   .order_by(SendRow.id).limit(50))
            for send_id, sender in s.execute(due).all():
                n = min(allowance, self._left(s, DeliveryAttemptRow.sender == sender, at,
                                              per_minute, per_hour))
                if n <= 0:
                    continue
                claimed += self._claim_from(s, send_id, sender, worker, relay, n, lease_s, at)
                allowance = min(limit, allowance) - len(claimed)
                if allowance <= 0:
                    break
            return claimed

        return self._tx.write(work)

    def _claim_from(self, s: Session, send_id: int, sender: str, worker: str, relay: str,
                    n: int, lease_s: float, at: datetime) -> list[Claimed]:
        ids = (select(SendRecipientRow.id)
               .where(SendRecipientRow.send_id == send_id, SendRecipientRow.state.in_(_DUE),
                      SendRecipientRow.next_attempt_at <= at)
               .order_by(SendRecipientRow.id).limit(n)
               .with_for_update(skip_locked=True))
        rows = s.execute(
            update(SendRecipientRow).where(SendRecipientRow.id.in_(ids.scalar_subquery()))
            .values(state=State.SENDING.value, lease_owner=worker, relay=relay,
                    lease_until=at + timedelta(seconds=lease_s), updated_at=at)
            .returning(SendRecipientRow.id, SendRecipientRow.address, SendRecipientRow.token,
                       SendRecipientRow.message_id, SendRecipientRow.attempts,
                       SendRecipientRow.queued_at)
        ).all()
        if not rows:
            return []
        attempt_ids = s.scalars(
            insert(DeliveryAttemptRow).returning(DeliveryAttemptRow.id,
                                                 sort_by_parameter_order=True),
            [{"recipient_id": r.id, "sender": sender, "relay": relay, "worker": worker,
              "started_at": at, "outcome": "pending"} for r in rows]).all()
        return [Claimed(id=r.id, send_id=send_id, address=r.address, token=r.token,
                        message_id=r.message_id, attempt_id=a, attempts=r.attempts,
                        queued_at=_aware(r.queued_at))
                for r, a in zip(rows, attempt_ids, strict=True)]

    @staticmethod
    def _left(s: Session, who: object, at: datetime, per_minute: int, per_hour: int) -> int:
        """Recipients left in the minute and hour windows; relay failures charge nobody."""
        counted = and_(who, DeliveryAttemptRow.outcome.not_in(UNCHARGED))  # type: ignore[arg-type]
        minute, hour = s.execute(select(
            func.count().filter(DeliveryAttemptRow.started_at > at - timedelta(minutes=1)),
            func.count()).where(counted,
                                DeliveryAttemptRow.started_at > at - timedelta(hours=1))).one()
        return min(per_minute - minute, per_hour - hour)

    def budget_frees_at(self, sender: str, relay: str, per_minute: int, per_hour: int,
                        now: datetime | None = None) -> datetime | None:
        """When the rate windows next let one more recipient go, if they are full now."""
        def work(s: Session) -> datetime | None:
            at = now or utcnow()
            later: list[datetime] = []
            for who in (DeliveryAttemptRow.sender == sender, DeliveryAttemptRow.relay == relay):
                for window, limit in ((timedelta(minutes=1), per_minute),
                                      (timedelta(hours=1), per_hour)):
                    starts = s.scalars(
                        select(DeliveryAttemptRow.started_at)
                        .where(who, DeliveryAttemptRow.outcome.not_in(UNCHARGED),
                               DeliveryAttemptRow.started_at > at - window)
                        .order_by(DeliveryAttemptRow.started_at.desc()).limit(limit)).all()
                    if len(starts) >= limit:
                        later.append(starts[-1] + window)
            return max(later) if later else None

        return self._tx.read(work)

    def content(self, send_id: int) -> SendContent:
        """A send's message, for the worker to render each copy."""
        def work(s: Session) -> SendContent:
            row = s.get_one(SendRow, send_id)
            return SendContent(id=row.id, from_address=row.from_address, subject=row.subject,
                               html=row.html, text=row.text, tracking=row.tracking,
                               base_url=row.base_url)

        return self._tx.read(work)

    # Recording

    def finish(self, claimed: Claimed, outcome: Outcome, worker: str) -> None:
        """Record one attempt's reply and move its recipient on (committed at once: a crash
        after a 250 must not forget that the message went)."""
        sent = outcome.state is State.SENT

        def work(s: Session) -> None:
            at = utcnow()
            reply = {"reply_stage": outcome.stage, "reply_code": outcome.code,
                     "reply_enhanced": outcome.enhanced, "reply_text": outcome.text, "at": at}
            s.execute(_CLOSE_ATTEMPT, {**reply, "attempt": claimed.attempt_id,
                                       "kind": outcome.outcome})
            # A message that went is recorded whoever holds its row now; anything else only
            # by the lease's holder.
            s.execute(_RECORD_SENT if sent else _RECORD_MINE, {
                **reply, "recipient": claimed.id, "worker": worker,
                "new_state": outcome.state.value, "said": outcome.meaning,
                "next": outcome.next_attempt_at or at, "charge": int(outcome.charge),
                "queue_id": outcome.remote_id if sent else None,
                "went_at": at if sent else None})
            if outcome.state in (State.SENT, State.FAILED) and s.execute(
                    _ANY_PENDING, {"send_id": claimed.send_id}).first() is None:
                s.execute(_SEND_FINISHED, {"send_id": claimed.send_id, "at": at})

        self._tx.write(work)

    def hold(self, send_id: int) -> str | None:
        """Why a worker must not send a send's copies it holds: "stopped" (the SMTP service),
        "paused" or "cancelled" (the send); None when it may."""
        def work(s: Session) -> str | None:
            if stopped(s):
                return "stopped"
            state = s.scalar(select(SendRow.state).where(SendRow.id == send_id))
            return state if state in ("paused", "cancelled") else None

        return self._tx.read(work)

    def release(self, claimed: Sequence[Claimed], worker: str, after: datetime,
                said: Reply | None = None, cancel: bool = False,
                outcome: str = "relay") -> None:
        """Give recipients back untried (their relay failed, or the send was stopped or
        paused): due again at `after`; with `cancel`, cancelled instead (the send was). `said`
        is what the relay said (kept with each attempt, for a trace)."""
        if not claimed:
            return

        def work(s: Session) -> None:
            at = utcnow()
            ids = [c.id for c in claimed]
            reply = {} if said is None else {
                "stage": said.stage.value, "code": said.code, "enhanced": said.enhanced,
                "text": said.text[:1000]}
            s.execute(update(DeliveryAttemptRow)
                      .where(DeliveryAttemptRow.id.in_([c.attempt_id for c in claimed]),
                             DeliveryAttemptRow.outcome == "pending")
                      .values(finished_at=at, outcome=outcome, **reply))
            mine = (update(SendRecipientRow)
                    .where(SendRecipientRow.id.in_(ids), SendRecipientRow.lease_owner == worker,
                           SendRecipientRow.state == State.SENDING.value))
            if cancel:
                s.execute(mine.values(state=State.CANCELLED.value, lease_owner=None,
                                      lease_until=None, updated_at=at,
                                      meaning="Cancelled before it was sent"))
                for send_id in {c.send_id for c in claimed}:
                    if s.execute(_ANY_PENDING, {"send_id": send_id}).first() is None:
                        s.execute(_SEND_FINISHED, {"send_id": send_id, "at": at})
                return
            s.execute(mine.values(state=_requeued(), lease_owner=None, lease_until=None,
                                  next_attempt_at=after, updated_at=at))

        self._tx.write(work)

    def reap(self, now: datetime | None = None) -> int:
        """Return recipients whose worker's lease ran out to the queue; how many."""
        def work(s: Session) -> int:
            at = now or utcnow()
            expired = (select(SendRecipientRow.id)
                       .where(SendRecipientRow.state == State.SENDING.value,
                              SendRecipientRow.lease_until < at)
                       .with_for_update(skip_locked=True))
            ids = s.scalars(
                update(SendRecipientRow).where(SendRecipientRow.id.in_(expired.scalar_subquery()))
                .values(state=_requeued(), lease_owner=None, lease_until=None,
                        next_attempt_at=at, updated_at=at)
                .returning(SendRecipientRow.id)).all()
            if ids:
                s.execute(update(DeliveryAttemptRow)
                          .where(DeliveryAttemptRow.recipient_id.in_(ids),
                                 DeliveryAttemptRow.outcome == "pending")
                          .values(finished_at=at, outcome="lost"))
            return len(ids)

        return self._tx.write(work)

    def pending(self) -> int:
        """Recipients not yet in a final state, in active or paused sends."""
        return self._tx.read(lambda s: s.scalar(select(func.count()).select_from(
            SendRecipientRow).where(SendRecipientRow.state.in_(_PENDING))) or 0)

    def next_due(self) -> datetime | None:
        """When the earliest waiting recipient of an active send is due."""
        return self._tx.read(lambda s: s.scalar(
            select(func.min(SendRecipientRow.next_attempt_at))
            .join(SendRow, SendRow.id == SendRecipientRow.send_id)
            .where(SendRecipientRow.state.in_(_DUE), SendRow.state == "active")))

    def unsubscribe(self, token: str) -> str | None:
        """Opt the recipient behind `token` out of every future send (idempotent); their
        address, or None for an unknown token."""
        def work(s: Session) -> str | None:
            found = s.execute(select(SendRecipientRow.address, SendRecipientRow.send_id,
                                     SendRow.test)
                              .join(SendRow, SendRow.id == SendRecipientRow.send_id)
                              .where(SendRecipientRow.token == token)).first()
            if found is None:
                return None
            address, send_id, test = found
            if not test:  # a sender trying the link on their own test copy changes nothing
                suppress(s, address, Suppression.UNSUBSCRIBED, "unsubscribe link", send_id)
            return str(address)

        return self._tx.write(work)


def suppress(s: Session, address: str, reason: Suppression, actor: str,
             send_id: int | None) -> None:
    """Put an address on the suppression list (again, if it was lifted); a Rollcall contact
    with that address is opted out too, audited, so the next count shows it."""
    from .queries import record

    at, key = utcnow(), address.lower()
    row = s.scalar(select(SuppressionRow).where(SuppressionRow.address_key == key))
    if row is None:
        s.add(SuppressionRow(address=address, address_key=key, reason=reason.value,
                             send_id=send_id, created_at=at, created_by=actor))
    elif row.lifted_at is not None:
        row.reason, row.send_id, row.created_at, row.created_by = (
            reason.value, send_id, at, actor)
        row.lifted_at = row.lifted_by = None
    contact = s.scalar(select(Contact).where(Contact.email_key == key))
    if contact is not None and not contact.opted_out and contact.deleted_at is None:
        contact.opted_out, contact.opted_out_at, contact.opted_out_by = True, at, actor
        record(s, actor, "contact.opted_out", at, contact=contact,
               detail={"changed": True, "reason": reason.value, "send": send_id})


def _requeued() -> object:
    # A recipient never tried is queued; one tried before waits as deferred.
    return case((SendRecipientRow.attempts > 0, State.DEFERRED.value),
                else_=State.QUEUED.value)


def _aware(at: datetime) -> datetime:
    # RETURNING hands back the driver's value: SQLite's is naive UTC text.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
