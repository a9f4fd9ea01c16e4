"""The SMTP simulator's bounce-backs, over real SMTP: a `bounce`, `bounce_policy` or
`delay_dsn` rule accepts the message, then an RFC 3464 DSN goes from MAIL FROM:<> to the
envelope sender, through another SMTP server (`bounce_to`) or a callable (`bounce_sink`)."""

from __future__ import annotations

import email
import email.policy
import re
import select
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage, Message
from typing import Any

import pytest

from smtp_simulator import Rule, SmtpSimulator, parse_rules
from smtp_simulator.__main__ import main, parse_host_port
from smtp_simulator.ledger import Bounce

SENDER = "bounces+T1@rollcall.contoso.com"
MESSAGE = (b"From: megan@contoso.com\r\nTo: gone@fabrikam.com, alex@fabrikam.com\r\n"
           b"Subject: Quarterly update\r\nMessage-ID: <q3.update@contoso.com>\r\n"
           b"X-Rollcall-R: r-7f3a9c\r\n\r\nHello,\r\nthe numbers are in.\r\n")


def send(sim: SmtpSimulator, recipients: list[str], sender: str = SENDER,
         data: bytes = MESSAGE) -> tuple[int, bytes]:
    """Send one message; every recipient must be taken. The DATA reply."""
    with smtplib.SMTP(sim.host, sim.port, timeout=5) as client:
        assert client.ehlo()[0] == 250
        assert client.mail(sender) == (250, b"2.1.0 Ok")
        for rcpt in recipients:
            assert client.rcpt(rcpt) == (250, b"2.1.5 Ok")
        return client.data(data)


def parse(raw: bytes) -> tuple[EmailMessage, EmailMessage, list[Message], Message]:
    """A DSN as the report, its text part, its delivery-status blocks and the returned
    headers (parsed again as a message)."""
    report = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(report, EmailMessage)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    text, status, headers = report.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    assert headers.get_content_type() == "text/rfc822-headers"
    blocks = status.get_payload()
    assert isinstance(blocks, list)
    returned = email.message_from_string(headers.get_content(), policy=email.policy.default)
    return text, status, blocks, returned


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def wait_for_one(sim: SmtpSimulator, timeout: float = 10.0) -> Any:
    """The one message `sim` accepts within `timeout` seconds (another process sends it)."""
    deadline = time.monotonic() + timeout
    while not sim.accepted:
        assert time.monotonic() < deadline, f"nothing reached {sim.url} in {timeout:g} s"
        time.sleep(0.02)
    [message] = sim.accepted
    return message


def test_a_bounce_address_is_accepted_and_its_dsn_comes_back_to_the_envelope_sender(start):
    listener = start()  # stands in for Rollcall's bounce listener
    relay = start(rules="bounce:gone@fabrikam.com", bounce_to=(listener.host, listener.port))
    code, reply = send(relay, ["gone@fabrikam.com", "alex@fabrikam.com"])
    assert code == 250 and re.fullmatch(rb"2\.0\.0 Ok: queued as [0-9A-F]{10}", reply)
    [accepted] = relay.accepted
    assert accepted.rcpt_to == ("gone@fabrikam.com", "alex@fabrikam.com")

    [bounce] = relay.wait_bounces()
    assert (bounce.state, bounce.tries, bounce.error, bounce.delivered) == (
        "delivered", 1, None, True)
    assert (bounce.queue_id, bounce.to, bounce.recipients, bounce.action) == (
        accepted.queue_id, SENDER, ("gone@fabrikam.com",), "failed")
    [dsn] = listener.accepted
    assert (dsn.mail_from, dsn.rcpt_to, dsn.data) == ("<>", (SENDER,), bounce.data)
    assert re.search(rb"[^\r]\n", dsn.data) is None  # CRLF line ends throughout

    report = email.message_from_bytes(dsn.data, policy=email.policy.default)
    assert report["From"].addresses[0].addr_spec == "MAILER-DAEMON@relay.simulator.test"
    assert report["To"] == SENDER
    assert report["Auto-Submitted"] == "auto-replied"
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report["Message-ID"] == bounce.message_id != "<q3.update@contoso.com>"
    assert report["Message-ID"].endswith("@relay.simulator.test>")
    text, _, blocks, returned = parse(dsn.data)
    per_message, *per_recipient = blocks
    assert per_message["Reporting-MTA"] == "dns; relay.simulator.test"
    assert email.utils.parsedate_to_datetime(per_message["Arrival-Date"]).timestamp() == int(
        accepted.at)
    [fields] = per_recipient  # alex@fabrikam.com was delivered: nothing about it
    assert dict(fields.items()) | {"Last-Attempt-Date": ""} == {
        "Final-Recipient": "rfc822; gone@fabrikam.com",
        "Original-Recipient": "rfc822; gone@fabrikam.com",
        "Action": "failed",
        "Status": "5.1.1",
        "Remote-MTA": "dns; mx.fabrikam.com",
        "Diagnostic-Code": "smtp; 550 5.1.1 <gone@fabrikam.com>: Recipient address rejected: "
                           "User unknown in virtual mailbox table",
        "Last-Attempt-Date": "",
    }
    assert "<gone@fabrikam.com>: host mx.fabrikam.com said: 550 5.1.1" in text.get_content()
    assert "alex@" not in text.get_content()
    # The original's headers come back, so Rollcall can tell which send bounced; no body.
    assert returned["Message-ID"] == "<q3.update@contoso.com>"
    assert returned["X-Rollcall-R"] == "r-7f3a9c"
    assert b"the numbers are in" not in dsn.data


