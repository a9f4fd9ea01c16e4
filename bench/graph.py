"""`python -m bench --graph`: the same organisation counted over EWS and over Microsoft Graph.

One generated organisation served by both simulators, each in its own process, both at the same
latency per request. Rollcall counts it cold and warm over each protocol through its services
(auth app for Graph), beside a baseline per protocol that walks the lists one request at a time
(exchangelib's expand_dl; msal + requests over /groups/{id}/members). Each protocol's cold count
is set against the same kind of lower bound as the EWS bench's (graph_report.py). Figures and
ratios only; the exit status is non-zero when a count is incomplete or the unique totals differ.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from exchangelib.protocol import close_connections

from .baseline import BaselineResult, baseline_account
from .baseline import count_unique as ews_walk
from .graph_baseline import READS, GraphBaseline, app_token, session_for
from .graph_baseline import count_unique as graph_walk
from .graph_baseline import fetch_and_parse as graph_fetch_and_parse
from .graph_report import Measured, report
from .graph_rollcall import Counted, ServicesSession
from .graphproc import RemoteGraphSimulator
from .parse import fetch_and_parse as ews_fetch_and_parse
from .simproc import OrgShape, RemoteSimulator

RUNS = 5  # cold (and warm) counts per protocol; the median is reported
BASE_RUNS = 3  # baseline walks per protocol (about 10 s each); the median is reported


def run(args: argparse.Namespace, say: Any) -> int:
    people = args.people or 10_000
    lists = args.lists or 300
    shape = OrgShape(people, lists, args.depth, args.overlap, args.seed)
    say(f"load average {_load()} on {os.cpu_count()} cores (other work makes counts vary)")
    say(f"generating {people:,} people, {lists:,} lists (depth {args.depth}, overlap "
        f"{args.overlap:g}, seed {args.seed}) in each simulator's own process")
    ews = RemoteSimulator(shape)
    graph: RemoteGraphSimulator | None = None
    try:
        graph = RemoteGraphSimulator(shape)
        say(f"EWS simulator at {ews.url} (generate {ews.generate_s:.1f} s, load "
            f"{ews.load_s:.1f} s); Graph simulator at {graph.url} (setup {graph.setup_s:.1f} s)")
        with tempfile.TemporaryDirectory(prefix="bench-graph-") as folder:
            measured = _measure(ews, graph, shape, args, folder, say)
        say(f"load average {_load()} (1, 5 and 15 minutes)")
        return report(measured)
    finally:
        if graph is not None:
            graph.stop()
        ews.stop()


def _measure(ews: RemoteSimulator, graph: RemoteGraphSimulator, shape: OrgShape,
             args: argparse.Namespace, folder: str, say: Any) -> Measured:
    from rollcall.dev.demo_graph import graph_settings

    latency, conc = args.latency_ms, (args.concurrency, args.max_concurrency)
    (r_user, r_pass), (b_user, b_pass) = ews.users
    root = ews.root
    assert graph.root == root and graph.mailbox == r_user, "the two organisations differ"
    ews.set_faults(latency_ms=latency)
    graph.apply_faults(f"latency={latency:g}")
    colds: dict[str, list[Counted]] = {"ews": [], "graph": []}
    warms: dict[str, list[Counted]] = {"ews": [], "graph": []}

    # 1. Rollcall, cold then warm, over each protocol (the same services path for both). Each
    # cold count gets fresh services (connections, caches; tokens and the version probe paid
    # before timing). The protocols take turns, RUNS times, and the median is kept: the
    # machine's other work makes single counts vary.
    settings = {
        "ews": ({"ews_url": ews.url, "ews_username": r_user, "ews_password": r_pass}, ews),
        "graph": (graph_settings(graph, "app"), graph),
    }
    say(f"Rollcall cold then warm count of {root} over each protocol, {RUNS} times "
        f"({latency:g} ms latency, in flight from {conc[0]} up to {conc[1]}) ...")
    for run in range(RUNS):
        for name, (overrides, sim) in settings.items():
            close_connections()  # each EWS session opens its own, as each Graph one does
            session = ServicesSession(overrides, f"{folder}/{name}-{run}", r_user,
                                      graph.domain, conc, sim)
            setup = session.setup()
            assert setup.complete and setup.total == 1, f"{name}: set-up count {setup.total}"
            colds[name].append(session.count(root))
            warms[name].append(session.count(root))
            say(f"  {name} cold {run + 1}/{RUNS}: {colds[name][-1].summary()}; simulator CPU "
                f"{colds[name][-1].sim_cpu_s:.2f} s; warm {warms[name][-1].seconds:.3f} s")
    for name in settings:
        say(f"  {name} median cold: simulator saw {_seen(_median(colds[name]).wire)}")
        say(f"  {name} median warm: {_median(warms[name]).summary()}")
    close_connections()

    # 2. The baselines, same simulators, same latency; setup (auth) before timing. They take
    # turns BASE_RUNS times too, and the median is kept.
    say(f"baselines, {BASE_RUNS} times each ({latency:g} ms): sequential exchangelib expand_dl "
        "recursion; msal + requests, members?$top=999 one at a time ...")
    http = session_for(graph.ca_file)
    token = app_token(graph, http)
    ews_bases: list[tuple[BaselineResult, dict[str, int]]] = []
    graph_bases: list[tuple[GraphBaseline, dict[str, int]]] = []
    for run in range(BASE_RUNS):
        account = baseline_account(ews.url, b_user, b_pass)
        ews.reset_counters()
        ews_bases.append((ews_walk(account, root), ews.snapshot()))
        close_connections()
        graph.reset_counters()
        graph_bases.append((graph_walk(graph, http, token, root), graph.snapshot()))
        (e, e_wire), (g, g_wire) = ews_bases[-1], graph_bases[-1]
        say(f"  {run + 1}/{BASE_RUNS}: EWS total {e.total:,}, lists {e.lists}, {e.seconds:.2f} s "
            f"({_seen(e_wire)}); Graph total {g.total:,}, lists {g.lists}, {g.requests} "
            f"requests, {g.resource_units} RU, {g.seconds:.2f} s ({_seen(g_wire)})")
    ews_base, ews_base_wire = sorted(ews_bases, key=lambda b: b[0].seconds)[BASE_RUNS // 2]
    graph_base = sorted(graph_bases, key=lambda b: b[0].seconds)[BASE_RUNS // 2][0]
    totals = [b.total for b, _ in ews_bases] + [b.total for b, _ in graph_bases]

    # 3. Parse terms of the bounds: every answer fetched raw at 0 ms, read once, one thread.
    ews.set_faults(latency_ms=0)
    graph.apply_faults("")
    say("fetching every ExpandDL answer raw (0 ms) to time lxml + Rollcall's reader ...")
    # The fastest of READS (other work on the machine only adds time).
    ews_parse = min((ews_fetch_and_parse(ews.url, r_user, r_pass, root) for _ in range(READS)),
                    key=lambda p: p.parse_s)
    close_connections()
    say(f"  EWS: {ews_parse.lists} lists, {ews_parse.member_entries:,} member entries, "
        f"{ews_parse.response_bytes / 2**20:.1f} MB: parse {ews_parse.parse_s:.2f} s")
    say("fetching every members page raw (0 ms) to time json + Rollcall's entry_of ...")
    graph_parse = graph_fetch_and_parse(graph, http, token, graph_base.group_ids)
    say(f"  Graph: {graph_parse.pages} pages, {graph_parse.member_entries:,} member entries, "
        f"{graph_parse.response_bytes / 2**20:.1f} MB: parse {graph_parse.parse_s:.2f} s "
        f"(json.loads {graph_parse.json_s:.2f} s)")
    http.close()
    return Measured(shape, latency, conc,
                    (_median(colds["ews"]), _median(warms["ews"])),
                    (_median(colds["graph"]), _median(warms["graph"])), ews_base,
                    ews_base_wire, graph_base, ews_parse, graph_parse, colds, warms, totals)


def _median(runs: list[Counted]) -> Counted:
    return sorted(runs, key=lambda c: c.seconds)[len(runs) // 2]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _seen(snapshot: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(snapshot.items()))
