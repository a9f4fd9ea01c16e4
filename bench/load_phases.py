"""The load test's runs: one measured wrk run (CPU, EWS requests, the answers), the warm pass,
where wrk's connections sit, the fault run's timeline, and a tracked send's check."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib import request as urlrequest
from urllib.error import HTTPError

from . import load_wrk
from .load_procfs import client_connections, machine_busy_s, tree_cpu_s
from .load_send import TrackedSend, held_by, sent_so_far
from .load_stacks import Scaled, cpu, spent

SENT_BEFORE_KILL = 40  # the send worker dies once this much of the send is out


@dataclass(slots=True)
class Phase:
    name: str
    routes: dict[str, load_wrk.RouteResult]
    ews: dict[str, int]
    web_cpu_s: float | None
    side_cpu_s: float | None
    events: list[str] = field(default_factory=list)
    send: Any = None
    killed_connections: int = 0  # client connections on the killed gunicorn worker
    killed_send_pid: int = 0
    warm_counts: int = 0  # a warm pass: the counts it made (it has no wrk routes)
    others_cores: float = 0.0  # what processes not ours took of the machine meanwhile
    notable: dict[str, int] = field(default_factory=dict)  # the web log's telling lines


def measure(name: str, stack: Any, split: dict[str, tuple[int, int]], seconds: int,
            say: Callable[[str], None], during: Callable[[], Any] | None = None) -> Phase:
    stack.sim.reset_counters()
    web0, side0 = cpu(stack.web_pids()), cpu(stack.side_pids())
    wall0, busy0, ours0 = time.monotonic(), machine_busy_s(), tree_cpu_s(stack.roots())
    routes = load_wrk.run(stack.url, stack.logs.folder / "wrk", split, seconds, during)
    wall, busy, ours = (time.monotonic() - wall0, machine_busy_s() - busy0,
                        tree_cpu_s(stack.roots()) - ours0)
    # The server finishes what was in flight when wrk stopped (one request a connection): the
    # CPU is read once it has, and shared by the answers plus those (load_report.py).
    settled = settle(stack)
    web1, side1 = cpu(stack.web_pids()), cpu(stack.side_pids())
    phase = Phase(name, routes, stack.sim.snapshot(), spent(web0, web1), spent(side0, side1),
                  others_cores=max(0.0, busy - ours) / wall, notable=stack.notable())
    for r in routes.values():
        errors = ", ".join(f"{k} {n}" for k, n in r.socket_errors.items() if n and k != "status")
        say(f"  {r.route}: {r.requests / r.seconds:.0f}/s, p50 {r.latency_ms['p50']:.0f} ms, "
            f"p95 {r.latency_ms['p95']:.0f} ms, p99 {r.latency_ms['p99']:.0f} ms, non-2xx "
            f"{r.non_2xx}, socket errors {r.socket_error_count}"
            + (f" ({errors})" if errors else ""))
    answered = sum(r.ok for r in routes.values())
    say(f"  EWS requests {sum(phase.ews.values())} for {answered} answers; settled after "
        f"{settled:.1f} s; other processes on this machine took {phase.others_cores:.2f} "
        "cores meanwhile")
    return phase


def settle(stack: Any, timeout_s: float = 60) -> float:
    """Wait until the web processes are idle (under 10% of a core for half a second); the
    seconds waited."""
    started = time.monotonic()
    before = sum(cpu(stack.web_pids()).values())
    while time.monotonic() - started < timeout_s:
        time.sleep(0.5)
        now = sum(cpu(stack.web_pids()).values())
        if now - before < 0.05:
            break
        before = now
    return time.monotonic() - started


def warm(stack: Any, tokens: list[str], say: Callable[[str], None]) -> Phase:
    """Every sender counts every recipient set once (16 at a time): what the runs after it
    find cached; its EWS requests are what a cold (or half-cold) count costs."""
    stack.sim.reset_counters()
    started = time.monotonic()
    n, bad = load_wrk.warm(stack.url, tokens)
    phase = Phase("warm pass", {}, stack.sim.snapshot(), None, None, warm_counts=n - bad,
                  notable=stack.notable())
    say(f"  warm pass: {n} counts (every sender, every recipient set) in "
        f"{time.monotonic() - started:.1f} s, {bad} not 200, "
        f"{sum(phase.ews.values())} EWS requests")
    return phase


def spread(stack: Scaled, at_s: float, t0: float, events: list[str],
           say: Callable[[str], None]) -> None:
    """How wrk's connections are spread over gunicorn's workers, `at_s` into the run."""
    time.sleep(max(0.0, t0 + at_s - time.monotonic()))
    held = [client_connections(pid, stack.gunicorn.port) for pid in stack.web_pids()]
    events.append(f"{time.monotonic() - t0:5.1f} s  client connections per gunicorn worker: "
                  + ", ".join(map(str, held)))
    say(f"  {events[-1]}")


def inflict(stack: Scaled, send: TrackedSend, phase: Phase, say: Callable[[str], None]) -> None:
    """The fault run's timeline, in seconds from wrk's start, written into `phase`: a send
    worker killed once SENT_BEFORE_KILL are out (started again 1 s later), a gunicorn worker
    at 4 s, Redis stopped at 7 s and started at 9 s, the connections' spread at 15 s."""
    t0 = time.monotonic()

    def at(t: float) -> None:
        time.sleep(max(0.0, t0 + t - time.monotonic()))

    def event(text: str) -> None:
        phase.events.append(f"{time.monotonic() - t0:5.1f} s  {text}")
        say(f"  {phase.events[-1]}")

    # The send worker dies mid-send: once some of the send (queued just before) is out.
    sent = 0
    while time.monotonic() - t0 < 4 and send.send_id is not None:
        sent = sent_so_far(stack.postgres.url, send.send_id)
        if sent >= SENT_BEFORE_KILL:
            break
        time.sleep(0.1)
    event(f"tracked send {send.send_id} ({send.queued} recipients): {sent} sent")
    killed = phase.killed_send_pid = stack.senders.kill(0)
    event(f"SIGKILL send worker {killed}")
    time.sleep(1)
    stack.senders.restart(0)
    event(f"send worker started again (pid {stack.senders.procs[0].pid})")
    at(4)
    victim = stack.web_pids()[0]
    phase.killed_connections = client_connections(victim, stack.gunicorn.port)
    os.kill(victim, signal.SIGKILL)
    event(f"SIGKILL gunicorn worker {victim} holding {phase.killed_connections} client "
          "connections")
    respawn = stack.gunicorn.wait_workers(gone=victim)
    event(f"gunicorn forked a fourth worker again after {respawn:.2f} s")
    at(7)
    stack.redis.stop()
    event("Redis stopped (SIGTERM)")
    # Asked on a thread of its own: under load it waits its turn like any request.
    asked = time.monotonic() - t0
    threading.Thread(target=lambda: event(f"GET /healthz asked at {asked:.1f} s: "
                                          f"{_health(stack.url)}"), daemon=True).start()
    at(9)
    stack.redis.start()
    event("Redis started again, empty")
    spread(stack, 15, t0, phase.events, say)


