"""`ListStore`: Rollcall's lists, members, contacts, audit trail and snapshots behind one API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rollcall.errors import BadRequest
from rollcall.store import deletion, importing, snapshots, views
from rollcall.store.errors import ContactNotFound
from rollcall.store.members import (
    create,
    deleted_error,
    new_contact,
    remove_contact,
    remove_member,
    update_contact,
)
from rollcall.store.models import AuditEvent, AuditEventList, Contact, Membership, RollcallList
from rollcall.store.queries import (
    active_membership,
    audit_info,
    find_contact,
    find_list,
    list_info,
    member_info,
    record,
    utcnow,
)
from rollcall.store.records import (
    AuditInfo,
    ImportReport,
    ListInfo,
    ListMembers,
    MemberInfo,
    Snapshot,
    SnapshotInfo,
)
from rollcall.store.transaction import Transactor
from rollcall.store.validate import (
    LIST_PREFIX,
    clean_attributes,
    clean_list_name,
    clean_text,
    normalise_email,
)

__all__ = ["LIST_PREFIX", "ListStore"]


class ListStore:
    """Rollcall's lists in one database; each public method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tx = Transactor(engine)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # Lists

    def create_list(self, name: str, owner: str, expected: int | None = None) -> ListInfo:
        """Create a list; raises AlreadyExists (names are case-insensitive) or BadRequest."""
        clean = clean_list_name(name)
        if expected is not None and expected < 0:
            raise BadRequest("the expected count cannot be negative", code="bad_value")

        def work(s: Session) -> ListInfo:
            return list_info(create(s, clean, owner, expected))

        return self._tx.write(work)

    def get_list(self, name: str) -> ListInfo:
        """The list named NAME or "list:NAME"; raises ListNotFound."""
        return self._tx.read(lambda s: list_info(find_list(s, name)))

    def all_lists(self) -> list[ListInfo]:
        """Every list, by name."""
        query = select(RollcallList).order_by(RollcallList.name_key)
        return self._tx.read(lambda s: [list_info(row) for row in s.scalars(query)])

    # Members

    def add_contact(
        self,
        list_name: str,
        email: str,
        actor: str,
        name: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> MemberInfo:
        """Add or update a contact in a list (idempotent); raises ContactDeleted, ListNotFound."""
        address, key = normalise_email(email)
        clean_name = None if name is None else clean_text(name, "the name")
        attrs = None if attributes is None else clean_attributes(attributes)

        def work(s: Session) -> MemberInfo:
            at, lst = utcnow(), find_list(s, list_name)
            contact = find_contact(s, key)
            if contact is None:
                contact = new_contact(s, address, key, at)
            elif contact.deleted_at is not None:
                raise deleted_error(contact)
            changed = update_contact(contact, clean_name, attrs)
            membership = active_membership(s, lst.id, contact_id=contact.id)
            if membership is None:
                membership = Membership(
                    list_id=lst.id, contact_id=contact.id, added_at=at, added_by=actor
                )
                s.add(membership)
                record(s, actor, "member.added", at, [lst], contact, detail={"kind": "contact"})
            elif changed:
                record(s, actor, "contact.updated", at, [lst], contact, detail={"changed": changed})
            s.flush()
            return member_info(membership, contact, None)

        return self._tx.write(work)

    def add_exchange(self, list_name: str, address: str, actor: str) -> MemberInfo:
        """Add an Exchange address, expanded live at count time (idempotent); ListNotFound."""
        clean, key = normalise_email(address)

        def work(s: Session) -> MemberInfo:
            at, lst = utcnow(), find_list(s, list_name)
            membership = active_membership(s, lst.id, exchange_key=key)
            if membership is None:
                membership = Membership(
                    list_id=lst.id,
                    exchange_address=clean,
                    exchange_key=key,
                    added_at=at,
                    added_by=actor,
                )
                s.add(membership)
                detail = {"kind": "exchange", "address": clean}
                record(s, actor, "member.added", at, [lst], detail=detail)
            return member_info(membership, None, None)

        return self._tx.write(work)

    def add_sublist(self, list_name: str, child: str, actor: str) -> MemberInfo:
        """Nest a list (itself and cycles allowed: the count reports them); idempotent."""

        def work(s: Session) -> MemberInfo:
            at, lst, sub = utcnow(), find_list(s, list_name), find_list(s, child)
            membership = active_membership(s, lst.id, child_list_id=sub.id)
            if membership is None:
                membership = Membership(
                    list_id=lst.id, child_list_id=sub.id, added_at=at, added_by=actor
                )
                s.add(membership)
                detail = {"kind": "list", "address": LIST_PREFIX + sub.name}
                record(s, actor, "member.added", at, [lst], detail=detail)
            return member_info(membership, None, sub)

        return self._tx.write(work)

    def remove(self, list_name: str, email_or_address_or_child: str, actor: str) -> AuditInfo:
        """End one membership in one list; raises MemberNotFound, ListNotFound, InvalidAddress."""
        target = email_or_address_or_child.strip()
        return self._tx.write(lambda s: remove_member(s, list_name, target, actor))

    def members(self, list_name: str) -> ListMembers:
        """Active members and the removals not undone since; raises ListNotFound."""
        return self._tx.read(lambda s: views.list_members(s, find_list(s, list_name)))

    # Contacts

    def delete_contact(
        self,
        email: str,
        actor: str,
        all_lists: bool = True,
        list_name: str | None = None,
        purge_tracking: bool = False,
    ) -> AuditInfo:
        """Delete from one list (`list_name`) or soft-delete everywhere, optionally purging."""
        if list_name is not None:
            if purge_tracking:
                raise BadRequest(
                    "purging a contact's tracking deletes it from all lists: leave out the list",
                    code="purge_needs_all_lists",
                )
            _, key = normalise_email(email)
            return self._tx.write(lambda s: remove_contact(s, find_list(s, list_name), key, actor))
        if not all_lists:
            raise BadRequest("say which list to delete from, or all lists", code="bad_request")
        _, key = normalise_email(email)
        return self._tx.write(lambda s: deletion.delete_everywhere(s, key, actor, purge_tracking))

    def restore_contact(self, email: str, actor: str) -> AuditInfo:
        """Undo the contact's last delete; raises ContactNotFound (unknown or purged)."""
        _, key = normalise_email(email)
        return self._tx.write(lambda s: deletion.restore(s, key, actor))

    def set_opt_out(self, email: str, opted_out: bool, actor: str) -> AuditInfo:
        """Opt a contact out of (or back into) every count; raises ContactNotFound."""
        _, key = normalise_email(email)

        def work(s: Session) -> AuditInfo:
            at, contact = utcnow(), find_contact(s, key)
            if contact is None:
                raise ContactNotFound(f"no contact {email.strip()!r}")
            changed = contact.opted_out != opted_out
            contact.opted_out = opted_out
            if changed:
                contact.opted_out_at, contact.opted_out_by = (
                    (at, actor) if opted_out else (None, None)
                )
            action = "contact.opted_out" if opted_out else "contact.opted_in"
            lists = views.active_lists(s, contact.id)
            return audit_info(
                record(s, actor, action, at, lists, contact, detail={"changed": changed})
            )

        return self._tx.write(work)

    def audit(
        self, email: str | None = None, list_name: str | None = None, limit: int = 200
    ) -> list[AuditInfo]:
        """Audit events, newest first, for a contact and/or a list; raises ListNotFound."""
        key = normalise_email(email)[1] if email is not None else None

        def work(s: Session) -> list[AuditInfo]:
            query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(limit, 0))
            if key is not None:
                ids = select(Contact.id).where(Contact.email_key == key).scalar_subquery()
                query = query.where(AuditEvent.contact_id == ids)
            if list_name is not None:
                lst = find_list(s, list_name)
                query = query.join(AuditEventList, AuditEventList.event_id == AuditEvent.id)
                query = query.where(AuditEventList.list_id == lst.id)
            return [audit_info(event) for event in s.scalars(query)]

        return self._tx.read(work)

    # CSV

    def import_csv(
        self,
        list_name: str,
        data: bytes,
        actor: str,
        skip_invalid: bool = False,
        create: bool = True,
    ) -> ImportReport:
        """Import contacts, all or nothing unless skip_invalid; raises ImportRejected."""
        parsed = importing.parse(list_name, data, skip_invalid)
        return self._tx.write(
            lambda s: importing.apply(s, list_name, parsed, actor, skip_invalid, create)
        )

    def export_csv(self, list_name: str) -> str:
        """The list's active contacts as CSV that `import_csv` reads back; raises ListNotFound."""
        return self._tx.read(lambda s: views.export(s, find_list(s, list_name)))

    # Count history

    def save_snapshot(self, key: str, total: int, addresses: Iterable[str],
                      holders: Mapping[str, str] | None = None) -> SnapshotInfo:
        """Store one count's total and address set (compressed) under `key`, with the list
        path that held each address when `holders` has it."""
        blob, size = snapshots.pack(addresses, holders)
        return self._tx.write(lambda s: snapshots.save(s, key, total, blob, size))

    def previous_snapshot(self, key: str) -> Snapshot | None:
        """The newest snapshot stored under `key`, with its addresses, or None."""
        return self._tx.read(lambda s: snapshots.latest(s, key))

    def history(self, key: str, limit: int = 50) -> list[SnapshotInfo]:
        """Snapshots under `key`, newest first, without their addresses."""
        return self._tx.read(lambda s: snapshots.history(s, key, limit))
