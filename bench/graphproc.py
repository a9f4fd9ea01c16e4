"""The Graph simulator in a child process, driven over a pipe (as simproc.py does for EWS).

It generates the same organisation as the EWS simulator's process (generate() is deterministic
for a shape and seed) and serves it over HTTPS with its own OpenID token endpoint, so that
building its JSON answers neither holds Rollcall's or the baseline's GIL nor shows in their CPU.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from typing import Any

from .simproc import OrgShape


def _serve(conn: Connection, shape: OrgShape) -> None:
    """Child process: generate and load the organisation, serve it, obey the parent's commands."""
    from ews_simulator import load
    from ews_simulator.generate import generate
    from graph_simulator import GraphSimulator

    started = time.perf_counter()
    doc = generate(shape.people, shape.lists, shape.depth, shape.overlap, shape.seed)
    org = load(doc)
    loaded = time.perf_counter()
    sim = GraphSimulator(org, port=0).start()  # its own certificate folder, removed at stop
    conn.send({
        "url": sim.url, "authority": sim.authority, "ca_file": sim.ca_file,
        "exchange_url": sim.exchange_url, "client_id": sim.client_id,
        "client_secret": sim.client_secret, "domain": doc["domain"],
        "mailbox": doc["mailboxes"][0]["address"], "root": doc["lists"][0]["address"],
        "setup_s": loaded - started,
    })
    while True:
        try:
            command, arg = conn.recv()
        except EOFError:
            break
        if command == "faults":
            conn.send(sim.apply_faults(arg))
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


class RemoteGraphSimulator:
    """A generated organisation served by a GraphSimulator in a child process; the attributes
    graph_settings() reads (url, authority, ca_file, exchange_url, client_id, client_secret)."""

    def __init__(self, shape: OrgShape) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, shape), daemon=True)
        self._process.start()
        child.close()
        info: dict[str, Any] = self._conn.recv()
        self.url: str = info["url"]
        self.authority: str = info["authority"]
        self.ca_file: str = info["ca_file"]
        self.exchange_url: str = info["exchange_url"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]
        self.domain: str = info["domain"]
        self.mailbox: str = info["mailbox"]  # Rollcall acts for it (ROLLCALL_MAILBOX)
        self.root: str = info["root"]
        self.setup_s: float = info["setup_s"]

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def apply_faults(self, spec: str) -> str:
        """Replace every fault with a spec's ("latency=20"); the faults now in force."""
        result: str = self._ask("faults", spec)
        return result

    def snapshot(self) -> dict[str, int]:
        result: dict[str, int] = self._ask("snapshot")
        return result

    def cpu_s(self) -> float:
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
