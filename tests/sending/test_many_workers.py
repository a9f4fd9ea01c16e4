"""Several `rollcall worker` processes on one database share a send: nobody gets a message
twice, and the rate limits hold across them (the budget is read in the claim's transaction)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from send_support import FAST, create, show

from rollcall.bootstrap import bootstrap
from rollcall.sending.model import State
from smtp_simulator import SmtpSimulator
from support import DEMO_SERVICE_ACCOUNT, cli_environ, demo_config


def _database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def _workers(n: int, env: dict[str, str], *args: str) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-m", "rollcall.cli", "worker", *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(n)]


def _env(sim: Any, relay: SmtpSimulator, database: str, tmp_path: Path,
         **more: str) -> dict[str, str]:
    return cli_environ(
        ROLLCALL_INSTANCE_PATH=str(tmp_path / "instance"), ROLLCALL_DATABASE_URL=database,
        ROLLCALL_EWS_URL=sim.url, ROLLCALL_EWS_USERNAME=DEMO_SERVICE_ACCOUNT[0],
        ROLLCALL_EWS_PASSWORD=DEMO_SERVICE_ACCOUNT[1], ROLLCALL_SMTP_URL=relay.url,
        ROLLCALL_SEND_CONNECTIONS="2", **more)


@pytest.mark.parametrize(("kind", "workers"), [("sqlite", 2), ("postgresql", 2),
                                               ("postgresql", 4)])
def test_workers_share_one_send_without_sending_anything_twice(kind, workers, demo_simulator,
                                                                relay, request, tmp_path):
    database = _database(kind, request, tmp_path)
    services = bootstrap(demo_config(demo_simulator[0], database_url=database,
                                     instance_path=str(tmp_path / "instance"),
                                     smtp_url=relay.url, **FAST))
    send = create(services, "allstaff@contoso.com")
    total = send.counts[State.QUEUED]
    env = _env(demo_simulator[0], relay, database, tmp_path,
               ROLLCALL_SEND_RATE_PER_MINUTE="100000", ROLLCALL_SEND_RATE_PER_HOUR="1000000")
    procs = _workers(workers, env, "--until-done")
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()
    delivered = [a.rcpt_to[0] for a in relay.accepted]
    assert len(delivered) == total and len(set(delivered)) == total  # once each, none lost
    assert show(services, send.id).counts[State.SENT] == total
    # They really shared it: more than one worker took recipients.
    from sqlalchemy import func, select

    from rollcall.store.outbox_models import DeliveryAttemptRow

    with services.sends.outbox.engine.connect() as conn:
        names = conn.execute(select(func.count(func.distinct(DeliveryAttemptRow.worker)))
                             ).scalar_one()
    assert names == workers


def test_the_rate_limit_holds_across_worker_processes(demo_simulator, relay, pg_url, tmp_path):
    limits = {**FAST, "send_rate_per_minute": 40, "send_rate_per_hour": 1000}
    services = bootstrap(demo_config(demo_simulator[0], database_url=pg_url,
                                     instance_path=str(tmp_path / "instance"),
                                     smtp_url=relay.url, **limits))
    send = create(services, "allstaff@contoso.com")
    env = _env(demo_simulator[0], relay, pg_url, tmp_path,
               ROLLCALL_SEND_RATE_PER_MINUTE="40", ROLLCALL_SEND_RATE_PER_HOUR="1000")
    procs = _workers(4, env)
    try:
        deadline = time.monotonic() + 60
        while len(relay.accepted) < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # four workers, each free to claim: none may take the 41st
        assert len(relay.accepted) == 40
        waiting = services.sends.show(send.id, _operator())
        assert waiting.waiting and "40 a minute" in waiting.waiting
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def _operator() -> Any:
    from rollcall.lists import operator

    return operator()


def test_rollcall_queue_stop_reaches_every_worker_process(demo_simulator, pg_url, tmp_path):
    """STOP from the command line: two running workers finish what they hold, claim nothing
    more, and START lets them finish the send."""
    with SmtpSimulator(slow_ms=40) as slow:
        services = bootstrap(demo_config(demo_simulator[0], database_url=pg_url,
                                         instance_path=str(tmp_path / "instance"),
                                         smtp_url=slow.url, **FAST))
        send = create(services, "allstaff@contoso.com")
        total = send.counts[State.QUEUED]
        env = _env(demo_simulator[0], slow, pg_url, tmp_path,
                   ROLLCALL_SEND_RATE_PER_MINUTE="100000", ROLLCALL_SEND_RATE_PER_HOUR="1000000")
        procs = _workers(2, env)
        try:
            deadline = time.monotonic() + 60
            while not slow.accepted and time.monotonic() < deadline:
                time.sleep(0.05)
            stop = subprocess.run([sys.executable, "-m", "rollcall.cli", "queue", "stop",
                                   "--reason", "relay maintenance"], env=env,
                                  capture_output=True, text=True, timeout=60)
            assert stop.returncode == 0, stop.stderr
            assert "stopped by cli:" in stop.stdout
            # What each lane held (at most a batch of 25) finishes; then nothing moves.
            deadline = time.monotonic() + 30
            while show(services, send.id).counts.get(State.SENDING, 0) and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
            held = len(slow.accepted)
            time.sleep(2)
            assert len(slow.accepted) == held < total
            assert show(services, send.id).status.value == "stopped"
            start = subprocess.run([sys.executable, "-m", "rollcall.cli", "queue", "start"],
                                   env=env, capture_output=True, text=True, timeout=60)
            assert start.returncode == 0, start.stderr
            deadline = time.monotonic() + 120
            while len(slow.accepted) < total and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(slow.accepted) == total
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
