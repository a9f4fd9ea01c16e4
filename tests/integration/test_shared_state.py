"""Several Rollcall processes, one Redis: a count in one warms the send check in another, a count
running in one is awaited by another instead of repeated, and Redis going away makes Rollcall
slower and says so, never wrong or down. Real Redis (redis-server), real EWS simulator,
real separate processes where it matters (`rollcall count` in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from ews_simulator.demo import demo_document
from rollcall.bootstrap import bootstrap
from rollcall.core.model import Recipient
from support import DEMO_SERVICE_ACCOUNT, cli_environ, demo_config, signed_in

ALLSTAFF = Recipient("All Staff", "allstaff@contoso.com")
LISTS_UNDER_ALLSTAFF = 63  # allstaff and every list inside it, each expanded once


@pytest.fixture
def exchange(start_simulator: Any) -> Any:
    sim, _ = start_simulator(demo_document())
    return sim


@pytest.fixture
def shared(redis_server: Any) -> Any:
    """The session's Redis, emptied: each test starts with nothing shared."""
    if redis_server.process is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server


def services(sim: Any, tmp_path: Path, redis_url: str | None, **more: Any) -> Any:
    """One Rollcall process's services: its own memory, the shared Redis."""
    return bootstrap(demo_config(sim, instance_path=str(tmp_path), redis_url=redis_url, **more))


def cli_count(sim: Any, redis_url: str, tmp_path: Path, *entries: str) -> subprocess.Popen[str]:
    env = cli_environ(ROLLCALL_EWS_URL=sim.url, ROLLCALL_EWS_USERNAME=DEMO_SERVICE_ACCOUNT[0],
                      ROLLCALL_EWS_PASSWORD=DEMO_SERVICE_ACCOUNT[1],
                      ROLLCALL_MAILBOX="megan@contoso.com", ROLLCALL_INTERNAL_DOMAINS="contoso.com",
                      ROLLCALL_INSTANCE_PATH=str(tmp_path / "cli"), ROLLCALL_REDIS_URL=redis_url)
    return subprocess.Popen([sys.executable, "-m", "rollcall.cli", "count", *entries, "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_count_in_one_process_warms_the_send_check_in_another(exchange, shared, tmp_path):
    counted = cli_count(exchange, shared.url, tmp_path, "allstaff@contoso.com")
    out, err = counted.communicate(timeout=60)
    assert counted.returncode == 0, err
    assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF
    exchange.reset_counters()
    here = services(exchange, tmp_path, shared.url)
    verdict = here.send_check.validate([ALLSTAFF], mailbox="megan@contoso.com", record=False)
    assert verdict["report"]["total"] == 495 and verdict["report"]["complete"]
    # Nothing asked of Exchange but this process's first connection (its version probe): the
    # lists and the entry's resolution came from Redis.
    assert exchange.snapshot() == {"ConvertId": 1} and verdict["report"]["requests"] == 0


def test_without_redis_each_process_asks_exchange_itself(exchange, tmp_path):
    first = services(exchange, tmp_path / "a", None)
    first.counts.count([ALLSTAFF], None, "megan@contoso.com")
    exchange.reset_counters()
    services(exchange, tmp_path / "b", None).counts.count([ALLSTAFF], None, "megan@contoso.com")
    assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF


def test_a_count_running_in_another_process_is_awaited_not_repeated(exchange, shared,
                                                                    tmp_path):
    exchange.set_faults(latency_ms=40)  # the other process's count takes a while
    client = redis.Redis.from_url(shared.url)
    other = cli_count(exchange, shared.url, tmp_path, "allstaff@contoso.com")
    deadline = time.monotonic() + 30
    while not client.keys("rollcall:f:*"):  # its flight has begun
        assert time.monotonic() < deadline and other.poll() is None, other.stderr
        time.sleep(0.01)
    here = services(exchange, tmp_path, shared.url)
    report = here.counts.count([ALLSTAFF], None, "megan@contoso.com")
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    assert report.complete and report.total == 495
    # Each list was expanded once, by the other process; this one read them from Redis.
    assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF
    assert report.requests == 0


def test_counts_of_the_same_entries_in_one_process_run_once(exchange, tmp_path):
    exchange.set_faults(latency_ms=20)
    here = services(exchange, tmp_path, None)
    reports: list[Any] = []
    threads = [threading.Thread(target=lambda: reports.append(
        here.counts.count([ALLSTAFF], None, "megan@contoso.com"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.total for r in reports] == [495] * 3
    assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF
    assert sorted(r.requests for r in reports)[:2] == [0, 0]  # two waited, then read the cache


def test_redis_going_away_mid_way_is_slower_and_said_never_wrong(exchange, shared, tmp_path):
    here = services(exchange, tmp_path, shared.url)
    app_client = signed_in(here_app(here), "isaiah@contoso.com")
    assert here.counts.count([ALLSTAFF], None, "megan@contoso.com").total == 495
    shared.stop()
    try:
        elsewhere = services(exchange, tmp_path / "b", shared.url)  # another process
        exchange.reset_counters()
        started = time.monotonic()
        report = elsewhere.counts.count([ALLSTAFF], None, "megan@contoso.com")
        assert report.complete and report.total == 495  # counted without the shared cache
        assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF
        assert time.monotonic() - started < 10  # no waiting on Redis per list
        cache = app_client.get("/api/admin/status").get_json()["cache"]
        assert cache["shared"]["ok"] is False and "Redis is not answering" in cache["warning"]
        health = app_client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["redis"]["ok"] is False
    finally:
        shared.start()
    time.sleep(5.1)  # a failed Redis is asked again after a short while
    cache = app_client.get("/api/admin/status").get_json()["cache"]
    assert cache["shared"]["ok"] is True and "warning" not in cache


def test_healthz_needs_no_sign_in_and_says_the_database_state(exchange, shared, tmp_path):
    app = here_app(services(exchange, tmp_path, shared.url))
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ok"] and body["database"]["ok"] and body["redis"]["ok"]
    broken = here_app(services(exchange, tmp_path, None,
                               database_url="postgresql+psycopg://rollcall@127.0.0.1:9/x"))
    down = broken.test_client().get("/healthz")
    assert down.status_code == 503 and down.get_json()["database"]["ok"] is False


def here_app(svc: Any) -> Any:
    """The WSGI app over these services, as gunicorn would run it."""
    from rollcall.app import create_app

    return create_app(services=svc)


def test_redis_stopping_in_the_middle_of_a_count_leaves_it_complete(exchange, shared, tmp_path):
    exchange.set_faults(latency_ms=30)
    here = services(exchange, tmp_path, shared.url)
    stopper = threading.Timer(0.3, shared.stop)  # while lists are being expanded and cached
    stopper.start()
    try:
        report = here.counts.count([ALLSTAFF], None, "megan@contoso.com")
    finally:
        stopper.join()
        shared.start()
    assert report.complete and report.total == 495
    assert exchange.snapshot()["ExpandDL"] == LISTS_UNDER_ALLSTAFF
