"""The SMTP service's controls against a real relay (the SMTP simulator over TCP) and SQLite:
STOP holds every claim, START goes on, EMPTY cancels exactly what waited, a send is paused,
resumed, cancelled and retried, each change audited, and only the right people may do each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from send_support import FAST, create, drain, records, run_for, show

from smtp_simulator import SmtpSimulator
from support import demo_config, rollcall_app, signed_in

PARTNERS = "partners@contoso.com"  # 14 people, three of them at fabrikam.com
PARTNERS_JSON = [{"displayName": "External Partners", "emailAddress": PARTNERS}]
BODY = {"recipients": PARTNERS_JSON, "subject": "Quarterly update", "text": "Hello"}
ADMIN = "isaiah@contoso.com"  # the demo's Rollcall administrator


def audit(services: Any) -> list[Any]:
    from rollcall.lists import operator

    return services.lists.audit(operator())


def test_stop_holds_every_claim_and_start_goes_on(sending, relay):
    from rollcall.lists import operator

    services = sending()
    send = create(services, PARTNERS)
    services.controls.stop(operator("ops"), "relay maintenance")
    assert services.sends.outbox.claim("w", "primary", 25, 60, 1000, 1000) == []
    run_for(services, 1.5)
    assert relay.accepted == [] and relay.connections == 0
    held = show(services, send.id)
    assert held.status.value == "stopped"
    assert "stopped by cli:ops" in held.waiting and "relay maintenance" in held.waiting
    section = services.controls.status()
    assert section["service"]["state"] == "stopped"
    assert section["verdict"]["level"] == "warning"
    assert "stopped by cli:ops" in section["verdict"]["text"]
    assert "14 messages waiting" in section["verdict"]["text"]

    services.controls.start(operator("ops"), None)
    drain(services)
    assert len(relay.accepted) == 14
    assert show(services, send.id).status.value == "done"
    events = [(e.action, e.actor) for e in audit(services)]
    assert ("queue.stopped", "cli:ops") in events and ("queue.started", "cli:ops") in events
    assert services.controls.status()["verdict"]["text"] == "Queue empty and all delivered."


def test_a_stop_lets_a_worker_finish_what_it_holds(sending, relay):
    from rollcall.lists import operator

    services = sending()
    send = create(services, PARTNERS)
    held = services.sends.outbox.claim("w", "primary", 5, 60, 1000, 1000)
    services.controls.stop(operator(), None)
    assert services.sends.outbox.claim("w2", "primary", 25, 60, 1000, 1000) == []
    counts = show(services, send.id).counts
    assert counts["sending"] == 5 and counts["queued"] == 9  # what was held stays held
    assert len(held) == 5


def test_empty_cancels_exactly_what_waited_and_keeps_every_row(sending, relay):
    from rollcall.lists import operator
    from smtp_simulator import Rule

    relay.set_rules([Rule("*@fabrikam.com", "defer")])
    services = sending(send_retry_s=(3600,))
    first = create(services, PARTNERS)
    run_for(services, 2)
    before = records(services, first.id)
    sent = {a for a, r in before.items() if r.state.value == "sent"}
    deferred = {a for a, r in before.items() if r.state.value == "deferred"}
    assert len(sent) == 11 and len(deferred) == 3
    services.controls.stop(operator(), "before emptying")
    second = create(services, "alex@contoso.com", "megan@contoso.com")
    cancelled = services.controls.empty(operator("ops"), "wrong list", send_id=first.id)
    assert cancelled == 3
    after = records(services, first.id)
    assert len(after) == 14  # nothing deleted
    assert {a for a, r in after.items() if r.state.value == "cancelled"} == deferred
    assert {a for a, r in after.items() if r.state.value == "sent"} == sent
    done = show(services, first.id)
    assert done.status.value == "cancelled" and done.finished_at is not None
    # The other send was not touched by an EMPTY of the first.
    assert show(services, second.id).counts["queued"] == 2
    assert services.controls.empty(operator(), None) == 2  # then everything else
    assert show(services, second.id).counts["cancelled"] == 2
    assert show(services, second.id).status.value == "cancelled"
    services.controls.start(operator(), None)
    assert services.controls.status()["verdict"]["text"] == (
        "Queue empty: all sent were delivered (5 more were cancelled before sending).")
    emptied = [e for e in audit(services) if e.action == "queue.emptied"]
    assert [e.detail["cancelled"] for e in emptied] == [2, 3]
    assert emptied[1].detail == {"reason": "wrong list", "send": first.id, "cancelled": 3}


def test_pause_resume_and_cancel_a_send(sending, relay):
    from rollcall.lists import operator

    services = sending()
    send = create(services, PARTNERS)
    services.controls.pause(send.id, operator("ops"), "checking the list")
    run_for(services, 1.5)
    assert relay.accepted == []
    paused = show(services, send.id)
    assert paused.status.value == "paused" and paused.paused["by"] == "cli:ops"
    assert "checking the list" in paused.waiting
    services.controls.resume(send.id, operator("ops"), None)
    drain(services)
    assert len(relay.accepted) == 14
    from rollcall.sending.control import NotNow

    with pytest.raises(NotNow, match="is done"):
        services.controls.pause(send.id, operator(), None)
    later = create(services, PARTNERS)
    assert services.controls.cancel(later.id, operator(), "sent by mistake") == 14
    gone = show(services, later.id)
    assert gone.status.value == "cancelled" and gone.counts["cancelled"] == 14
    with pytest.raises(NotNow, match="cancelled"):
        services.controls.resume(later.id, operator(), None)
    actions = [e.action for e in audit(services)]
    for action in ("send.paused", "send.resumed", "send.cancelled"):
        assert action in actions


def test_retry_brings_back_recipients_that_gave_up_on_deferrals(sending, relay):
    from rollcall.lists import operator
    from smtp_simulator import Rule

    relay.set_rules([Rule("*@fabrikam.com", "defer")])
    services = sending(send_retry_s=(0.2,), send_expire_s=1.0)
    send = create(services, PARTNERS)
    drain(services)
    failed = {a: r for a, r in records(services, send.id).items() if r.state.value == "failed"}
    assert len(failed) == 3 and all("Gave up" in (r.meaning or "") for r in failed.values())
    assert show(services, send.id).finished_at is not None
    relay.set_rules([])
    assert services.controls.retry(send.id, operator(), "relay fixed") == 3
    assert show(services, send.id).finished_at is None
    drain(services)
    assert all(r.state.value == "sent" for r in records(services, send.id).values())


def test_retry_leaves_a_bad_address_failed(sending, relay):
    from rollcall.lists import operator
    from smtp_simulator import Rule

    relay.set_rules([Rule("*@fabrikam.com", "reject")])
    services = sending()
    send = create(services, PARTNERS)
    drain(services)
    assert services.controls.retry(send.id, operator(), None) == 0
    assert show(services, send.id).counts["failed"] == 3


# -- the API: admins, senders and everyone else ------------------------------------------------


@pytest.fixture
def app(demo_simulator: Any, relay: Any, tmp_path: Any) -> Any:
    config = demo_config(demo_simulator[0], instance_path=str(tmp_path / "instance"),
                         smtp_url=relay.url, **FAST)
    return rollcall_app(config)


@pytest.mark.parametrize("path", ["/api/admin/queue/stop", "/api/admin/queue/start",
                                  "/api/admin/queue/empty"])
def test_only_administrators_may_use_the_queue_controls(app, path):
    megan = signed_in(app)
    answer = megan.post(path, json={"reason": "mine"})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert not [e for e in audit(app.extensions["rollcall"]) if e.action.startswith("queue.")]
    assert signed_in(app, ADMIN).post(path, json={}).status_code == 200


def test_the_queue_controls_answer_the_section_and_record_who(app):
    admin = signed_in(app, ADMIN)
    stopped = admin.post("/api/admin/queue/stop", json={"reason": "relay maintenance"})
    section = stopped.get_json()
    assert section["service"] == {"state": "stopped", "changed_by": ADMIN,
                                  "reason": "relay maintenance",
                                  "changed_at": section["service"]["changed_at"]}
    status = admin.get("/api/admin/status").get_json()["smtp"]
    assert status["ok"] is True and status["service"]["state"] == "stopped"
    started = admin.post("/api/admin/queue/start").get_json()  # no body at all
    assert started["service"]["state"] == "running"
    bad = admin.post("/api/admin/queue/stop", json={"reason": "x" * 501})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_reason"
    bad = admin.post("/api/admin/queue/empty", json={"send_id": "7"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_send_id"
    missing = admin.post("/api/admin/queue/empty", json={"send_id": 999})
    assert missing.status_code == 404


def test_a_sender_may_pause_and_cancel_their_own_send_only(app):
    megan, alex = signed_in(app), signed_in(app, "alex@contoso.com")
    send = megan.post("/api/sends", json=BODY).get_json()
    for action in ("pause", "resume", "cancel", "retry"):
        theirs = alex.post(f"/api/sends/{send['id']}/{action}", json={})
        assert theirs.status_code == 404, action
    paused = megan.post(f"/api/sends/{send['id']}/pause", json={"reason": "typo"})
    assert paused.status_code == 200
    assert paused.get_json()["status"] == "paused"
    assert paused.get_json()["paused"]["by"] == "megan@contoso.com"
    again = megan.post(f"/api/sends/{send['id']}/pause")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "send_state"
    assert megan.post(f"/api/sends/{send['id']}/resume").get_json()["status"] == "queued"
    retry = megan.post(f"/api/sends/{send['id']}/retry")
    assert retry.status_code == 403  # retrying is an administrator's
    cancelled = megan.post(f"/api/sends/{send['id']}/cancel", json={"reason": "wrong list"})
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["changed"] == 14


def test_a_sender_cannot_resume_what_an_administrator_paused(app):
    megan, admin = signed_in(app), signed_in(app, ADMIN)
    send = megan.post("/api/sends", json=BODY).get_json()
    assert admin.post(f"/api/sends/{send['id']}/pause",
                      json={"reason": "reputation check"}).status_code == 200
    refused = megan.post(f"/api/sends/{send['id']}/resume")
    assert refused.status_code == 403
    assert ADMIN in refused.get_json()["error"]["message"]
    shown = megan.get(f"/api/sends/{send['id']}").get_json()
    assert shown["waiting"].startswith(f"Paused by {ADMIN} at ")
    assert "reputation check" in shown["waiting"]
    assert admin.post(f"/api/sends/{send['id']}/resume").status_code == 200


def test_the_section_shows_relays_queue_and_the_sends_going(app, relay):
    services = app.extensions["rollcall"]
    megan, admin = signed_in(app), signed_in(app, ADMIN)
    send = megan.post("/api/sends", json=BODY).get_json()
    queued = admin.get("/api/admin/status").get_json()["smtp"]
    assert queued["verdict"] == {"level": "ok", "text": "14 messages still queued: still "
                                 "sending, recipients will receive their copy soon."}
    assert queued["queue"]["pending"]["queued"] == 14
    assert queued["queue"]["oldest_pending_s"] is not None
    (going,) = queued["sends"]
    assert (going["id"], going["to_send"], going["done"], going["remaining"]) == (
        send["id"], 14, 0, 14)
    assert going["eta_s"] is None  # nothing moved yet: no pace to go by
    (primary,) = queued["relays"]
    assert primary["name"] == "primary" and primary["state"] == "unknown"
    assert primary["label"] == f"127.0.0.1:{relay.port}"
    drain(services)
    done = admin.get("/api/admin/status").get_json()["smtp"]
    assert done["verdict"]["text"] == "Queue empty and all delivered."
    (primary,) = done["relays"]
    assert primary["state"] == "active" and primary["reachable"] is True
    assert primary["tls"] is False and primary["authenticated"] is False
    assert primary["per_minute_5m"] == pytest.approx(14 / 5)
    assert primary["budget_hour"] == FAST["send_rate_per_hour"] - 14
    last_ok = datetime.fromisoformat(primary["last_ok_at"])
    assert (datetime.now(UTC) - last_ok).total_seconds() < 60
    assert done["sends"] == []


def test_the_verdict_says_when_the_relay_is_down_and_mail_waits(app, relay):
    services = app.extensions["rollcall"]
    megan, admin = signed_in(app), signed_in(app, ADMIN)
    megan.post("/api/sends", json=BODY)
    relay.stop()
    run_for(services, 1.5)
    section = admin.get("/api/admin/status").get_json()["smtp"]
    assert section["verdict"]["level"] == "error"
    assert section["verdict"]["text"].startswith("Relay unreachable since ")
    assert section["verdict"]["text"].endswith("mail is waiting (14 messages).")
    (primary,) = section["relays"]
    assert primary["reachable"] is False and primary["down_since"]
    assert "refused" in primary["last_error"]


def test_the_verdict_points_at_failures_once_the_queue_is_empty(app, relay):
    from smtp_simulator import Rule

    relay.set_rules([Rule("*@fabrikam.com", "reject")])
    megan, admin = signed_in(app), signed_in(app, ADMIN)
    megan.post("/api/sends", json=BODY)
    drain(app.extensions["rollcall"])
    section = admin.get("/api/admin/status").get_json()["smtp"]
    assert section["verdict"] == {"level": "warning", "text": (
        "Queue empty but 3 recipients failed or bounced in the last 24 hours: see them in their "
        "sends' recipients.")}


def test_a_trace_says_what_a_relay_that_went_down_said(sending, relay):
    """A copy handed back because its relay failed keeps the relay's words in its attempt."""
    from rollcall.lists import operator
    from smtp_simulator import Rule

    relay.set_rules([Rule("alex@contoso.com", "throttle")])
    services = sending()
    send = create(services, "alex@contoso.com")
    run_for(services, 1.5)
    found = services.diagnostics.trace(operator(), "alex@contoso.com", send.id)
    (trace,) = found["traces"]
    attempts = [e for e in trace["events"] if e["kind"] == "attempt"]
    assert attempts and attempts[0]["code"] == 421
    assert "no attempt was charged" in attempts[0]["meaning"]


