"""The Graph simulator in a child process (bench/childproc.py), as simproc.py runs EWS's.

It generates the same organisation as the EWS simulator's process (generate() is deterministic
for a shape and seed) and serves it over HTTPS with its own OpenID token endpoint, so that
building its JSON answers neither holds Rollcall's or the baseline's GIL nor shows in their CPU.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

from .childproc import ChildSimulator, obey
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
    obey(conn, sim, sim.apply_faults)


class RemoteGraphSimulator(ChildSimulator):
    """A generated organisation served by a GraphSimulator in a child process; the attributes
    graph_settings() reads (url, authority, ca_file, exchange_url, client_id, client_secret)."""

    def __init__(self, shape: OrgShape) -> None:
        super().__init__(_serve, shape)
        info = self.info
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

    def apply_faults(self, spec: str) -> str:
        """Replace every fault with a spec's ("latency=20"); the faults now in force."""
        result: str = self.ask("faults", spec)
        return result
