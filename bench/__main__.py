"""`python -m bench [--quick]`: Rollcall's count of a big organisation against a baseline.

Everything is measured in one run against one simulator and printed as ratios; nothing here is a
timed assertion. The exit status is non-zero only when Rollcall and the baseline disagree on the
number of unique recipients (or a Rollcall count is incomplete, the throttled one included): a
correctness check.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from exchangelib.protocol import close_connections

from rollcall.counting import Settings

from . import throttled as throttling
from .baseline import baseline_account, count_unique
from .parse import fetch_and_parse, server_answer_time
from .rollcall_run import RollcallSession, Timed
from .simproc import OrgShape, RemoteSimulator
from .table import aim, print_table, requests_seen

_T0 = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {text}", flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="a small organisation (10,000 people, 300 lists) to try things fast")
    p.add_argument("--people", type=int, help="default 100000 (10000 with --quick)")
    p.add_argument("--lists", type=int, help="default 2000 (300 with --quick)")
    p.add_argument("--depth", type=int, default=5)
    p.add_argument("--overlap", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=20.0, help="simulated, per request")
    defaults = Settings()
    p.add_argument("--concurrency", type=int, default=defaults.concurrency,
                   help="Rollcall's requests in flight at the start (ROLLCALL_CONCURRENCY)")
    p.add_argument("--max-concurrency", type=int, default=defaults.max_concurrency,
                   help="the most they grow to (ROLLCALL_MAX_CONCURRENCY; HTTP connections)")
    p.add_argument("--throttle-at", type=int, default=6,
                   help="the throttled run: the simulator answers ErrorServerBusy past this "
                   "many requests in flight per account (0: no throttled run)")
    p.add_argument("--only", choices=["throttled"],
                   help="run only this case (no baseline, no ratios): `throttled` is an "
                   "unthrottled then a throttled cold count, compared")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also measure a cold count's tracemalloc peak (an extra, slow count)")
    p.add_argument("--validate", action="store_true",
                   help="the send check's latency instead (10,000 people, 300 lists by default)")
    p.add_argument("--validate-runs", type=int, default=50, help="warm checks to time")
    p.add_argument("--send", action="store_true",
                   help="tracked send's throughput instead: 10,000 recipients, 1 and 4 workers")
    p.add_argument("--send-recipients", type=int, default=10_000)
    p.add_argument("--graph", action="store_true",
                   help="the same organisation over EWS and over Microsoft Graph, cold and "
                   "warm, beside a baseline for each (10,000 people, 300 lists by default)")
    p.add_argument("--load", action="store_true",
                   help="Rollcall at scale instead: gunicorn, 2 send workers, PostgreSQL and "
                   "Redis under 200 wrk connections, with faults, beside the single process "
                   "(`make loadtest`; about 4 minutes)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.only == "throttled" and args.throttle_at < 1:
        parser.error("--only throttled needs --throttle-at of 1 or more")
    if args.load:
        from .load import run as run_load

        return run_load(args, say)
    if args.send:
        from .send import run as run_send

        return run_send(say, args.send_recipients)
    if args.validate:
        from .validate import run

        return run(args, say)
    if args.graph:
        from .graph import run as run_graph

        return run_graph(args, say)
    people = args.people or (10_000 if args.quick else 100_000)
    lists = args.lists or (300 if args.quick else 2_000)
    shape = OrgShape(people, lists, args.depth, args.overlap, args.seed)
    latency, conc = args.latency_ms, (args.concurrency, args.max_concurrency)
    say(f"generating {people:,} people, {lists:,} lists (depth {args.depth}, overlap "
        f"{args.overlap:g}, seed {args.seed}) in the simulator's own process")
    sim = RemoteSimulator(shape)
    try:
        if args.only == "throttled":
            return throttling.run_only(sim, latency, conc, args.throttle_at, say)
        return _run(sim, shape, latency, conc, args.tracemalloc, args.throttle_at)
    finally:
        sim.stop()


def _run(sim: RemoteSimulator, shape: OrgShape, latency: float, conc: tuple[int, int],
         trace: bool, throttle_at: int) -> int:
    (r_user, r_pass), (b_user, b_pass) = sim.users
    root = sim.root
    say(f"simulator up at {sim.url}: generate {sim.generate_s:.1f} s, load {sim.load_s:.1f} s; "
        f"Rollcall signs in as {r_user}, the baseline as {b_user}")

    # 1. Rollcall, cold then warm, at the simulated latency.
    sim.set_faults(latency_ms=latency)
    session = RollcallSession(sim.url, r_user, r_pass, *conc)
    sim.reset_counters()
    say(f"Rollcall cold count of {root} ({latency:g} ms latency, in flight from {conc[0]} up "
        f"to {conc[1]}) ...")
    cpu0 = sim.cpu_s()
    cold = session.count(root)
    sim_cpu_cold = sim.cpu_s() - cpu0
    cold_wire = sim.snapshot()
    say(f"  cold: {cold.summary()}")
    say(f"  cold: simulator saw {requests_seen(cold_wire)}; simulator CPU {sim_cpu_cold:.2f} s")
    sim.reset_counters()
    warm = session.count(root)
    warm_wire = sim.snapshot()
    say(f"  warm: {warm.summary()}; simulator saw {requests_seen(warm_wire)}")

    # 1b. The same cold count with the limit held at the start: what adapting buys.
    close_connections()
    say(f"Rollcall cold count, held at {conc[0]} in flight (max = start) ...")
    fixed = RollcallSession(sim.url, r_user, r_pass, conc[0], conc[0]).count(root)
    say(f"  fixed: {fixed.summary()}")

    # 1c. Throttled: the simulator refuses requests past its limit, the limit backs off.
    throttled = (throttling.throttled_count(sim, latency, conc, throttle_at, say)
                 if throttle_at else None)

    # 2. Rollcall at latency 0: its own CPU cost, the alternative parse-time estimate.
    close_connections()
    sim.set_faults(latency_ms=0)
    say("Rollcall cold count at 0 ms latency (client CPU estimate) ...")
    zero = RollcallSession(sim.url, r_user, r_pass, *conc).count(root)
    say(f"  zero-latency: {zero.summary()}")

    # 3. Optional: tracemalloc slows every allocation (here 5-8x), so it gets its own cold count.
    traced = None
    if trace:
        close_connections()
        say("Rollcall cold count under tracemalloc (peak memory; its time is not used) ...")
        traced = RollcallSession(sim.url, r_user, r_pass, *conc).count(root, trace_memory=True)
        say(f"  traced: peak {traced.traced_peak_mb:.0f} MB, {traced.seconds:.1f} s")

    # 4. Parse time: every answer fetched raw, parsed with lxml + Rollcall's reader.
    say("fetching every ExpandDL answer raw (0 ms latency) to time lxml parsing ...")
    parsed = fetch_and_parse(sim.url, r_user, r_pass, root)
    say(f"  {parsed.lists} lists, {parsed.member_entries:,} member entries, "
        f"{parsed.response_bytes / 2**20:.1f} MB of XML: parse {parsed.parse_s:.2f} s "
        f"(lxml {parsed.lxml_s:.2f} s + read_expansion {parsed.parse_s - parsed.lxml_s:.2f} s) "
        f"(fetch {parsed.fetch_s:.1f} s, not counted); unique {parsed.total:,}")

    # 5. The baseline, same simulator, same latency.
    close_connections()
    sim.set_faults(latency_ms=latency)
    account = baseline_account(sim.url, b_user, b_pass)
    sim.reset_counters()
    say(f"baseline: sequential exchangelib expand_dl recursion ({latency:g} ms latency) ...")
    step = max(1, shape.lists // 8)

    def progress(done: int) -> None:
        if done % step == 0:
            say(f"  baseline: {done} lists expanded")

    base = count_unique(account, root, progress)
    base_wire = sim.snapshot()
    close_connections()
    say(f"  baseline: total {base.total:,}, lists {base.lists}, member entries "
        f"{base.member_entries:,}, {base.seconds:.2f} s; simulator saw {requests_seen(base_wire)}")

    # 6. The simulator's own time for one 2,000-member ExpandDL answer.
    say("timing Simulator.answer for one 2,000-member ExpandDL (no HTTP) ...")
    answer = server_answer_time(2000, shape.seed)
    say(f"  {answer.server_ms:.2f} ms per answer over {answer.iterations} calls "
        f"({answer.response_bytes / 1024:.0f} KB)")

    status = _report(shape, latency, conc, cold, fixed, warm, zero, traced, parsed, base,
                     answer, cold_wire, base_wire, throttled, throttle_at)
    return status or (throttling.check(cold, throttled[0]) if throttled else 0)


def _bound(t: Timed, latency: float, parse_s: float) -> tuple[float, str]:
    """The lower bound at the concurrency `t` reached, and how it was reckoned."""
    lat_s, requests, peak = latency / 1000, t.report["requests"], max(1, t.peak_in_flight)
    chain = t.report["max_depth"] + 1  # ResolveNames, then one ExpandDL per level of nesting
    wire_term = max(requests * lat_s / peak, chain * lat_s)
    how = (f"max({requests} x {latency:g} ms / {peak} in flight, {chain} x {latency:g} ms) "
           f"+ parse {parse_s:.2f} s")
    return wire_term + parse_s, how


def _report(shape: OrgShape, latency: float, conc: tuple[int, int], cold: Timed, fixed: Timed,
            warm: Timed, zero: Timed, traced: Timed | None, parsed: Any, base: Any,
            answer: Any, cold_wire: dict[str, int], base_wire: dict[str, int],
            throttled: tuple[Timed, dict[str, int]] | None, throttle_at: int) -> int:
    r = cold.report
    requests = r["requests"]
    bound, how = _bound(cold, latency, parsed.parse_s)
    strict = bound - parsed.parse_s + parsed.lxml_s
    fixed_bound, _ = _bound(fixed, latency, parsed.parse_s)
    speedup = base.seconds / cold.seconds
    vs_bound = cold.seconds / bound
    base_expand = base_wire.get("ExpandDL", 0)
    rows = [
        ("baseline (exchangelib, sequential)", f"{base.seconds:.2f} s", ""),
        (f"Rollcall cold, adaptive {conc[0]} to {conc[1]}", f"{cold.seconds:.2f} s",
         f"{cold.flight()}; its CPU meanwhile {cold.cpu_s:.2f} s (all threads)"),
        (f"Rollcall cold, held at {conc[0]}", f"{fixed.seconds:.2f} s",
         f"baseline / it {base.seconds / fixed.seconds:.1f}x; it / its bound "
         f"{fixed.seconds / fixed_bound:.2f}x; adaptive {fixed.seconds / cold.seconds:.2f}x "
         "faster"),
        ("Rollcall warm (same Counter/cache)", f"{warm.seconds:.3f} s",
         f"< 0.5 s: {aim(warm.seconds < 0.5)}; engine fetch phase {warm.report['elapsed_ms']} ms"),
        ("Rollcall cold at 0 ms latency", f"{zero.seconds:.2f} s",
         f"CPU {zero.cpu_s:.2f} s; {zero.flight()}"),
    ]
    if throttled is not None:
        rows += throttling.rows(cold, *throttled, throttle_at)
    rows += [
        ("requests: baseline / Rollcall (report)", f"{base_expand} / {requests}",
         "ExpandDL / port calls (1 ResolveNames + ExpandDL)"),
        ("requests on the wire: baseline / Rollcall",
         f"{sum(base_wire.values())} / {sum(cold_wire.values())}",
         "simulator counters; setup (auth, ConvertId) excluded for both"),
        ("memory: ru_maxrss growth, Rollcall cold", f"{cold.rss_delta_mb:.0f} MB",
         "high-water RSS growth over the first count in this process"),
    ]
    if traced is not None and traced.traced_peak_mb is not None:
        rows.append(("memory: tracemalloc peak, Rollcall cold", f"{traced.traced_peak_mb:.0f} MB",
                     "Python allocations only (lxml's C memory is not traced)"))
    rows += [
        ("lower bound at the concurrency reached", f"{bound:.2f} s", how),
        ("  parse = lxml + Rollcall's read_expansion", f"{parsed.parse_s:.2f} s",
         f"lxml {parsed.lxml_s:.2f} s + read_expansion {parsed.parse_s - parsed.lxml_s:.2f} s, "
         f"{parsed.member_entries:,} member entries"),
        ("  strict bound (lxml parse only)", f"{strict:.2f} s",
         f"cold / strict {cold.seconds / strict:.2f}x"),
        ("ratio baseline / cold", f"{speedup:.1f}x", f">= 15x: {aim(speedup >= 15)}"),
        ("ratio cold / lower bound", f"{vs_bound:.2f}x", f"<= 1.3x: {aim(vs_bound <= 1.3)}"),
        ("simulator: one 2,000-member ExpandDL", f"{answer.server_ms:.2f} ms",
         f"aim well under 10 ms: {aim(answer.server_ms < 10)}"),
    ]
    print_table(f"Rollcall benchmark: {shape.people:,} people, {shape.lists:,} lists, depth "
                f"{shape.depth}, overlap {shape.overlap:g}, seed {shape.seed}; {latency:g} ms "
                f"per request; Rollcall in flight from {conc[0]} up to {conc[1]}", rows)
    print(
        "lower bound: the wire term assumes every request waits the full latency with as many\n"
        "  in flight as the count's peak, all the time (the climb from the start is not\n"
        "  allowed for), and the critical path is ResolveNames then one ExpandDL per level.\n"
        "  parse = lxml parsing every ExpandDL answer plus Rollcall's read_expansion into\n"
        "  entries, one thread, over the same answers fetched raw beforehand. 'Rollcall cold\n"
        "  at 0 ms latency' is the other estimate of its client cost."
    )
    print(
        f"one 2,000-member answer ({answer.response_bytes / 1024:.0f} KB) on the client: "
        f"exchangelib's to_xml given the bytes {answer.exchangelib_bytes_ms:.1f} ms; lxml + "
        f"Rollcall's read_expansion {answer.lxml_ms:.1f} ms;\n"
        "  exchangelib's to_xml(response.iter_content()), which _get_soap_parts does for every "
        f"answer (1-byte chunks): {answer.exchangelib_stream_ms:.1f} ms"
    )
    totals = {"Rollcall": r["total"], "baseline": base.total, "raw lxml walk": parsed.total}
    print("unique recipients: " + ", ".join(f"{k} {v:,}" for k, v in totals.items())
          + f" (people in the organisation: {shape.people:,})")
    if not r["complete"]:
        print("FAIL: Rollcall's cold count is incomplete", file=sys.stderr)
        return 1
    if len(set(totals.values())) != 1 or warm.report["total"] != r["total"]:
        print("FAIL: the unique totals differ", file=sys.stderr)
        return 1
    print("correctness: Rollcall, warm and cold, and the baseline agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
