"""A tracked send end to end: the demo organisation counted over EWS, one message per recipient
through an SMTP simulator over TCP, every recipient's fate recorded."""

from __future__ import annotations

import email
import email.policy

import pytest
from send_support import create, drain, records, relay_health, show

from rollcall.sending.model import State
from rollcall.sending.service import CountIncomplete, NoRelay, SendBlocked
from smtp_simulator import Rule, SmtpSimulator

PARTNERS = 14  # partners@contoso.com in the demo organisation


def test_each_recipient_gets_one_message_with_its_own_ids(sending, relay):
    services = sending()
    send = create(services, "partners@contoso.com")
    assert send.counts[State.QUEUED] == PARTNERS
    drain(services)
    done = show(services, send.id)
    assert done.status == "done" and done.counts[State.SENT] == PARTNERS
    assert done.finished_at is not None
    by_rcpt = {a.rcpt_to: a for a in relay.accepted}
    assert len(relay.accepted) == PARTNERS and all(len(a.rcpt_to) == 1 for a in relay.accepted)
    for address, record in records(services, send.id).items():
        accepted = by_rcpt[(address,)]
        message = email.message_from_bytes(accepted.data, policy=email.policy.SMTP)
        assert message["Message-ID"] == record.message_id  # the id support traces with
        assert record.remote_id == accepted.queue_id  # the relay's queue id, from its 250
        assert record.code == 250 and record.meaning
        token = record.message_id[1:].split(".")[0]
        assert accepted.mail_from == f"bounces+{token}@rollcall.contoso.com"  # VERP
        assert message["List-Unsubscribe"] == f"<https://localhost:3000/u/{token}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == "megan@contoso.com" and message["To"] == address
        assert b"\r\n" in accepted.data and b"\n" not in accepted.data.replace(b"\r\n", b"")


def test_a_greylisted_recipient_arrives_on_retry(sending, relay):
    relay.set_rules([Rule("*@fabrikam.com", "greylist", times=1)])
    services = sending()
    send = create(services, "partners@contoso.com")
    drain(services)
    found = records(services, send.id)
    greylisted = [r for a, r in found.items() if a.endswith("@fabrikam.com")]
    assert greylisted and all(r.state is State.SENT and r.attempts == 2 for r in greylisted)
    assert show(services, send.id).counts[State.SENT] == PARTNERS
    assert [c for a, c in relay.attempts if a.endswith("@fabrikam.com")].count(451) == \
        len(greylisted)


def test_a_rejected_recipient_fails_with_the_meaning(sending, relay):
    relay.set_rules([Rule("*@fabrikam.com", "reject")])
    services = sending()
    send = create(services, "partners@contoso.com")
    drain(services)
    rejected = [r for a, r in records(services, send.id).items() if a.endswith("@fabrikam.com")]
    assert rejected
    for r in rejected:
        assert r.state is State.FAILED and r.attempts == 1
        assert (r.stage, r.code, r.enhanced) == ("rcpt", 550, "5.1.1")
        assert "does not exist" in (r.meaning or "")
    summary = show(services, send.id)
    assert summary.to_json()["bounce_rate"] == round(len(rejected) / PARTNERS, 4)


def test_the_fallback_relay_takes_over_when_the_primary_is_down(sending, relay):
    down = SmtpSimulator().start()
    port = down.port
    down.stop()  # nothing listens there now
    services = sending(smtp_url=f"smtp://127.0.0.1:{port}", smtp_fallback_url=relay.url)
    send = create(services, "partners@contoso.com")
    drain(services)
    found = records(services, send.id)
    assert {r.relay for r in found.values()} == {"fallback"}
    assert all(r.state is State.SENT and r.attempts == 1 for r in found.values())
    primary = relay_health(services)  # its circuit is open, with the reason
    assert primary.state == "circuit_open" and "connect" in (primary.last_error or "")


def test_a_relay_that_is_down_charges_nobody_and_they_go_when_it_is_back(sending, relay):
    port = relay.port
    relay.stop()
    services = sending(send_lease_s=2.0)
    send = create(services, "partners@contoso.com")
    import threading

    from rollcall.bootstrap import send_worker

    worker = send_worker(services)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, True), daemon=True)
    thread.start()
    thread.join(1.5)
    assert all(r.attempts == 0 and r.state in (State.QUEUED, State.DEFERRED)
               for r in records(services, send.id).values())
    back = SmtpSimulator(port=port).start()
    try:
        from sqlalchemy import update

        from rollcall.store.outbox_models import RelayStateRow, SendRecipientRow
        from rollcall.store.queries import utcnow

        with services.sends.outbox.engine.begin() as conn:  # the circuit's pause, cut short
            conn.execute(update(RelayStateRow).values(until=None, state="active"))
            conn.execute(update(SendRecipientRow).values(next_attempt_at=utcnow()))
        thread.join(30)
        assert not thread.is_alive()
        assert show(services, send.id).counts[State.SENT] == PARTNERS
        assert len(back.accepted) == PARTNERS
    finally:
        stop.set()
        back.stop()


