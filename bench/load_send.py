"""A tracked send during the load test, and the check that each recipient got one copy.

The send is created through the API (POST /api/sends, as its owner) while wrk runs; the send
workers drain it to the SMTP simulator, which spools every message it accepts. Afterwards each
spooled message is matched to the outbox by its Message-ID (one per recipient, read back with
GET /api/sends/ID/recipients): none may be missing, and a second copy is allowed only for a
recipient a killed worker held when it died (its attempts the reaper marked lost), as
tests/sending/test_many_workers.py counts the relay's deliveries against the outbox.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from .load_wrk import get, post, recipients

HTML = "<p>Dear colleague, the load test's results are in.</p>"
TEXT = "Dear colleague, the load test's results are in."


@dataclass(slots=True)
class SendResult:
    send_id: int
    queued: int
    status: str
    seconds: float  # from POST to the last recipient in a final state (polled every 0.5 s)
    sent: int
    delivered_once: int
    lost: list[str]
    twice: list[str]
    held_by_killed: set[str] = field(default_factory=set)

    @property
    def twice_beyond_in_flight(self) -> list[str]:
        return [a for a in self.twice if a not in self.held_by_killed]

    @property
    def good(self) -> bool:
        return self.status == "done" and not self.lost and not self.twice_beyond_in_flight


class TrackedSend:
    """One send of `entries` by the owner of `token`, through the API at `base`."""

    def __init__(self, base: str, token: str, entries: tuple[str, ...], subject: str) -> None:
        self.base, self.token, self.entries, self.subject = base, token, entries, subject
        self.send_id: int | None = None
        self.queued = 0
        self.started = 0.0
        self.error: str | None = None
        self._thread = threading.Thread()

    def start(self, after_s: float) -> None:
        """create() on a thread of its own, `after_s` from now: under load the POST itself
        waits its turn, and nothing else should wait for it."""
        def later() -> None:
            time.sleep(after_s)
            self.create()

        self._thread = threading.Thread(target=later, name="tracked-send", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float = 120) -> None:
        self._thread.join(timeout_s)

    def create(self) -> None:
        self.started = time.monotonic()
        try:
            status, answer = post(self.base + "/api/sends", self.token, json.dumps({
                "recipients": recipients(self.entries), "subject": self.subject, "html": HTML,
                "text": TEXT}), timeout_s=60)
        except OSError as e:
            self.error = f"POST /api/sends: {type(e).__name__}: {e}"
            return
        if status != 201:
            self.error = f"POST /api/sends answered {status}: {answer}"
            return
        self.send_id = int(answer["id"])
        # Everyone but the suppressed: a worker may already have claimed some ("sending").
        self.queued = int(answer["recipients"]) - sum(answer.get("suppressed", {}).values())

    def wait(self, timeout_s: float) -> tuple[str, float]:
        """Poll until the send is done (or `timeout_s`); its status and seconds since POST."""
        assert self.send_id is not None, self.error
        deadline = time.monotonic() + timeout_s
        while True:
            summary = get(f"{self.base}/api/sends/{self.send_id}", self.token)
            if summary["status"] == "done" or time.monotonic() > deadline:
                return summary["status"], time.monotonic() - self.started
            time.sleep(0.5)

    def check(self, spool: Path, status: str, seconds: float,
              held_by_killed: set[str] | None = None) -> SendResult:
        assert self.send_id is not None, self.error
        rows = get(f"{self.base}/api/sends/{self.send_id}/recipients", self.token)["recipients"]
        ours = {r["message_id"].strip("<>"): r["address"] for r in rows}
        expected = {r["address"] for r in rows if r["state"] not in ("suppressed", "cancelled")}
        copies: collections.Counter[str] = collections.Counter()
        parser = BytesHeaderParser()
        for eml in spool.glob("*.eml"):
            with eml.open("rb") as f:
                message_id = (parser.parse(f)["Message-ID"] or "").strip().strip("<>")
            if message_id in ours:
                copies[ours[message_id]] += 1
        return SendResult(
            send_id=self.send_id, queued=self.queued, status=status, seconds=seconds,
            sent=sum(1 for r in rows if r["state"] == "sent"),
            delivered_once=sum(1 for a in expected if copies[a] == 1),
            lost=sorted(a for a in expected if copies[a] == 0),
            twice=sorted(a for a, n in copies.items() if n > 1),
            held_by_killed=held_by_killed or set())


def held_by(database_url: str, pid: int) -> tuple[set[str], int]:
    """Recipients whose attempt by the worker process `pid` never got its reply recorded (the
    reaper marks them lost): (their addresses, how many attempts)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(
                "SELECT r.address FROM delivery_attempts a JOIN send_recipients r "
                "ON r.id = a.recipient_id WHERE a.worker LIKE :owner "
                "AND a.outcome IN ('pending', 'lost')"), {"owner": f"%:{pid}:%"}).scalars().all()
    finally:
        engine.dispose()
    return set(found), len(found)


def sent_so_far(database_url: str, send_id: int) -> int:
    """Recipients of the send recorded as sent, read from the database (the API would wait in
    gunicorn's queue with the load)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM send_recipients WHERE send_id = :id AND state = 'sent'"),
                {"id": send_id}).scalar_one())
    finally:
        engine.dispose()
