"""The throttled run: a cold count against a simulator that refuses requests past its limit.

The simulator answers ErrorServerBusy (with its BackOffMilliseconds, 1,000 by default) to any
request past `--throttle-at` in flight for one account, as Exchange does past EWSMaxConcurrency.
Rollcall's limit must back off and its count must still come out complete and the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from exchangelib.protocol import close_connections

from .rollcall_run import RollcallSession, Timed
from .simproc import RemoteSimulator
from .table import aim, print_table, requests_seen


def throttled_count(sim: RemoteSimulator, latency: float, conc: tuple[int, int], limit: int,
                    say: Callable[[str], None]) -> tuple[Timed, dict[str, int]]:
    """A cold count (fresh cache and connections) while the simulator takes `limit` at once."""
    user, password = sim.users[0]
    close_connections()
    sim.set_faults(latency_ms=latency, max_concurrent=limit)
    session = RollcallSession(sim.url, user, password, *conc)
    sim.reset_counters()
    say(f"Rollcall cold count, throttled: the simulator takes {limit} requests at once ...")
    timed = session.count(sim.root)
    wire = sim.snapshot()
    sim.set_faults(max_concurrent=None)
    close_connections()
    say(f"  throttled: {timed.summary()}; simulator saw {requests_seen(wire)}")
    return timed, wire


def rows(cold: Timed, throttled: Timed, wire: dict[str, int],
         limit: int) -> list[tuple[str, str, str]]:
    r = throttled.report
    same = r["complete"] and r["total"] == cold.report["total"]
    busy = wire.get("_busy", 0)
    return [
        (f"Rollcall cold, throttled at {limit}", f"{throttled.seconds:.2f} s",
         f"{throttled.seconds / cold.seconds:.2f}x unthrottled; {throttled.flight()}"),
        ("  its unique recipients", f"{r['total']:,}",
         f"complete {r['complete']}; the same as unthrottled: {aim(same)}"),
        ("  ErrorServerBusy answers / requests", f"{busy} / {r['requests']}",
         "each refused call waited out its back-off and was asked again"),
    ]


def check(cold: Timed, throttled: Timed) -> int:
    """0 when the throttled count is complete and agrees with the unthrottled one, else 1."""
    r = throttled.report
    if not r["complete"] or r["total"] != cold.report["total"]:
        print("FAIL: the throttled count is incomplete or differs from the unthrottled one",
              file=sys.stderr)
        return 1
    print("correctness: the throttled count is complete and agrees with the unthrottled one")
    return 0


def run_only(sim: RemoteSimulator, latency: float, conc: tuple[int, int], limit: int,
             say: Callable[[str], None]) -> int:
    """`--only throttled`: an unthrottled cold count, then the throttled one; no baseline."""
    user, password = sim.users[0]
    sim.set_faults(latency_ms=latency)
    say(f"Rollcall cold count of {sim.root} ({latency:g} ms latency, in flight from {conc[0]} "
        f"up to {conc[1]}) ...")
    cold = RollcallSession(sim.url, user, password, *conc).count(sim.root)
    say(f"  cold: {cold.summary()}")
    throttled, wire = throttled_count(sim, latency, conc, limit, say)
    print_table(f"Rollcall, throttled at {limit} requests in flight; {latency:g} ms per "
                f"request; in flight from {conc[0]} up to {conc[1]}",
                [("Rollcall cold", f"{cold.seconds:.2f} s", cold.flight()),
                 *rows(cold, throttled, wire, limit)])
    return check(cold, throttled)
