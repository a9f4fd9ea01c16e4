"""`ListStore`: Rollcall's lists, members, contacts, audit trail and snapshots behind one API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rollcall.core.model import MAX_EXPECTED
from rollcall.errors import BadRequest
from rollcall.store import deletion, importing, snapshots, views
from rollcall.store.access import Level, NotYourList, Principal
from rollcall.store.errors import ContactNotFound, ListNotFound
from rollcall.store.members import (
    check_nesting,
    create,
    deleted_error,
    new_contact,
    remove_contact,
    remove_member,
    update_contact,
)
from rollcall.store.models import Membership, RollcallList
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
from rollcall.store.sharing import SharedLists, check, list_ids, naming, visible_names
from rollcall.store.transaction import Transactor
from rollcall.store.validate import (
    LIST_PREFIX,
    clean_attributes,
    clean_list_name,
    clean_text,
    normalise_email,
)

__all__ = ["LIST_PREFIX", "ListStore"]


class ListStore(SharedLists):
    """Rollcall's lists in one database; each public method is one transaction.

    `who` is the person acting (store/access.py says what each may do; NotYourList otherwise);
    None is Rollcall itself: its counts, its tests. `actor` is how the audit trail names them.
    """

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
        if expected is not None and not 0 <= expected <= MAX_EXPECTED:
            raise BadRequest(f"the expected count must be from 0 to {MAX_EXPECTED:,}",
                             code="bad_expected")

        def work(s: Session) -> ListInfo:
            return list_info(create(s, clean, owner, expected))

        return self._tx.write(work)

    def get_list(self, name: str, who: Principal | None = None) -> ListInfo:
        """The list named NAME or "list:NAME"; raises ListNotFound, NotYourList."""
        return self._tx.read(lambda s: list_info(self._find(s, name, who, Level.VIEWER)))

    def all_lists(self, who: Principal | None = None) -> list[ListInfo]:
        """Every list `who` may see, by name."""
        query = select(RollcallList).order_by(RollcallList.name_key)
        ids = list_ids(who)
        if ids is not None:
            query = query.where(RollcallList.id.in_(ids))
        return self._tx.read(lambda s: [list_info(row) for row in s.scalars(query)])

    @staticmethod
    def _find(s: Session, name: str, who: Principal | None, need: Level) -> RollcallList:
        lst = find_list(s, name)
        check(s, lst, who, need)
        return lst

    # Members

    def add_contact(
        self,
        list_name: str,
        email: str,
        actor: str,
        name: str | None = None,
        attributes: dict[str, str] | None = None,
        who: Principal | None = None,
    ) -> MemberInfo:
        """Add or update a contact in a list (idempotent); raises ContactDeleted, ListNotFound."""
        address, key = normalise_email(email, new=True)
        clean_name = None if name is None else clean_text(name, "the name")
        attrs = None if attributes is None else clean_attributes(attributes)

        def work(s: Session) -> MemberInfo:
            at, lst = utcnow(), self._find(s, list_name, who, Level.EDITOR)
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

    def add_exchange(self, list_name: str, address: str, actor: str,
                     who: Principal | None = None) -> MemberInfo:
        """Add an Exchange address, expanded live at count time (idempotent); ListNotFound."""
        clean, key = normalise_email(address, new=True)

        def work(s: Session) -> MemberInfo:
            at, lst = utcnow(), self._find(s, list_name, who, Level.EDITOR)
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

    def add_sublist(self, list_name: str, child: str, actor: str,
                    who: Principal | None = None) -> MemberInfo:
        """Nest a list (itself and cycles allowed: the count reports them); idempotent. `who`
        must be able to edit the list and see the one nested."""

        def work(s: Session) -> MemberInfo:
            at, lst = utcnow(), self._find(s, list_name, who, Level.EDITOR)
            sub = self._find(s, child, who, Level.VIEWER)
            membership = active_membership(s, lst.id, child_list_id=sub.id)
            if membership is None:
                check_nesting(s, lst, sub)
                membership = Membership(
                    list_id=lst.id, child_list_id=sub.id, added_at=at, added_by=actor
                )
                s.add(membership)
                detail = {"kind": "list", "address": LIST_PREFIX + sub.name}
                record(s, actor, "member.added", at, [lst], detail=detail)
            return member_info(membership, None, sub)

        return self._tx.write(work)

    def remove(self, list_name: str, email_or_address_or_child: str, actor: str,
               who: Principal | None = None) -> AuditInfo:
        """End one membership in one list; raises MemberNotFound, ListNotFound, InvalidAddress."""
        target = email_or_address_or_child.strip()

        def work(s: Session) -> AuditInfo:
            self._find(s, list_name, who, Level.EDITOR)
            return remove_member(s, list_name, target, actor)

        return self._tx.write(work)

    def members(self, list_name: str, who: Principal | None = None) -> ListMembers:
        """Active members and the removals not undone since (naming only lists `who` may see);
        raises ListNotFound, NotYourList."""

        def work(s: Session) -> ListMembers:
            lst = self._find(s, list_name, who, Level.VIEWER)
            return views.redact(views.list_members(s, lst), visible_names(s, who))

        return self._tx.read(work)

    # Contacts

    def delete_contact(
        self,
        email: str,
        actor: str,
        all_lists: bool = True,
        list_name: str | None = None,
        purge_tracking: bool = False,
        who: Principal | None = None,
    ) -> AuditInfo:
        """Delete from one list (`list_name`) or from every list `who` may edit, optionally
        purging (administrators only); raises NotYourList, ContactNotFound."""
        if list_name is not None:
            if purge_tracking:
                raise BadRequest(
                    "purging a contact's tracking deletes it from all lists: leave out the list",
                    code="purge_needs_all_lists",
                )
            _, key = normalise_email(email)
            return self._tx.write(lambda s: remove_contact(
                s, self._find(s, list_name, who, Level.EDITOR), key, actor))
        if not all_lists:
            raise BadRequest("say which list to delete from, or all lists", code="bad_request")
        _, key = normalise_email(email)
        return self._tx.write(
            lambda s: deletion.delete_everywhere(s, key, actor, purge_tracking, who))

    def restore_contact(self, email: str, actor: str, who: Principal | None = None) -> AuditInfo:
        """Undo the contact's last delete, in the lists `who` may edit; raises ContactNotFound
        (unknown or purged), NothingToRestore, NotYourList."""
        _, key = normalise_email(email)
        return self._tx.write(lambda s: deletion.restore(s, key, actor, who))

    def set_opt_out(self, email: str, opted_out: bool, actor: str,
                    who: Principal | None = None) -> AuditInfo:
        """Opt a contact out of (or back into) every count; `who` must be able to edit a list
        it is in. Raises ContactNotFound, NotYourList."""
        _, key = normalise_email(email)

        def work(s: Session) -> AuditInfo:
            at, contact = utcnow(), find_contact(s, key)
            if contact is None:
                raise ContactNotFound(f"no contact {email.strip()!r}")
            lists = views.active_lists(s, contact.id)
            editable = list_ids(who, Level.EDITOR)
            if editable is not None and not set(s.scalars(editable)) & {x.id for x in lists}:
                raise NotYourList(f"{contact.email} is in no Rollcall list you may change")
            changed = contact.opted_out != opted_out
            contact.opted_out = opted_out
            if changed:
                contact.opted_out_at, contact.opted_out_by = (
                    (at, actor) if opted_out else (None, None)
                )
            action = "contact.opted_out" if opted_out else "contact.opted_in"
            event = record(s, actor, action, at, lists, contact, detail={"changed": changed})
            return naming(audit_info(event), visible_names(s, who))

        return self._tx.write(work)

    # CSV

    def import_csv(
        self,
        list_name: str,
        data: bytes,
        actor: str,
        skip_invalid: bool = False,
        create: bool = True,
        who: Principal | None = None,
    ) -> ImportReport:
        """Import contacts, all or nothing unless skip_invalid; raises ImportRejected. A list
        that exists needs `who` to be an editor; a new one is theirs (its owner is `actor`)."""
        if who is not None:
            # Before reading the file against the database: a deleted contact's line problem
            # says who deleted it, which is not for someone who may not edit the list.
            self._tx.read(lambda s: self._may_import(s, list_name, who, create))
        return importing.run(self._tx, list_name, data, actor, skip_invalid, create, who)

    def _may_import(self, s: Session, list_name: str, who: Principal, create: bool) -> None:
        try:
            self._find(s, list_name, who, Level.EDITOR)
        except ListNotFound:
            if not create:
                raise

    def export_csv(self, list_name: str, who: Principal | None = None) -> str:
        """The list's active contacts as CSV that `import_csv` reads back; raises ListNotFound."""
        return self._tx.read(
            lambda s: views.export(s, self._find(s, list_name, who, Level.VIEWER)))

    # Count history

    def save_snapshot(self, key: str, total: int, addresses: Iterable[str],
                      holders: Mapping[str, str] | None = None) -> SnapshotInfo:
        """Store one count's total and address set (compressed) under `key`, with the list
        path that held each address when `holders` has it."""
        blob, size = snapshots.pack(addresses, holders)
        return self._tx.write_rows(lambda s: snapshots.save(s, key, total, blob, size))

    def previous_snapshot(self, key: str) -> Snapshot | None:
        """The newest snapshot stored under `key`, with its addresses, or None."""
        return self._tx.read_rows(lambda s: snapshots.latest(s, key))

    def history(self, key: str, limit: int = 50) -> list[SnapshotInfo]:
        """Snapshots under `key`, newest first, without their addresses."""
        return self._tx.read(lambda s: snapshots.history(s, key, limit))

    def purge_snapshots(self, before: datetime) -> int:
        """Delete the counts taken before `before` (the history's retention); how many."""
        return self._tx.write(lambda s: snapshots.purge(s, before))

