"""The EWS simulator serving a generated organisation in a child process (bench/childproc.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .childproc import ChildSimulator, obey


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
    obey(conn, sim, lambda changes: sim.set_faults(**changes))


class RemoteSimulator(ChildSimulator):
    """A generated organisation served by a Simulator in a child process."""

    def __init__(self, shape: OrgShape) -> None:
        super().__init__(_serve, shape)
        info = self.info
        self.url: str = info["url"]
        # Two mailboxes of the organisation (all sign in with Passw0rd!): Rollcall signs in as the
        # first, the baseline as the second, so exchangelib's per-credentials Protocol cache can
        # never hand one the other's connection pool or retry policy.
        self.users: list[tuple[str, str]] = [tuple(u) for u in info["users"]]
        self.root: str = info["root"]
        self.generate_s: float = info["generate_s"]
        self.load_s: float = info["load_s"]

    def set_faults(self, **changes: Any) -> None:
        self.ask("faults", changes)
