"""Rollcall lists as the API and the CLI use them: the store, plus what needs a count."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rollcall.core.drift import count_key
from rollcall.core.model import Recipient
from rollcall.counting.service import CountService
from rollcall.errors import BadRequest
from rollcall.store.access import Level, Principal

if TYPE_CHECKING:
    from rollcall.store.records import (
        AuditInfo,
        ImportReport,
        ListInfo,
        ListMembers,
        MemberInfo,
        ShareInfo,
        SnapshotInfo,
    )
    from rollcall.store.repository import ListStore


class ListsService:
    """Everything about Rollcall lists, for the API and the command line alike: the one door to
    the list store, plus what needs a count.

    Every call names `who` acts (store/access.py: owner, shares, administrators); the store
    checks it in the same transaction as the change and raises NotYourList (403) otherwise.
    """

    def __init__(self, store: Callable[[], ListStore], counts: CountService) -> None:
        self._store = store
        self.counts = counts

    @property
    def store(self) -> ListStore:
        return self._store()

    # -- lists and members: each call is one store transaction ---------------------------------

    def all_lists(self, who: Principal) -> list[ListInfo]:
        """The lists `who` may see (administrators: all)."""
        return self.store.all_lists(who=who)

    def create_list(self, who: Principal, name: str, expected: int | None = None) -> ListInfo:
        """A new list, owned by `who` (the command line's: nobody's until handed over)."""
        return self.store.create_list(name, owner_for(who), expected)

    def members(self, who: Principal, name: str) -> ListMembers:
        return self.store.members(name, who=who)

    def add_contact(self, who: Principal, name: str, email: str, contact_name: str | None = None,
                    attributes: dict[str, str] | None = None) -> MemberInfo:
        return self.store.add_contact(name, email, who.name, contact_name, attributes, who=who)

    def add_exchange(self, who: Principal, name: str, address: str) -> MemberInfo:
        return self.store.add_exchange(name, address, who.name, who=who)

    def add_sublist(self, who: Principal, name: str, child: str) -> MemberInfo:
        return self.store.add_sublist(name, child, who.name, who=who)

    def remove(self, who: Principal, name: str, member: str) -> AuditInfo:
        return self.store.remove(name, member, who.name, who=who)

    def import_csv(self, who: Principal, name: str, data: bytes,
                   skip_invalid: bool = False) -> ImportReport:
        """Into a list `who` may edit, or a new one they will own."""
        return self.store.import_csv(name, data, who.name, skip_invalid=skip_invalid, who=who)

    def export_csv(self, who: Principal, name: str) -> str:
        return self.store.export_csv(name, who=who)

    # -- owner and shares ----------------------------------------------------------------------

    def shares(self, who: Principal, name: str) -> list[ShareInfo]:
        return self.store.shares(name, who=who)

    def share(self, who: Principal, name: str, kind: str, principal: str,
              role: str) -> ShareInfo:
        return self.store.share(name, kind, principal, role, who.name, who=who)

    def unshare(self, who: Principal, name: str, kind: str, principal: str) -> AuditInfo:
        return self.store.unshare(name, kind, principal, who.name, who=who)

    def hand_over(self, who: Principal, name: str, owner: str) -> ListInfo:
        return self.store.hand_over(name, owner, who.name, who=who)

    # -- contacts across lists -----------------------------------------------------------------

    def delete_contact(self, who: Principal, email: str, all_lists: bool = True,
                       list_name: str | None = None, purge_tracking: bool = False) -> AuditInfo:
        """From one list, or from every list `who` may edit; purging is for administrators."""
        return self.store.delete_contact(email, who.name, all_lists=all_lists,
                                         list_name=list_name, purge_tracking=purge_tracking,
                                         who=who)

    def restore_contact(self, who: Principal, email: str) -> AuditInfo:
        return self.store.restore_contact(email, who.name, who=who)

    def set_opt_out(self, who: Principal, email: str, opted_out: bool) -> AuditInfo:
        return self.store.set_opt_out(email, opted_out, who.name, who=who)

    def audit(self, who: Principal, email: str | None = None,
              list_name: str | None = None) -> list[AuditInfo]:
        """Events about lists `who` may see (administrators: all)."""
        return self.store.audit(email=email, list_name=list_name, who=who)

    # -- what needs a count --------------------------------------------------------------------

    def history(self, who: Principal, name: str, limit: int = 50) -> list[SnapshotInfo]:
        """Stored counts of this list on its own, newest first."""
        info = self.store.get_list(name, who=who)
        key = count_key([Recipient(info.address, info.address)], None)
        return self.store.history(key, limit)

    def snapshot_exchange(self, who: Principal, name: str, dl_address: str,
                          mailbox: str | None = None, skip_invalid: bool = False
                          ) -> dict[str, Any]:
        """Copy the people an Exchange list reaches today into a Rollcall list (created if new,
        else one `who` may edit).

        The copy is taken only from a complete count: a partial one would silently drop people.
        """
        self._may_edit_or_create(who, name)  # before asking Exchange for anything
        report = self.counts.count([Recipient(dl_address, dl_address)], mailbox=mailbox)
        if not any(node.kind != "rollcall_list" for node in report.tree):
            raise BadRequest(f"{dl_address} is not an Exchange list Rollcall can expand, so no "
                             "copy was made", code="not_a_list")
        if not report.complete:
            why = "; ".join(f.message for f in report.findings if f.severity == "error")
            raise BadRequest(f"{dl_address} could not be fully expanded, so no copy was made: "
                             f"{why}", code="count_incomplete")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["email"])
        writer.writerows([a] for a in report.recipients)
        imported: ImportReport = self.store.import_csv(
            name, out.getvalue().encode(), who.name, skip_invalid=skip_invalid, create=True,
            who=who)
        return {"import": imported, "total": report.total, "source": dl_address}

    def _may_edit_or_create(self, who: Principal, name: str) -> None:
        from rollcall.store.errors import ListNotFound

        try:
            self.store.require(name, who, Level.EDITOR)
        except ListNotFound:
            pass  # a new list: theirs


def owner_for(who: Principal) -> str:
    """Who owns a list `who` makes: their mailbox; the command line's `cli:USER` is nobody a
    person could match, so only administrators see such a list until it is handed over."""
    return who.mailbox or who.name
