"""`python -m bench --load` (`make loadtest`): Rollcall at scale under 200 simulated senders.

All on 127.0.0.1, bounded in time (about 4 minutes): PostgreSQL (scripts/test-postgres), Redis
(LocalRedis), the EWS simulator's demo organisation with 5 ms a request in its own process,
gunicorn with 4 workers x 8 threads serving `rollcall.app:create_app()` over plain HTTP (TLS is
the proxy's job) with ROLLCALL_WORKER=off, and 2 `rollcall worker`s sending to an SMTP
simulator. Debian's wrk drives 200 connections, one wrk per route (load_wrk.py), with 200
senders' tokens and the organisation's lists. After a warm pass (every sender counts every
recipient set once), in order:

  normal     the mix (MIX) for 20 s, a tracked send of All Staff queued 1 s in
  flat out   send checks only, 200 connections, no pause: capacity, and CPU a check
  paced      send checks only, 200 connections, 150 a second offered: the issue's aims (150 a
             second with p95 < 1 s at 200 connections; < 5 ms of CPU a check)
  faults     the mix and the send again (queued just before); one send worker gets SIGKILL
             mid-send (started again 1 s later), one gunicorn worker SIGKILL, Redis stops for 2 s
  single     the embedded default (one process, SQLite, no Redis): warm pass, normal, flat
             out, paced

Figures only; the exit status is non-zero when a request failed that was not in flight on a
killed process, or a send recipient got no copy or one more than a killed worker could cause.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import load_report as report
from . import load_wrk
from .load_phases import SENT_BEFORE_KILL, Phase, finish, inflict, measure, spread, warm
from .load_procs import Logs
from .load_send import TrackedSend
from .load_sim import DemoSimulator
from .load_stacks import Scaled, Single

SECONDS, VALIDATE_SECONDS = 20, 15
# route -> (connections, requests a second; 0 flat out): 100 senders press Send as fast as the
# answers come; warm-ups (people adding recipients) arrive at 60 a second and counts (the pane
# open) at 20 a second, whatever the latency. Warm-ups flat out would be 202s in milliseconds by
# the thousand, each starting a background count.
MIX = {"validate": (100, 0), "warmup": (60, 60), "count": (40, 20)}
FLAT_OUT = {"validate": (200, 0)}
# The aim's rate, offered whatever the answers take. Flat out, a closed loop obeys Little's law
# (rate = connections / latency): a p95 under 1 s at 200 connections needs over 200 a second.
PACED = {"validate": (200, 150)}
SENDERS = 200  # one token each: a connection rarely waits on another's hourly window
LATENCY_MS = 5.0
SEND_ENTRIES = ("allstaff@contoso.com",)


def run(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from rollcall.dev.local_redis import available as redis_available

    missing = [what for what, ok in (("wrk (apt-get install wrk)", load_wrk.available()),
                                     ("redis-server", redis_available()),
                                     ("PostgreSQL 15", Path("/usr/lib/postgresql/15/bin/initdb")
                                      .exists() or "ROLLCALL_PG_BIN" in os.environ)) if not ok]
    if missing:
        say(f"the load test needs {', '.join(missing)}")
        return 2
    logs = Logs()
    say(f"logs and data in {logs.folder}; {os.cpu_count()} cores")
    sim = DemoSimulator(LATENCY_MS)
    say(f"EWS simulator (demo organisation, {LATENCY_MS:g} ms a request) at {sim.url}")
    identity, tokens = _identity(logs.folder)
    load_wrk.write_inputs(logs.folder / "wrk", tokens)
    try:
        scaled_phases, rss_scaled = _scaled(logs, sim, identity, tokens, say)
        single_phases, rss_single = _single(logs, sim, identity, tokens, say)
    finally:
        sim.stop()
    status = report.print_all(scaled_phases, single_phases, rss_scaled, rss_single,
                              time.strftime("%Y-%m-%d"), os.cpu_count() or 0)
    if status == 0:
        shutil.rmtree(logs.folder, ignore_errors=True)  # kept only when something failed
    else:
        print(f"the processes' logs are in {logs.folder}")
    return status


def _identity(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The development issuer's settings (its JWKS file) and tokens for SENDERS people."""
    from ews_simulator import load
    from ews_simulator.demo import demo_document
    from rollcall.dev.demo import demo_issuer, dev_identity, people

    users = people(load(demo_document()).mailboxes.values())
    issuer = demo_issuer(folder / "dev-issuer", "https://localhost:3000", users)
    first = ["megan@contoso.com", "alex@contoso.com"]
    senders = first + sorted(u for u in users if u not in first)[:SENDERS - len(first)]
    found = dev_identity(issuer, jwks_file=True)
    settings = {"oidc_issuer": found["oidc_issuer"],
                "oidc_audience": ",".join(found["oidc_audience"]),
                "oidc_jwks_url": found["oidc_jwks_url"]}
    return settings, [issuer.mint(s) for s in senders]