def test_delay_dsn_is_a_delay_notice_and_each_action_has_its_own_dsn(start):
    listener = start()
    relay = start(rules="bounce:gone@fabrikam.com,bounce-policy:spam@fabrikam.com,"
                  "delay-dsn:*@slow.example", bounce_to=(listener.host, listener.port))
    send(relay, ["gone@fabrikam.com", "lee@slow.example", "spam@fabrikam.com",
                 "alex@fabrikam.com"])
    failed, delayed = relay.wait_bounces()
    assert (failed.action, failed.recipients) == ("failed",
                                                  ("gone@fabrikam.com", "spam@fabrikam.com"))
    assert (delayed.action, delayed.recipients) == ("delayed", ("lee@slow.example",))
    assert sorted(m.data for m in listener.accepted) == sorted([failed.data, delayed.data])

    _, _, (_, gone, spam), _ = parse(failed.data)
    assert (gone["Final-Recipient"], gone["Status"]) == ("rfc822; gone@fabrikam.com", "5.1.1")
    assert (spam["Final-Recipient"], spam["Action"], spam["Status"]) == (
        "rfc822; spam@fabrikam.com", "failed", "5.7.1")
    assert spam["Diagnostic-Code"] == "smtp; 550 5.7.1 Message rejected as spam"

    report = email.message_from_bytes(delayed.data, policy=email.policy.default)
    assert report["Subject"] == "Delayed Mail (still being retried)"
    text, _, (_, lee), returned = parse(delayed.data)
    assert (lee["Final-Recipient"], lee["Action"], lee["Status"]) == (
        "rfc822; lee@slow.example", "delayed", "4.4.7")
    assert lee["Remote-MTA"] == "dns; mx.slow.example"
    assert lee["Diagnostic-Code"].startswith("smtp; 451 4.4.7 ")
    assert lee["Will-Retry-Until"] and gone["Will-Retry-Until"] is None
    assert "warning only" in text.get_content()
    assert returned["X-Rollcall-R"] == "r-7f3a9c"


def test_a_bounce_rule_with_times_bounces_only_the_first_messages(start):
    relay = start(rules=[Rule("gone@fabrikam.com", "bounce", 1)])
    send(relay, ["gone@fabrikam.com"])
    send(relay, ["gone@fabrikam.com"])
    [bounce] = relay.bounces
    assert bounce.state == "held"  # no bounce_to, no bounce_sink: made, kept, sent nowhere
    assert bounce.queue_id == relay.accepted[0].queue_id


def test_bounce_sink_receives_the_dsn_instead_of_smtp(start):
    received: list[tuple[str, bytes]] = []
    relay = start(rules="bounce:*@fabrikam.com",
                  bounce_sink=lambda rcpt, raw: received.append((rcpt, raw)))
    send(relay, ["gone@fabrikam.com"])
    [bounce] = relay.wait_bounces()
    assert bounce.delivered and received == [(SENDER, bounce.data)]
    _, _, (_, fields), _ = parse(received[0][1])
    assert fields["Final-Recipient"] == "rfc822; gone@fabrikam.com"


