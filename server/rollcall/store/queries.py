"""Lookups, audit recording and row -> record conversion shared by the repository modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.store.errors import ListNotFound
from rollcall.store.models import AuditEvent, AuditEventList, Contact, Membership, RollcallList
from rollcall.store.records import AuditInfo, ListInfo, MemberInfo, Tracking
from rollcall.store.validate import list_address, list_key, strip_list_prefix


def utcnow() -> datetime:
    return datetime.now(UTC)


def pseudonym(contact_id: int) -> str:
    """The stable name a purged contact keeps in the audit trail and snapshots."""
    return f"purged-contact-{contact_id}"


def find_list(session: Session, name: str) -> RollcallList:
    """The list named `name` or "list:NAME"; raises ListNotFound."""
    row = session.scalars(
        select(RollcallList).where(RollcallList.name_key == list_key(name))
    ).first()
    if row is None:
        raise ListNotFound(f"no Rollcall list named {strip_list_prefix(name)!r}")
    return row


def find_contact(session: Session, key: str, lock: bool = True) -> Contact | None:
    """The contact with that address key; locked (FOR UPDATE) so deletes and adds serialise."""
    query = select(Contact).where(Contact.email_key == key)
    return session.scalars(query.with_for_update() if lock else query).first()


def active_membership(session: Session, list_id: int, **member: Any) -> Membership | None:
    """The active membership of one member (contact_id=, exchange_key= or child_list_id=)."""
    ((column, value),) = member.items()
    query = select(Membership).where(
        Membership.list_id == list_id,
        getattr(Membership, column) == value,
        Membership.removed_at.is_(None),
    )
    return session.scalars(query.with_for_update()).first()


def record(
    session: Session,
    actor: str,
    action: str,
    at: datetime,
    lists: Sequence[RollcallList] = (),
    contact: Contact | None = None,
    all_lists: bool = False,
    tracking: Tracking = "kept",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event (flushed, so its id can mark the memberships it ended)."""
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        contact_id=contact.id if contact else None,
        contact_email=contact.email if contact else None,
        list_names=[row.name for row in lists],
        all_lists=all_lists,
        tracking=tracking,
        detail=detail or {},
    )
    session.add(event)
    session.flush()
    for list_id in {row.id for row in lists}:
        session.add(AuditEventList(event_id=event.id, list_id=list_id))
    return event


def list_info(row: RollcallList) -> ListInfo:
    return ListInfo(row.name, list_address(row.name), row.owner, row.expected, row.created_at)


def audit_info(event: AuditEvent) -> AuditInfo:
    purged = event.contact_id is not None and event.contact_email is None
    return AuditInfo(
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        email=event.contact_email,
        pseudonym=pseudonym(event.contact_id) if purged and event.contact_id else None,
        lists=tuple(event.list_names or ()),
        all_lists=event.all_lists,
        tracking=cast(Tracking, event.tracking),
        detail=dict(event.detail or {}),
    )


def member_info(
    membership: Membership, contact: Contact | None, child: RollcallList | None
) -> MemberInfo:
    if contact is not None:
        return MemberInfo(
            "contact",
            contact.email,
            contact.name,
            contact.opted_out,
            membership.added_at,
            membership.added_by,
        )
    if child is not None:
        return MemberInfo(
            "list",
            list_address(child.name),
            child.name,
            False,
            membership.added_at,
            membership.added_by,
        )
    return MemberInfo(
        "exchange", membership.exchange_address, "", False, membership.added_at, membership.added_by
    )


def end(memberships: Iterable[Membership], actor: str, at: datetime, event: AuditEvent) -> None:
    """End memberships softly: the rows stay, marked with who, when and which event."""
    for membership in memberships:
        membership.removed_at = at
        membership.removed_by = actor
        membership.removal_event_id = event.id
