"""Read-side queries: a list's members and removals, and its CSV export."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from rollcall.store.csv_io import export_text
from rollcall.store.models import AuditEvent, Contact, Membership, RollcallList
from rollcall.store.queries import list_info, member_info
from rollcall.store.records import ListMembers, MemberKind, RemovalInfo, Tracking
from rollcall.store.validate import list_address

Child = aliased(RollcallList)


def _rows(
    s: Session, lst: RollcallList, active: bool
) -> list[tuple[Membership, Contact | None, RollcallList | None]]:
    query = (
        select(Membership, Contact, Child)
        .outerjoin(Contact, Contact.id == Membership.contact_id)
        .outerjoin(Child, Child.id == Membership.child_list_id)
        .where(Membership.list_id == lst.id)
    )
    if active:
        query = query.where(Membership.removed_at.is_(None)).order_by(Membership.id)
    else:
        query = query.where(Membership.removed_at.is_not(None)).order_by(
            Membership.removed_at.desc(), Membership.id.desc()
        )
    return [(m, c, child) for m, c, child in s.execute(query)]


def _identity(m: Membership) -> tuple[str, object]:
    if m.contact_id is not None:
        return "contact", m.contact_id
    if m.child_list_id is not None:
        return "list", m.child_list_id
    return "exchange", m.exchange_key


def list_members(s: Session, lst: RollcallList) -> ListMembers:
    """Active members in the order added; removals newest first, one per member not re-added."""
    active = _rows(s, lst, active=True)
    present = {_identity(m) for m, _, _ in active}
    ended = _rows(s, lst, active=False)
    event_ids = {m.removal_event_id for m, _, _ in ended if m.removal_event_id is not None}
    events = (
        {e.id: e for e in s.scalars(select(AuditEvent).where(AuditEvent.id.in_(event_ids)))}
        if event_ids
        else {}
    )
    removed: list[RemovalInfo] = []
    for membership, contact, child in ended:
        identity = _identity(membership)
        if identity in present:
            continue  # re-added or restored since: no longer explains a drop
        present.add(identity)  # only its newest removal
        event = events.get(membership.removal_event_id or -1)
        removed.append(_removal(lst, membership, contact, child, event))
    members = tuple(member_info(m, c, child) for m, c, child in active)
    return ListMembers(list_info(lst), members, tuple(removed))


def _removal(
    lst: RollcallList,
    m: Membership,
    contact: Contact | None,
    child: RollcallList | None,
    event: AuditEvent | None,
) -> RemovalInfo:
    kind = cast(MemberKind, _identity(m)[0])
    if contact is not None:
        address, name = contact.email, contact.name
        tracking: Tracking = "purged" if contact.tracking_purged else "kept"
    elif child is not None:
        address, name, tracking = list_address(child.name), child.name, "kept"
    else:
        address, name, tracking = m.exchange_address, "", "kept"
    lists = tuple(event.list_names) if event and event.list_names else (lst.name,)
    return RemovalInfo(
        address=address,
        name=name,
        removed_at=m.removed_at or m.added_at,
        removed_by=m.removed_by or "",
        lists=lists,
        all_lists=bool(event and event.all_lists),
        tracking=tracking,
        kind=kind,
    )


def redact(members: ListMembers, visible: frozenset[str] | None) -> ListMembers:
    """The removals naming only the lists in `visible` (None: all) besides this one: a delete
    from several lists must not tell a reader of one the names of lists they may not see."""
    if visible is None:
        return members
    own = members.list.name
    removed = tuple(replace(r, lists=tuple(n for n in r.lists if n == own or n in visible))
                    for r in members.removed)
    return replace(members, removed=removed)


def active_lists(s: Session, contact_id: int) -> list[RollcallList]:
    """The lists a contact is an active member of, by name."""
    query = (
        select(RollcallList)
        .join(Membership, Membership.list_id == RollcallList.id)
        .where(Membership.contact_id == contact_id, Membership.removed_at.is_(None))
        .order_by(RollcallList.name_key)
    )
    return list(s.scalars(query))


def export(s: Session, lst: RollcallList) -> str:
    """CSV of the list's active contacts, by address."""
    query = (
        select(Contact)
        .join(Membership, Membership.contact_id == Contact.id)
        .where(Membership.list_id == lst.id, Membership.removed_at.is_(None))
        .order_by(Contact.email_key)
    )
    return export_text(
        (c.email or "", c.name, c.opted_out, c.attributes or {}) for c in s.scalars(query)
    )
