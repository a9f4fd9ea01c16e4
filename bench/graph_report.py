"""`python -m bench --graph`'s lower bounds, table and correctness check.

The lower bound is the EWS bench's (bench/__main__.py `_bound`), reckoned the same way for each
protocol: max(requests x latency / the most directory calls the count had in flight,
(depth + 1) x latency) + the time to read every answer once on one thread. `requests` is what a
walk of the lists needs at least: over EWS one ResolveNames and one ExpandDL per list (which is
what Rollcall asks), over Graph one lookup and one members page per list (what the baseline
asks, pages of 999); the chain is the lookup, then one answer per level of nesting.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from .graph_baseline import GraphBaseline, GraphParse
from .graph_rollcall import Counted
from .simproc import OrgShape
from .table import aim

SAME_RATIO = 1.1  # Graph's cold / bound within this factor of EWS's counts as "the same"


@dataclass(slots=True)
class Measured:
    shape: OrgShape
    latency: float
    conc: tuple[int, int]
    ews: tuple[Counted, Counted]  # cold, warm
    graph: tuple[Counted, Counted]
    ews_base: Any  # baseline.BaselineResult
    ews_base_wire: dict[str, int]
    graph_base: GraphBaseline
    ews_parse: Any  # parse.Parsed
    graph_parse: GraphParse
    colds: dict[str, list[Counted]]  # every run, by protocol ("ews", "graph")
    warms: dict[str, list[Counted]]
    base_totals: list[int]  # every baseline run's unique total, both protocols


def bound(requests: int, cold: Counted, latency: float, parse_s: float) -> tuple[float, str]:
    lat_s, peak = latency / 1000, max(1, cold.peak_in_flight)
    chain = cold.report.max_depth + 1
    wire = max(requests * lat_s / peak, chain * lat_s)
    return wire + parse_s, (f"max({requests} x {latency:g} ms / {peak}, {chain} x "
                            f"{latency:g} ms) + parse {parse_s:.2f} s")


def _http(counted: Counted) -> int:
    """HTTP requests of a count: Graph's own figure, else the EWS simulator's counters."""
    r = counted.report
    return r.http_requests if r.http_requests is not None else sum(counted.wire.values())


def graph_wire(snapshot: dict[str, int]) -> str:
    """The Graph simulator's counters by kind ($batch items counted inside their batch)."""
    skip = {"resource_units", "batch_items"}
    return ", ".join(f"{k} {v}" for k, v in sorted(snapshot.items()) if k not in skip) \
        + f" ({snapshot.get('batch_items', 0)} of those inside $batch)"


def _spread(runs: list[Counted]) -> str:
    seconds = sorted(c.seconds for c in runs)
    return f"{seconds[0]:.2f} - {seconds[-1]:.2f} s"


