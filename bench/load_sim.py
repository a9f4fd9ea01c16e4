"""The EWS simulator serving the demo organisation in a child process, driven over a pipe.

As bench/simproc.py does for generated organisations: the simulator's own work (building XML
answers, sleeping its latency) then takes neither the GIL nor the memory of a process measured.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection, latency_ms: float) -> None:
    """Child process: load the demo organisation, serve it, obey the parent's commands."""
    from ews_simulator import Simulator, load
    from ews_simulator.demo import demo_document

    sim = Simulator(load(demo_document())).start()
    sim.set_faults(latency_ms=latency_ms)
    conn.send({"url": sim.url, "pid": os.getpid()})
    while True:
        try:
            command = conn.recv()
        except EOFError:
            break
        if command == "snapshot":
            conn.send(sim.snapshot())
        elif command == "reset":
            sim.reset_counters()
            conn.send(None)
        elif command == "cpu":
            conn.send(time.process_time())
        elif command == "stop":
            sim.stop()
            conn.send(None)
            break


class DemoSimulator:
    """`ews_simulator.demo`'s organisation, `latency_ms` per request, in its own process."""

    def __init__(self, latency_ms: float) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, latency_ms), daemon=True)
        self._process.start()
        child.close()
        info: dict[str, Any] = self._conn.recv()
        self.url: str = info["url"]
        self.pid: int = info["pid"]

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def snapshot(self) -> dict[str, int]:
        """Requests seen since the last reset, by EWS operation."""
        result: dict[str, int] = self._ask("snapshot")
        return result

    def reset_counters(self) -> None:
        self._ask("reset")

    def cpu_s(self) -> float:
        result: float = self._ask("cpu")
        return result

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._ask("stop")
            except (EOFError, BrokenPipeError, OSError):
                pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
