"""Rollcall lists as the API and the CLI use them: the store, plus what needs a count."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .core.drift import count_key
from .core.model import Recipient
from .errors import BadRequest
from .service import CountService

if TYPE_CHECKING:
    from .store.records import ImportReport, SnapshotInfo
    from .store.repository import ListStore


class ListsService:
    """Everything about Rollcall lists; plain edits go straight to the store."""

    def __init__(self, store: Callable[[], ListStore], counts: CountService) -> None:
        self._store = store
        self.counts = counts

    @property
    def store(self) -> ListStore:
        return self._store()

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
        report = self.counts.count([Recipient(dl_address, dl_address)], mailbox=mailbox,
                                   with_recipients=True)
        if not any(node["kind"] != "rollcall_list" for node in report["tree"]):
            raise BadRequest(f"{dl_address} is not an Exchange list Rollcall can expand, so no "
                             "copy was made", code="not_a_list")
        if not report["complete"]:
            why = "; ".join(f["message"] for f in report["findings"] if f["severity"] == "error")
            raise BadRequest(f"{dl_address} could not be fully expanded, so no copy was made: "
                             f"{why}", code="count_incomplete")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["email"])
        writer.writerows([a] for a in report["recipients"])
        imported: ImportReport = self.store.import_csv(
            name, out.getvalue().encode(), actor, skip_invalid=skip_invalid, create=True)
        return {"import": imported, "total": report["total"], "source": dl_address}
