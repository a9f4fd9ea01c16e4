"""`python -m bench --validate`: the send check's latency for 10,000 recipients over nested lists.

One generated organisation, one simulator (its own process, a simulated latency per request), and
in this process both the count engine alone (the baseline) and POST /api/validate through the
real app: cold, right after a warm-up, and warm (p50/p95 over many checks). Figures only; the
exit status is non-zero only when the send check's count disagrees with the engine's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from .rollcall_run import RollcallSession
from .simproc import OrgShape, RemoteSimulator
from .table import print_table


def run(args: argparse.Namespace, say: Any) -> int:
    people, lists = args.people or 10_000, args.lists or 300
    shape = OrgShape(people, lists, args.depth, args.overlap, args.seed)
    say(f"generating {people:,} people, {lists:,} lists (depth {args.depth}) for the send check")
    sim = RemoteSimulator(shape)
    try:
        sim.set_faults(latency_ms=args.latency_ms)
        return _measure(sim, args, say)
    finally:
        sim.stop()


def _app(sim: RemoteSimulator, concurrency: int, instance: str) -> Any:
    from pathlib import Path

    from rollcall.app import create_app
    from rollcall.config import load_config
    from rollcall.dev.demo import demo_issuer, dev_identity

    (service, password), (sender, _) = sim.users
    # The sender signs in as in `rollcall demo`: token validation is part of what is measured.
    issuer = demo_issuer(Path(instance) / "dev-issuer", "https://localhost:3000", {sender: sender})
    config = load_config(
        environ={}, ews_url=sim.url, ews_username=service, ews_password=password,
        mailbox=sender, concurrency=concurrency, instance_path=instance,
        # Limits out of the way, so every check is a warn that is recorded in the hourly window
        # (a block writes nothing): the slower, complete path is the one measured.
        policy_per_message_max=10**9, policy_per_hour_max=10**12, rate_limit_per_minute=0,
        **dev_identity(issuer, jwks_file=True),
    )
    client = create_app(config).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {issuer.mint(sender)}"
    # Connection set-up and the version probe are paid once per process, as by the engine.
    client.post("/api/validate", json={"recipients": [{"displayName": sender,
                                                       "emailAddress": sender}]})
    return client


def _validate(client: Any, root: str, message_id: str) -> tuple[float, dict[str, Any]]:
    body = {"recipients": [{"displayName": "All", "emailAddress": root}],
            "subject": "Bench", "message_id": message_id}
    started = time.perf_counter()
    answer = client.post("/api/validate", json=body)
    seconds = time.perf_counter() - started
    assert answer.status_code == 200, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return seconds, result


IMPORTERS = 4  # people importing at once
IMPORT_ROWS = 20_000  # about 1 MB of CSV each


def _under_imports(client: Any, root: str, n: int) -> tuple[list[tuple[float, Any]], int]:
    """`n` warm checks while IMPORTERS threads import IMPORT_ROWS-row files in a loop; the
    checks' times and how many imports finished meanwhile."""
    import threading

    app, stop, done = client.application, threading.Event(), []
    headers = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"],
               "Content-Type": "text/csv"}

    def importer(who: int) -> None:
        mine = app.test_client()
        rows = "".join(f"p{who}-{i}@fabrikam.example,Person {i},Dept {i % 40}\r\n"
                       for i in range(IMPORT_ROWS))
        data = ("email,name,dept\r\n" + rows).encode()
        round_ = 0
        while not stop.is_set():
            answer = mine.post(f"/api/lists/Bench{who}-{round_}/import", data=data,
                               headers=headers)
            assert answer.status_code == 200, answer.get_json()
            done.append(1)
            round_ += 1

    threads = [threading.Thread(target=importer, args=(i,), daemon=True)
               for i in range(IMPORTERS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the imports are under way
    try:
        checks = [_validate(client, root, f"load{i % 5}") for i in range(n)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return checks, len(done)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _measure(sim: RemoteSimulator, args: argparse.Namespace, say: Any) -> int:
    from rollcall.config import load_config

    root, conc, n = sim.root, args.concurrency, args.validate_runs
    deadline = load_config(environ={}).policy.deadline_s
    (service, password), _ = sim.users
    say(f"count engine alone, cold then warm ({args.latency_ms:g} ms latency, concurrency {conc})")
    session = RollcallSession(sim.url, service, password, conc)
    engine_cold = session.count(root)
    engine_warm = session.count(root)
    total = engine_cold.report["total"]
    say(f"  engine: {total:,} people, {engine_cold.report['lists']} lists, cold "
        f"{engine_cold.seconds:.2f} s, warm {engine_warm.seconds * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as instance:
        client = _app(sim, conc, instance)
        say("POST /api/validate, cold (fresh cache, the send check's deadline) ...")
        sim.reset_counters()
        cold_s, cold = _validate(client, root, "cold")
        cold_wire = sum(sim.snapshot().values())
        say(f"  cold: {cold_s:.2f} s, complete {cold['report']['complete']}, "
            f"action {cold['action']}")

    with tempfile.TemporaryDirectory() as instance:
        client = _app(sim, conc, instance)
        say("warm-up, then POST /api/validate at once (it waits for the warm-up) ...")
        sim.reset_counters()
        started = time.perf_counter()
        client.post("/api/validate/warmup",
                    json={"recipients": [{"displayName": "All", "emailAddress": root}]})
        after_s, after = _validate(client, root, "after-warm-up")
        span_s = time.perf_counter() - started
        span_wire = sum(sim.snapshot().values())
        say(f"  warm-up + validate: {span_s:.2f} s, complete {after['report']['complete']}")
        say(f"POST /api/validate warm, {n} times ...")
        warm = [_validate(client, root, f"m{i % 5}") for i in range(n)]
        say(f"POST /api/validate warm, {n} times, while {IMPORTERS} people import 1 MB CSV "
            "files ...")
        loaded, imports = _under_imports(client, root, n)
    times = [s for s, _ in warm]
    p50, p95 = _pct(times, 0.5), _pct(times, 0.95)
    busy = [s for s, _ in loaded]
    busy_p50, busy_p95 = _pct(busy, 0.5), _pct(busy, 0.95)
    warm_total = warm[-1][1]["report"]["total"]

    rows = [
        ("count engine, cold (baseline)", f"{engine_cold.seconds * 1000:,.0f} ms",
         f"{engine_cold.report['requests']} requests, Counter alone, deadline 600 s"),
        ("count engine, warm", f"{engine_warm.seconds * 1000:,.0f} ms",
         "same Counter and cache"),
        ("validate, cold", f"{cold_s * 1000:,.0f} ms",
         f"{cold_s / engine_cold.seconds:.2f}x engine cold; complete "
         f"{cold['report']['complete']} (deadline {deadline:g} s); {cold_wire} requests"),
        ("warm-up then validate", f"{span_s * 1000:,.0f} ms",
         f"validate alone {after_s * 1000:,.0f} ms; complete {after['report']['complete']}; "
         f"{span_wire} requests for both"),
        ("validate, warm p50", f"{p50 * 1000:,.1f} ms",
         f"{p50 / engine_warm.seconds:.2f}x engine warm; {n} checks"),
        ("validate, warm p95", f"{p95 * 1000:,.1f} ms",
         f"aim < 300 ms: {'met' if p95 < 0.3 else 'MISSED'}"),
        ("validate, warm max", f"{max(times) * 1000:,.1f} ms",
         f"mean {statistics.fmean(times) * 1000:,.1f} ms"),
        (f"validate p50 during {IMPORTERS} imports", f"{busy_p50 * 1000:,.1f} ms",
         f"{busy_p50 / p50:.1f}x quiet p50; {imports} imports of {IMPORT_ROWS:,} rows done"),
        (f"validate p95 during {IMPORTERS} imports", f"{busy_p95 * 1000:,.1f} ms",
         f"{busy_p95 / p95:.1f}x quiet p95; deadline {deadline:g} s: "
         f"{'kept' if busy_p95 < deadline else 'MISSED'}; max {max(busy) * 1000:,.0f} ms"),
    ]
    print_table(f"Send check: {total:,} recipients over {engine_cold.report['lists']} nested "
                f"lists (depth {engine_cold.report['max_depth']}); {args.latency_ms:g} ms per "
                f"request; concurrency {conc}; through the Flask app, policy and hourly window "
                "(SQLite)", rows, rule=50)
    if warm_total != total or after["report"]["total"] != total:
        print("FAIL: the send check's count differs from the engine's")
        return 1
    print("correctness: the warm send check and the engine agree on the total")
    return 0
