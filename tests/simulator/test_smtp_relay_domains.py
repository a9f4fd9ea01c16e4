"""The SMTP simulator's relay restrictions (`relay_domains`, `--relay-domains`), over real TCP:
without them it relays for anyone, as an open relay does; with them a session that has not
signed in relays only to or from those domains, and is told so in Postfix's words."""

from __future__ import annotations

import re
import select
import signal
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from smtp_simulator import SmtpSimulator
from smtp_simulator.__main__ import main

MESSAGE = b"From: someone@example.net\r\nTo: someone@example.org\r\nSubject: Hi\r\n\r\nHi\r\n"
DENIED = (554, b"5.7.1 <someone@example.org>: Relay access denied")


@pytest.fixture
def connect() -> Iterator[Callable[[SmtpSimulator], smtplib.SMTP]]:
    clients: list[smtplib.SMTP] = []

    def make(sim: SmtpSimulator) -> smtplib.SMTP:
        client = smtplib.SMTP(sim.host, sim.port, timeout=5)
        clients.append(client)
        assert client.ehlo()[0] == 250
        return client

    yield make
    for client in clients:
        client.close()


def test_without_relay_domains_it_relays_outside_to_outside_as_before(start, connect):
    sim = start()
    client = connect(sim)
    assert client.mail("someone@example.net")[0] == 250
    assert client.rcpt("someone@example.org") == (250, b"2.1.5 Ok")
    assert client.data(MESSAGE)[0] == 250
    assert [m.rcpt_to for m in sim.accepted] == [("someone@example.org",)]


def test_outside_to_outside_is_refused_as_postfix_refuses_it(start, connect):
    sim = start(relay_domains=("contoso.com",))
    client = connect(sim)
    assert client.mail("someone@example.net") == (250, b"2.1.0 Ok")
    assert client.rcpt("someone@example.org") == DENIED
    assert sim.attempts == [("someone@example.org", 554)]
    # The session goes on: an inside recipient in the same envelope is still taken.
    assert client.rcpt("alex@contoso.com")[0] == 250
    assert client.data(MESSAGE)[0] == 250
    assert [m.rcpt_to for m in sim.accepted] == [("alex@contoso.com",)]


def test_an_inside_sender_may_relay_to_the_outside(start, connect):
    sim = start(relay_domains=("contoso.com", "fabrikam.com"))
    client = connect(sim)
    assert client.mail("Megan@Contoso.COM")[0] == 250  # domains match whatever their case
    assert client.rcpt("someone@example.org")[0] == 250
    assert client.data(MESSAGE)[0] == 250
    assert [(m.mail_from, m.rcpt_to) for m in sim.accepted] == [
        ("Megan@Contoso.COM", ("someone@example.org",))]


def test_an_inside_recipient_may_be_reached_from_the_outside(start, connect):
    sim = start(relay_domains=["CONTOSO.com"])
    client = connect(sim)
    assert client.mail("someone@example.net")[0] == 250
    assert client.rcpt("alex@contoso.com")[0] == 250
    assert client.rcpt("lee@fabrikam.com") == (
        554, b"5.7.1 <lee@fabrikam.com>: Relay access denied")


def test_a_signed_in_session_relays_anywhere(start, connect):
    sim = start(relay_domains=("contoso.com",), auth=("relay-user", "s3cret"))
    anonymous = connect(sim)
    assert anonymous.mail("someone@example.net") == (530, b"5.7.0 Authentication required")
    client = connect(sim)
    assert client.login("relay-user", "s3cret")[0] == 235
    assert client.mail("someone@example.net")[0] == 250
    assert client.rcpt("someone@example.org") == (250, b"2.1.5 Ok")
    assert client.data(MESSAGE)[0] == 250
    assert len(sim.accepted) == 1


def test_the_relay_check_comes_before_the_recipient_rules(start, connect):
    sim = start(relay_domains=("contoso.com",), rules="reject:*")
    client = connect(sim)
    assert client.mail("someone@example.net")[0] == 250
    assert client.rcpt("someone@example.org") == DENIED
    assert client.rcpt("alex@contoso.com")[0] == 550  # inside: now the rules speak


def test_relay_domains_given_as_one_string_is_refused():
    with pytest.raises(TypeError, match="not one string"):
        SmtpSimulator(relay_domains="contoso.com")


@pytest.mark.parametrize("value", ["", " , ", "megan@contoso.com", "contoso.com,a b.com"])
def test_bad_relay_domains_flag_exits_2_with_a_message(value, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--relay-domains", value])
    assert exit.value.code == 2
    assert "--relay-domains: expected domains joined by commas" in capsys.readouterr().err


def test_python_m_smtp_simulator_takes_relay_domains():
    command = [sys.executable, "-m", "smtp_simulator", "--port", "0",
               "--relay-domains", "contoso.com, fabrikam.com"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "no line from python -m smtp_simulator within 10 s"
            found = re.fullmatch(r"SMTP simulator listening on smtp://127\.0\.0\.1:(\d+)\n",
                                 proc.stdout.readline())
            assert found
            with smtplib.SMTP("127.0.0.1", int(found.group(1)), timeout=5) as client:
                client.ehlo()
                assert client.mail("someone@example.net")[0] == 250
                assert client.rcpt("someone@example.org") == DENIED
                assert client.rcpt("lee@fabrikam.com")[0] == 250
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()