def test_an_incomplete_count_does_not_send_unless_the_caller_says_so(start_simulator, relay,
                                                                     tmp_path):
    from pathlib import Path

    from send_support import FAST

    from ews_simulator import load
    from rollcall.bootstrap import bootstrap
    from support import demo_config

    org = Path(__file__).parents[1] / "integration" / "count_org.yaml"
    sim, _ = start_simulator(load(org))  # big@contoso.com is more than Exchange expands
    services = bootstrap(demo_config(sim, ews_username="svc@contoso.com",
                                     ews_password="svc-pw", smtp_url=relay.url,
                                     instance_path=str(tmp_path), **FAST))
    with pytest.raises(CountIncomplete, match="incomplete"):
        create(services, "big@contoso.com")
    assert services.sends.records.sends() == []
    send = create(services, "big@contoso.com", allow_incomplete=True)
    assert send.counts[State.QUEUED] > 0  # the caller said so: the people found are queued


def test_the_send_checks_block_stops_the_send(sending):
    services = sending(policy_large_audience="block", policy_large_audience_max=5)
    with pytest.raises(SendBlocked) as blocked:
        create(services, "partners@contoso.com")
    assert blocked.value.verdict["action"] == "block"
    assert services.sends.records.sends() == []  # nothing was queued


def test_without_a_relay_the_send_is_refused_in_words(sending):
    services = sending(smtp_url=None)
    with pytest.raises(NoRelay, match="ROLLCALL_SMTP_URL"):
        create(services, "partners@contoso.com")


def test_opted_out_deleted_and_suppressed_people_are_not_queued(sending, relay):
    from rollcall.lists import operator

    services = sending()
    first = create(services, "partners@contoso.com")
    drain(services)
    people = sorted(records(services, first.id))
    # One unsubscribes through a message's link; the list store knows two more.
    token = records(services, first.id)[people[0]].message_id[1:].split(".")[0]
    assert services.sends.unsubscribe(token) == people[0]
    assert services.sends.unsubscribe(token) == people[0]  # idempotent
    store = services.store()
    store.create_list("Suppressed", "megan@contoso.com")
    for address in people[1:3]:
        store.add_contact("Suppressed", address, actor="test")
    store.set_opt_out(people[1], True, "test", operator())
    store.delete_contact(people[2], "test", who=operator())
    second = create(services, "partners@contoso.com")
    assert second.suppressed == {"unsubscribed": 1, "opted_out": 1, "deleted": 1}
    assert second.counts[State.QUEUED] == PARTNERS - 3
    drain(services)
    got = {a.rcpt_to[0] for a in relay.accepted[PARTNERS:]}
    assert got.isdisjoint(people[:3]) and len(got) == PARTNERS - 3


def test_a_message_that_cannot_be_built_fails_its_recipient_and_the_queue_moves_on(sending,
                                                                                  relay):
    from dataclasses import replace

    from rollcall.sending.model import NewRecipient, NewSend

    services = sending()
    # Stored before subjects were checked (or by another writer): a header with a line break.
    broken = NewSend(sender="megan@contoso.com", from_address="megan@contoso.com",
                     subject="Two\nlines", html="<p>x</p>", text=None, tracking="off",
                     base_url="https://rollcall.contoso.com", report={}, entries=("x",),
                     recipients=(NewRecipient("alex@contoso.com"),))
    bad = services.sends.outbox.create(broken, "contoso.com")
    good = services.sends.outbox.create(replace(broken, subject="One line"), "contoso.com")
    drain(services, timeout_s=30)
    failed = records(services, bad)["alex@contoso.com"]
    assert failed.state is State.FAILED and "could not build" in (failed.meaning or "")
    assert records(services, good)["alex@contoso.com"].state is State.SENT
    assert [a.rcpt_to for a in relay.accepted] == [("alex@contoso.com",)]


@pytest.mark.parametrize("subject", ["Hello\r\nBcc: everyone@contoso.com", "Tab\x07bell"])
def test_a_subject_that_would_break_the_header_is_refused_before_anything_is_queued(sending,
                                                                                   subject):
    from rollcall.errors import BadRequest

    services = sending()
    with pytest.raises(BadRequest) as refused:
        create(services, "partners@contoso.com", subject=subject)
    assert refused.value.code == "bad_subject"
    with pytest.raises(BadRequest):
        services.sends.test("megan@contoso.com", subject, None, "x")
    assert services.sends.records.sends() == []


def test_a_send_whose_relays_are_down_says_so(sending, relay):
    from send_support import run_for

    port = relay.port
    relay.stop()
    services = sending(smtp_url=f"smtp://127.0.0.1:{port}")
    send = create(services, "partners@contoso.com")
    run_for(services, 1.5)
    waiting = show(services, send.id)
    assert waiting.status == "sending" and waiting.relays == {}  # tried, nothing taken
    assert waiting.waiting and waiting.waiting.startswith("Mail is waiting: the primary relay "
                                                          "cannot be reached")
