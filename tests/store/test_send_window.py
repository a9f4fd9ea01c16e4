"""The send check's per-sender window in the database: restarts, processes, concurrent senders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from rollcall.store import ListStore, open_store
from rollcall.store.send_checks import SendLog, SentMessage
from support import demo_config, signed_in

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def keep(recipients: int) -> Any:
    """A decide() that records `recipients` and answers the window it saw."""
    return lambda earlier, now: (earlier, recipients)


def test_a_send_is_recorded_and_counted_in_the_window_until_it_leaves(store: ListStore):
    log = SendLog(store.engine)
    log.check("Megan@Contoso.com", "m1", HOUR, keep(14), now=NOW)
    assert log.window("megan@contoso.com", HOUR, NOW) == (SentMessage(NOW, 14),)
    assert log.window("megan@contoso.com", HOUR, NOW + timedelta(minutes=61)) == ()
    assert log.window("alex@contoso.com", HOUR, NOW) == ()


def test_checking_the_same_message_again_replaces_it_and_a_held_one_is_dropped(store: ListStore):
    log = SendLog(store.engine)
    log.check("megan@contoso.com", "m1", HOUR, keep(14), now=NOW)
    seen = log.check("megan@contoso.com", "m1", HOUR, keep(20), now=NOW + timedelta(minutes=1))
    assert seen == ()  # the message itself is left out of its own window
    later = NOW + timedelta(minutes=1)
    assert log.window("megan@contoso.com", HOUR, later) == (SentMessage(later, 20),)
    log.check("megan@contoso.com", "m1", HOUR, keep(None), now=later)  # now blocked
    assert log.window("megan@contoso.com", HOUR, later) == ()


def test_old_sends_are_pruned_when_the_sender_sends_again(store: ListStore):
    log = SendLog(store.engine)
    log.check("megan@contoso.com", "old", HOUR, keep(5), now=NOW - timedelta(hours=2))
    seen = log.check("megan@contoso.com", "new", HOUR, keep(7), now=NOW)
    assert seen == ()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM send_checks")).scalar() == 1


def test_the_window_survives_reopening_the_database(db_url: str, tmp_path: Path):
    first = open_store(db_url, str(tmp_path))
    SendLog(first.engine).check("megan@contoso.com", "m1", HOUR, keep(14), now=NOW)
    first.close()
    second = open_store(db_url, str(tmp_path))
    try:
        assert SendLog(second.engine).window("megan@contoso.com", HOUR, NOW) == (
            SentMessage(NOW, 14),)
    finally:
        second.close()


def test_concurrent_checks_of_one_sender_never_slip_past_the_limit(db_url: str, tmp_path: Path):
    # Each "process" has its own engine; without the per-sender lock two of them could each read
    # a window under the limit and both record.
    stores = [open_store(db_url, str(tmp_path)) for _ in range(4)]
    admitted: list[str] = []
    start = threading.Barrier(8)

    def send(i: int) -> None:
        log = SendLog(stores[i % 4].engine)
        start.wait()

        def decide(earlier: tuple[SentMessage, ...], now: datetime) -> tuple[bool, int | None]:
            ok = sum(s.recipients for s in earlier) + 100 <= 300
            return ok, 100 if ok else None

        if log.check("megan@contoso.com", f"m{i}", HOUR, decide):
            admitted.append(f"m{i}")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(admitted) == 3
        window = SendLog(stores[0].engine).window("megan@contoso.com", HOUR)
        assert sum(s.recipients for s in window) == 300
    finally:
        for s in stores:
            s.close()


def test_the_hourly_limit_holds_across_two_app_instances(demo_simulator: Any, db_url: str,
                                                         tmp_path: Path):
    sim, _ = demo_simulator

    def app() -> Any:
        config = demo_config(sim, instance_path=str(tmp_path), database_url=db_url,
                             policy_per_hour_max=20, policy_external="off")
        return signed_in(config)

    partners = [{"displayName": "Partners", "emailAddress": "partners@contoso.com"}]
    first = app().post("/api/validate", json={"recipients": partners, "subject": "One"})
    assert first.get_json()["action"] == "allow", first.get_json()
    restarted = app()  # a second process, or the same server after a restart
    second = restarted.post("/api/validate", json={"recipients": partners, "subject": "Two"})
    verdict = second.get_json()
    assert verdict["action"] == "block"
    assert [f["rule"] for f in verdict["findings"]] == ["per_hour"]
    assert "You sent to 14 people in the last hour" in verdict["message"]
    # The first message checked again replaces its own record rather than adding to it.
    again = restarted.post("/api/validate", json={"recipients": partners, "subject": "One"})
    assert again.get_json()["action"] == "allow"