def print_columns(heading: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Like table.print_table, with an EWS and a Graph column."""
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    rule = "-" * (sum(widths) + 44)
    print()
    print(heading)
    print(rule)
    for a, b, c, d in rows:
        print(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}")
    print(rule)


def report(m: Measured) -> int:
    (e_cold, e_warm), (g_cold, g_warm) = m.ews, m.graph
    e_bound, e_how = bound(e_cold.report.requests, e_cold, m.latency, m.ews_parse.parse_s)
    g_bound, g_how = bound(m.graph_base.requests, g_cold, m.latency, m.graph_parse.parse_s)
    g_own, g_own_how = bound(_http(g_cold), g_cold, m.latency, m.graph_parse.parse_s)
    e_ratio, g_ratio = e_cold.seconds / e_bound, g_cold.seconds / g_bound
    e_speed, g_speed = m.ews_base.seconds / e_cold.seconds, m.graph_base.seconds / g_cold.seconds
    base_ews_requests = sum(m.ews_base_wire.values())

    def both(fmt: str, e: Any, g: Any) -> tuple[str, str]:
        return fmt.format(e), fmt.format(g)

    rows: list[tuple[str, str, str, str]] = [
        ("", "EWS", "Graph", ""),
        ("baseline (one request at a time)", *both("{:.2f} s", m.ews_base.seconds,
                                                   m.graph_base.seconds),
         f"median of {len(m.base_totals) // 2}: exchangelib expand_dl / msal + requests, "
         "members?$top=999"),
        ("  its HTTP requests", str(base_ews_requests), str(m.graph_base.requests),
         f"Graph: {m.graph_base.resource_units} resource units"),
        (f"Rollcall cold, adaptive {m.conc[0]} to {m.conc[1]}",
         *both("{:.2f} s", e_cold.seconds, g_cold.seconds),
         f"median of {len(m.colds['ews'])} (fresh services each); the rest below are its"),
        ("  cold runs: fastest - slowest", _spread(m.colds["ews"]), _spread(m.colds["graph"]),
         ""),
        ("  directory calls", *both("{}", e_cold.report.requests, g_cold.report.requests),
         "resolve + one expand per list"),
        ("  HTTP requests", *both("{}", _http(e_cold), _http(g_cold)),
         f"Graph: {g_cold.report.resource_units} resource units"),
        ("  calls in flight: peak / mean",
         f"{e_cold.peak_in_flight} / {e_cold.mean_in_flight:.1f}",
         f"{g_cold.peak_in_flight} / {g_cold.mean_in_flight:.1f}", ""),
        ("  Rollcall's CPU (all threads)", *both("{:.2f} s", e_cold.cpu_s, g_cold.cpu_s),
         "this process, during the count"),
        ("  simulator's CPU", *both("{:.2f} s", e_cold.sim_cpu_s, g_cold.sim_cpu_s),
         "its own process"),
        ("Rollcall warm (after each cold count)",
         *both("{:.3f} s", e_warm.seconds, g_warm.seconds),
         f"< 0.5 s: EWS {aim(e_warm.seconds < 0.5)}, Graph {aim(g_warm.seconds < 0.5)}"),
        ("  directory calls / HTTP requests",
         f"{e_warm.report.requests} / {_http(e_warm)}",
         f"{g_warm.report.requests} / {_http(g_warm)}",
         f"Graph: {g_warm.report.resource_units or 0} resource units"),
        ("unique recipients: cold / warm / baseline",
         f"{e_cold.report.total:,} / {e_warm.report.total:,} / {m.ews_base.total:,}",
         f"{g_cold.report.total:,} / {g_warm.report.total:,} / {m.graph_base.total:,}",
         f"complete: EWS {e_cold.report.complete}/{e_warm.report.complete}, Graph "
         f"{g_cold.report.complete}/{g_warm.report.complete}"),
        ("parse: every answer read once, one thread",
         *both("{:.2f} s", m.ews_parse.parse_s, m.graph_parse.parse_s),
         f"lxml + read_expansion / json + entry_of ({m.graph_parse.member_entries:,} "
         "entries)"),
        ("lower bound at the concurrency reached", *both("{:.2f} s", e_bound, g_bound),
         "requests a walk needs; see below"),
        ("ratio baseline / cold", *both("{:.1f}x", e_speed, g_speed), ""),
        ("ratio cold / lower bound", *both("{:.2f}x", e_ratio, g_ratio),
         f"Graph within {SAME_RATIO:g}x of EWS: {aim(g_ratio <= e_ratio * SAME_RATIO)}"),
        ("  Graph: bound at Rollcall's own requests", "", f"{g_own:.2f} s",
         f"cold / it {g_cold.seconds / g_own:.2f}x"),
    ]
    s = m.shape
    print_columns(f"Rollcall over EWS and over Microsoft Graph: {s.people:,} people, "
                  f"{s.lists:,} lists, depth {s.depth}, overlap {s.overlap:g}, seed {s.seed}; "
                  f"{m.latency:g} ms per request; in flight from {m.conc[0]} up to "
                  f"{m.conc[1]}", rows)
    print(f"lower bound, EWS:   {e_how}\n"
          f"lower bound, Graph: {g_how}\n"
          f"  at Rollcall's own Graph requests: {g_own_how}\n"
          "  requests: a walk's least (EWS: ResolveNames + one ExpandDL a list; Graph: one\n"
          "  lookup + one members page a list, as the baseline asks); the divisor is the most\n"
          "  directory calls Rollcall's cold count had in flight; the chain is the lookup then\n"
          "  one answer a level; parse: every answer, fetched raw at 0 ms, read once on one\n"
          "  thread by Rollcall's own reader (the fastest of 3 readings).")
    print(f"Graph cold count on the wire: {graph_wire(g_cold.wire)}")
    return _check(m)


def _check(m: Measured) -> int:
    counts = [c for runs in (*m.colds.values(), *m.warms.values()) for c in runs]
    if not all(c.report.complete for c in counts):
        print("FAIL: a Rollcall count is incomplete", file=sys.stderr)
        return 1
    totals = {c.report.total for c in counts} | {m.ews_base.total, m.graph_base.total,
                                                 m.ews_parse.total}
    totals |= set(m.base_totals)
    if len(totals) != 1:
        print(f"FAIL: the unique totals differ: {sorted(totals)}", file=sys.stderr)
        return 1
    print(f"correctness: Rollcall over EWS and over Graph, cold and warm, and both baselines "
          f"agree on {totals.pop():,} (people in the organisation: {m.shape.people:,})")
    return 0
