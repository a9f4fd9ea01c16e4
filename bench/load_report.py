"""The load test's tables, as Markdown (the README's "Running at scale" quotes them), and the
verdict on what must hold: no request failed but those in flight on a killed process, and every
send recipient got exactly one copy, or two only where a killed worker held them."""

from __future__ import annotations

from typing import Any

from .table import aim

AIM_RATE, AIM_P95_MS, AIM_CPU_MS = 150, 1000, 5.0


def _md(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _counts(phase: Any) -> int:
    return phase.warm_counts or sum(r.ok for r in phase.routes.values())


def print_all(scaled: list[Any], single: list[Any], rss_scaled: list[dict[str, Any]],
              rss_single: list[dict[str, Any]], date: str, cores: int) -> int:
    runs = [("gunicorn 4x8, PostgreSQL, Redis", p) for p in scaled] + \
           [("one process, SQLite", p) for p in single]
    print(f"\n## Load test, {date}, {cores} cores, loopback; EWS simulator at 5 ms a request\n")
    print("Throughput and latency per route (one wrk per route, run together; the last column "
          "is what processes other than the load test's took of the machine meanwhile):\n")
    rows = []
    for who, p in runs:
        if not p.routes:
            continue
        total_s = max(r.seconds for r in p.routes.values())
        for r in p.routes.values():
            lat = r.latency_ms
            rows.append([who, p.name, r.route, str(r.connections), f"{r.requests / r.seconds:.0f}",
                         _ms(lat["p50"]), _ms(lat["p95"]), _ms(lat["p99"]), _ms(lat["max"]),
                         str(r.non_2xx), str(r.socket_error_count), f"{p.others_cores:.2f}"])
        if len(p.routes) > 1:
            rows.append([who, p.name, "**all**", str(sum(r.connections for r in p.routes.values())),
                         f"**{sum(r.requests for r in p.routes.values()) / total_s:.0f}**",
                         "", "", "", "", str(sum(r.non_2xx for r in p.routes.values())),
                         str(sum(r.socket_error_count for r in p.routes.values())), ""])
    _md(["deployment", "run", "route", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms",
         "max ms", "non-2xx", "socket errors", "others' CPU (cores)"], rows)

    print("EWS requests per count (validates, counts and warm-ups answered; a warm pass is "
          "every sender counting every recipient set once, its caches cold or half cold):\n")
    rows = []
    for who, p in runs:
        wire = sum(p.ews.values())
        ops = ", ".join(f"{k} {v}" for k, v in sorted(p.ews.items())) or "none"
        rows.append([who, p.name, f"{_counts(p):,}", f"{wire:,}",
                     f"{wire / max(1, _counts(p)):.3f}", ops])
    _md(["deployment", "run", "counts", "EWS requests", "per count", "by operation"], rows)

    print("The send check against the issue's aims (200 connections; flat out: each sends its "
          "next check when the answer comes; paced: 150 a second offered):\n")
    rows = []
    for who in dict.fromkeys(w for w, _ in runs):
        found = {p.name: p for w, p in runs if w == who}
        flat, paced = found.get("validate flat out"), found.get("validate paced")
        if flat is None or paced is None:
            continue
        f, q = flat.routes["validate"], paced.routes["validate"]
        done = f.ok + f.connections  # those in flight when wrk stopped were finished too
        web, side = flat.web_cpu_s / done * 1000, (flat.side_cpu_s or 0) / done * 1000
        rate, p95 = q.ok / q.seconds, q.latency_ms["p95"]
        rows.append([who, f"{f.ok / f.seconds:.0f}", _ms(f.latency_ms["p95"]), f"{rate:.0f}",
                     _ms(p95), aim(rate >= AIM_RATE * 0.95 and p95 < AIM_P95_MS),
                     f"{web:.1f} ({aim(web < AIM_CPU_MS)})", f"{side:.1f}"])
    _md(["deployment", "flat out: validates/s", "flat out: p95 ms", "paced: validates/s",
         "paced: p95 ms", f"{AIM_RATE}/s with p95 < {AIM_P95_MS} ms",
         f"Rollcall CPU ms a validate (aim < {AIM_CPU_MS:g})",
         "PostgreSQL + Redis CPU ms a validate"], rows)

    status = 0
    for p in scaled:
        if p.name in ("normal", "faults") and p.send is None:
            print(f"FAIL: the {p.name} run's tracked send was not queued (see above)\n")
            status = 1
    sends = [p for p in scaled if p.send is not None]
    if sends:
        print("Tracked send of All Staff during the run (2 `rollcall worker`s x 2 SMTP "
              "connections; the relay answers each reply after 15 ms):\n")
        rows = []
        for p in sends:
            s = p.send
            rows.append([p.name, str(s.queued), str(s.sent), f"{s.seconds:.1f} s", s.status,
                         str(s.delivered_once), str(len(s.lost)), str(len(s.twice)),
                         str(len(s.held_by_killed)), str(len(s.twice_beyond_in_flight))])
            if not s.good:
                status = 1
        _md(["run", "recipients", "sent", "done after", "status", "one copy", "no copy",
             "two copies", "held by the killed worker", "two copies beyond those"], rows)

    for p in scaled:
        if p.events:
            print(f"The {p.name} run, what happened (seconds from wrk's start):\n")
            for e in p.events:
                print(f"    {e}")
            print()
        if p.killed_connections:
            errors = sum(r.socket_error_count for r in p.routes.values())
            print(f"    socket errors {errors} (the killed worker held {p.killed_connections} "
                  "client connections, each with a request in flight: "
                  f"{aim(errors <= p.killed_connections)}); non-2xx answers "
                  f"{sum(r.non_2xx for r in p.routes.values())}\n")
        bad_errors = sum(r.socket_error_count for r in p.routes.values()) > p.killed_connections
        if bad_errors or any(r.non_2xx for r in p.routes.values()):
            status = 1

    print("What the web processes logged, per run (only lines that say something was given up "
          "or failed):\n")
    rows = [[who, p.name, ", ".join(f"{k} {n}" for k, n in p.notable.items()) or "nothing"]
            for who, p in runs]
    _md(["deployment", "run", "log lines"], rows)

    print("Memory (RSS, MB) per process:\n")
    stages = ["before the load (caches warm)", "after normal + validate", "after faults"]
    rows = []
    for names, points in ((rss_scaled[0], rss_scaled), (rss_single[0], rss_single)):
        for name in names:
            cells = [point.get(name, "-") for point in points]
            rows.append([name] + cells + [""] * (len(stages) - len(cells)))
    _md(["process"] + stages, rows)
    print("FAIL: see above" if status else "correctness: no request failed but those in flight "
          "on a killed worker; every recipient got one copy (two only where a killed worker "
          "held them)")
    return status
