"""Deleting a contact from every list, purging its tracking, and undoing the last delete.

With `who` (a person, not an administrator), "every list" is every list they may edit: the
contact stays in the others, and is marked deleted only once it is in no list at all. A restore
likewise brings back only memberships of lists they may edit. `who=None` is Rollcall itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rollcall.store import snapshots
from rollcall.store.access import Level, NotYourList, Principal, require_admin
from rollcall.store.errors import ContactNotFound, NothingToRestore
from rollcall.store.members import deleted_error
from rollcall.store.models import AuditEvent, Contact, Membership, RollcallList
from rollcall.store.queries import audit_info, end, find_contact, pseudonym, record, utcnow
from rollcall.store.records import AuditInfo, Tracking
from rollcall.store.sharing import list_ids

# Detail keys that may hold a contact's personal data; purging drops them from old events.
PERSONAL = frozenset(("email", "address", "name", "attributes"))


def _editable(s: Session, who: Principal | None) -> set[int] | None:
    """Ids of the lists `who` may edit; None when that is every list."""
    ids = list_ids(who, Level.EDITOR)
    return None if ids is None else set(s.scalars(ids))


def _nowhere_yours(contact: Contact) -> NotYourList:
    return NotYourList(f"{contact.email} is in no Rollcall list you may change")


def delete_everywhere(s: Session, key: str, actor: str, purge: bool,
                      who: Principal | None = None) -> AuditInfo:
    """Soft-delete a contact and end its memberships (those `who` may edit); with `purge`
    (administrators only), erase its personal data; raises NotYourList, ContactNotFound."""
    if purge and who is not None:
        require_admin(who, "Purging a contact's tracking (it erases them from every list and "
                           "from the history)")
    contact = find_contact(s, key)
    if contact is None:
        raise ContactNotFound(f"no contact {key!r}")
    at = utcnow()
    tracking: Tracking = "purged" if purge else "kept"
    editable = _editable(s, who)
    if contact.deleted_at is not None:
        if not purge:
            ever = set(s.scalars(select(Membership.list_id)
                                 .where(Membership.contact_id == contact.id)))
            if editable is not None and not ever & editable:
                raise _nowhere_yours(contact)  # who deleted it, and when, is not theirs to see
            raise deleted_error(contact)
        # Already deleted: this call only purges; who and when is recorded before erasing.
        event = record(s, actor, "contact.purged", at, (), contact, True, "purged")
    else:
        active = s.execute(
            select(Membership, RollcallList)
            .join(RollcallList, RollcallList.id == Membership.list_id)
            .where(Membership.contact_id == contact.id, Membership.removed_at.is_(None))
            .order_by(RollcallList.name_key)
            .with_for_update(of=Membership)
        ).all()
        mine = [(m, lst) for m, lst in active if editable is None or lst.id in editable]
        if editable is not None and not mine:
            raise _nowhere_yours(contact)
        lists = [lst for _, lst in mine]
        detail = {"memberships": len(mine)}
        event = record(s, actor, "contact.deleted", at, lists, contact, True, tracking, detail)
        end([m for m, _ in mine], actor, at, event)
        if len(mine) == len(active):  # in no list any more: the contact itself is deleted
            contact.deleted_at, contact.deleted_by = at, actor
    if purge:
        purge_tracking(s, contact)
    s.flush()
    return audit_info(event)


def purge_tracking(s: Session, contact: Contact) -> None:
    """Erase the contact's address, name and attributes from its row, the audit trail and
    count snapshots, leaving a stable pseudonym; callers record the purge first."""
    alias, key = pseudonym(contact.id), contact.email_key or ""
    events = s.scalars(select(AuditEvent).where(AuditEvent.contact_id == contact.id))
    for event in events:
        event.contact_email = None
        event.tracking = "purged"
        event.detail = {k: v for k, v in (event.detail or {}).items() if k not in PERSONAL}
    # Where the contact acted itself (an unsubscribe link, say), its address is the actor.
    s.execute(update(AuditEvent).where(func.lower(AuditEvent.actor) == key).values(actor=alias))
    for column in (Membership.added_by, Membership.removed_by):
        s.execute(update(Membership).where(func.lower(column) == key).values({column: alias}))
    s.execute(
        update(Contact).where(func.lower(Contact.opted_out_by) == key).values(opted_out_by=alias)
    )
    snapshots.replace_address(s, key, alias)
    contact.email = contact.email_key = None
    contact.name, contact.attributes, contact.tracking_purged = "", {}, True


def restore(s: Session, key: str, actor: str, who: Principal | None = None) -> AuditInfo:
    """Undo the last delete still in effect: the contact and the memberships it ended (of the
    lists `who` may edit); raises ContactNotFound, NothingToRestore, NotYourList."""
    contact = find_contact(s, key)
    if contact is None:
        raise ContactNotFound(f"no contact {key!r} (unknown, or its tracking was purged)")
    every = pending_removals(s, contact.id)
    editable = _editable(s, who)
    pending = [(m, lst) for m, lst in every if editable is None or lst.id in editable]
    if contact.deleted_at is not None:
        target = s.scalar(
            select(func.max(AuditEvent.id)).where(
                AuditEvent.contact_id == contact.id, AuditEvent.action == "contact.deleted"
            )
        )
        if editable is not None and not any(m.removal_event_id == target for m, _ in pending):
            raise NotYourList(f"{contact.email} was deleted from lists you may not change")
    elif pending:
        target = max(m.removal_event_id or 0 for m, _ in pending)
    elif every:
        raise NotYourList(f"{contact.email} was deleted from lists you may not change")
    else:
        raise NothingToRestore(f"{contact.email} is not deleted from any list")
    undone = s.get(AuditEvent, target) if target else None
    back = [(m, lst) for m, lst in pending if m.removal_event_id == target]
    for membership, _ in back:
        membership.removed_at = membership.removed_by = membership.removal_event_id = None
    contact.deleted_at = contact.deleted_by = None
    detail: dict[str, Any] = {"undid": target, "memberships": len(back)}
    all_lists = bool(undone and undone.all_lists)
    event = record(
        s,
        actor,
        "contact.restored",
        utcnow(),
        [lst for _, lst in back],
        contact,
        all_lists,
        detail=detail,
    )
    s.flush()
    return audit_info(event)


def pending_removals(s: Session, contact_id: int) -> list[tuple[Membership, RollcallList]]:
    """Ended memberships a restore could bring back: not re-added to that list since."""
    rows = s.execute(
        select(Membership, RollcallList)
        .join(RollcallList, RollcallList.id == Membership.list_id)
        .where(Membership.contact_id == contact_id, Membership.removal_event_id.is_not(None))
        .order_by(RollcallList.name_key)
        .with_for_update(of=Membership)
    ).all()
    active = set(
        s.scalars(
            select(Membership.list_id).where(
                Membership.contact_id == contact_id, Membership.removed_at.is_(None)
            )
        )
    )
    pending: dict[int, tuple[Membership, RollcallList]] = {}
    for membership, lst in rows:
        if membership.list_id in active or membership.removed_at is None:
            continue
        # Only the newest ended membership per list can come back (one active per list).
        best = pending.get(membership.list_id)
        if best is None or (membership.removal_event_id or 0) > (best[0].removal_event_id or 0):
            pending[membership.list_id] = (membership, lst)
    return list(pending.values())