def test_a_sink_that_fails_is_tried_again_then_given_up(start):
    calls: list[str] = []

    def sink(rcpt: str, raw: bytes) -> None:
        calls.append(rcpt)
        raise KeyError("no such mailbox")

    relay = start(rules="bounce:*", bounce_sink=sink)
    send(relay, ["gone@fabrikam.com"])
    [bounce] = relay.wait_bounces()
    assert (bounce.state, bounce.tries, bounce.error) == (
        "undelivered", 4, "KeyError: 'no such mailbox'")
    assert calls == [SENDER] * 4


def test_a_dsn_never_makes_another_dsn(start):
    listener_dsns: list[tuple[str, bytes]] = []
    # The listener bounces everything: the relay's DSN arriving there must not bounce again.
    listener = start(rules="bounce:*", bounce_sink=lambda r, d: listener_dsns.append((r, d)))
    relay = start(rules="bounce:*", bounce_to=(listener.host, listener.port))
    send(relay, ["gone@fabrikam.com"])
    [bounce] = relay.wait_bounces()
    assert bounce.delivered
    [dsn] = listener.accepted
    assert (dsn.mail_from, dsn.rcpt_to) == ("<>", (SENDER,))
    assert listener.wait_bounces() == [] and listener_dsns == []

    # A client's own null-sender message to a bounce address: accepted, no DSN either.
    assert send(relay, ["gone@fabrikam.com"], sender="")[0] == 250
    assert relay.accepted[-1].mail_from == "<>"
    assert relay.wait_bounces() == [bounce]


def test_a_message_refused_at_data_makes_no_dsn(start):
    relay = start(rules="bounce:gone@fabrikam.com,quota:alex@fabrikam.com")
    with smtplib.SMTP(relay.host, relay.port, timeout=5) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("gone@fabrikam.com")[0] == 250
        assert client.rcpt("alex@fabrikam.com")[0] == 250
        assert client.data(MESSAGE)[0] == 554
    assert relay.accepted == [] and relay.bounces == []


def test_bounce_to_a_closed_port_is_recorded_undelivered_and_the_relay_keeps_serving(start):
    port = closed_port()
    relay = start(rules="bounce:gone@fabrikam.com", bounce_to=("127.0.0.1", port))
    assert send(relay, ["gone@fabrikam.com"])[0] == 250
    # DATA was answered before the first try had had time to fail four times.
    assert relay.bounces[0].state == "pending"
    assert send(relay, ["alex@fabrikam.com"])[0] == 250
    [bounce] = relay.wait_bounces()
    assert (bounce.state, bounce.tries, bounce.delivered) == ("undelivered", 4, False)
    assert bounce.error is not None and bounce.error.startswith("ConnectionRefusedError")
    assert send(relay, ["alex@fabrikam.com"])[0] == 250
    assert len(relay.accepted) == 3


def test_a_receiver_that_says_later_is_tried_again_and_one_that_says_never_is_not(start):
    greylisting = start(rules=f"greylist:{SENDER}")
    relay = start(rules="bounce:*", bounce_to=(greylisting.host, greylisting.port))
    send(relay, ["gone@fabrikam.com"])
    [bounce] = relay.wait_bounces()
    assert (bounce.state, bounce.tries) == ("delivered", 2)
    assert greylisting.attempts == [(SENDER, 451), (SENDER, 250)]

    # 554 Relay access denied: the receiver will never take it, so one try is enough.
    closed = start(relay_domains=("contoso.com",))
    relay = start(rules="bounce:*", bounce_to=(closed.host, closed.port))
    send(relay, ["gone@fabrikam.com"], sender="bounces+T2@rollcall.example")
    [bounce] = relay.wait_bounces()
    assert (bounce.state, bounce.tries) == ("undelivered", 1)
    assert bounce.error is not None and "Relay access denied" in bounce.error


