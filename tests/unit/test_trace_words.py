"""Tracing's pure side: what a query is, a copy's history from its rows, the commands to run
next, and the support report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollcall.sending.trace import (
    Attempt,
    Engagement,
    Listed,
    QueryKind,
    Trace,
    TraceEvent,
    history,
    message_id_form,
    query_kinds,
    reply_line,
)
from rollcall.sending.trace_advice import next_steps, support_report, support_text

T0 = datetime(2025, 6, 13, 9, 0, 0, tzinfo=UTC)
MID = "<3f2a.7@rollcall.contoso.com>"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def trace(**changes: Any) -> Trace:
    base = Trace(send_id=7, subject="Quarterly update", sender="megan@contoso.com", test=False,
                 address="Nancy.Davolio@Northwind.example", state="sent", message_id=MID,
                 remote_id="4BXKZ12QJ", relay="primary", attempts=1, queued_at=T0,
                 sent_at=at(90), events=(TraceEvent(at(60), "attempt", "primary"),),
                 last_reply="250 2.0.0 Ok: queued as 4BXKZ12QJ")
    return replace(base, **changes)


def attempt(seconds: float, outcome: str, code: int | None = None, text: str | None = None,
            stage: str | None = "rcpt", enhanced: str | None = None) -> Attempt:
    return Attempt(at(seconds), at(seconds + 1), "primary", "w1", stage, code, enhanced, text,
                   outcome)


# --- Queries ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "kinds"), [
    (MID, (QueryKind.MESSAGE_ID,)),
    (f"  Message-ID: {MID} ", (QueryKind.MESSAGE_ID,)),
    ("3f2a.7@rollcall.contoso.com", (QueryKind.MESSAGE_ID, QueryKind.ADDRESS)),
    ("nancy@northwind.example", (QueryKind.MESSAGE_ID, QueryKind.ADDRESS)),
    ("4BXKZ12QJ", (QueryKind.QUEUE_ID,)),
    ("12345678", (QueryKind.QUEUE_ID,)),
])
def test_a_query_is_tried_as_the_kinds_it_can_be_in_order(query, kinds):
    assert query_kinds(query) == kinds


@pytest.mark.parametrize(("query", "words"), [
    ("", "Type a Message-ID"), (" \t", "Type a Message-ID"), ("Message-ID:", "Type a"),
    ("a" * 321, "too long"),
])
def test_an_empty_or_too_long_query_is_refused_in_words(query, words):
    with pytest.raises(ValueError, match=words):
        query_kinds(query)


def test_a_query_of_the_longest_address_is_fine():
    assert query_kinds("a" * 64 + "@" + "b" * 255) == (QueryKind.MESSAGE_ID, QueryKind.ADDRESS)


@pytest.mark.parametrize(("query", "form"), [
    ("3f2a.7@rollcall.contoso.com", MID), (MID, MID), (f" {MID} ", MID),
    ("Message-Id: 3f2a.7@rollcall.contoso.com", MID),
])
def test_a_message_id_is_searched_in_angle_brackets(query, form):
    assert message_id_form(query) == form


def test_a_reply_reads_as_the_relay_said_it():
    assert reply_line(250, "2.0.0 Ok: queued as X") == "250 2.0.0 Ok: queued as X"
    assert reply_line(None, "the relay closed the connection") == \
        "the relay closed the connection"
    assert reply_line(None, None) is None and reply_line(451, None) == "451"


# --- History -----------------------------------------------------------------------------------

def test_a_greylisted_then_accepted_copy_reads_in_order_with_meanings():
    events = history(state="sent", reason=None, queued_at=T0, updated_at=at(120),
                     remote_id="4BXKZ12QJ", final_meaning="Accepted.", next_attempt_at=None,
                     attempts=[attempt(10, "recipient_transient", 451, "4.7.1 Greylisted",
                                       enhanced="4.7.1"),
                               attempt(70, "accepted", 250, "2.0.0 Ok: queued as 4BXKZ12QJ",
                                       stage="data", enhanced="2.0.0")])
    assert [e.kind for e in events] == ["queued", "attempt", "deferred", "attempt", "sent"]
    assert "greylisting" in (events[1].meaning or "") and events[1].worker == "w1"
    assert events[4].text == "4BXKZ12QJ" and "4BXKZ12QJ" in (events[4].meaning or "")


def test_a_copy_still_refused_when_retries_ran_out_ends_failed_with_the_reason():
    gave_up = "The mailbox is unavailable for now. Gave up: still refused 72 hours after queueing."
    events = history(state="failed", reason=None, queued_at=T0, updated_at=at(99),
                     remote_id=None, final_meaning=gave_up, next_attempt_at=None,
                     attempts=[attempt(10, "recipient_transient", 450),
                               attempt(50, "recipient_transient", 450)])
    assert [e.kind for e in events] == ["queued", "attempt", "deferred", "attempt", "failed"]
    assert events[-1].meaning == gave_up


def test_a_deferred_copy_says_when_it_is_tried_next():
    events = history(state="deferred", reason=None, queued_at=T0, updated_at=at(11),
                     remote_id=None, final_meaning=None, next_attempt_at=at(3600),
                     attempts=[attempt(10, "recipient_transient", 452, enhanced="4.2.2")])
    assert events[-1].kind == "deferred"
    assert events[-1].meaning == "Refused for now: the next try is at 2025-06-13 10:00 UTC."


def test_relay_trouble_a_lost_worker_and_a_try_in_progress_are_attempts_without_a_verdict():
    events = history(state="sending", reason=None, queued_at=T0, updated_at=at(30),
                     remote_id=None, final_meaning=None, next_attempt_at=None,
                     attempts=[attempt(10, "relay", stage=None), attempt(20, "lost", stage=None),
                               attempt(30, "pending", stage=None)])
    assert [e.kind for e in events] == ["queued", "attempt", "attempt", "attempt"]
    said = [e.meaning or "" for e in events[1:]]
    assert "relay itself failed" in said[0] and "no attempt was charged" in said[0]
    assert "stopped answering" in said[1] and "no reply" in said[2]


def test_a_message_rollcall_could_not_build_says_why():
    events = history(state="failed", reason=None, queued_at=T0, updated_at=at(2),
                     remote_id=None, final_meaning=None, next_attempt_at=None,
                     attempts=[attempt(1, "unbuildable", text="header has a line break",
                                       stage=None)])
    assert [e.kind for e in events] == ["queued", "attempt", "failed"]
    assert events[1].meaning == ("Rollcall could not build this message, so it was not sent: "
                                 "header has a line break")


def test_a_suppressed_copy_is_never_queued_and_says_why():
    events = history(state="suppressed", reason="opted_out", queued_at=T0, updated_at=T0,
                     remote_id=None, final_meaning=None, next_attempt_at=None, attempts=[])
    assert [(e.kind, e.text, e.meaning) for e in events] == [
        ("suppressed", "opted_out", "Not sent: opted out.")]


def test_a_bounce_an_unsubscribe_and_engagement_come_in_time_order():
    sent = [attempt(10, "accepted", 250, "2.0.0 Ok", stage="data")]
    bounced = history(state="bounced", reason=None, queued_at=T0, updated_at=at(500),
                      remote_id="Q1", final_meaning=None, next_attempt_at=None, attempts=sent,
                      listed=Listed("hard_bounce", at(400), lifted_at=at(900)))
    assert [e.kind for e in bounced] == ["queued", "attempt", "sent", "bounced"]
    assert "does not exist" in (bounced[-1].meaning or "")
    assert "lifted it on 2025-06-13" in (bounced[-1].meaning or "")
    read = history(state="sent", reason=None, queued_at=T0, updated_at=at(11), remote_id="Q1",
                   final_meaning=None, next_attempt_at=None, attempts=sent,
                   listed=Listed("unsubscribed", at(300)),
                   engagement=[Engagement("click", "human", at(200), link_index=1),
                               Engagement("open", "apple_proxy", at(100))])
    assert [e.kind for e in read] == ["queued", "attempt", "sent", "opened", "clicked",
                                      "unsubscribed"]
    assert "Apple Mail Privacy Protection" in (read[3].meaning or "")
    assert (read[4].meaning or "").startswith("Clicked link 2: most likely the person")


def test_a_cancelled_copy_says_so():
    events = history(state="cancelled", reason=None, queued_at=T0, updated_at=at(5),
                     remote_id=None, final_meaning=None, next_attempt_at=None, attempts=[])
    assert [e.kind for e in events] == ["queued", "cancelled"]


# --- Next steps -----------------------------------------------------------------------------

def test_an_accepted_copy_is_traced_in_exchange_and_in_the_relays_log():
    steps = next_steps(trace(), now=at(3600))
    assert [s["where"] for s in steps] == ["Exchange Online", "Exchange on premises", "Postfix"]
    assert steps[0]["command"] == (f'Get-MessageTraceV2 -MessageId "{MID}" '
                                   '-StartDate "2025-06-13 08:00:00Z" '
                                   '-EndDate "2025-06-14 09:01:30Z"')
    assert "10 days" in steps[0]["why"] and "90 days" in steps[0]["why"]
    assert steps[1]["command"] == (f'Get-TransportService | Get-MessageTrackingLog -MessageId '
                                   f'"{MID}" -Start "2025-06-13 08:00:00Z" '
                                   '-End "2025-06-14 09:01:30Z" -ResultSize Unlimited')
    assert steps[2]["command"] == "grep -F 4BXKZ12QJ /var/log/mail.log"
    assert steps[2]["alternative"] == ("journalctl -u 'postfix*' --since "
                                       '"2025-06-13 08:00:00 UTC" | grep -F 4BXKZ12QJ')


def test_an_exchange_relays_id_is_named_as_such_and_not_grepped_in_postfix():
    steps = next_steps(trace(remote_id="12884901889", last_reply=(
        "250 2.6.0 <3f2a.7@rollcall.contoso.com> [InternalId=12884901889, Hostname=EX01."
        "contoso.com] Queued mail for delivery")), now=at(3600))
    assert [s["where"] for s in steps] == ["Exchange Online", "Exchange on premises"]
    assert "Exchange InternalId" in steps[1]["why"]
    assert "-InternalMessageId 12884901889" in steps[1]["why"]


def test_a_long_wait_keeps_the_exchange_online_query_within_ten_days():
    steps = next_steps(trace(sent_at=T0 + timedelta(days=20)), now=T0 + timedelta(days=21))
    assert '-StartDate "2025-06-24 09:00:00Z" -EndDate "2025-07-04 09:00:00Z"' in \
        steps[0]["command"]
    assert '-Start "2025-06-13 08:00:00Z"' in steps[1]["command"]  # on premises: no limit


def test_a_copy_older_than_ninety_days_is_gone_from_message_trace():
    steps = next_steps(trace(), now=T0 + timedelta(days=120))
    assert "no longer has it" in steps[0]["why"]
    assert "no longer" not in next_steps(trace(), now=T0 + timedelta(days=5))[0]["why"]


def test_an_accepted_copy_without_a_queue_id_quotes_the_reply_instead():
    steps = next_steps(trace(remote_id=None, last_reply="250 OK"), now=at(3600))
    assert [s["where"] for s in steps] == ["Exchange Online", "Exchange on premises"]
    assert "no queue id Rollcall recognises: 250 OK" in steps[0]["why"]


def test_a_refused_copy_points_at_the_relays_log_with_the_last_reply():
    refused = trace(state="failed", remote_id=None, sent_at=None,
                    last_reply="550 5.1.1 <x@y>: User unknown")
    steps = next_steps(refused, now=at(3600))
    assert steps[0]["why"].startswith("The relay never took this copy (its last reply: "
                                      "550 5.1.1 <x@y>: User unknown)")
    assert steps[0]["command"] == "grep -F Nancy.Davolio@Northwind.example /var/log/mail.log"
    assert all("Get-MessageTrace" not in s["command"] for s in steps)


def test_a_copy_not_tried_yet_points_at_the_send():
    steps = next_steps(trace(state="queued", remote_id=None, sent_at=None, last_reply=None,
                             relay=None, events=()))
    assert steps == [{"where": "Rollcall", "command": "rollcall send show 7",
                      "why": steps[0]["why"]}]
    assert "never took" in steps[0]["why"] and "rollcall worker" in steps[0]["why"]


@pytest.mark.parametrize("state", ["suppressed", "cancelled"])
def test_a_copy_never_offered_to_a_relay_has_nothing_to_find_on_a_server(state):
    [step] = next_steps(trace(state=state, remote_id=None, sent_at=None, last_reply=None))
    assert step["command"] == f"rollcall send recipients 7 --state {state}"
    assert "no mail server" in step["why"]


def test_a_message_id_powershell_would_expand_is_quoted_literally():
    steps = next_steps(trace(message_id="<a$b@c>"), now=at(3600))
    assert "-MessageId '<a$b@c>'" in steps[0]["command"]


# --- Support report ----------------------------------------------------------------------------

def test_the_support_report_has_the_fields_support_asks_for_in_order():
    report = support_report(trace(relay_label="smtp.contoso.com:587"))
    assert report == {
        "date": "2025-06-13", "time": "09:01:30", "recipient": "Nancy.Davolio@Northwind.example",
        "recipient_domain": "northwind.example",
        "sending_method": "Rollcall tracked send via primary relay smtp.contoso.com:587",
        "message_id": MID, "remote_id": "4BXKZ12QJ",
        "last_reply": "250 2.0.0 Ok: queued as 4BXKZ12QJ", "state": "sent"}
    assert list(report)[:2] == ["date", "time"]


def test_the_support_report_of_a_copy_that_did_not_go():
    report = support_report(trace(state="failed", remote_id=None, sent_at=None, test=True,
                                  last_reply="550 5.1.1 User unknown"))
    assert report["time"] == "09:01:00"  # when it was last tried
    assert report["remote_id"] == "none (the relay did not take it)"
    assert report["sending_method"] == "Rollcall tracked send via primary relay (a test copy)"
    queued = support_report(trace(state="queued", remote_id=None, sent_at=None, relay=None,
                                  last_reply=None, events=()))
    assert (queued["time"], queued["last_reply"]) == ("09:00:00", "none")
    assert queued["sending_method"] == "Rollcall tracked send (not handed to a relay yet)"


def test_the_support_text_is_one_field_a_line_for_the_clipboard():
    assert support_text(trace(relay_label="smtp.contoso.com:587")).splitlines() == [
        "Date (UTC): 2025-06-13",
        "Time (UTC): 09:01:30",
        "Recipient: Nancy.Davolio@Northwind.example",
        "Recipient's domain: northwind.example",
        "Sending method: Rollcall tracked send via primary relay smtp.contoso.com:587",
        f"Message-ID: {MID}",
        "Remote id: 4BXKZ12QJ",
        "Last reply: 250 2.0.0 Ok: queued as 4BXKZ12QJ",
        "State: sent",
    ]


def test_a_trace_answers_json_with_its_steps_and_report():
    body = trace().to_json()
    assert body["events"][0] == {"at": "2025-06-13T09:01:00+00:00", "kind": "attempt",
                                 "relay": "primary", "stage": None, "code": None,
                                 "enhanced": None, "text": None, "meaning": None,
                                 "worker": None}
    assert body["sent_at"] == "2025-06-13T09:01:30+00:00" and body["relay_label"] is None
    assert body["support_report"]["remote_id"] == "4BXKZ12QJ"
    assert [s["where"] for s in body["next_steps"]][0] == "Exchange Online"
