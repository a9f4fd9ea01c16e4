"""Rollcall's count of one list through its real engine and EWS adapter, timed from outside."""

from __future__ import annotations

import resource
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


class RollcallSession:
    """One EwsConnections, Counter and ExpansionCache: a count, then the same again is warm."""

    def __init__(self, url: str, user: str, password: str, concurrency: int) -> None:
        connections = EwsConnections(
            EwsSettings(url=url, username=user, password=password), connections=concurrency
        )
        # Built before timing: the version probe (ConvertId) is paid once per server process.
        self.directory = connections.directory(None)
        self.counter = Counter(
            self.directory,
            Settings(concurrency=concurrency, deadline_s=600.0),
            cache=ExpansionCache(),
        )

    def count(self, root: str, trace_memory: bool = False) -> Timed:
        request = CountRequest(recipients=[Recipient("All", root)])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace_memory:
            tracemalloc.start()
        cpu = time.process_time()
        started = time.perf_counter()
        # Its JSON, as the API answers: the report's to_json() is part of what a count costs.
        report = self.counter.count(request).to_json()
        seconds = time.perf_counter() - started
        cpu_s = time.process_time() - cpu
        peak = None
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return Timed(report, seconds, cpu_s, (rss_after - rss_before) / 1024, peak)
