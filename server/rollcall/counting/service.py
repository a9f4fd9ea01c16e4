"""The count service: one place that turns a request into a report, whoever asks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rollcall.core.drift import count_key, drift, explain_with_drift
from rollcall.core.entries import internal_domains
from rollcall.core.findings import bounced
from rollcall.core.model import (
    CountRequest,
    Directory,
    DirectoryError,
    Entry,
    Expansion,
    Recipient,
    Resolution,
)
from rollcall.core.report import build_report
from rollcall.core.report_types import CountReport, ExpectedSource, FindingCode
from rollcall.errors import DirectoryUnavailable, ExchangeBusy, TooLarge

from .cache import ExpansionCache, ResolutionCache
from .engine import Counter, Settings
from .flight import Flights, LocalFlights
from .workers import connect

FLIGHT_WAIT_SHARE = 0.8  # of a count's time, the most it waits for the same count elsewhere

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0  # the count history's retention is applied at most this often
def _busy(said: str = "") -> str:
    return (f"Exchange is busy{said} and asked Rollcall to wait, so nobody could be counted. "
            "Try again in a moment.")


class CountService:
    """Counts as a mailbox; expansions are cached for the TTL, every complete count remembered."""

    def __init__(self, directory_for: Callable[[str | None, list[Recipient]], Directory],
                 settings: Settings,
                 server_version: Callable[[], str | None] = lambda: None,
                 store: Callable[[], Any] | None = None,
                 list_expected: Callable[[Recipient, str | None], int | None] | None = None,
                 service_account: str | None = None, history_days: int = 90,
                 bounced: Callable[[Sequence[str]], list[str]] | None = None,
                 cache: ExpansionCache | None = None,
                 resolutions: ResolutionCache | None = None,
                 flights: Flights | None = None) -> None:
        # directory_for(mailbox, recipients): the directory one count walks (directory.routing)
        self.directory_for = directory_for
        self.settings = settings
        self.server_version = server_version
        self.store = store
        self.list_expected = list_expected  # the owner's number for a Rollcall list entry
        self.service_account = service_account  # its domain is internal when none is set
        self.history_days = history_days  # counts older than this are purged
        self.bounced = bounced  # of these addresses, those a hard bounce suppressed
        self._purged_at: float | None = None  # monotonic time of the last purge
        # Shared through Redis by bootstrap when ROLLCALL_REDIS_URL is set; this process's own
        # otherwise. Resolutions are reused for a short while (ROLLCALL_RESOLVE_TTL_S).
        self.cache = cache if cache is not None else ExpansionCache()
        self.resolutions = resolutions if resolutions is not None else ResolutionCache(120.0)
        self.flights = flights if flights is not None else LocalFlights()

    def count(self, recipients: list[Recipient], expected: int | None = None,
              mailbox: str | None = None, refresh: bool = False,
              remember: bool = True,
              deadline_s: float | None = None,
              request_id: str | None = None) -> CountReport:
        """The report; raises TooLarge, or DirectoryUnavailable when the directory cannot be
        asked. `request_id` marks what the server logs about this count, for support."""
        # remember=False leaves the history alone (a warm-up, a dry run); deadline_s replaces
        # the configured deadline for this count (the send check's must be shorter).
        self.check_size(recipients)
        deadline = self.settings.deadline_s if deadline_s is None else deadline_s
        if refresh:  # fresh answers were asked for: nothing to wait for
            return self._count(recipients, expected, mailbox, refresh, remember, deadline,
                               request_id)
        started = time.monotonic()
        # The same count running (here or in another process) is awaited: this one then reads
        # what it fetched from the cache. A follower keeps a share of its time to count.
        with self.flights.hold(count_key(recipients, self.acting(mailbox)),
                               deadline * FLIGHT_WAIT_SHARE):
            left = max(0.05, deadline - (time.monotonic() - started))
            return self._count(recipients, expected, mailbox, refresh, remember, left,
                               request_id)

    def _count(self, recipients: list[Recipient], expected: int | None,
               mailbox: str | None, refresh: bool, remember: bool, deadline: float,
               request_id: str | None) -> CountReport:
        acting = self.acting(mailbox)
        started = time.monotonic()
        try:
            # The first connection probes Exchange's version and can hang like any call: it
            # gets the count's deadline, not exchangelib's timeout.
            directory = connect(lambda: self.directory_for(acting, recipients), deadline)
        except TimeoutError:
            log.warning("request %s: connecting to the directory took longer than %g s",
                        request_id or "-", deadline)
            raise DirectoryUnavailable("Exchange did not answer in time, so nobody could be "
                                       "counted. Try again in a moment; if it keeps happening, "
                                       "tell your IT team.") from None
        except DirectoryError as e:
            _Logged(None, request_id)._log("connecting to the directory", e)
            if e.code == "throttled":
                raise ExchangeBusy(_busy(), retry_after=e.back_off) from None
            if e.code == "unauthorized":
                raise DirectoryUnavailable(e.message, code="exchange_unauthorized") from None
            said = f" ({e.detail})" if e.detail else ""
            raise DirectoryUnavailable(f"{e.message}{said}, so nobody could be counted. Try "
                                       "again in a moment; if it keeps happening, tell your IT "
                                       "team.") from None
        directory = _Logged(directory, request_id)
        key = count_key(recipients, acting)
        previous = self._previous(key)
        # The sender's number first, then the list owner's, then what it was last time.
        source = ExpectedSource.SENDER
        if expected is None:
            expected, source = self._list_expectation(recipients, acting), ExpectedSource.LIST
        if expected is None and previous is not None:
            expected, source = previous.total, ExpectedSource.PREVIOUS_COUNT
        request = CountRequest(recipients=recipients, expected=expected, mailbox=acting,
                               refresh=refresh, expected_source=source)
        left = max(0.05, deadline - (time.monotonic() - started))
        settings = replace(self.settings, deadline_s=left,
                           internal_domains=self.internal_domains(acting))
        report = Counter(directory, settings, self.cache,
                         resolutions=self.resolutions).count(request)
        if not report.comparable:
            # An incomplete count would make people seem to leave who were only not reached,
            # and one where nothing resolved says nothing about who the entries reach.
            previous = None
            if source is ExpectedSource.PREVIOUS_COUNT:
                report = replace(report, expected=None, difference=None, expected_source=None,
                                 findings=tuple(f for f in report.findings
                                                if f.code is not FindingCode.COUNT_MISMATCH))
        moved = None if previous is None else drift(
            previous.at, previous.total, previous.addresses, report.recipients,
            report.holders, getattr(previous, "holders", None))
        report = replace(
            report, mailbox=acting,
            exchange_version=self.server_version(),  # for support reports
            drift=moved,
            findings=report.findings if moved is None else explain_with_drift(report.findings,
                                                                               moved))
        report = self._with_bounced(report, request_id)
        if report.comparable and remember:
            self._remember(key, report)
        return report

    def _with_bounced(self, report: CountReport, request_id: str | None) -> CountReport:
        """The people a hard bounce suppressed, as a finding: the sender can fix them."""
        if self.bounced is None or not report.recipients:
            return report
        try:
            gone = self.bounced(report.recipients)
        except Exception:  # noqa: BLE001 - the count stands without it; the log says why
            log.exception("request %s: the suppression list could not be read",
                          request_id or "-")
            return report
        if not gone:
            return report
        return replace(report, findings=(*report.findings, bounced(sorted(gone))))

    def internal_domains(self, mailbox: str | None) -> tuple[str, ...]:
        """The organisation's domains for a count acting as `mailbox`: ROLLCALL_INTERNAL_DOMAINS,
        else the acting mailbox's and the service account's domains."""
        return internal_domains(self.settings.internal_domains, mailbox, self.service_account)

    def unreachable(self, recipients: list[Recipient], mailbox: str | None,
                    error: DirectoryUnavailable) -> CountReport:
        """The report of a count the directory refused before it began: every entry not looked
        up, nothing known. The send check decides on it by its policy, as on any other count."""
        busy = isinstance(error, ExchangeBusy)
        reason = DirectoryError("throttled" if busy else "unreachable", error.message,
                                getattr(error, "retry_after", None))
        request = CountRequest(recipients=recipients, mailbox=self.acting(mailbox))
        report = build_report(request, [reason] * len(recipients), {}, {})
        return replace(report, mailbox=request.mailbox)

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
        if report.comparable:
            self._remember(count_key(recipients, report.mailbox), report)

    def _list_expectation(self, recipients: list[Recipient], mailbox: str | None) -> int | None:
        """The expected count a Rollcall list's owner set, when that list is all that is sent."""
        if self.list_expected is None or len(recipients) != 1:
            return None
        try:
            return self.list_expected(recipients[0], mailbox)  # as that mailbox may see it
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

    def _remember(self, key: str, report: CountReport) -> None:
        if self.store is None:
            return
        try:
            store = self.store()
            store.save_snapshot(key, report.total, report.recipients, report.holders)
            now = time.monotonic()
            if self._purged_at is None or now - self._purged_at > PURGE_EVERY_S:
                self._purged_at = now
                cutoff = datetime.now(UTC) - timedelta(days=self.history_days)
                store.purge_snapshots(cutoff)
        except Exception:  # noqa: BLE001 - the count stands even if history cannot be saved
            log.exception("could not save the count history")


