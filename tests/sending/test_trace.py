"""Tracing a copy end to end: sends to the demo organisation's partners through an SMTP
simulator (greylisting one address, refusing another), drained by a real worker, then found
again in SQLite by Message-ID, the relay's queue id or the address."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from send_support import create, drain, records

from rollcall.sending.trace_advice import support_text
from rollcall.store.send_records import SendRecords
from rollcall.store.trace import Traces
from smtp_simulator import Rule

OK = "nancy.davolio@northwind.example"
GREY = "kim.abercrombie@fabrikam.com"  # 451 4.7.1 once, then accepted
GONE = "jon.morris@fabrikam.com"  # 550 5.1.1 every time


@pytest.fixture
def sent(sending, relay):
    """(services, traces, the drained send) with one greylisted and one refused partner."""
    relay.set_rules([Rule(GREY, "greylist"), Rule(GONE, "reject")])
    services = sending()
    send = create(services, "partners@contoso.com")
    drain(services)
    return services, Traces(services.sends.outbox.engine), send


def kinds(trace):
    return [e.kind for e in trace.events]


def test_a_message_id_finds_that_copy_alone_with_or_without_brackets(sent, relay):
    services, traces, send = sent
    record = records(services, send.id)[OK]
    queue_id = next(a.queue_id for a in relay.accepted if a.rcpt_to == (OK,))
    for query in (record.message_id, record.message_id.strip("<>"),
                  f"Message-ID: {record.message_id}"):
        [trace] = traces.find(query)
        assert (trace.address, trace.send_id, trace.state) == (OK, send.id, "sent")
        assert trace.message_id == record.message_id and trace.remote_id == queue_id
        assert kinds(trace) == ["queued", "attempt", "sent"]
        attempt, went = trace.events[1:]
        assert (attempt.relay, attempt.stage, attempt.code) == ("primary", "data", 250)
        assert attempt.worker and attempt.meaning == "Accepted."
        assert went.text == queue_id and queue_id in (went.meaning or "")
        assert trace.last_reply == f"250 2.0.0 Ok: queued as {queue_id}"
        assert trace.relay == "primary" and trace.attempts == 1


def test_the_relays_queue_id_finds_the_copy_it_took(sent, relay):
    services, traces, send = sent
    taken = next(a for a in relay.accepted if a.rcpt_to == (OK,))
    [trace] = traces.find(taken.queue_id)
    assert trace.address == OK and trace.remote_id == taken.queue_id
    assert traces.find(taken.queue_id.lower()) == []  # queue ids are exact


def test_an_address_finds_every_send_newest_first_and_a_send_id_narrows(sent):
    services, traces, first = sent
    second = create(services, "partners@contoso.com", subject="Second update")
    drain(services)
    found = traces.find(OK.upper())  # addresses match whatever their case
    assert [(t.send_id, t.subject) for t in found] == [(second.id, "Second update"),
                                                       (first.id, "Quarterly update")]
    assert [t.send_id for t in traces.find(OK, send_id=first.id)] == [first.id]
    assert traces.find(OK, send_id=second.id + 1) == []
    assert len(traces.find(OK, limit=1)) == 1


def test_a_greylisted_copy_shows_the_deferral_then_the_acceptance(sent):
    services, traces, send = sent
    [trace] = traces.find(GREY)
    assert kinds(trace) == ["queued", "attempt", "deferred", "attempt", "sent"]
    greylisted, accepted = trace.events[1], trace.events[3]
    assert (greylisted.stage, greylisted.code, greylisted.enhanced) == ("rcpt", 451, "4.7.1")
    assert "greylisting" in (greylisted.meaning or "")
    assert "again later" in (trace.events[2].meaning or "")
    assert (accepted.code, accepted.meaning) == (250, "Accepted.")
    assert trace.state == "sent" and trace.attempts == 2 and trace.remote_id
    assert [e.at for e in trace.events] == sorted(e.at for e in trace.events)


def test_a_refused_copy_shows_the_failure_and_that_the_relay_never_took_it(sent):
    services, traces, send = sent
    [trace] = traces.find(GONE)
    assert kinds(trace) == ["queued", "attempt", "failed"]
    refused = trace.events[1]
    assert (refused.stage, refused.code, refused.enhanced) == ("rcpt", 550, "5.1.1")
    assert "does not exist" in (refused.meaning or "")
    assert "Refused for good" in (trace.events[2].meaning or "")
    assert trace.remote_id is None and trace.sent_at is None
    assert (trace.last_reply or "").startswith("550 5.1.1")
    first, *rest = trace.to_json()["next_steps"]
    assert "never took" in first["why"] and trace.last_reply in first["why"]
    assert GONE in first["command"]
    assert "Exchange Online" not in [s["where"] for s in rest]  # it never got that far
    assert trace.to_json()["support_report"]["remote_id"] == "none (the relay did not take it)"


def test_an_unknown_query_finds_nothing(sent):
    _, traces, send = sent
    for query in ("nobody@nowhere.example", "<nothing@rollcall.contoso.com>", "NOSUCHID"):
        assert traces.find(query) == []
    with pytest.raises(ValueError, match="Type a Message-ID"):
        traces.find("   ")
    with pytest.raises(ValueError, match="too long"):
        traces.find("x" * 321)


def test_the_support_report_carries_every_field(sent, relay):
    services, traces, send = sent
    [trace] = traces.find(OK)
    trace = replace(trace, relay_label=f"127.0.0.1:{relay.port}")  # as the service fills it
    report = trace.to_json()["support_report"]
    assert trace.sent_at is not None
    assert report == {
        "date": trace.sent_at.strftime("%Y-%m-%d"), "time": trace.sent_at.strftime("%H:%M:%S"),
        "recipient": OK, "recipient_domain": "northwind.example",
        "sending_method": f"Rollcall tracked send via primary relay 127.0.0.1:{relay.port}",
        "message_id": trace.message_id, "remote_id": trace.remote_id,
        "last_reply": trace.last_reply, "state": "sent"}
    assert list(report) == ["date", "time", "recipient", "recipient_domain", "sending_method",
                            "message_id", "remote_id", "last_reply", "state"]
    assert f"Message-ID: {trace.message_id}\n" in support_text(trace)
    body = json.loads(json.dumps(trace.to_json()))  # the API answers it as it is
    assert [s["where"] for s in body["next_steps"]] == ["Exchange Online",
                                                         "Exchange on premises", "Postfix"]
    assert trace.message_id in body["next_steps"][0]["command"]
    assert trace.remote_id in body["next_steps"][2]["command"]


def test_an_unsubscribe_an_open_and_the_next_sends_suppression_are_in_the_history(sent):
    services, traces, first = sent
    token = records(services, first.id)[OK].message_id[1:].split(".")[0]
    assert services.sends.unsubscribe(token) == OK
    store = SendRecords(services.sends.outbox.engine)
    found = store.by_token(token)
    assert found is not None
    store.tracking_event(first.id, found[1], "open", None, "human", "192.0.2.0/24")
    store.tracking_event(first.id, found[1], "click", 0, "scanner", "192.0.2.0/24")
    [trace] = traces.find(OK, send_id=first.id)
    assert kinds(trace) == ["queued", "attempt", "sent", "unsubscribed", "opened", "clicked"]
    assert "scanner" in (trace.events[-1].meaning or "")
    second = create(services, "partners@contoso.com", subject="Second update")
    [later] = traces.find(OK, send_id=second.id)
    assert kinds(later) == ["suppressed"] and later.events[0].text == "unsubscribed"
    assert [s["where"] for s in later.to_json()["next_steps"]] == ["Rollcall"]


def test_a_copy_being_sent_shows_its_attempt_in_progress(sending):
    services = sending()
    send = create(services, OK)
    outbox = services.sends.outbox
    [claimed] = outbox.claim("test-worker", "primary", 1, 60, 1000, 1000)
    [trace] = Traces(outbox.engine).find(claimed.message_id)
    assert trace.state == "sending" and kinds(trace) == ["queued", "attempt"]
    assert trace.events[1].worker == "test-worker"
    assert "no reply" in (trace.events[1].meaning or "")
    assert trace.to_json()["next_steps"][0]["command"] == f"rollcall send show {send.id}"
