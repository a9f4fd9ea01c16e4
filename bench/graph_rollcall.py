"""Rollcall's count through its services (bootstrap, CountService), over EWS or Graph alike.

Both protocols go through the same path (`services.counts.count`), so the two are measured
the same way: one Services per protocol (one expansion cache: the second count is warm), the
directory each count walks wrapped to see how many of its calls are in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import Recipient
from rollcall.core.report_types import CountReport

from .rollcall_run import InFlight

DEADLINE_S = 600.0  # out of the way: a count here must finish, not answer in time


class _Flight(InFlight):
    """InFlight that also passes on what the directory says a count cost (Graph's figures)."""

    @property
    def figures(self) -> Any:
        return getattr(self.directory, "figures", None)


@dataclass(slots=True)
class Counted:
    report: CountReport
    seconds: float  # wall clock around CountService.count
    cpu_s: float  # this process's CPU (all threads) meanwhile
    peak_in_flight: int  # directory calls (resolve, expand) in flight at once, at most
    mean_in_flight: float
    wire: dict[str, int]  # the simulator's counters for this count
    sim_cpu_s: float  # the simulator process's CPU meanwhile

    def summary(self) -> str:
        r = self.report
        graph = (f", HTTP {r.http_requests}, RU {r.resource_units}"
                 if r.http_requests is not None else "")
        return (f"total {r.total:,}, complete {r.complete}, lists {r.lists}, max_depth "
                f"{r.max_depth}, directory calls {r.requests}{graph}, {self.seconds:.2f} s, "
                f"cpu {self.cpu_s:.2f} s, in flight peak {self.peak_in_flight} mean "
                f"{self.mean_in_flight:.1f}")


class ServicesSession:
    """Rollcall's services for one directory, acting as `mailbox`."""

    def __init__(self, settings: dict[str, Any], instance: str, mailbox: str, domain: str,
                 conc: tuple[int, int], sim: Any) -> None:
        config = load_config(environ={}, instance_path=instance, mailbox=mailbox,
                             internal_domains=(domain,), concurrency=conc[0],
                             max_concurrency=conc[1], deadline_s=DEADLINE_S, **settings)
        self.services = bootstrap(config)
        self.mailbox = mailbox
        self.sim = sim
        self.flight = _Flight(None)
        counts = self.services.counts
        inner = counts.directory_for

        def directory_for(acting: str | None, recipients: list[Recipient]) -> Any:
            self.flight.directory = inner(acting, recipients)
            return self.flight

        counts.directory_for = directory_for

    def setup(self) -> CountReport:
        """Count the acting mailbox alone: connections, the token or version probe and the
        database are paid before timing (once per process), as in the EWS bench."""
        return self.services.counts.count([Recipient(self.mailbox, self.mailbox)], None,
                                          self.mailbox, remember=False)

    def count(self, root: str, refresh: bool = False) -> Counted:
        self.sim.reset_counters()
        self.flight.reset()
        sim_cpu = self.sim.cpu_s()
        cpu = time.process_time()
        started = time.perf_counter()
        report = self.services.counts.count([Recipient("All", root)], None, self.mailbox,
                                            refresh, remember=False)
        seconds = time.perf_counter() - started
        cpu_s = time.process_time() - cpu
        mean = self.flight.mean()
        return Counted(report, seconds, cpu_s, self.flight.peak, mean, self.sim.snapshot(),
                       self.sim.cpu_s() - sim_cpu)