def finish(send: TrackedSend, stack: Scaled, killed_pid: int | None,
           say: Callable[[str], None]) -> Any:
    send.join()
    if send.send_id is None:
        say(f"  tracked send: {send.error}")
        return None
    status, seconds = send.wait(timeout_s=90)
    held, attempts = held_by(stack.postgres.url, killed_pid) if killed_pid else (set(), 0)
    result = send.check(stack.spool, status, seconds, held)
    say(f"  tracked send {result.send_id}: {result.status} after {seconds:.1f} s; "
        f"{result.sent}/{result.queued} sent; one copy each: {result.delivered_once}; "
        f"lost {len(result.lost)}; twice {len(result.twice)}"
        + (f" (the killed worker held {len(held)} recipients, {attempts} attempts)"
           if killed_pid else ""))
    return result


def _health(base: str) -> str:
    """GET /healthz's status, Redis's part and how long it took, in a few words."""
    started = time.monotonic()
    try:
        with urlrequest.urlopen(base + "/healthz", timeout=15) as answer:
            status, body = answer.status, json.loads(answer.read())
    except HTTPError as e:
        status, body = e.code, json.loads(e.read() or b"{}")
    except OSError as e:
        return f"no answer within 15 s ({type(e).__name__})"
    redis = body.get("redis", {})
    return (f"{status} after {time.monotonic() - started:.1f} s; database ok "
            f"{body.get('database', {}).get('ok')}, redis ok {redis.get('ok')}")