def _worker_thread(services: Any) -> tuple[Any, Any, Any]:
    import threading

    from rollcall.bootstrap import send_worker

    worker = send_worker(services)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return worker, stop, thread


def _wait(check: Any, timeout_s: float = 20) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("control", ["stop", "pause", "cancel"])
def test_a_control_reaches_the_copies_a_worker_already_holds(sending, control):
    """One connection holds the whole send in one batch; a slow relay takes a copy every
    0.3 s. The control lands within a copy or two, not after the batch."""
    import time

    from rollcall.lists import operator

    with SmtpSimulator(slow_ms=100) as slow:
        services = sending(smtp_url=slow.url, send_connections=1)
        send = create(services, PARTNERS)
        _, stop, thread = _worker_thread(services)
        try:
            _wait(lambda: len(slow.accepted) >= 1)
            if control == "stop":
                services.controls.stop(operator(), "now")
            else:
                getattr(services.controls, control)(send.id, operator(), "now")
            time.sleep(1.5)
            held = len(slow.accepted)
            time.sleep(1.5)
            assert len(slow.accepted) == held < 6  # HOLD_CHECK_S: at most a copy or two more
            counts = show(services, send.id).counts
            assert counts.get("sending", 0) == 0  # given back, not left leased
            if control == "cancel":
                assert counts["cancelled"] == 14 - held
                assert show(services, send.id).finished_at is not None
            else:
                assert counts.get("queued", 0) + counts.get("deferred", 0) == 14 - held
        finally:
            stop.set()
            thread.join(10)