def test_bounce_delay_s_holds_the_dsn_back_and_stop_gives_up_on_it(start):
    listener = start()
    relay = start(rules="bounce:*", bounce_to=(listener.host, listener.port),
                  bounce_delay_s=0.5)
    send(relay, ["gone@fabrikam.com"])
    assert [b.state for b in relay.bounces] == ["pending"] and listener.accepted == []
    [bounce] = relay.wait_bounces()
    assert bounce.delivered and len(listener.accepted) == 1

    slow = start(rules="bounce:*", bounce_to=(listener.host, listener.port),
                 bounce_delay_s=60)
    send(slow, ["gone@fabrikam.com"])
    slow.stop()
    [bounce] = slow.wait_bounces(timeout=5)
    assert (bounce.state, bounce.tries) == ("undelivered", 0)
    assert bounce.error == "the simulator stopped before it was sent"
    assert len(listener.accepted) == 1


def test_bounce_settings_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="pick one"):
        SmtpSimulator(bounce_to=("127.0.0.1", 25), bounce_sink=lambda r, d: None)
    with pytest.raises(ValueError, match="bounce_delay_s must be 0 or more"):
        SmtpSimulator(bounce_delay_s=-1)


def test_the_dsn_rules_read_back_from_text():
    rules = parse_rules("bounce:gone@fabrikam.com,bounce-policy:*@spam.example=2,"
                        "delay_dsn:*")
    assert rules == [Rule("gone@fabrikam.com", "bounce"),
                     Rule("*@spam.example", "bounce_policy", 2), Rule("*", "delay_dsn")]
    assert parse_rules(",".join(map(str, rules))) == rules
    assert [r.notice.action if r.notice else None for r in rules] == [
        "failed", "failed", "delayed"]
    assert Rule("*", "reject").notice is None


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:2526", ("127.0.0.1", 2526)),
    ("rollcall.test:25", ("rollcall.test", 25)),
    ("[::1]:25", ("::1", 25)),
    ("localhost", None),
    ("localhost:", None),
    (":25", None),
    ("localhost:0", None),
    ("localhost:70000", None),
    ("localhost:smtp", None),
])
def test_parse_host_port(text, expected):
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("argv, problem", [
    (["--bounce-to", "localhost"], "--bounce-to: expected HOST:PORT"),
    (["--bounce-to", "localhost:70000"], "--bounce-to: expected HOST:PORT"),
    (["--bounce-delay-s", "2"], "--bounce-delay-s goes with --bounce-to"),
    (["--bounce-to", "127.0.0.1:2526", "--bounce-delay-s", "-1"],
     "--bounce-delay-s: must be 0 or more"),
    (["--rules", "bounce:nobody"], "--rules: 'bounce:nobody': 'nobody' is not an address"),
])
def test_bad_bounce_flags_exit_2_with_a_message(argv, problem, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert problem in capsys.readouterr().err


def test_python_m_smtp_simulator_sends_dsns_to_bounce_to(start):
    listener = start()
    command = [sys.executable, "-m", "smtp_simulator", "--port", "0",
               "--rules", "bounce:gone@fabrikam.com",
               "--bounce-to", f"{listener.host}:{listener.port}", "--bounce-delay-s", "0.1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "no line from python -m smtp_simulator within 10 s"
            found = re.fullmatch(r"SMTP simulator listening on smtp://127\.0\.0\.1:(\d+)\n",
                                 proc.stdout.readline())
            assert found
            relay = SmtpSimulator("127.0.0.1", int(found.group(1)))  # only to address it
            assert send(relay, ["gone@fabrikam.com", "alex@fabrikam.com"])[0] == 250
            dsn = wait_for_one(listener)
            assert dsn.mail_from == "<>" and dsn.rcpt_to == (SENDER,)
            _, _, (_, fields), returned = parse(dsn.data)
            assert fields["Final-Recipient"] == "rfc822; gone@fabrikam.com"
            assert returned["X-Rollcall-R"] == "r-7f3a9c"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()


def test_bounce_records_are_kept_until_cleared(start):
    relay = start(rules="bounce:*")
    send(relay, ["gone@fabrikam.com"])
    assert [type(b) for b in relay.bounces] == [Bounce]
    relay.clear()
    assert relay.bounces == [] and relay.wait_bounces() == []
