"""Rollcall's own lists as a directory: `list:NAME` entries, expanded from the store."""

from __future__ import annotations

from collections.abc import Callable
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
from rollcall.store.errors import ListNotFound

if TYPE_CHECKING:
    from rollcall.store.records import MemberInfo, RemovalInfo
    from rollcall.store.repository import ListStore



class OwnLists:
    """Resolves and expands Rollcall lists; `domain` lets senders type NAME@domain too."""

    def __init__(self, store: Callable[[], ListStore], domain: str | None = None) -> None:
        self._store = store  # opened on first use: counts without lists never touch it
        self.domain = (domain or "").lower().lstrip("@") or None

    def list_name(self, name: str, address: str | None) -> str | None:
        """The Rollcall list an entry names ("list:NAME" or NAME@alias-domain), else None."""
        for text in (address or "", name or ""):
            text = text.strip()
            if text.lower().startswith(LIST_PREFIX):
                return text[len(LIST_PREFIX):].strip()
            if self.domain and text.lower().endswith("@" + self.domain):
                return text.rsplit("@", 1)[0]
        return None

    def expected(self, recipient: Recipient) -> int | None:
        """The count the owner of the Rollcall list `recipient` names expects, if any."""
        name = self.list_name(recipient.name, recipient.address)
        if name is None:
            return None
        try:
            expected: int | None = self._store().get_list(name).expected
        except ListNotFound:
            return None
        return expected

    def resolve(self, name: str, address: str | None) -> Resolution:
        wanted = self.list_name(name, address) or name
        try:
            info = self._store().get_list(wanted)
        except ListNotFound:
            return Resolution(f"{LIST_PREFIX}{wanted}", None, "unresolved")
        except SQLAlchemyError as e:
            raise DirectoryError("store_error", f"Rollcall's list store failed: {e}") from None
        return Resolution(f"{LIST_PREFIX}{wanted}", list_entry(info.name))

    def expand(self, entry: Entry) -> Expansion:
        """One level: contacts, Exchange entries (expanded live) and nested Rollcall lists."""
        name = self.list_name(entry.name, entry.address) or entry.name
        try:
            members = self._store().members(name)
        except ListNotFound:
            raise NotFound(f"There is no Rollcall list named {name}") from None
        except SQLAlchemyError as e:
            raise DirectoryError("store_error", f"Rollcall's list store failed: {e}") from None
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
