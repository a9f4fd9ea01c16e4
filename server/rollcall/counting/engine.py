"""The fetch phase of a count: resolve, expand and map addresses concurrently, then report.

Everything that touches the directory, the clock or threads is here; what the fetched answers
mean is decided by the pure `rollcall.core.report.build_report`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from rollcall.core.entries import dn_key, expandable, needs_smtp_lookup
from rollcall.core.model import (
    LIST_KINDS,
    CountRequest,
    Directory,
    DirectoryError,
    Entry,
    Expansion,
    Kind,
    Resolution,
    Throttled,
)
from rollcall.core.report import build_report
from rollcall.core.report_types import CountReport
from rollcall.core.tree import Outcome

from .cache import ExpansionCache, ResolutionCache
from .limit import AdaptiveLimit
from .settings import Settings
from .workers import directory_call

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # tries per call, the first included
DEFAULT_BACK_OFF_S = 0.5  # first wait when a throttled reply names none; doubles per try


def retry_delay(error: DirectoryError, attempt: int, now: float, deadline: float) -> float | None:
    """Seconds to wait before trying a failed call again (try `attempt` just failed), or None."""
    if error.back_off is None and not isinstance(error, Throttled):
        # Not found, access denied, a malformed answer: asking again gets the same answer.
        return None
    if attempt >= MAX_ATTEMPTS:
        # The directory keeps refusing; more tries would only add to the load it complains of.
        return None
    if error.back_off is not None:
        # The directory named its wait; retrying sooner would just be refused again.
        delay = max(0.0, error.back_off)
    else:
        # Throttled without a number: back off exponentially so we ease the load we caused.
        delay = DEFAULT_BACK_OFF_S * 2 ** (attempt - 1)
    if now + delay >= deadline:
        # The retry could not even start before the deadline: fail this call now (the count
        # says it is incomplete) rather than wait for an answer nobody will read.
        return None
    return delay


class Counter:
    """Counts the unique recipients of one message through a Directory port."""

    def __init__(
        self,
        directory: Directory,
        settings: Settings | None = None,
        cache: ExpansionCache | None = None,
        clock: Callable[[], float] = time.monotonic,
        resolutions: ResolutionCache | None = None,
    ) -> None:
        """`clock` must tick in real seconds: the engine waits on threads with real timeouts."""
        self.directory = directory
        self.settings = settings or Settings()
        self.cache = cache if cache is not None else ExpansionCache()
        self.resolutions = resolutions  # None: every count resolves its entries afresh
        self.clock = clock

    def count(self, request: CountRequest) -> CountReport:
        """The report for `request`; returned by the deadline, with complete=false if cut short."""
        return _Run(self, request).execute()


@dataclass(frozen=True, slots=True)
class _Call:
    op: str  # "resolve" (target: recipient index) | "expand" (Entry) | "smtp" (legacy DN)
    target: Any
    attempt: int = 1


class _Run:
    """The state of one count; touched only by the thread that called `count`."""

    def __init__(self, counter: Counter, request: CountRequest) -> None:
        self.directory = counter.directory
        self.settings = counter.settings
        self.cache = counter.cache
        self.resolved = None if request.refresh else counter.resolutions
        self.counter_resolutions = counter.resolutions  # a refresh still refills it
        self.clock = counter.clock
        self.request = request
        self.started = self.clock()
        self.deadline = self.started + self.settings.deadline_s
        self.resolutions: list[Resolution | DirectoryError | None] = [None] * len(
            request.recipients
        )
        self.outcomes: dict[str, Outcome] = {}
        self.smtp: dict[str, str | None] = {}
        self.asked_lists: set[str] = set()
        self.asked_dns: set[str] = set()
        self.running: dict[Future[Any], tuple[_Call, int]] = {}  # call, its AdaptiveLimit token
        self.ready: deque[_Call] = deque()  # calls due, waiting for room under the limit
        self.waiting: list[tuple[float, int, _Call]] = []  # heap of (due, tie-break, call)
        self.limit = AdaptiveLimit(self.settings.concurrency, self.settings.max_concurrency)
        self.sequence = itertools.count()
        self.closed = False  # set at the deadline
        self.requests = 0
        self.requests_lock = threading.Lock()  # workers count their own calls
        # Calls over the count's limit wait in `ready`, where the deadline can drop them; the
        # threads are the process's shared, bounded pool (workers.py).
        self.finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def execute(self) -> CountReport:
        try:
            for index in range(len(self.request.recipients)):
                if not self.resolved_before(index):
                    self.submit(_Call("resolve", index))
            self.loop()
        finally:
            # Never wait for a stuck call: queued ones are dropped, running ones are abandoned
            # and their answers ignored; the report lists what they would have expanded.
            for future in self.running:
                future.cancel()
        with self.requests_lock:
            requests = self.requests
        elapsed_ms = round((self.clock() - self.started) * 1000)
        figures = getattr(self.directory, "figures", None)  # Graph's cost, where it says it
        report = build_report(
            self.request,
            self.resolutions,
            self.outcomes,
            self.smtp,
            max_nesting=self.settings.max_nesting,
            internal_domains=self.settings.internal_domains,
            requests=requests,
            elapsed_ms=elapsed_ms,
        )
        units = getattr(figures, "resource_units", None)
        if isinstance(units, int):  # only a directory that counts them (Graph's Figures)
            report = replace(report, resource_units=units,
                             http_requests=getattr(figures, "requests", None))
        log.info(
            "count done recipients=%d lists=%d total=%d complete=%s requests=%d elapsed_ms=%d "
            "limit=%d limit_peak=%d halvings=%d",
            len(self.request.recipients), report.lists, report.total,
            report.complete, requests, elapsed_ms,
            self.limit.limit, self.limit.peak, self.limit.halvings,
        )
        return report

    def loop(self) -> None:
        while self.running or self.waiting:
            now = self.clock()
            if now >= self.deadline:
                # Take the answers that made it, but start nothing new: lists they reveal are
                # reported as not reached rather than silently left out.
                self.closed = True
                for future in [f for f in self.running if f.done()]:
                    self.settle(*self.running.pop(future), future)
                return
            while self.waiting and self.waiting[0][0] <= now:
                self.submit(heapq.heappop(self.waiting)[2])
            timeout = self.deadline - now
            if self.waiting:
                timeout = min(timeout, self.waiting[0][0] - now)
            if not self.running:
                time.sleep(max(0.0, timeout))  # only retries remain, and none is due yet
                continue
            # Handle answers as they come, so lists found in one expansion start at once. A
            # queue fed by done-callbacks costs O(1) an answer; concurrent.futures.wait sets up
            # waiters on every running future each time (8% of a 2,000-list count, bench/).
            try:
                future = self.finished.get(timeout=max(0.0, timeout))
            except queue.Empty:
                continue
            self.settle(*self.running.pop(future), future)
            self.start_ready()  # the answer made room, or the limit grew

    def resolution_key(self, index: int) -> str:
        recipient = self.request.recipients[index]
        return ResolutionCache.key(self.request.mailbox, recipient.name, recipient.address)

    def resolved_before(self, index: int) -> bool:
        """A warm entry: resolved for this mailbox a moment ago, so not asked again."""
        if self.resolved is None:
            return False
        cached = self.resolved.get(self.resolution_key(index))
        if cached is None:
            return False
        self.resolutions[index] = cached
        if cached.entry is not None:
            self.discover([cached.entry])
        return True

    def submit(self, call: _Call) -> None:
        if not self.closed:
            self.ready.append(call)
            self.start_ready()

    def start_ready(self) -> None:
        """Start calls in the order they became due, as many as the limit has room for."""
        while self.ready and self.limit.room():
            call = self.ready.popleft()
            future = directory_call(self.call_port, call)
            self.running[future] = (call, self.limit.started())
            future.add_done_callback(self.finished.put)

    def call_port(self, call: _Call) -> Any:
        """Runs on a worker thread: one port call, counted when it starts."""
        with self.requests_lock:
            self.requests += 1
        if call.op == "resolve":
            recipient = self.request.recipients[call.target]
            return self.directory.resolve(recipient.name, recipient.address)
        if call.op == "expand":
            return self.directory.expand(call.target)
        return self.directory.smtp_for_legacy_dn(call.target)

    def settle(self, call: _Call, token: int, future: Future[Any]) -> None:
        try:
            result = future.result()
        except DirectoryError as error:
            if error.code == "throttled":
                self.limit.throttled(token)
            elif error.back_off is None:
                self.limit.answered(token)  # not found, denied: Exchange kept up and said no
            else:
                self.limit.failed()
            delay = retry_delay(error, call.attempt, self.clock(), self.deadline)
            if delay is None:
                self.fail(call, error)
            else:
                again = replace(call, attempt=call.attempt + 1)
                heapq.heappush(self.waiting, (self.clock() + delay, next(self.sequence), again))
            return
        except Exception as error:  # an adapter bug must cost one list, not the whole count
            self.limit.failed()
            log.exception("directory call %s failed unexpectedly", call.op)
            self.fail(call, DirectoryError("internal", f"unexpected {type(error).__name__}"))
            return
        self.limit.answered(token)
        if call.op == "resolve":
            self.resolutions[call.target] = result
            # Only what the directory found is reused: a name nobody has yet may be created any
            # minute, and a Rollcall list is resolved afresh so its access is checked each time.
            if self.counter_resolutions is not None and result.entry is not None \
                    and result.entry.kind is not Kind.ROLLCALL_LIST:
                self.counter_resolutions.put(self.resolution_key(call.target), result)
            if result.entry is not None:
                self.discover([result.entry])
        elif call.op == "expand":
            self.outcomes[call.target.key] = Outcome(result)
            if result.cacheable:
                self.cache.put(call.target.key, result)
            self.discover(result.members)
        else:
            self.smtp[dn_key(call.target)] = result

    def fail(self, call: _Call, error: DirectoryError) -> None:
        if call.op == "resolve":
            self.resolutions[call.target] = error
        elif call.op == "expand":
            self.outcomes[call.target.key] = Outcome(error=error)
        # A failed legacy-DN lookup stays unknown: the report marks those members unresolved
        # and the count incomplete, rather than guessing nobody owns the address.

    def discover(self, entries: Iterable[Entry]) -> None:
        """Start the calls new entries need; each list and each legacy DN only once per count."""
        todo: deque[Entry] = deque(entries)
        while todo:
            entry = todo.popleft()
            # Cheap attribute tests first: a warm count walks 200,000 cached members here.
            if entry.kind in LIST_KINDS and expandable(entry):
                key = entry.key
                if key in self.asked_lists:
                    continue
                self.asked_lists.add(key)
                cached = self.cached(key)
                if cached is None:
                    self.submit(_Call("expand", entry))
                else:
                    self.outcomes[key] = Outcome(cached, cached=True)
                    todo.extend(cached.members)
            elif entry.routing_type != "SMTP" and needs_smtp_lookup(entry) and entry.address:
                key = dn_key(entry.address)
                if key not in self.asked_dns:
                    self.asked_dns.add(key)
                    self.submit(_Call("smtp", entry.address))

    def cached(self, key: str) -> Expansion | None:
        if self.request.refresh:
            return None  # the sender asked for fresh answers; they still refill the cache
        return self.cache.get(key, self.settings.cache_ttl_s)
