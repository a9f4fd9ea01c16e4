"""Which directory answers each entry, decided once: Rollcall's own lists (`list:NAME`, or
NAME@ROLLCALL_LIST_DOMAIN) or the organisation's directory for everything else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rollcall.core.model import (
    Directory,
    DirectoryError,
    Entry,
    Expansion,
    Kind,
    Recipient,
    Resolution,
)
from rollcall.errors import NotConfigured

from .organisation import Organisation
from .own_lists import OwnLists


class Router:
    """Builds each count's directory; the organisation is asked only when an entry needs it."""

    def __init__(self, own: OwnLists, organisation: Organisation) -> None:
        self.own = own
        self.organisation = organisation

    def is_own(self, recipient: Recipient) -> bool:
        """Whether Rollcall's own lists answer this entry."""
        return self.own.list_name(recipient.name, recipient.address) is not None

    def for_count(self, mailbox: str | None, recipients: Sequence[Recipient]) -> Directory:
        """The directory one count walks, acting as `mailbox` (whose Rollcall lists, too)."""
        own = self.own.counting_for(mailbox)
        if not all(self.is_own(r) for r in recipients):
            # Needed from the start: if it is down or not configured, the whole count says so
            # now (NotConfigured, DirectoryError) instead of listing every entry as failed.
            organisation = self.organisation.directory(mailbox)
            return RoutingDirectory(own, lambda: organisation)
        # Only Rollcall lists: the organisation is asked only if one holds an outside list.
        return RoutingDirectory(own, lambda: _as_directory_error(
            self.organisation.directory, mailbox))


class RoutingDirectory:
    """One Directory over two: `list:NAME` entries to Rollcall's lists, the rest to the
    organisation's directory, built on first need (`organisation()`)."""

    def __init__(self, own: OwnLists, organisation: Callable[[], Directory]) -> None:
        self.own = own
        self._organisation_factory = organisation
        self._organisation: Directory | None = None

    def organisation(self) -> Directory:
        if self._organisation is None:
            self._organisation = self._organisation_factory()
        return self._organisation

    def resolve(self, name: str, address: str | None) -> Resolution:
        if self.own.list_name(name, address) is not None:
            return self.own.resolve(name, address)
        return self.organisation().resolve(name, address)

    def expand(self, entry: Entry) -> Expansion:
        if entry.kind is Kind.ROLLCALL_LIST:
            return self.own.expand(entry)
        return self.organisation().expand(entry)

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        return self.organisation().smtp_for_legacy_dn(legacy_dn)

    @property
    def figures(self) -> Any:
        """What the organisation's directory says a count cost (Graph), once it was asked."""
        return getattr(self._organisation, "figures", None)


def _as_directory_error(factory: Callable[[str | None], Directory],
                        mailbox: str | None) -> Directory:
    """The organisation built inside a count: its setup errors become the port's errors."""
    try:
        return factory(mailbox)
    except NotConfigured as e:
        raise DirectoryError("not_configured", e.message) from None
