"""Finding a recipient's copy by Message-ID, the relay's queue id or the address, with every
row that tells its story (attempts, the suppression it caused, opens and clicks)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, Row, select
from sqlalchemy.orm import Session

from ..sending.trace import (
    Attempt,
    Engagement,
    Listed,
    QueryKind,
    Report,
    Trace,
    clean,
    history,
    message_id_form,
    query_kinds,
    reply_line,
)
from .outbox_models import (
    BounceReportRow,
    DeliveryAttemptRow,
    SendRecipientRow,
    SendRow,
    SuppressionRow,
    TrackingEventRow,
)
from .transaction import Transactor

MAX_RESULTS = 500  # keeps the IN (...) lists of the follow-up reads well inside every driver
MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER: a larger id names no send (and the driver refuses it)


class Traces:
    """Traces as support asks for them; one read transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)

    def find(self, query: str, send_id: int | None = None, limit: int = 50) -> list[Trace]:
        """Every copy the query names, newest send first; [] when nothing matches. Raises
        ValueError (a sentence) for an empty or too long query, before reading anything."""
        kinds = query_kinds(query)
        if send_id is not None and not 0 < send_id <= MAX_ID:
            return []
        limit = max(1, min(limit, MAX_RESULTS))

        def work(s: Session) -> list[Trace]:
            for kind in kinds:  # the first kind that matches anything wins
                where = [_match(kind, query)]
                if send_id is not None:
                    where.append(SendRecipientRow.send_id == send_id)
                rows = s.execute(
                    select(SendRecipientRow, SendRow.subject, SendRow.sender, SendRow.test)
                    .join(SendRow, SendRow.id == SendRecipientRow.send_id).where(*where)
                    .order_by(SendRecipientRow.send_id.desc(), SendRecipientRow.id)
                    .limit(limit)).all()
                if rows:
                    return _traces(s, rows)
            return []

        return self._tx.read(work)


def _match(kind: QueryKind, query: str) -> ColumnElement[bool]:
    if kind is QueryKind.MESSAGE_ID:
        return SendRecipientRow.message_id == message_id_form(query)
    if kind is QueryKind.QUEUE_ID:
        return SendRecipientRow.remote_id == clean(query)
    # address_key is the address lower-cased when it was queued
    return SendRecipientRow.address_key == clean(query).lower()


def _traces(s: Session, rows: Sequence[Row[SendRecipientRow, str, str, bool]]) -> list[Trace]:
    ids = [row[0].id for row in rows]
    attempts: dict[int, list[Attempt]] = {}
    for a in s.scalars(select(DeliveryAttemptRow)
                       .where(DeliveryAttemptRow.recipient_id.in_(ids))
                       .order_by(DeliveryAttemptRow.id)):
        attempts.setdefault(a.recipient_id, []).append(Attempt(
            started_at=a.started_at, finished_at=a.finished_at, relay=a.relay, worker=a.worker,
            stage=a.stage, code=a.code, enhanced=a.enhanced, text=a.text, outcome=a.outcome))
    engagement: dict[int, list[Engagement]] = {}
    for e in s.scalars(select(TrackingEventRow).where(TrackingEventRow.recipient_id.in_(ids))
                       .order_by(TrackingEventRow.id)):
        if e.recipient_id is not None:
            engagement.setdefault(e.recipient_id, []).append(
                Engagement(kind=e.kind, verdict=e.verdict, at=e.at, link_index=e.link_index))
    # One row per address (lifted and put back, it is rewritten): the list holds only the
    # latest reason, so it is this send's only while its send_id says so.
    listed = {(x.address_key, x.send_id): Listed(x.reason, x.created_at, x.lifted_at)
              for x in s.scalars(select(SuppressionRow).where(
                  SuppressionRow.address_key.in_({row[0].address_key for row in rows}),
                  SuppressionRow.send_id.in_({row[0].send_id for row in rows})))}
    reports: dict[int, list[Report]] = {}
    for b in s.scalars(select(BounceReportRow).where(BounceReportRow.recipient_id.in_(ids))
                       .order_by(BounceReportRow.id)):
        if b.recipient_id is not None:
            reports.setdefault(b.recipient_id, []).append(Report(
                at=b.received_at, kind=b.kind, status=b.status, diagnostic=b.diagnostic,
                remote_mta=b.remote_mta, meaning=(b.detail or {}).get("meaning")))
    found = []
    for r, subject, sender, test in rows:
        events = history(
            state=r.state, reason=r.reason, queued_at=r.queued_at, updated_at=r.updated_at,
            remote_id=r.remote_id, final_meaning=r.meaning, next_attempt_at=r.next_attempt_at,
            attempts=attempts.get(r.id, ()), listed=listed.get((r.address_key, r.send_id)),
            engagement=engagement.get(r.id, ()), reports=reports.get(r.id, ()))
        found.append(Trace(
            send_id=r.send_id, subject=subject, sender=sender, test=test, address=r.address,
            state=r.state, message_id=r.message_id, remote_id=r.remote_id, relay=r.relay,
            attempts=r.attempts, queued_at=r.queued_at, sent_at=r.sent_at, events=events,
            last_reply=reply_line(r.last_code, r.last_text)))
    return found