def _scaled(logs: Logs, sim: DemoSimulator, identity: dict[str, str], tokens: list[str],
            say: Callable[[str], None]) -> tuple[list[Phase], list[dict[str, Any]]]:
    say("starting PostgreSQL, Redis, the SMTP simulator, gunicorn (4 workers x 8 threads), "
        "2 send workers ...")
    stack = Scaled(logs, sim, identity)
    try:
        say(f"  up at {stack.url} (PostgreSQL {stack.postgres.url}, Redis {stack.redis.url})")
        warmed = warm(stack, tokens, say)
        rss = [stack.rss()]
        say(f"normal: the mix (connections, requests a second) {MIX} for {SECONDS} s, a "
            f"tracked send of {SEND_ENTRIES[0]} ...")
        send = TrackedSend(stack.url, tokens[0], SEND_ENTRIES, "Load test: normal run")
        send.start(after_s=1.0)
        seen: list[str] = []
        normal = measure("normal", stack, MIX, SECONDS, say,
                         lambda: spread(stack, 10, time.monotonic(), seen, say))
        normal.events = seen
        normal.send = finish(send, stack, None, say)
        flat, paced = _validates(stack, say)
        rss.append(stack.rss())
        rewarmed = warm(stack, tokens, say)
        rewarmed.name = "warm pass again"
        say(f"faults: the mix for {SECONDS} s; SIGKILL a send worker once the send has "
            f"{SENT_BEFORE_KILL} sent (started again 1 s later), a gunicorn worker at 4 s; Redis "
            "stopped at 7 s for 2 s ...")
        # Queued just before the run, so that the POST itself is not among what the killed
        # gunicorn worker holds; the workers drain it during the run.
        send = TrackedSend(stack.url, tokens[0], SEND_ENTRIES, "Load test: fault run")
        send.start(after_s=0.0)
        send.join()
        faults = Phase("faults", {}, {}, None, None)
        measured = measure("faults", stack, MIX, SECONDS, say,
                           lambda: inflict(stack, send, faults, say))
        measured.events, measured.killed_connections = faults.events, faults.killed_connections
        measured.web_cpu_s = measured.side_cpu_s = None  # a killed worker's CPU is not known
        measured.send = finish(send, stack, faults.killed_send_pid, say)
        rss.append(stack.rss())
        return [warmed, normal, flat, paced, rewarmed, measured], rss
    finally:
        stack.stop()


def _single(logs: Logs, sim: DemoSimulator, identity: dict[str, str], tokens: list[str],
            say: Callable[[str], None]) -> tuple[list[Phase], list[dict[str, Any]]]:
    say("single: the embedded default (one process, SQLite, no Redis) ...")
    stack = Single(logs, sim, identity)
    try:
        warmed = warm(stack, tokens, say)
        rss = [stack.rss()]
        say(f"single: the mix for {SECONDS} s ...")
        normal = measure("normal", stack, MIX, SECONDS, say)
        flat, paced = _validates(stack, say)
        rss.append(stack.rss())
        return [warmed, normal, flat, paced], rss
    finally:
        stack.stop()


def _validates(stack: Any, say: Callable[[str], None]) -> tuple[Phase, Phase]:
    """Send checks only, 200 connections: flat out (capacity), then paced (150 a second
    offered): the issue's aims."""
    say(f"validate flat out: send checks only, 200 connections, {VALIDATE_SECONDS} s ...")
    flat = measure("validate flat out", stack, FLAT_OUT, VALIDATE_SECONDS, say)
    say(f"validate paced: 200 connections, {PACED['validate'][1]} a second offered, "
        f"{VALIDATE_SECONDS} s ...")
    paced = measure("validate paced", stack, PACED, VALIDATE_SECONDS, say)
    return flat, paced
