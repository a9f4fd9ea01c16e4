"""A simulator in a child process, driven over a pipe: the parent's side and the child's loop.

The simulators serve from their own processes so that their work (building XML or JSON answers,
sleeping their latency) neither holds the GIL of the process measured nor shows in its CPU and
memory figures: on two cores the client measured is then the only Python in its process, as it
would be against Exchange or Microsoft 365.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Self


def obey(conn: Connection, sim: Any, faults: Callable[[Any], Any]) -> None:
    """Child side: answer the parent's (command, argument) pairs until "stop" or the pipe
    closes. `faults(argument)` changes the simulator's faults and says what it answers."""
    while True:
        try:
            command, arg = conn.recv()
        except EOFError:
            break
        if command == "faults":
            conn.send(faults(arg))
        elif command == "snapshot":
            conn.send(sim.snapshot())
        elif command == "cpu":
            conn.send(time.process_time())
        elif command == "reset":
            sim.reset_counters()
            conn.send(None)
        elif command == "stop":
            sim.stop()
            conn.send(None)
            break


class ChildSimulator:
    """Parent side: `serve(conn, *args)` runs in a spawned process, starts a simulator, sends
    what the parent needs to know of it (`info`), then calls `obey`."""

    def __init__(self, serve: Callable[..., None], *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=serve, args=(child, *args), daemon=True)
        self._process.start()
        child.close()
        self.info: dict[str, Any] = self._conn.recv()

    def ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def snapshot(self) -> dict[str, int]:
        """Requests seen since the last reset, by operation."""
        result: dict[str, int] = self.ask("snapshot")
        return result

    def cpu_s(self) -> float:
        """CPU seconds the simulator's process has used so far (all its threads)."""
        result: float = self.ask("cpu")
        return result

    def reset_counters(self) -> None:
        self.ask("reset")

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self.ask("stop")
            except (EOFError, BrokenPipeError, OSError):
                pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