def no_count(report: CountReport) -> DirectoryUnavailable | None:
    """The error to answer instead of a report that knows nothing: Exchange failed before any
    person was found, so there is no number to show, only a state and when to try again."""
    if report.has_count:
        return None
    failed = report.of(FindingCode.EXPANSION_FAILED)
    details = sorted({f.detail for f in failed if f.detail})
    said = f" ({', '.join(details)})" if details else ""  # the protocol's word, for support
    if failed and all(f.throttled for f in failed):
        waits = [f.retry_after for f in failed if f.retry_after]
        return ExchangeBusy(_busy(said),
                            retry_after=max(waits) if waits else None)
    return DirectoryUnavailable(
        f"Exchange could not be reached{said}, so nobody could be counted. Try again in a "
        "moment; if it keeps happening, tell your IT team.")


class _Logged:
    """The directory, with each failure's full story written to the server's log under the
    request's id: people see plain words, support finds the chain by the id they were shown."""

    def __init__(self, directory: Directory | None, request_id: str | None) -> None:
        self.directory = directory
        self.request_id = request_id or "-"
        self.traced = False  # the first failure's chain is enough; retries get one line

    @property
    def figures(self) -> Any:
        """What the directory says the count cost (Graph's resource units), if it says."""
        return getattr(self.directory, "figures", None)

    def resolve(self, name: str, address: str | None) -> Resolution:
        assert self.directory is not None
        try:
            return self.directory.resolve(name, address)
        except DirectoryError as e:
            self._log("resolving a recipient", e)
            raise

    def expand(self, entry: Entry) -> Expansion:
        assert self.directory is not None
        try:
            return self.directory.expand(entry)
        except DirectoryError as e:
            self._log(f"expanding {entry.address or entry.name}", e)
            raise

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        assert self.directory is not None
        try:
            return self.directory.smtp_for_legacy_dn(legacy_dn)
        except DirectoryError as e:
            self._log("looking up a legacy Exchange address", e)
            raise

    def _log(self, doing: str, error: DirectoryError) -> None:
        cause = error.cause if not self.traced else None
        self.traced = self.traced or cause is not None
        log.warning("request %s: %s failed: %s [%s] (%s)", self.request_id, doing,
                    error.message, error.code, error.detail or "-",
                    exc_info=(type(cause), cause, cause.__traceback__) if cause else None)
