"""One Directory over several: Rollcall's own lists, and Exchange for everything else."""

from __future__ import annotations

from collections.abc import Callable

from rollcall.core.model import Directory, Entry, Expansion, Kind, Resolution

from .own_lists import OwnLists


class RoutingDirectory:
    """Sends `list:NAME` entries to Rollcall's lists and the rest to Exchange.

    Exchange is reached lazily (`exchange()` builds the adapter on first need), so counting a
    Rollcall list of plain contacts works without any Exchange settings.
    """

    def __init__(self, own: OwnLists, exchange: Callable[[], Directory]) -> None:
        self.own = own
        self._exchange_factory = exchange
        self._exchange: Directory | None = None

    def exchange(self) -> Directory:
        if self._exchange is None:
            self._exchange = self._exchange_factory()
        return self._exchange

    def resolve(self, name: str, address: str | None) -> Resolution:
        if self.own.list_name(name, address) is not None:
            return self.own.resolve(name, address)
        return self.exchange().resolve(name, address)

    def expand(self, entry: Entry) -> Expansion:
        if entry.kind is Kind.ROLLCALL_LIST:
            return self.own.expand(entry)
        return self.exchange().expand(entry)

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        return self.exchange().smtp_for_legacy_dn(legacy_dn)
