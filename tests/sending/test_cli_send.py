"""`rollcall send ...` and `rollcall worker` as an operator runs them, in subprocesses against the
demo organisation and an SMTP simulator; a worker killed with SIGKILL mid-send loses nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ews_simulator import load
from smtp_simulator import SmtpSimulator
from support import DEMO_SERVICE_ACCOUNT, cli_environ

COUNT_ORG = Path(__file__).parents[1] / "integration" / "count_org.yaml"


@pytest.fixture
def env(demo_simulator: Any, relay: SmtpSimulator, tmp_path: Path) -> dict[str, str]:
    body = tmp_path / "body.html"
    body.write_text("<p>Hello from the CLI</p>", encoding="utf-8")
    return environ(demo_simulator[0], relay, tmp_path)


def environ(sim: Any, relay: SmtpSimulator, tmp_path: Path, **more: str) -> dict[str, str]:
    return cli_environ(
        ROLLCALL_INSTANCE_PATH=str(tmp_path / "instance"), ROLLCALL_EWS_URL=sim.url,
        ROLLCALL_EWS_USERNAME=DEMO_SERVICE_ACCOUNT[0],
        ROLLCALL_EWS_PASSWORD=DEMO_SERVICE_ACCOUNT[1], ROLLCALL_MAILBOX="megan@contoso.com",
        ROLLCALL_INTERNAL_DOMAINS="contoso.com", ROLLCALL_SMTP_URL=relay.url,
        ROLLCALL_SEND_RATE_PER_MINUTE="100000", ROLLCALL_SEND_RATE_PER_HOUR="1000000",
        ROLLCALL_SEND_RETRY_S="1", **more)


def rollcall(env: dict[str, str], *args: str, timeout: float = 90) -> Any:
    return subprocess.run([sys.executable, "-m", "rollcall.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def create(env: dict[str, str], tmp_path: Path, *entries: str, extra: tuple[str, ...] = ()
           ) -> Any:
    return rollcall(env, "send", "create", "--from", "megan@contoso.com", "--subject", "Update",
                    "--html", str(tmp_path / "body.html"), *extra, *entries)


def test_create_then_work_then_show_every_recipients_record(env, relay, tmp_path):
    made = create(env, tmp_path, "partners@contoso.com", extra=("--json",))
    assert made.returncode == 0, made.stderr
    send = json.loads(made.stdout)
    assert send["status"] == "queued" and send["counts"]["queued"] == 14
    worked = rollcall(env, "worker", "--until-done")
    assert worked.returncode == 0, worked.stderr
    shown = json.loads(rollcall(env, "send", "show", str(send["id"]), "--json").stdout)
    assert shown["status"] == "done" and shown["counts"]["sent"] == 14
    assert shown["bounce_rate"] == 0.0 and shown["recipients"] == 14
    listed = json.loads(rollcall(env, "send", "recipients", str(send["id"]), "--json").stdout)
    ids = {a.queue_id for a in relay.accepted}
    assert {r["remote_id"] for r in listed["recipients"]} == ids and len(ids) == 14
    assert all(r["reply"]["code"] == 250 and r["message_id"] for r in listed["recipients"])
    words = rollcall(env, "send", "recipients", str(send["id"]))
    assert "queue_id=" in words.stdout and "Accepted" in words.stdout
    assert f"{send['id']:>6}  done" in rollcall(env, "send", "list").stdout


def test_exit_codes_say_incomplete_blocked_and_usage(env, relay, tmp_path, start_simulator):
    blocked = create({**env, "ROLLCALL_POLICY_EXTERNAL": "block",
                      "ROLLCALL_POLICY_EXTERNAL_MAX": "0"}, tmp_path, "partners@contoso.com",
                     extra=("--json",))
    assert blocked.returncode == 4 and "blocks" in blocked.stderr
    assert json.loads(blocked.stdout)["error"]["code"] == "send_blocked"
    unreadable = rollcall(env, "send", "create", "--from", "megan@contoso.com", "--subject",
                          "x", "--html", str(tmp_path / "missing.html"), "partners@contoso.com")
    assert unreadable.returncode == 2 and "cannot read" in unreadable.stderr
    two_lines = create(env, tmp_path, "partners@contoso.com", extra=("--subject", "a\nb"))
    assert two_lines.returncode == 2 and "one line" in two_lines.stderr
    bad_number = create(env, tmp_path, "partners@contoso.com", extra=("--expected", "abc"))
    assert bad_number.returncode == 2 and "invalid number value" in bad_number.stderr
    no_body = rollcall(env, "send", "create", "--from", "megan@contoso.com", "--subject", "x",
                       "partners@contoso.com")
    assert no_body.returncode == 2 and "--html" in no_body.stderr
    no_relay = create({k: v for k, v in env.items() if k != "ROLLCALL_SMTP_URL"}, tmp_path,
                      "partners@contoso.com")
    assert no_relay.returncode == 2 and "ROLLCALL_SMTP_URL" in no_relay.stderr
    bad_url = create({**env, "ROLLCALL_SMTP_URL": "http://relay"}, tmp_path, "x@contoso.com")
    assert bad_url.returncode == 2 and "ROLLCALL_SMTP_URL" in bad_url.stderr
    assert rollcall(env, "send", "show", "999").returncode == 2
    sim, _ = start_simulator(load(COUNT_ORG))
    incomplete_env = {**env, "ROLLCALL_EWS_URL": sim.url, "ROLLCALL_EWS_USERNAME":
                      "svc@contoso.com", "ROLLCALL_EWS_PASSWORD": "svc-pw"}
    incomplete = create(incomplete_env, tmp_path, "big@contoso.com")
    assert incomplete.returncode == 1 and "incomplete" in incomplete.stderr
    assert relay.accepted == []  # nothing was sent by any of them


def test_a_worker_killed_mid_send_loses_nobody(demo_simulator, tmp_path):
    slow = SmtpSimulator(slow_ms=15).start()  # every reply waits: the kill lands mid-send
    try:
        body = tmp_path / "body.html"
        body.write_text("<p>Hello</p>", encoding="utf-8")
        env = environ(demo_simulator[0], slow, tmp_path, ROLLCALL_SEND_LEASE_S="2",
                      ROLLCALL_SEND_CONNECTIONS="2")
        made = create(env, tmp_path, "allstaff@contoso.com", extra=("--json",))
        assert made.returncode == 0, made.stderr
        total = json.loads(made.stdout)["counts"]["queued"]
        worker = subprocess.Popen([sys.executable, "-m", "rollcall.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(slow.accepted) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        database = tmp_path / "instance" / "rollcall.db"
        with sqlite3.connect(database) as db:
            in_flight = db.execute("SELECT count(*) FROM send_recipients "
                                   "WHERE state = 'sending'").fetchone()[0]
        before = len(slow.accepted)
        assert 0 < before < total, "the kill should land mid-send"
        again = rollcall(env, "worker", "--until-done", timeout=180)
        assert again.returncode == 0, again.stderr
        with sqlite3.connect(database) as db:
            states = dict(db.execute("SELECT state, count(*) FROM send_recipients "
                                     "GROUP BY state").fetchall())
            lost = db.execute("SELECT count(*) FROM delivery_attempts "
                              "WHERE outcome = 'lost'").fetchone()[0]
        assert states == {"sent": total}  # every recipient final, none lost
        delivered = [a.rcpt_to[0] for a in slow.accepted]
        duplicates = len(delivered) - len(set(delivered))
        assert len(set(delivered)) == total
        assert duplicates <= in_flight  # at most what the dead worker held
        assert lost == in_flight  # the reaper's record of what it gave back
    finally:
        slow.stop()
