"""The count service: one place that turns a request into a report, whoever asks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from rollcall.core.drift import count_key, drift, explain_with_drift
from rollcall.core.model import CountRequest, Directory, DirectoryError, Recipient
from rollcall.core.report_types import CountReport, ExpectedSource
from rollcall.errors import DirectoryUnavailable, TooLarge

from .cache import ExpansionCache
from .engine import Counter, Settings

log = logging.getLogger(__name__)


class CountService:
    """Counts as a mailbox; expansions are cached for the TTL, every complete count remembered."""

    def __init__(self, directory_for: Callable[[str | None, list[Recipient]], Directory],
                 settings: Settings,
                 server_version: Callable[[], str | None] = lambda: None,
                 store: Callable[[], Any] | None = None,
                 list_expected: Callable[[Recipient], int | None] | None = None) -> None:
        # directory_for(mailbox, recipients): the directory one count walks (directory.routing)
        self.directory_for = directory_for
        self.settings = settings
        self.server_version = server_version
        self.store = store
        self.list_expected = list_expected  # the owner's number for a Rollcall list entry
        self.cache = ExpansionCache()

    def count(self, recipients: list[Recipient], expected: int | None = None,
              mailbox: str | None = None, refresh: bool = False,
              remember: bool = True,
              deadline_s: float | None = None) -> CountReport:
        """The report; raises TooLarge, or DirectoryUnavailable when the directory cannot be
        asked."""
        # remember=False leaves the history alone (a warm-up, a dry run); deadline_s replaces
        # the configured deadline for this count (the send check's must be shorter).
        self.check_size(recipients)
        acting = self.acting(mailbox)
        try:
            directory = self.directory_for(acting, recipients)
        except DirectoryError as e:
            raise DirectoryUnavailable(e.message,
                                      code="exchange_unauthorized" if e.code == "unauthorized"
                                      else "exchange_unreachable") from None
        key = count_key(recipients, acting)
        previous = self._previous(key)
        # The sender's number first, then the list owner's, then what it was last time.
        source = ExpectedSource.SENDER
        if expected is None:
            expected, source = self._list_expectation(recipients), ExpectedSource.LIST
        if expected is None and previous is not None:
            expected, source = previous.total, ExpectedSource.PREVIOUS_COUNT
        request = CountRequest(recipients=recipients, expected=expected, mailbox=acting,
                               refresh=refresh, expected_source=source)
        settings = self.settings if deadline_s is None else replace(
            self.settings, deadline_s=deadline_s)
        report = Counter(directory, settings, self.cache).count(request)
        moved = None if previous is None else drift(
            previous.at, previous.total, previous.addresses, report.recipients)
        report = replace(
            report, mailbox=acting,
            exchange_version=self.server_version(),  # for support reports
            drift=moved,
            findings=report.findings if moved is None else explain_with_drift(report.findings,
                                                                               moved))
        if report.complete and remember:
            # An incomplete count would make people seem to leave who were only not reached.
            self._remember(key, report.total, report.recipients)
        return report

    def check_size(self, recipients: list[Recipient]) -> None:
        """TooLarge when one count would carry more entries than ROLLCALL_MAX_ENTRIES."""
        most = self.settings.max_entries
        if len(recipients) > most:
            raise TooLarge(f"{len(recipients)} recipients in one count; the most is "
                           f"{most} (ROLLCALL_MAX_ENTRIES)")

    def acting(self, mailbox: str | None) -> str | None:
        """The mailbox a count acts as: the one named, else the configured default."""
        return mailbox or self.settings.mailbox

    def remember(self, recipients: list[Recipient], report: CountReport) -> None:
        """Keep a complete count made with remember=False as the next count's baseline."""
        if report.complete:
            self._remember(count_key(recipients, report.mailbox), report.total,
                           report.recipients)

    def _list_expectation(self, recipients: list[Recipient]) -> int | None:
        """The expected count a Rollcall list's owner set, when that list is all that is sent."""
        if self.list_expected is None or len(recipients) != 1:
            return None
        try:
            return self.list_expected(recipients[0])
        except Exception:  # noqa: BLE001 - the count itself reports a list it cannot read
            return None

    def _previous(self, key: str) -> Any:
        if self.store is None:
            return None
        try:
            return self.store().previous_snapshot(key)
        except Exception:  # noqa: BLE001 - history is a help, never a reason not to count
            log.exception("count history unavailable")
            return None

    def _remember(self, key: str, total: int, addresses: Sequence[str]) -> None:
        if self.store is None:
            return
        try:
            self.store().save_snapshot(key, total, addresses)
        except Exception:  # noqa: BLE001 - the count stands even if history cannot be saved
            log.exception("could not save the count history")
