"""The relay's test connection and the open-relay self-test, against SMTP simulators on real
sockets: every step timed and answered, the first failure named in plain words (bad password,
nothing listening, a certificate nobody vouches for, a refused recipient, STARTTLS insisted
on), and an open relay flagged loudly without a message ever being sent."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ews_simulator.tls import self_signed
from rollcall.sending.open_relay import OpenRelayResult, open_relay_test
from rollcall.sending.probe import ProbeResult, probe_relay
from rollcall.sending.smtp import Relay, parse_relay_url, tls_context
from smtp_simulator import BearerCheck, SmtpSimulator

SENDER = "megan@contoso.com"
RCPT = "alex@contoso.com"
OUTSIDE_TO = "open-relay-test@example.org"
OUTLOOK = "https://outlook.office365.com"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "relay-cert", "127.0.0.1")


def relay_at(url: str, username: str | None = None, password: str | None = None,
             name: str = "primary") -> Relay:
    host, port, implicit, required = parse_relay_url(url)
    return Relay(name, host, port, implicit, required, username, password)


def probe(relay: Relay, ca: Path | None = None, timeout_s: float = 5,
          **options: Any) -> ProbeResult:
    return probe_relay(relay, tls=tls_context(str(ca) if ca else None), timeout_s=timeout_s,
                       helo="rollcall.test", mail_from=SENDER, **options)


def open_test(relay: Relay, ca: Path | None = None) -> OpenRelayResult:
    return open_relay_test(relay, tls=tls_context(str(ca) if ca else None), timeout_s=5,
                           helo="rollcall.test")


def names(result: ProbeResult | OpenRelayResult) -> list[str]:
    return [s.name for s in result.steps]


def closed_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def test_a_good_relay_passes_every_step_and_nothing_is_sent(certificate):
    cert, _ = certificate
    with SmtpSimulator(tls=certificate, require_tls=True, auth=("svc-rollcall", "s3cret")) as sim:
        before = datetime.now(UTC)
        result = probe(relay_at(f"{sim.url}?starttls=required", "svc-rollcall", "s3cret"),
                       ca=cert, rcpt=RCPT)
        assert names(result) == ["connect", "ehlo", "starttls", "ehlo", "auth", "mail", "rcpt",
                                 "rset", "quit"]
        assert [s.code for s in result.steps] == [220, 250, 220, 250, 235, 250, 250, 250, 221]
        assert all(s.ok and s.elapsed_ms >= 0 and s.meaning for s in result.steps)
        assert "STARTTLS" not in result.steps[3].text and "AUTH" in result.steps[3].text
        assert result.steps[4].meaning == "Signing in to the relay succeeded."
        assert (result.ok, result.tls, result.authenticated, result.sent) == (
            True, True, True, False)
        assert (result.failed_step, result.meaning, result.queue_id) == (None, None, None)
        assert (result.relay, result.label) == ("primary", f"127.0.0.1:{sim.port}")
        assert before <= result.checked_at <= datetime.now(UTC) + timedelta(seconds=1)
        assert sim.accepted == [] and sim.attempts == [(RCPT, 250)]
        assert [(s.user, s.accepted) for s in sim.sign_ins] == [("svc-rollcall", True)]

    answer = json.loads(json.dumps(result.to_json()))
    assert answer["ok"] is True and answer["steps"][0]["name"] == "connect"
    assert set(answer["steps"][0]) == {"name", "ok", "elapsed_ms", "code", "text", "meaning"}
    assert datetime.fromisoformat(answer["checked_at"]) == result.checked_at


def test_without_a_recipient_the_sender_is_still_tried_then_reset(relay):
    result = probe(relay_at(relay.url))
    assert names(result) == ["connect", "ehlo", "mail", "rset", "quit"]
    assert result.ok and not result.tls and not result.authenticated
    assert relay.attempts == [] and relay.accepted == []


def test_sending_delivers_exactly_one_test_message_and_its_queue_id(relay):
    result = probe(relay_at(relay.url, name="fallback"), rcpt=RCPT, send=True)
    assert names(result) == ["connect", "ehlo", "mail", "rcpt", "data", "quit"]
    [accepted] = relay.accepted
    assert result.ok and result.sent and result.relay == "fallback"
    assert result.queue_id == accepted.queue_id
    assert (accepted.mail_from, accepted.rcpt_to) == (SENDER, (RCPT,))
    message = email.message_from_bytes(accepted.data, policy=email.policy.default)
    assert (message["From"], message["To"], message["Subject"]) == (
        SENDER, RCPT, "Rollcall test connection")
    assert message["Message-ID"].endswith("@contoso.com>") and message["Date"]
    assert "connection test from Rollcall" in message.get_content()


def test_a_wrong_password_fails_at_auth_and_says_so():
    with SmtpSimulator(auth=("svc-rollcall", "right")) as sim:
        result = probe(relay_at(sim.url, "svc-rollcall", "wrong"), rcpt=RCPT)
        assert names(result) == ["connect", "ehlo", "auth"]
        failed = result.steps[-1]
        assert (result.ok, result.failed_step, failed.code) == (False, "auth", 535)
        assert result.meaning == failed.meaning
        assert "user name or password was not accepted" in (result.meaning or "")
        assert not result.authenticated and sim.attempts == []


def test_a_relay_that_wants_a_sign_in_refuses_mail_from_without_one():
    with SmtpSimulator(auth=("svc-rollcall", "right")) as sim:
        result = probe(relay_at(sim.url), rcpt=RCPT)
        assert (result.failed_step, result.steps[-1].code) == ("mail", 530)
        assert "signing in" in (result.meaning or "")


def test_xoauth2_signs_in_with_the_token_and_a_missing_token_is_said_in_words(tmp_path):
    from rollcall.dev.issuer import DevIssuer

    issuer = DevIssuer(tmp_path / "issuer", "https://localhost:3000/dev-issuer",
                       "api://localhost:3000/00000000-0000-0000-0000-000000000000", {})

    def token() -> str:
        answer = issuer.client_credentials({
            "grant_type": "client_credentials", "scope": f"{OUTLOOK}/.default",
            "client_id": issuer.client_id, "client_secret": issuer.client_secret})
        return str(answer["access_token"])

    def no_token() -> str:
        raise RuntimeError("AADSTS7000215: invalid client secret")

    with SmtpSimulator(bearer=BearerCheck(issuer.issuer, issuer.jwks_path, OUTLOOK)) as sim:
        relay = relay_at(sim.url, "svc-rollcall@contoso.com")
        good = probe(relay, rcpt=RCPT, oauth_token=token)
        assert good.ok and good.authenticated
        assert [(s.mechanism, s.accepted) for s in sim.sign_ins] == [("XOAUTH2", True)]
        bad = probe(relay, rcpt=RCPT, oauth_token=no_token)
        assert bad.failed_step == "auth" and bad.steps[-1].code is None
        assert "no OAuth token" in (bad.meaning or "") and "AADSTS7000215" in (bad.meaning or "")
        assert len(sim.sign_ins) == 1  # nothing was offered to the relay


def test_a_closed_port_fails_at_connect_in_words():
    port = closed_port()
    result = probe(relay_at(f"smtp://127.0.0.1:{port}"), rcpt=RCPT)
    assert names(result) == ["connect"]
    [step] = result.steps
    assert (result.ok, result.failed_step, step.code) == (False, "connect", None)
    assert "refused" in step.text and "refused" in (result.meaning or "")
    assert f"nothing listens at 127.0.0.1:{port}" in (result.meaning or "")


def test_a_relay_that_never_answers_times_out_at_connect():
    # Listening but never accepting: the kernel completes the handshake, no banner ever comes.
    with socket.create_server(("127.0.0.1", 0), backlog=4) as silent:
        result = probe(relay_at(f"smtp://127.0.0.1:{silent.getsockname()[1]}"), timeout_s=0.3)
    assert result.failed_step == "connect"
    assert result.steps[0].text == "the relay did not answer in time"
    assert "within 0.3 seconds" in (result.meaning or "")


@pytest.fixture
def refusing_banner() -> Iterator[int]:
    """A server that greets every connection with 554 and hangs up, as a relay does to
    clients it offers no service."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"554 5.7.1 No SMTP service here\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()
    thread.join(5)


