"""Server information's SMTP verdict and section, from numbers alone: each state in the words
support uses, the time to finish, and what the JSON never says (negative budgets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rollcall.sending.model import SendSummary, Status
from rollcall.sending.queue_view import ActiveSend, QueueView, RelayView, Switch

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
RUNNING = Switch(True)


def relay(state: str = "active", **more: Any) -> RelayView:
    values: dict[str, Any] = dict(
        name="primary", label="relay.contoso.com:587", state=state, until=None, reason=None,
        last_error=None, last_ok_at=None, down_since=None, tls=True, authenticated=True,
        sent_5m=0, sent_60m=0, budget_hour=416, limit_hour=416)
    values.update(more)
    return RelayView(**values)


def send(counts: dict[str, int], paused: bool = False, sent_5m: int = 0) -> ActiveSend:
    summary = SendSummary(
        id=7, sender="megan@contoso.com", from_address="megan@contoso.com", subject="Q3",
        status=Status.PAUSED if paused else Status.SENDING, recipients=sum(counts.values()),
        counts=counts, suppressed={}, created_at=NOW, finished_at=None, last_sent_at=None,
        relays={}, paused={"by": "megan@contoso.com", "at": None, "reason": None}
        if paused else None)
    return ActiveSend(summary, sent_5m)


def view(pending: dict[str, int] | None = None, recent: dict[str, int] | None = None,
         relays: tuple[RelayView, ...] = (), sends: tuple[ActiveSend, ...] = (),
         switch: Switch = RUNNING, configured: bool = True) -> QueueView:
    return QueueView(switch=switch, pending=pending or {}, recent=recent or {},
                     oldest_pending_at=None, relays=relays or (relay(),), sends=sends,
                     configured=configured)


def test_messages_waiting_on_a_working_relay_are_still_sending():
    assert view({"queued": 12, "deferred": 1}).verdict(NOW) == {
        "level": "ok", "text": "13 messages still queued: still sending, recipients will "
        "receive their copy soon."}
    assert view({"sending": 1}).verdict(NOW)["text"].startswith("1 message still queued")


def test_an_empty_queue_is_all_delivered_unless_some_failed_recently():
    assert view(recent={"sent": 40}).verdict(NOW) == {
        "level": "ok", "text": "Queue empty and all delivered."}
    assert view(recent={"sent": 40, "failed": 2, "bounced": 1}).verdict(NOW) == {
        "level": "warning", "text": "Queue empty but 3 recipients failed or bounced in the last "
        "24 hours: see them in their sends' recipients."}


def test_cancelled_recipients_are_not_called_delivered():
    assert view(recent={"sent": 40, "cancelled": 1}).verdict(NOW)["text"] == (
        "Queue empty: all sent were delivered (1 more was cancelled before sending).")
    assert view(recent={"failed": 1, "cancelled": 3}).verdict(NOW)["text"].endswith(
        "see them in their sends' recipients (3 more were cancelled before sending).")


def test_a_relay_down_with_mail_waiting_says_since_when():
    down = relay("circuit_open", until=NOW + timedelta(minutes=2),
                 down_since=datetime(2026, 12, 2, 9, 12, tzinfo=UTC))
    assert view({"queued": 5}, relays=(down,)).verdict(NOW) == {
        "level": "error", "text": "Relay unreachable since 09:12 UTC: mail is waiting "
        "(5 messages)."}
    # The fallback still takes mail: nothing is stuck.
    fallback = relay(name="fallback")
    assert view({"queued": 5}, relays=(down, fallback)).verdict(NOW)["level"] == "ok"
    # A circuit whose wait is over is tried again: not "down".
    over = relay("circuit_open", until=NOW - timedelta(seconds=1), down_since=NOW)
    assert view({"queued": 5}, relays=(over,)).verdict(NOW)["level"] == "ok"


def test_a_relay_refusing_rollcall_says_why():
    paused = relay("paused", until=NOW + timedelta(minutes=15), down_since=NOW,
                   reason="the relay refused Rollcall's credentials")
    verdict = view({"queued": 2}, relays=(paused,)).verdict(NOW)
    assert verdict["text"] == ("Relay refusing Rollcall since 09:30 UTC (the relay refused "
                               "Rollcall's credentials): 2 messages waiting.")


def test_stopped_names_who_when_and_why_before_anything_else():
    stopped = Switch(False, "isaiah@contoso.com", datetime(2026, 12, 2, 8, 5, tzinfo=UTC),
                     "relay maintenance")
    down = relay("circuit_open", until=NOW + timedelta(minutes=2), down_since=NOW)
    assert view({"queued": 3}, relays=(down,), switch=stopped).verdict(NOW) == {
        "level": "warning", "text": "The SMTP service is stopped by isaiah@contoso.com at 08:05 "
        "UTC (relay maintenance): 3 messages waiting, nothing is sent until it is started."}


def test_only_paused_sends_waiting_is_said():
    paused = send({"queued": 4}, paused=True)
    assert view({"queued": 4}, sends=(paused,)).verdict(NOW)["text"] == (
        "4 messages queued in paused sends: nothing goes out until they are resumed.")


def test_no_relay_configured_is_an_error():
    assert view(configured=False).verdict(NOW)["level"] == "error"


def test_the_time_to_finish_follows_the_last_five_minutes():
    going = send({"sent": 60, "queued": 90}, sent_5m=60)  # 12 a minute: 90 left is 7.5 min
    assert going.eta_s == 450
    assert send({"queued": 10}).eta_s is None  # nothing moved yet
    assert send({"sent": 10}).eta_s == 0
    section = going.to_json()
    assert (section["to_send"], section["done"], section["remaining"]) == (150, 60, 90)
    assert section["progress"] == 0.4 and section["per_minute"] == 12.0


def test_a_budget_overspent_by_a_lowered_limit_shows_none_left():
    assert relay(budget_hour=-20).to_json()["budget_hour"] == 0
    assert relay(state="unknown").reachable is None
    assert relay(state="circuit_open").reachable is False
