"""The count service: one place that turns a request into a report, whoever asks."""

from __future__ import annotations

from collections.abc import Callable

from .core.model import CountRequest, Directory, DirectoryError, Recipient
from .counting import Counter, ExpansionCache, Settings
from .errors import ExchangeUnavailable, TooLarge


class CountService:
    """Counts as a mailbox; expansions are cached across counts (and senders) for the TTL."""

    def __init__(self, directory_for: Callable[[str | None], Directory], settings: Settings,
                 max_entries: int, default_mailbox: str | None = None,
                 server_version: Callable[[], str | None] = lambda: None) -> None:
        self.directory_for = directory_for
        self.server_version = server_version
        self.settings = settings
        self.max_entries = max_entries
        self.default_mailbox = default_mailbox
        self.cache = ExpansionCache()

    def count(self, recipients: list[Recipient], expected: int | None = None,
              mailbox: str | None = None, refresh: bool = False) -> dict[str, object]:
        """The report; raises TooLarge, or ExchangeUnavailable when Exchange cannot be asked."""
        if len(recipients) > self.max_entries:
            raise TooLarge(f"{len(recipients)} recipients in one count; the most is "
                           f"{self.max_entries} (ROLLCALL_MAX_ENTRIES)")
        acting = mailbox or self.default_mailbox
        try:
            directory = self.directory_for(acting)
        except DirectoryError as e:
            raise ExchangeUnavailable(e.message,
                                      code="exchange_unauthorized" if e.code == "unauthorized"
                                      else "exchange_unreachable") from None
        request = CountRequest(recipients=recipients, expected=expected, mailbox=acting,
                               refresh=refresh)
        report = Counter(directory, self.settings, self.cache).count(request)
        report["mailbox"] = acting
        report["exchange_version"] = self.server_version()  # for support reports
        return report