def test_a_banner_refusal_fails_at_connect_with_the_relays_words(refusing_banner):
    result = probe(relay_at(f"smtp://127.0.0.1:{refusing_banner}"))
    assert (result.failed_step, result.steps[0].code) == ("connect", 554)
    assert result.steps[0].text == "5.7.1 No SMTP service here"
    assert "Not authorised" in (result.meaning or "")


def test_a_certificate_nobody_vouches_for_fails_at_starttls(certificate):
    with SmtpSimulator(tls=certificate, require_tls=True) as sim:
        result = probe(relay_at(sim.url), rcpt=RCPT)  # the system's CAs only
        assert names(result) == ["connect", "ehlo", "starttls"]
        assert result.failed_step == "starttls" and not result.tls
        assert "certificate" in result.steps[-1].text
        assert "certificate" in (result.meaning or "")
        assert "ROLLCALL_SMTP_CA_FILE" in (result.meaning or "")
        assert sim.attempts == []


def test_a_recipient_the_relay_refuses_fails_at_rcpt(relay):
    relay.set_rules("reject:nobody@contoso.com")
    result = probe(relay_at(relay.url), rcpt="nobody@contoso.com", send=True)
    assert names(result) == ["connect", "ehlo", "mail", "rcpt"]
    assert (result.failed_step, result.steps[-1].code) == ("rcpt", 550)
    assert "does not exist" in (result.meaning or "")
    assert not result.sent and relay.accepted == []


