"""The send check answers by its deadline whatever Exchange or the database do: here Exchange
accepts connections and never answers, and another writer holds SQLite's write lock. Each test
checks the order of events (the verdict came while the hang or the lock still held), not times.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import demo_config, rollcall_app, signed_in

ALL_STAFF = {"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}


class HungExchange:
    """Accepts every connection and reads the request, then answers nothing until released."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/EWS/Exchange.asmx"
        self.released = threading.Event()
        self.held = 0
        self.abandoned = 0  # connections the client closed: it waited for its own timeout
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with self.lock:
            self.held += 1
        conn.settimeout(0.2)
        while not self.released.is_set():
            try:
                if conn.recv(65536) == b"":  # the client gave up: its own timeout ran out
                    with self.lock:
                        self.abandoned += 1
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        conn.close()

    def close(self) -> None:
        self.released.set()
        self.server.close()


@pytest.fixture
def hung() -> Iterator[HungExchange]:
    exchange = HungExchange()
    yield exchange
    exchange.close()


def test_a_hung_exchange_gets_a_verdict_not_a_wait(hung: HungExchange, tmp_path: Any) -> None:
    from rollcall.counting.workers import CONNECT_THREADS, DIRECTORY_THREADS

    config = demo_config(type("Sim", (), {"url": hung.url})(), instance_path=str(tmp_path),
                         validate_deadline_s=1.0)
    client = signed_in(rollcall_app(config))
    before = threading.active_count()
    for _ in range(12):
        answer = client.post("/api/validate", json={"recipients": [ALL_STAFF]})
        verdict = answer.get_json()
        assert answer.status_code == 200 and verdict["action"] == "warn"
        assert "cannot say who will receive it" in verdict["message"]
    # Every verdict came while Exchange still held its connections unanswered: no request had
    # reached its own timeout (the count's deadline, 20 s here), so nobody waited for one.
    assert hung.held >= 1 and hung.abandoned == 0
    # Hung calls hold threads of the shared pools, never a new pool per check.
    grown = threading.active_count() - before
    assert grown <= CONNECT_THREADS + DIRECTORY_THREADS + 8


def test_a_held_write_lock_does_not_hold_the_verdict(demo_simulator: Any, tmp_path: Any,
                                                     caplog: Any) -> None:
    sim, _ = demo_simulator
    config = demo_config(sim, instance_path=str(tmp_path))
    client = signed_in(rollcall_app(config))
    # A first check creates the database and warms the cache.
    assert client.post("/api/validate", json={"recipients": [ALL_STAFF]}).status_code == 200
    database = Path(tmp_path) / "rollcall.db"
    assert database.exists()
    holder = sqlite3.connect(database, timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # a long import's write transaction, say
    try:
        answer = client.post("/api/validate", json={"recipients": [ALL_STAFF],
                                                    "subject": "held"})
        assert answer.status_code == 200 and answer.get_json()["action"] in ("allow", "warn")
        assert holder.in_transaction  # the lock was still held when the verdict came
    finally:
        holder.rollback()
        holder.close()
    assert "checking without the hourly rule" in caplog.text


def test_imports_are_rate_limited_per_person(demo_simulator: Any, tmp_path: Any) -> None:
    sim, _ = demo_simulator
    app = rollcall_app(demo_config(sim, instance_path=str(tmp_path)))
    megan, alex = signed_in(app), signed_in(app, "alex@contoso.com")
    csv = b"email,name\r\nann@fabrikam.com,Ann\r\n"
    answers = [megan.post(f"/api/lists/L{i}/import", data=csv, content_type="text/csv")
               for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) >= 1
    # Another person is not held back by Megan's imports.
    assert alex.post("/api/lists/Mine/import", data=csv,
                     content_type="text/csv").status_code == 200
