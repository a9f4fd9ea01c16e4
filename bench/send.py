"""`python -m bench --send`: tracked send's throughput, from queue to the relay's 250.

10,000 recipients queued in a fresh SQLite outbox are sent by 1, then 4 `rollcall worker`
processes to an SMTP simulator in its own process. The baseline, measured in the same run, is
plain smtplib offering the same message to the same relay on one connection: what the relay
itself takes. PoliteMail's published 0.015 s a message (67 a second) is printed beside them.
The exit status is non-zero only if a recipient was not sent exactly once.
"""

from __future__ import annotations

import collections
import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

POLITEMAIL_PER_S = 1 / 0.015
HTML = ("<p>Dear colleague, the quarter's results are in. <a href='https://intranet.contoso.com/"
        "q3'>Read the report</a>.</p>" * 12)
TEXT = "Dear colleague, the quarter's results are in: https://intranet.contoso.com/q3\n" * 12


def run(say: Callable[[str], None], recipients: int = 10_000,
        workers: tuple[int, ...] = (1, 4)) -> int:
    port = _free_port()
    spool = Path(tempfile.mkdtemp(prefix="rollcall-bench-relay-"))
    relay = subprocess.Popen([sys.executable, "-m", "smtp_simulator", "--port", str(port),
                              "--spool", str(spool)], stdout=subprocess.PIPE)
    try:
        assert relay.stdout is not None
        relay.stdout.readline()
        sample = _sample_message()
        say(f"baseline: smtplib, one connection, {len(sample):,}-byte message")
        baseline = _baseline(port, sample, 2_000)
        rows = [("smtplib alone, 1 connection (baseline)", baseline, 0.0)]
        ok = True
        for n in workers:
            _clear(spool)
            say(f"{recipients:,} recipients, {n} worker process(es), "
                f"{os.cpu_count()} cores")
            rate, span, good = _rollcall(port, recipients, n, spool)
            rows.append((f"Rollcall, {n} worker{'s' if n > 1 else ''} x 4 connections", rate,
                         span))
            ok = ok and good
        say("where one message's time goes (one lane, in-process, 1,000 recipients)")
        parts = _breakdown(port, 1_000)
    finally:
        relay.terminate()
        relay.wait(10)
    print()
    print(f"{'':46} {'msg/s':>8} {'x baseline':>11} {'x PoliteMail':>13}")
    for name, rate, _ in rows:
        print(f"{name:46} {rate:8.0f} {rate / baseline:11.2f} {rate / POLITEMAIL_PER_S:13.1f}")
    print(f"{'PoliteMail (published: 0.015 s a message)':46} {POLITEMAIL_PER_S:8.0f}")
    print()
    total = sum(parts.values())
    for part, seconds in sorted(parts.items(), key=lambda p: -p[1]):
        print(f"  {part:32} {seconds * 1000:6.2f} ms a message ({seconds / total:4.0%})")
    return 0 if ok else 1


