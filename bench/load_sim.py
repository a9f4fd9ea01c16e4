"""The EWS simulator serving the demo organisation in a child process (bench/childproc.py),
as bench/simproc.py serves generated organisations."""

from __future__ import annotations

import os
from multiprocessing.connection import Connection

from .childproc import ChildSimulator, obey


def _serve(conn: Connection, latency_ms: float) -> None:
    """Child process: load the demo organisation, serve it, obey the parent's commands."""
    from ews_simulator import Simulator, load
    from ews_simulator.demo import demo_document

    sim = Simulator(load(demo_document())).start()
    sim.set_faults(latency_ms=latency_ms)
    conn.send({"url": sim.url, "pid": os.getpid()})
    obey(conn, sim, lambda changes: sim.set_faults(**changes))


class DemoSimulator(ChildSimulator):
    """`ews_simulator.demo`'s organisation, `latency_ms` per request, in its own process."""

    def __init__(self, latency_ms: float) -> None:
        super().__init__(_serve, latency_ms)
        self.url: str = self.info["url"]
        self.pid: int = self.info["pid"]
