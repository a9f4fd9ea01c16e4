"""Bounce-backs in the database: matched to the recipient they are about (by token, by the
original Message-ID, by address), recorded whatever they say, and acted on in the same
transaction: the recipient bounced, a hard bounce's address suppressed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from ..sending.model import State, Suppression
from .access import Principal
from .models import Contact, Membership, RollcallList
from .outbox import suppress
from .outbox_models import BounceReportRow, SendRecipientRow
from .queries import utcnow
from .sharing import list_ids
from .transaction import Transactor

RAW_KEPT = 256 * 1024  # a report's raw bytes kept for an admin to read; larger ones are cut
ADDRESS_WINDOW = timedelta(days=30)  # a report naming only an address: its copies this recent
_OPEN = (State.SENT.value, State.SENDING.value, State.DEFERRED.value, State.QUEUED.value)


@dataclass(frozen=True, slots=True)
class Match:
    recipient_id: int
    send_id: int
    address: str
    state: str
    by: str  # verp | header | message_id | address


@dataclass(frozen=True, slots=True)
class Recorded:
    id: int
    match: Match | None
    bounced: bool  # the recipient's state became bounced
    suppressed: bool  # the address went on the suppression list


@dataclass(frozen=True, slots=True)
class Incoming:
    """A parsed report, as the intake hands it over."""

    source: str  # smtp | mailbox
    envelope_to: str | None
    kind: str
    method: str
    tokens: Sequence[str]
    verp: str | None  # the token read from the envelope recipient, if any
    message_ids: Sequence[str]
    addresses: Sequence[str]  # the failed recipients the report names
    status: str | None
    diagnostic: str | None
    remote_mta: str | None
    meaning: str | None
    subject: str | None
    reporter: str | None
    detail: dict[str, Any]
    raw: bytes


class Bounces:
    """The bounce_reports table and what a report does; one transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)

    def record(self, report: Incoming, act: bool, hard: bool) -> Recorded:
        """Keep the report; when `act`, mark its recipient bounced, and when `hard`, suppress
        the address (the next send and count show it)."""
        def work(s: Session) -> Recorded:
            at = utcnow()
            found = _match(s, report, at)
            row = BounceReportRow(
                received_at=at, source=report.source, envelope_to=report.envelope_to,
                kind=report.kind, method=report.method, matched_by=found.by if found else None,
                send_id=found.send_id if found else None,
                recipient_id=found.recipient_id if found else None,
                address=found.address if found else (report.addresses[0]
                                                     if report.addresses else None),
                status=report.status, diagnostic=report.diagnostic,
                remote_mta=report.remote_mta, subject=report.subject, reporter=report.reporter,
                detail=report.detail, raw=report.raw[:RAW_KEPT])
            s.add(row)
            s.flush()
            bounced = suppressed = False
            if found is not None and act and found.state != State.BOUNCED.value:
                s.execute(update(SendRecipientRow).where(SendRecipientRow.id == found.recipient_id)
                          .values(state=State.BOUNCED.value, last_stage="dsn",
                                  last_code=None, last_enhanced=report.status,
                                  last_text=report.diagnostic, meaning=report.meaning,
                                  lease_owner=None, lease_until=None, updated_at=at))
                bounced = True
            if found is not None and act and hard:
                suppress(s, found.address, Suppression.HARD_BOUNCE, "bounce", found.send_id)
                suppressed = True
            return Recorded(row.id, found, bounced, suppressed)

        return self._tx.write(work)

    def reports(self, send_id: int | None = None, unmatched: bool = False,
                limit: int = 100, who: Principal | None = None) -> list[dict[str, Any]]:
        """The newest reports first, of one send or all (or only those matching nobody); each
        names the Rollcall lists `who` may see that hold its address (where to fix it)."""
        def work(s: Session) -> list[dict[str, Any]]:
            query = select(BounceReportRow).order_by(BounceReportRow.id.desc()).limit(limit)
            if send_id is not None:
                query = query.where(BounceReportRow.send_id == send_id)
            if unmatched:
                query = query.where(BounceReportRow.recipient_id.is_(None))
            return [{**_json(r), "lists": _lists_holding(s, r.address, who)}
                    for r in s.scalars(query)]

        return self._tx.read(work)

    def counts(self, since: datetime) -> dict[str, int]:
        """Reports since `since` by kind, and how many matched nobody."""
        def work(s: Session) -> dict[str, int]:
            found = dict(s.execute(select(BounceReportRow.kind, func.count())
                                   .where(BounceReportRow.received_at > since)
                                   .group_by(BounceReportRow.kind)).all())
            found["unmatched"] = s.scalar(select(func.count()).select_from(BounceReportRow)
                                          .where(BounceReportRow.received_at > since,
                                                 BounceReportRow.recipient_id.is_(None))) or 0
            return {k: int(v) for k, v in found.items()}

        return self._tx.read(work)


def _match(s: Session, report: Incoming, at: datetime) -> Match | None:
    """Token (the envelope's VERP token first), then the returned Message-ID, then the address
    the report names (its most recent copy that went out)."""
    r = SendRecipientRow
    columns = (r.id, r.send_id, r.address, r.state)
    for token in report.tokens:
        row = s.execute(select(*columns).where(r.token == token.lower())).first()
        if row is not None:
            return Match(row.id, row.send_id, row.address, row.state,
                         "verp" if token == report.verp else "header")
    for message_id in report.message_ids:
        row = s.execute(select(*columns).where(r.message_id == message_id)).first()
        if row is not None:
            return Match(row.id, row.send_id, row.address, row.state, "message_id")
    for address in report.addresses:
        row = s.execute(select(*columns).where(
            r.address_key == address.lower(), r.state.in_(_OPEN + (State.BOUNCED.value,)),
            r.queued_at > at - ADDRESS_WINDOW).order_by(r.id.desc()).limit(1)).first()
        if row is not None:
            return Match(row.id, row.send_id, row.address, row.state, "address")
    return None


def _lists_holding(s: Session, address: str | None, who: Principal | None) -> list[str]:
    """The Rollcall lists `who` may see where `address` is an active contact member."""
    if not address:
        return []
    query = (select(RollcallList.name).join(Membership, Membership.list_id == RollcallList.id)
             .join(Contact, Contact.id == Membership.contact_id)
             .where(Contact.email_key == address.lower(), Membership.removed_at.is_(None))
             .order_by(RollcallList.name))
    visible = list_ids(who)
    if visible is not None:
        query = query.where(RollcallList.id.in_(visible))
    return list(s.scalars(query))


def _json(r: BounceReportRow) -> dict[str, Any]:
    return {"id": r.id, "received_at": r.received_at.isoformat(), "source": r.source,
            "envelope_to": r.envelope_to, "kind": r.kind, "method": r.method,
            "matched_by": r.matched_by, "send_id": r.send_id, "address": r.address,
            "status": r.status, "diagnostic": r.diagnostic, "remote_mta": r.remote_mta,
            "subject": r.subject, "reporter": r.reporter,
            "meaning": (r.detail or {}).get("meaning")}
