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

if TYPE_CHECKING:
    from rollcall.store.records import (
        AuditInfo,
        ImportReport,
        ListInfo,
        ListMembers,
        MemberInfo,
        SnapshotInfo,
    )
    from rollcall.store.repository import ListStore


class ListsService:
    """Everything about Rollcall lists, for the API and the command line alike: the one door to
    the list store (where checks of who may change what belong), plus what needs a count."""

    def __init__(self, store: Callable[[], ListStore], counts: CountService) -> None:
        self._store = store
        self.counts = counts

    @property
    def store(self) -> ListStore:
        return self._store()

    # -- lists and members: each call is one store transaction ---------------------------------

    def all_lists(self) -> list[ListInfo]:
        return self.store.all_lists()

    def create_list(self, name: str, actor: str, expected: int | None = None) -> ListInfo:
        return self.store.create_list(name, actor, expected)

    def members(self, name: str) -> ListMembers:
        return self.store.members(name)

    def add_contact(self, name: str, email: str, actor: str, contact_name: str | None = None,
                    attributes: dict[str, str] | None = None) -> MemberInfo:
        return self.store.add_contact(name, email, actor, contact_name, attributes)

    def add_exchange(self, name: str, address: str, actor: str) -> MemberInfo:
        return self.store.add_exchange(name, address, actor)

    def add_sublist(self, name: str, child: str, actor: str) -> MemberInfo:
        return self.store.add_sublist(name, child, actor)

    def remove(self, name: str, member: str, actor: str) -> AuditInfo:
        return self.store.remove(name, member, actor)

    def import_csv(self, name: str, data: bytes, actor: str,
                   skip_invalid: bool = False) -> ImportReport:
        return self.store.import_csv(name, data, actor, skip_invalid=skip_invalid)

    def export_csv(self, name: str) -> str:
        return self.store.export_csv(name)

    # -- contacts across lists -----------------------------------------------------------------

    def delete_contact(self, email: str, actor: str, all_lists: bool = True,
                       list_name: str | None = None, purge_tracking: bool = False) -> AuditInfo:
        return self.store.delete_contact(email, actor, all_lists=all_lists, list_name=list_name,
                                         purge_tracking=purge_tracking)

    def restore_contact(self, email: str, actor: str) -> AuditInfo:
        return self.store.restore_contact(email, actor)

    def set_opt_out(self, email: str, opted_out: bool, actor: str) -> AuditInfo:
        return self.store.set_opt_out(email, opted_out, actor)

    def audit(self, email: str | None = None, list_name: str | None = None) -> list[AuditInfo]:
        return self.store.audit(email=email, list_name=list_name)

    # -- what needs a count --------------------------------------------------------------------

    def history(self, name: str, limit: int = 50) -> list[SnapshotInfo]:
        """Stored counts of this list on its own, newest first."""
        info = self.store.get_list(name)
        key = count_key([Recipient(info.address, info.address)], None)
        return self.store.history(key, limit)

    def snapshot_exchange(self, name: str, dl_address: str, actor: str,
                          mailbox: str | None = None, skip_invalid: bool = False) -> dict[str, Any]:
        """Copy the people an Exchange list reaches today into a Rollcall list (created if new).

        The copy is taken only from a complete count: a partial one would silently drop people.
        """
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
            name, out.getvalue().encode(), actor, skip_invalid=skip_invalid, create=True)
        return {"import": imported, "total": report.total, "source": dl_address}
