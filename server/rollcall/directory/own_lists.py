"""Rollcall's own lists as a directory: `list:NAME` entries, expanded from the store.

Each count sees them as the person counting may (store/access.py): a list they may not see is
"no Rollcall list named ...", exactly as one that does not exist, so a count never tells
whether it does. A list nested in one they count is expanded as part of it while the owner of
the including list may see it (or they may); otherwise the count says it could not be expanded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from rollcall.core.model import (
    LIST_PREFIX,
    DirectoryError,
    Entry,
    Expansion,
    Kind,
    MemberStatus,
    NotFound,
    Recipient,
    Removal,
    Resolution,
)
from rollcall.store.access import SIGNED_IN, NotYourList, Principal
from rollcall.store.errors import ListNotFound

if TYPE_CHECKING:
    from rollcall.store.records import MemberInfo, RemovalInfo
    from rollcall.store.repository import ListStore



class OwnLists:
    """Resolves and expands Rollcall lists; `domain` lets senders type NAME@domain too.

    `viewer` is who counts (`counting_for`); None is Rollcall itself, which sees every list."""

    def __init__(self, store: Callable[[], ListStore], domain: str | None = None,
                 viewer: Principal | None = None) -> None:
        self._store = store  # opened on first use: counts without lists never touch it
        self.domain = (domain or "").lower().lstrip("@") or None
        self.viewer = viewer
        self._reachable: set[str] = set()  # this count's lists it may expand (casefolded)
        self._lock = threading.Lock()  # a count's calls run on several threads

    def counting_for(self, mailbox: str | None) -> OwnLists:
        """These lists as one count acting as `mailbox` sees them (a fresh view per count)."""
        return OwnLists(self._store, self.domain, SIGNED_IN.who_is(mailbox))

    def list_name(self, name: str, address: str | None) -> str | None:
        """The Rollcall list an entry names ("list:NAME" or NAME@alias-domain), else None."""
        for text in (address or "", name or ""):
            text = text.strip()
            if text.lower().startswith(LIST_PREFIX):
                return text[len(LIST_PREFIX):].strip()
            if self.domain and text.lower().endswith("@" + self.domain):
                return text.rsplit("@", 1)[0]
        return None

    def expected(self, recipient: Recipient, mailbox: str | None = None) -> int | None:
        """The count the owner of the Rollcall list `recipient` expects, if any, when a count
        acting as `mailbox` may see the list (None for one it may not: it is not there)."""
        name = self.list_name(recipient.name, recipient.address)
        if name is None:
            return None
        try:
            expected: int | None = self._store().get_list(
                name, who=SIGNED_IN.who_is(mailbox)).expected
        except (ListNotFound, NotYourList):
            return None
        return expected

    def resolve(self, name: str, address: str | None) -> Resolution:
        wanted = self.list_name(name, address) or name
        try:
            info = self._store().get_list(wanted, who=self.viewer)
        except (ListNotFound, NotYourList):
            # The same answer for both: whether a list someone may not see exists is theirs.
            return Resolution(f"{LIST_PREFIX}{wanted}", None, "unresolved")
        except SQLAlchemyError as e:
            # SQLAlchemy's text names the SQL and the database's host: the log's, not a sender's.
            raise DirectoryError("store_error", "Rollcall's list store could not be read",
                                 detail=type(e).__name__, cause=e) from None
        self._reach([info.name])
        return Resolution(f"{LIST_PREFIX}{wanted}", list_entry(info.name))

    def _reach(self, names: Iterable[str]) -> None:
        with self._lock:
            self._reachable.update(n.casefold() for n in names)

    def _may_expand(self, name: str) -> bool:
        with self._lock:
            return self.viewer is None or name.casefold() in self._reachable

    def expand(self, entry: Entry) -> Expansion:
        """One level: contacts, Exchange entries (expanded live) and nested Rollcall lists."""
        name = self.list_name(entry.name, entry.address) or entry.name
        if not self._may_expand(name):
            # Only a nested list gets here: its name is in a list the person may see already.
            raise DirectoryError("not_your_list", f"{LIST_PREFIX}{name} is shared neither with "
                                 "you nor with the owner of the list that includes it")
        try:
            members, nested = self._store().expansion(name, self.viewer)
        except ListNotFound:
            raise NotFound(f"There is no Rollcall list named {name}") from None
        except SQLAlchemyError as e:
            # SQLAlchemy's text names the SQL and the database's host: the log's, not a sender's.
            raise DirectoryError("store_error", "Rollcall's list store could not be read",
                                 detail=type(e).__name__, cause=e) from None
        self._reach(nested)
        out = [_active(m) for m in members.active]
        # Ended memberships of contacts explain a drop; removed sub-lists and Exchange
        # addresses simply are not there any more.
        out += [_removed(r) for r in members.removed if r.kind == "contact"]
        # Never cached: a deletion must show in the very next count, and reading is local.
        return Expansion(tuple(out), complete=True, total_in_view=len(out), cacheable=False)


    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        """Rollcall lists hold SMTP addresses only: no X.500 legacy DN is theirs."""
        return None


def list_entry(name: str) -> Entry:
    return Entry(name, f"{LIST_PREFIX}{name}", Kind.ROLLCALL_LIST)


def _active(m: MemberInfo) -> Entry:
    kind, address, name = m.kind, m.address or "", m.name
    if kind == "list":
        return list_entry(address.removeprefix(LIST_PREFIX))
    if kind == "exchange":  # an Exchange address, expanded live (a list, usually)
        return Entry(name or address, address, Kind.PUBLIC_DL)
    status = MemberStatus.OPTED_OUT if m.opted_out else MemberStatus.NORMAL
    return Entry(name or address, address, Kind.CONTACT, status=status)


def _removed(r: RemovalInfo) -> Entry:
    removal = Removal(by=r.removed_by, at=r.removed_at.isoformat(), lists=tuple(r.lists),
                      all_lists=r.all_lists, tracking=r.tracking)
    return Entry(r.name or "", r.address, Kind.CONTACT, status=MemberStatus.REMOVED,
                 removal=removal)
