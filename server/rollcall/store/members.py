"""Membership changes shared by the repository, deletion and import modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.store.errors import AlreadyExists, ContactDeleted, MemberNotFound, NestedTooDeep
from rollcall.store.models import Contact, Membership, RollcallList
from rollcall.store.queries import (
    active_membership,
    audit_info,
    end,
    find_contact,
    find_list,
    record,
    utcnow,
)
from rollcall.store.records import AuditInfo
from rollcall.store.validate import LIST_PREFIX, list_key, normalise_email


def create(s: Session, name: str, owner: str, expected: int | None) -> RollcallList:
    """Insert a list and its audit event; raises AlreadyExists."""
    existing = s.scalars(select(RollcallList).where(RollcallList.name_key == list_key(name)))
    if existing.first() is not None:
        raise AlreadyExists(f"a list named {name!r} already exists")
    at = utcnow()
    row = RollcallList(
        name=name, name_key=list_key(name), owner=owner, expected=expected, created_at=at
    )
    s.add(row)
    s.flush()
    record(s, owner, "list.created", at, [row], detail={"owner": owner, "expected": expected})
    return row


def new_contact(s: Session, address: str, key: str, at: datetime, flush: bool = True) -> Contact:
    """Insert a contact; a concurrent insert of the same address fails the flush and retries.

    An import flushes once at the end instead: its whole file is one transaction anyway."""
    contact = Contact(
        email=address,
        email_key=key,
        name="",
        attributes={},
        opted_out=False,
        tracking_purged=False,
        created_at=at,
    )
    s.add(contact)
    if flush:
        s.flush()
    return contact


def update_contact(
    contact: Contact, name: str | None, attributes: dict[str, str] | None
) -> list[str]:
    """Apply a new name and merge attributes ("" removes one); returns what changed."""
    changed = []
    if name is not None and name != contact.name:
        contact.name = name
        changed.append("name")
    if attributes:
        merged = dict(contact.attributes or {})
        folded = {k.casefold(): k for k in merged}
        for key, value in attributes.items():
            merged.pop(folded.get(key.casefold(), key), None)
            if value:
                merged[key] = value
        if merged != contact.attributes:
            contact.attributes = merged
            changed.append("attributes")
    return changed


def deleted_error(contact: Contact) -> ContactDeleted:
    when = contact.deleted_at.isoformat() if contact.deleted_at else "?"
    return ContactDeleted(
        f"{contact.email} was deleted from all lists by {contact.deleted_by} at {when}; "
        "restore it first"
    )


def remove_contact(s: Session, lst: RollcallList, key: str, actor: str) -> AuditInfo:
    """End a contact's membership of one list; raises MemberNotFound."""
    contact = find_contact(s, key)
    membership = active_membership(s, lst.id, contact_id=contact.id) if contact else None
    if contact is None or membership is None:
        raise MemberNotFound(f"{key} is not a contact in list {lst.name!r}")
    return _end_contact(s, lst, contact, membership, actor)


def _end_contact(s: Session, lst: RollcallList, contact: Contact, membership: Membership,
                 actor: str) -> AuditInfo:
    at = utcnow()
    event = record(s, actor, "contact.removed_from_list", at, [lst], contact)
    end([membership], actor, at, event)
    return audit_info(event)


def remove_member(s: Session, list_name: str, target: str, actor: str) -> AuditInfo:
    """End the membership of a contact, Exchange address or child list ("list:NAME")."""
    lst = find_list(s, list_name)
    if not target.casefold().startswith(LIST_PREFIX) and "@" in target:
        address, key = normalise_email(target)
        contact = find_contact(s, key)
        own = active_membership(s, lst.id, contact_id=contact.id) if contact else None
        if contact is not None and own is not None:
            return _end_contact(s, lst, contact, own, actor)
        membership = active_membership(s, lst.id, exchange_key=key)
        detail: dict[str, Any] = {"kind": "exchange", "address": address}
    else:
        child = find_list(s, target)
        membership = active_membership(s, lst.id, child_list_id=child.id)
        detail = {"kind": "list", "address": LIST_PREFIX + child.name}
    if membership is None:
        raise MemberNotFound(f"{target} is not a member of list {lst.name!r}")
    at = utcnow()
    event = record(s, actor, "member.removed", at, [lst], detail=detail)
    end([membership], actor, at, event)
    return audit_info(event)


MAX_NESTING = 20  # Rollcall lists chained inside each other, the outermost included


def check_nesting(s: Session, parent: RollcallList, child: RollcallList) -> None:
    """NestedTooDeep when nesting `child` in `parent` would make a chain of more than
    MAX_NESTING lists (levels as a count places them: breadth-first, a loop counted once)."""
    above, holders = _levels(s, parent.id, up=True)
    if child.id in holders:
        return  # a loop: the count meets the child again and stops there, no deeper
    below, _ = _levels(s, child.id, up=False)
    if above + below > MAX_NESTING:
        raise NestedTooDeep(
            f"Nesting {LIST_PREFIX}{child.name} in {LIST_PREFIX}{parent.name} would chain "
            f"{above + below} Rollcall lists inside each other; the most is {MAX_NESTING}. "
            "Nest fewer levels, or add the people themselves.")


def _levels(s: Session, start: int, up: bool) -> tuple[int, set[int]]:
    """How many lists deep the active nesting goes from `start` (itself included), up to its
    outermost holders or down to its innermost lists; stops counting past MAX_NESTING."""
    mine, theirs = ((Membership.child_list_id, Membership.list_id) if up
                    else (Membership.list_id, Membership.child_list_id))
    seen, level, depth = {start}, [start], 1
    while depth <= MAX_NESTING:
        found = {i for i in s.scalars(select(theirs).where(mine.in_(level),
                                                           Membership.removed_at.is_(None)))
                 if i is not None}
        level = list(found - seen)
        if not level:
            break
        seen.update(level)
        depth += 1
    return depth, seen