def test_starttls_required_fails_at_starttls_against_a_relay_without_it(relay):
    result = probe(relay_at(f"{relay.url}?starttls=required"), rcpt=RCPT)
    assert names(result) == ["connect", "ehlo", "starttls"]
    assert result.failed_step == "starttls" and result.steps[-1].code is None
    assert "STARTTLS" in (result.meaning or "") and "plain text" in (result.meaning or "")
    assert relay.attempts == []


# The open-relay self-test


def test_a_relay_that_takes_outside_to_outside_is_flagged_loudly(relay):
    result = open_test(relay_at(relay.url))
    assert result.open is True
    assert result.verdict.startswith(f"OPEN RELAY: the primary relay (127.0.0.1:{relay.port})")
    assert "without signing in" in result.verdict and "blacklisted" in result.verdict
    assert names(result) == ["connect", "ehlo", "mail", "rcpt", "rset", "quit"]
    assert relay.attempts == [(OUTSIDE_TO, 250)] and relay.accepted == []  # never DATA
    assert json.loads(json.dumps(result.to_json()))["open"] is True


def test_a_relay_that_serves_only_its_domains_is_not_open():
    with SmtpSimulator(relay_domains=("contoso.com",)) as sim:
        result = open_test(relay_at(sim.url))
        assert result.open is False
        assert result.verdict.startswith("Not an open relay")
        assert "(554 5.7.1 <open-relay-test@example.org>: Relay access denied)" in result.verdict
        assert names(result) == ["connect", "ehlo", "mail", "rcpt", "rset", "quit"]
        assert sim.attempts == [(OUTSIDE_TO, 554)]


def test_a_relay_that_wants_a_sign_in_is_not_open_and_is_not_signed_in_to(certificate):
    cert, _ = certificate
    with SmtpSimulator(tls=certificate, auth=("svc-rollcall", "s3cret")) as sim:
        # Credentials configured, and deliberately not used.
        result = open_test(relay_at(sim.url, "svc-rollcall", "s3cret"), ca=cert)
        assert result.open is False and "(530 5.7.0 Authentication required)" in result.verdict
        assert names(result) == ["connect", "ehlo", "starttls", "ehlo", "mail", "rset", "quit"]
        assert sim.sign_ins == [] and sim.attempts == []


def test_an_unreachable_relay_cannot_be_judged():
    result = open_test(relay_at(f"smtp://127.0.0.1:{closed_port()}"))
    assert result.open is None
    assert result.verdict.startswith("Could not tell whether the primary relay")
    assert "refused the connection" in result.verdict


def test_a_certificate_failure_cannot_be_judged_either(certificate):
    with SmtpSimulator(tls=certificate, require_tls=True) as sim:
        result = open_test(relay_at(sim.url))
        assert result.open is None and "ROLLCALL_SMTP_CA_FILE" in result.verdict
        assert sim.attempts == []


def test_a_greylisted_test_is_put_off_not_judged(relay):
    relay.set_rules("greylist:*@example.org")
    result = open_test(relay_at(relay.url))
    assert result.open is None and "451 4.7.1" in result.verdict
    assert "Try again later" in result.verdict
