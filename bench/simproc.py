"""The EWS simulator in a child process, driven over a pipe.

The simulator serves from its own process so that its work (building the XML answers) neither
holds Rollcall's or the baseline's GIL nor shows up in their memory figures: on two cores the
client measured here is then the only Python in its process, as it would be against Exchange.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True, slots=True)
class OrgShape:
    people: int
    lists: int
    depth: int
    overlap: float
    seed: int


def _serve(conn: Connection, shape: OrgShape) -> None:
    """Child process: generate and load the organisation, serve it, obey the parent's commands."""
    from ews_simulator import Simulator, load
    from ews_simulator.generate import generate

    started = time.perf_counter()
    doc = generate(shape.people, shape.lists, shape.depth, shape.overlap, shape.seed)
    generated = time.perf_counter()
    # Rollcall's user acts for senders in `--validate` (impersonation), as its service account does.
    doc["mailboxes"][0]["can_impersonate"] = True
    org = load(doc)
    loaded = time.perf_counter()
    sim = Simulator(org).start()
    first, second = doc["mailboxes"][0], doc["mailboxes"][-1]
    conn.send(
        {
            "url": sim.url,
            "users": [(m["address"], m["password"]) for m in (first, second)],
            "root": doc["lists"][0]["address"],
            "generate_s": generated - started,
            "load_s": loaded - generated,
        }
    )
    while True:
        try:
            command, args = conn.recv()
        except EOFError:
            break
        if command == "faults":
            sim.set_faults(**args)
            conn.send(None)
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


class RemoteSimulator:
    """A generated organisation served by a Simulator in a child process."""

    def __init__(self, shape: OrgShape) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, shape), daemon=True)
        self._process.start()
        child.close()
        info: dict[str, Any] = self._conn.recv()
        self.url: str = info["url"]
        # Two mailboxes of the organisation (all sign in with Passw0rd!): Rollcall signs in as the
        # first, the baseline as the second, so exchangelib's per-credentials Protocol cache can
        # never hand one the other's connection pool or retry policy.
        self.users: list[tuple[str, str]] = [tuple(u) for u in info["users"]]
        self.root: str = info["root"]
        self.generate_s: float = info["generate_s"]
        self.load_s: float = info["load_s"]

    def _ask(self, command: str, args: dict[str, Any] | None = None) -> Any:
        self._conn.send((command, args or {}))
        return self._conn.recv()

    def set_faults(self, **changes: Any) -> None:
        self._ask("faults", changes)

    def snapshot(self) -> dict[str, int]:
        result: dict[str, int] = self._ask("snapshot")
        return result

    def cpu_s(self) -> float:
        """CPU seconds the simulator's process has used so far (all its threads)."""
        result: float = self._ask("cpu")
        return result

    def reset_counters(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._ask("stop")
            except (EOFError, BrokenPipeError):
                pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()

    def __enter__(self) -> RemoteSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
