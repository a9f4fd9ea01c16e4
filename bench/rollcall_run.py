"""Rollcall's count of one list through its real engine and EWS adapter, timed from outside."""

from __future__ import annotations

import resource
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

from rollcall.core.model import CountRequest, Recipient
from rollcall.counting import Counter, ExpansionCache, Settings
from rollcall.directory.ews.client import EwsConnections
from rollcall.directory.ews.settings import EwsSettings


@dataclass(slots=True)
class Timed:
    report: dict[str, Any]
    seconds: float  # wall clock around Counter.count, report building included
    cpu_s: float  # this process's CPU time (all threads) during the count
    rss_delta_mb: float  # growth of ru_maxrss (the process's high-water mark) during the count
    traced_peak_mb: float | None = None  # tracemalloc peak, when traced
    peak_in_flight: int = 0  # the most EWS requests in flight at once
    mean_in_flight: float = 0.0  # requests in flight, averaged over the count's time

    def summary(self) -> str:
        r = self.report
        return (
            f"total {r['total']}, complete {r['complete']}, lists {r['lists']}, "
            f"max_depth {r['max_depth']}, requests {r['requests']}, {self.seconds:.2f} s wall "
            f"(engine elapsed_ms {r['elapsed_ms']}), cpu {self.cpu_s:.2f} s, {self.flight()}"
        )

    def flight(self) -> str:
        return f"in flight: peak {self.peak_in_flight}, mean {self.mean_in_flight:.1f}"


class InFlight:
    """Wraps the EWS directory: how many of its calls (one HTTP request each) are in flight,
    at most and on average over time. Costs a lock and a clock reading a call."""

    def __init__(self, directory: Any) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.now = self.peak = 0
        self.area = 0.0  # integral of calls in flight over time
        self.since = self.started = time.perf_counter()

    def mean(self) -> float:
        with self.lock:
            self._step(0)
            elapsed = self.since - self.started
        return self.area / elapsed if elapsed > 0 else 0.0

    def _step(self, change: int) -> None:
        t = time.perf_counter()
        self.area += self.now * (t - self.since)
        self.since = t
        self.now += change
        self.peak = max(self.peak, self.now)

    def _tracked(self, method: Any, *args: Any) -> Any:
        with self.lock:
            self._step(1)
        try:
            return method(*args)
        finally:
            with self.lock:
                self._step(-1)

    def resolve(self, name: str, address: str | None) -> Any:
        return self._tracked(self.directory.resolve, name, address)

    def expand(self, entry: Any) -> Any:
        return self._tracked(self.directory.expand, entry)

    def smtp_for_legacy_dn(self, legacy_dn: str) -> Any:
        return self._tracked(self.directory.smtp_for_legacy_dn, legacy_dn)


class RollcallSession:
    """One EwsConnections, Counter and ExpansionCache: a count, then the same again is warm.

    Calls in flight start at `concurrency` and adapt up to `max_concurrency` (Rollcall's
    defaults when None); the HTTP connections number the maximum, so they never cap it."""

    def __init__(self, url: str, user: str, password: str, concurrency: int,
                 max_concurrency: int | None = None) -> None:
        most = max_concurrency or max(concurrency, Settings().max_concurrency)
        connections = EwsConnections(
            EwsSettings(url=url, username=user, password=password), connections=most
        )
        # Built before timing: the version probe (ConvertId) is paid once per server process.
        self.directory = InFlight(connections.directory(None))
        self.counter = Counter(
            self.directory,
            Settings(concurrency=concurrency, max_concurrency=most, deadline_s=600.0),
            cache=ExpansionCache(),
        )

    def count(self, root: str, trace_memory: bool = False) -> Timed:
        request = CountRequest(recipients=[Recipient("All", root)])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace_memory:
            tracemalloc.start()
        self.directory.reset()
        cpu = time.process_time()
        started = time.perf_counter()
        # Its JSON, as the API answers: the report's to_json() is part of what a count costs.
        report = self.counter.count(request).to_json()
        seconds = time.perf_counter() - started
        mean_in_flight = self.directory.mean()
        cpu_s = time.process_time() - cpu
        peak = None
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return Timed(report, seconds, cpu_s, (rss_after - rss_before) / 1024, peak,
                     self.directory.peak, mean_in_flight)