def _rollcall(port: int, recipients: int, workers: int, spool: Path) -> tuple[float, float,
                                                                              bool]:
    from rollcall.sending.model import NewRecipient, NewSend
    from rollcall.store.db import open_store
    from rollcall.store.outbox import Outbox

    folder = Path(tempfile.mkdtemp(prefix="rollcall-bench-send-"))
    store = open_store(None, str(folder))
    Outbox(store.engine).create(NewSend(
        sender="megan@contoso.com", from_address="megan@contoso.com", subject="Q3 results",
        html=HTML, text=TEXT, tracking="anonymous", base_url="https://rollcall.contoso.com",
        report={}, entries=("bench",),
        recipients=tuple(NewRecipient(f"person{i}@contoso.com") for i in range(recipients))),
        "contoso.com")
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env.update(ROLLCALL_INSTANCE_PATH=str(folder), ROLLCALL_SMTP_URL=f"smtp://127.0.0.1:{port}",
               ROLLCALL_SEND_RATE_PER_MINUTE="10000000", ROLLCALL_SEND_RATE_PER_HOUR="10000000",
               ROLLCALL_SEND_CONNECTIONS="4")
    procs = [subprocess.Popen([sys.executable, "-m", "rollcall.cli", "worker", "--until-done"],
                              env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait()
    with sqlite3.connect(folder / "rollcall.db") as db:
        first = db.execute("SELECT min(started_at) FROM delivery_attempts").fetchone()[0]
        last = db.execute("SELECT max(sent_at) FROM send_recipients").fetchone()[0]
        sent = db.execute("SELECT count(*) FROM send_recipients WHERE state = 'sent'"
                          ).fetchone()[0]
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    delivered = collections.Counter(_spooled_recipients(spool))
    good = sent == recipients and len(delivered) == recipients and max(
        delivered.values()) == 1
    return recipients / span, span, good


def _baseline(port: int, message: bytes, n: int) -> float:
    smtp = smtplib.SMTP("127.0.0.1", port)
    smtp.ehlo()
    started = time.perf_counter()
    for i in range(n):
        smtp.mail("megan@contoso.com")
        smtp.rcpt(f"baseline{i}@contoso.com")
        smtp.data(message)
    elapsed = time.perf_counter() - started
    smtp.quit()
    return n / elapsed


def _sample_message() -> bytes:
    from rollcall.sending.message import render
    from rollcall.sending.model import Claimed, SendContent

    content = SendContent(1, "megan@contoso.com", "Q3 results", HTML, TEXT, "anonymous",
                          "https://rollcall.contoso.com")
    claimed = Claimed(1, 1, "someone@contoso.com", "0" * 24, "<0.1@contoso.com>", 1, 0,
                      datetime.now().astimezone())
    return render(content, claimed, bounce_template=None, tracking_key=b"k" * 32).data


def _breakdown(port: int, n: int) -> dict[str, float]:
    """Per-message seconds in each part of one lane's work, from timed wrappers."""
    from rollcall.bootstrap import bootstrap, send_worker
    from rollcall.config import load_config
    from rollcall.sending import smtp, worker
    from rollcall.sending.model import NewRecipient, NewSend
    from rollcall.store import outbox

    spent: dict[str, float] = collections.defaultdict(float)

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(smtp.Session, "send", "SMTP (MAIL, RCPT, DATA)")
    timed(outbox.Outbox, "finish", "recording the reply (commit)")
    timed(outbox.Outbox, "claim", "claiming (lease, rate windows)")
    timed(worker, "render", "building the message")
    folder = tempfile.mkdtemp(prefix="rollcall-bench-lane-")
    services = bootstrap(load_config(environ={}, instance_path=folder,
                                     smtp_url=f"smtp://127.0.0.1:{port}",
                                     send_rate_per_minute=10**7, send_rate_per_hour=10**7,
                                     send_connections=1))
    services.sends.outbox.create(NewSend(
        sender="megan@contoso.com", from_address="megan@contoso.com", subject="Q3 results",
        html=HTML, text=TEXT, tracking="anonymous", base_url="https://rollcall.contoso.com",
        report={}, entries=("bench",),
        recipients=tuple(NewRecipient(f"lane{i}@contoso.com") for i in range(n))),
        "contoso.com")
    lane = send_worker(services)
    assert lane is not None
    started = time.perf_counter()
    lane.run(threading.Event(), until_done=True)
    elapsed = time.perf_counter() - started
    parts = {k: v / n for k, v in spent.items()}
    parts["the rest (polling, relay health)"] = max(0.0, elapsed / n - sum(parts.values()))
    return parts


def _spooled_recipients(spool: Path) -> list[str]:
    import json

    return [json.loads(p.read_text())["rcpt_to"][0] for p in spool.glob("*.json")]


def _clear(spool: Path) -> None:
    for p in spool.iterdir():
        p.unlink()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
