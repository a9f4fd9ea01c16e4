"""The SMTP simulator, spoken to over real TCP with the standard library's smtplib.

The low-level calls (ehlo, mail, rcpt, data) are used rather than sendmail(), which drops the
final reply and with it the queue id.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import select
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smtp_simulator import (
    Accepted,
    BearerCheck,
    Rule,
    RuleSpecError,
    SmtpSimulator,
    parse_rules,
    read_spool,
)
from smtp_simulator.__main__ import main
from smtp_simulator.rules import choose

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "smtp_simulator"
MESSAGE = (b"From: megan@contoso.com\r\nTo: alex@contoso.com\r\nSubject: Quarterly update\r\n"
           b"\r\nHello,\r\n.a line that starts with a dot\r\nBye\r\n")
QUEUED = re.compile(rb"2\.0\.0 Ok: queued as ([0-9A-F]{10})")


@pytest.fixture
def connect() -> Iterator[Callable[[SmtpSimulator], smtplib.SMTP]]:
    clients: list[smtplib.SMTP] = []

    def make(sim: SmtpSimulator) -> smtplib.SMTP:
        client = smtplib.SMTP(sim.host, sim.port, timeout=5)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from ews_simulator.tls import self_signed  # a sibling simulator's helper, not rollcall's

    return self_signed(tmp_path_factory.mktemp("smtp-tls"), "127.0.0.1")


def begin(client: smtplib.SMTP, sender: str = "megan@contoso.com") -> None:
    assert client.ehlo()[0] == 250
    assert client.mail(sender) == (250, b"2.1.0 Ok")


def queue_id(reply: tuple[int, bytes]) -> str:
    code, text = reply
    found = QUEUED.fullmatch(text)
    assert code == 250 and found, reply
    return found.group(1).decode()


def test_accepts_a_message_and_answers_with_a_postfix_queue_id(start, connect):
    sim = start()
    assert re.fullmatch(r"smtp://127\.0\.0\.1:\d+", sim.url) and sim.port > 0
    client = connect(sim)
    code, features = client.ehlo()
    assert code == 250 and features.startswith(b"relay.simulator.test")
    assert not client.has_extn("dsn") and not client.has_extn("auth")
    assert client.has_extn("8bitmime") and not client.has_extn("starttls")
    assert client.mail("megan@contoso.com") == (250, b"2.1.0 Ok")
    assert client.rcpt("alex@contoso.com") == (250, b"2.1.5 Ok")
    assert client.rcpt("Lee@Contoso.com") == (250, b"2.1.5 Ok")
    before = time.time()
    qid = queue_id(client.data(MESSAGE))

    [message] = sim.accepted
    assert message == Accepted(qid, "megan@contoso.com", ("alex@contoso.com", "Lee@Contoso.com"),
                               MESSAGE, message.at)  # CRLF kept, the dot unstuffed, no headers
    assert before - 1 <= message.at <= time.time()
    assert sim.messages_for("lee@contoso.com") == [message]
    assert sim.messages_for("nobody@contoso.com") == []
    assert sim.attempts == [("alex@contoso.com", 250), ("Lee@Contoso.com", 250)]
    assert sim.connections == 1  # aiosmtpd's own start-up probe is not counted

    assert client.mail("megan@contoso.com")[0] == 250  # a second transaction, same connection
    assert client.rcpt("alex@contoso.com")[0] == 250
    assert queue_id(client.data(MESSAGE)) != qid
    assert len(sim.accepted) == 2
    sim.clear()
    assert (sim.accepted, sim.attempts, sim.connections) == ([], [], 0)


def test_greylisting_defers_the_first_attempts_then_accepts(start, connect):
    sim = start(rules=[Rule("*@slow.example", "greylist"), Rule("twice@other.example",
                                                                "greylist", times=2)])
    client = connect(sim)
    begin(client)
    assert client.rcpt("a@slow.example") == (451, b"4.7.1 Greylisted, please try again later")
    assert client.rcpt("b@SLOW.example")[0] == 451  # each address is greylisted on its own
    assert client.rcpt("a@slow.example") == (250, b"2.1.5 Ok")
    for _ in range(2):
        assert client.rcpt("twice@other.example")[0] == 451
    assert client.rcpt("twice@other.example")[0] == 250
    queue_id(client.data(MESSAGE))
    assert sim.accepted[0].rcpt_to == ("a@slow.example", "twice@other.example")
    assert [code for address, code in sim.attempts if address == "twice@other.example"] == [
        451, 451, 250]


def test_reject_is_a_hard_bounce_and_the_other_recipients_still_get_the_message(start, connect):
    sim = start(rules="reject:Nobody@Contoso.com")
    client = connect(sim)
    begin(client)
    assert client.rcpt("nobody@contoso.COM") == (
        550, b"5.1.1 <nobody@contoso.COM>: Recipient address rejected: User unknown")
    assert client.rcpt("alex@contoso.com")[0] == 250
    queue_id(client.data(MESSAGE))
    assert sim.accepted[0].rcpt_to == ("alex@contoso.com",)
    assert sim.messages_for("nobody@contoso.com") == []


def test_defer_lasts_for_its_times_or_for_ever(start, connect):
    sim = start(rules="defer:full@contoso.com,defer:briefly@contoso.com=1")
    client = connect(sim)
    begin(client)
    for _ in range(3):
        assert client.rcpt("full@contoso.com") == (452, b"4.2.2 Mailbox full")
    assert client.rcpt("briefly@contoso.com")[0] == 452
    assert client.rcpt("briefly@contoso.com")[0] == 250


def test_drop_cuts_the_connection_without_a_reply(start, connect):
    sim = start(rules="drop:gone@contoso.com")
    client = connect(sim)
    begin(client)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.rcpt("gone@contoso.com")
    assert sim.attempts == [("gone@contoso.com", 0)]
    client = connect(sim)  # the server itself is fine
    begin(client)
    assert client.rcpt("alex@contoso.com")[0] == 250
    queue_id(client.data(MESSAGE))
    assert sim.connections == 2 and len(sim.accepted) == 1


def test_relay_denied(start, connect):
    sim = start(rules="relay_denied:*@elsewhere.example")
    client = connect(sim)
    begin(client)
    assert client.rcpt("someone@elsewhere.example") == (550, b"5.7.1 Unable to relay")
    assert client.rcpt("alex@contoso.com")[0] == 250


def test_quota_accepts_the_recipient_and_refuses_the_data(start, connect):
    sim = start(rules="quota:alex@contoso.com")
    client = connect(sim)
    begin(client)
    assert client.rcpt("alex@contoso.com") == (250, b"2.1.5 Ok")
    assert client.data(MESSAGE) == (
        554, b"5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException")
    assert sim.accepted == []
    begin_again = client.mail("megan@contoso.com"), client.rcpt("lee@contoso.com")
    assert [code for code, _ in begin_again] == [250, 250]
    queue_id(client.data(MESSAGE))  # the quota belonged to the last transaction only
    assert sim.accepted[0].rcpt_to == ("lee@contoso.com",)


def test_throttle_answers_421_and_closes_the_connection(start, connect):
    sim = start(rules="throttle:*")
    client = connect(sim)
    begin(client)
    assert client.rcpt("alex@contoso.com") == (
        421, b"4.4.2 Message submission rate for this client has exceeded the configured limit")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.noop()
    assert sim.attempts == [("alex@contoso.com", 421)]


def test_rules_change_while_running(start, connect):
    sim = start(rules=[Rule("*", "reject")])
    client = connect(sim)
    begin(client)
    assert client.rcpt("alex@contoso.com")[0] == 550
    sim.set_rules("greylist:alex@contoso.com")
    assert sim.rules == (Rule("alex@contoso.com", "greylist", 1),)
    assert client.rcpt("alex@contoso.com")[0] == 451
    sim.set_rules([])
    assert client.rcpt("alex@contoso.com")[0] == 250


def test_the_first_rule_in_force_wins_and_a_spent_rule_steps_aside():
    rules = [Rule("alex@contoso.com", "drop", times=1), Rule("*@contoso.com", "reject")]
    seen: dict[tuple[Rule, str], int] = {}
    assert [getattr(choose(rules, "Alex@contoso.com", seen), "action", None) for _ in range(2)] == [
        "drop", "reject"]
    assert choose(rules, "alex@fabrikam.com", seen) is None


def test_auth_is_required_and_checked(start, connect):
    sim = start(auth=("relay-user", "s3cret"))
    client = connect(sim)
    client.ehlo()
    assert set(client.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
    assert client.mail("megan@contoso.com") == (530, b"5.7.0 Authentication required")
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login("relay-user", "wrong")
    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error == b"5.7.8 Authentication credentials invalid"
    assert client.login("relay-user", "s3cret")[0] == 235
    assert client.mail("megan@contoso.com")[0] == 250
    assert client.rcpt("alex@contoso.com")[0] == 250
    queue_id(client.data(MESSAGE))

    other = connect(sim)  # AUTH LOGIN, the other mechanism, works too
    other.ehlo()
    other.user, other.password = "relay-user", "s3cret"
    assert other.auth("LOGIN", other.auth_login) == (235, b"2.7.0 Authentication successful")


# -- XOAUTH2, as Exchange Online's SMTP AUTH takes an app's token ------------------------------

OUTLOOK = "https://outlook.office365.com"
SERVICE = "svc-rollcall@contoso.com"
UNSUCCESSFUL = (535, b"5.7.3 Authentication unsuccessful")


@pytest.fixture(scope="module")
def issuers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """Rollcall's development issuer, and another with a key of its own (the simulator never
    imports rollcall; its tests may use it to sign tokens)."""
    from rollcall.dev.issuer import DevIssuer

    def make(name: str) -> DevIssuer:
        return DevIssuer(tmp_path_factory.mktemp(name), "https://localhost:3000/dev-issuer",
                         "api://localhost:3000/00000000-0000-0000-0000-000000000000",
                         {"megan@contoso.com": "Megan Bowen"})

    return make("issuer"), make("other-issuer")


def app_token(issuer: Any, scope: str = f"{OUTLOOK}/.default") -> str:
    """A client-credentials token, as MSAL gets one for ROLLCALL_SMTP_AUTH=oauth."""
    answer = issuer.client_credentials({"grant_type": "client_credentials", "scope": scope,
                                        "client_id": issuer.client_id,
                                        "client_secret": issuer.client_secret})
    token: str = answer["access_token"]
    return token


def xoauth2(user: str, token: str) -> Callable[..., str]:
    return lambda challenge=None: f"user={user}\x01auth=Bearer {token}\x01\x01"


def test_xoauth2_takes_the_issuers_token_for_exchange(start, connect, issuers):
    issuer, _ = issuers
    sim = start(bearer=BearerCheck(issuer.issuer, issuer.jwks_path, OUTLOOK))  # a file path
    client = connect(sim)
    client.ehlo()
    assert client.esmtp_features["auth"].split() == ["XOAUTH2"]  # no password to guess at
    assert client.mail("megan@contoso.com") == (530, b"5.7.0 Authentication required")
    assert client.auth("XOAUTH2", xoauth2(SERVICE, app_token(issuer))) == (
        235, b"2.7.0 Authentication successful")
    assert client.mail("megan@contoso.com")[0] == 250
    assert client.rcpt("alex@contoso.com")[0] == 250
    queue_id(client.data(MESSAGE))
    [seen] = sim.sign_ins
    assert (seen.mechanism, seen.user, seen.accepted, seen.reason) == (
        "XOAUTH2", SERVICE, True, None)
    assert seen.claims is not None and seen.claims["aud"] == OUTLOOK
    assert seen.claims["appid"] == issuer.client_id and "upn" not in seen.claims

    # AUTH XOAUTH2 without an initial response: an empty 334 challenge asks for it.
    other = connect(sim)
    other.ehlo()
    assert other.auth("XOAUTH2", xoauth2(SERVICE, app_token(issuer)),
                      initial_response_ok=False)[0] == 235
    sim.clear()
    assert sim.sign_ins == []


def test_password_and_xoauth2_together_and_sign_ins_recorded(start, connect, issuers):
    issuer, _ = issuers
    sim = start(auth=("relay-user", "s3cret"),
                bearer=BearerCheck(issuer.issuer, issuer.jwks_url))  # file:// URL, Exchange's
    client = connect(sim)
    client.ehlo()
    assert set(client.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN", "XOAUTH2"}
    with pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("relay-user", "wrong")  # smtplib tries PLAIN, then LOGIN
    assert client.login("relay-user", "s3cret")[0] == 235
    assert [(s.mechanism, s.user, s.accepted) for s in sim.sign_ins] == [
        ("PLAIN", "relay-user", False), ("LOGIN", "relay-user", False),
        ("PLAIN", "relay-user", True)]
    assert sim.sign_ins[0].reason == "wrong user name or password"


def _forged(issuer: Any) -> str:
    """HS256 keyed with the issuer's public key, the classic trick (by hand: PyJWT refuses)."""
    import hashlib
    import hmac

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    claims = app_token(issuer).split(".")[1].encode()
    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    signed = header + b"." + claims
    mac = hmac.new(issuer.jwks_path.read_bytes(), signed, hashlib.sha256).digest()
    return (signed + b"." + part(mac)).decode()


@pytest.mark.parametrize("case, reason", [
    ("audience", "Audience doesn't match"),
    ("expired", "Signature has expired"),
    ("issuer", "Invalid issuer"),
    ("other key", "a key the issuer does not publish"),
    ("forged", "only RS256-signed tokens"),
    ("not a token", "not a JSON Web Token"),
    ("no user", "names no user"),
    ("no bearer", "carries no bearer token"),
])
def test_xoauth2_refusals_are_exchanges_535_5_7_3(start, connect, issuers, case, reason):
    issuer, other = issuers
    sim = start(bearer=BearerCheck(issuer.issuer, issuer.jwks_url, OUTLOOK))
    user, token = SERVICE, app_token(issuer)
    if case == "audience":
        token = app_token(issuer, "https://mail.elsewhere.example/.default")
    elif case == "expired":
        token = issuer.mint("megan@contoso.com", aud=OUTLOOK, exp=int(time.time()) - 3600)
    elif case == "issuer":
        token = issuer.mint("megan@contoso.com", aud=OUTLOOK, iss="https://evil.example")
    elif case == "other key":
        token = app_token(other)  # same issuer URL and audience, another key
    elif case == "forged":
        token = _forged(issuer)
    elif case == "not a token":
        token = "not-a-token"
    elif case == "no user":
        user = ""
    client = connect(sim)
    client.ehlo()
    if case == "no bearer":
        answer = client.docmd("AUTH", "XOAUTH2 " + base64.b64encode(
            f"user={user}\x01auth=Basic czNjcmV0\x01\x01".encode()).decode())
    else:
        answer = client.docmd("AUTH", "XOAUTH2 " + base64.b64encode(
            xoauth2(user, token)().encode()).decode())
    assert answer == UNSUCCESSFUL
    assert client.mail("megan@contoso.com")[0] == 530  # still not signed in
    [seen] = sim.sign_ins
    assert not seen.accepted and seen.reason and reason in seen.reason, seen


def test_xoauth2_that_is_not_base64_is_a_syntax_error(start, connect, issuers):
    issuer, _ = issuers
    sim = start(bearer=BearerCheck(issuer.issuer, issuer.jwks_url))
    client = connect(sim)
    client.ehlo()
    assert client.docmd("AUTH", "XOAUTH2 not*base64")[0] == 501
    assert sim.sign_ins == []


def test_a_simulator_without_a_bearer_check_does_not_offer_xoauth2(start, connect):
    client = connect(start(auth=("relay-user", "s3cret")))
    client.ehlo()
    assert "XOAUTH2" not in client.esmtp_features["auth"]
    assert client.docmd("AUTH", "XOAUTH2 dXNlcj0=")[0] == 504


def test_starttls_with_a_self_signed_certificate_then_auth(start, connect, certificate):
    sim = start(tls=certificate, require_tls=True, auth=("relay-user", "s3cret"))
    client = connect(sim)
    client.ehlo()
    assert client.has_extn("starttls") and not client.has_extn("auth")  # AUTH only under TLS
    assert client.mail("megan@contoso.com")[0] == 530  # TLS first
    context = ssl.create_default_context(cafile=str(certificate[0]))
    assert client.starttls(context=context)[0] == 220
    assert isinstance(client.sock, ssl.SSLSocket) and client.sock.version() is not None
    client.ehlo()
    assert client.has_extn("auth") and not client.has_extn("starttls")
    assert client.login("relay-user", "s3cret")[0] == 235
    assert client.mail("megan@contoso.com")[0] == 250
    assert client.rcpt("alex@contoso.com")[0] == 250
    queue_id(client.data(MESSAGE))
    assert sim.accepted[0].data == MESSAGE


def test_require_tls_without_a_certificate_is_refused():
    with pytest.raises(ValueError, match="require_tls needs tls"):
        SmtpSimulator(require_tls=True)


def test_slow_delays_every_reply_after_the_banner(start, connect):
    sim = start(slow_ms=120)
    client = connect(sim)  # the banner is not delayed
    began = time.monotonic()
    begin(client)
    client.rcpt("alex@contoso.com")
    took = time.monotonic() - began
    assert 0.36 <= took < 2.0, took  # EHLO, MAIL and RCPT, 120 ms each


def test_the_spool_holds_each_accepted_message(start, connect, tmp_path):
    spool = tmp_path / "spool"
    sim = start(spool_dir=spool)
    client = connect(sim)
    begin(client)
    client.rcpt("alex@contoso.com")
    qid = queue_id(client.data(MESSAGE))
    assert sorted(p.name for p in spool.iterdir()) == [f"{qid}.eml", f"{qid}.json"]
    assert (spool / f"{qid}.eml").read_bytes() == MESSAGE
    meta = json.loads((spool / f"{qid}.json").read_text())
    assert meta == {"queue_id": qid, "mail_from": "megan@contoso.com",
                    "rcpt_to": ["alex@contoso.com"], "at": sim.accepted[0].at}
    assert read_spool(spool) == sim.accepted


def test_a_stopped_simulator_refuses_connections_and_can_start_again(start, connect):
    sim = start()
    port = sim.port
    sim.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    sim.start()
    assert sim.port == port
    client = connect(sim)
    begin(client)
    assert client.rcpt("alex@contoso.com")[0] == 250


def test_parse_rules_reads_the_command_line_form():
    assert parse_rules("greylist:*@slow.example=2,reject:nobody@contoso.com") == [
        Rule("*@slow.example", "greylist", 2), Rule("nobody@contoso.com", "reject")]
    assert parse_rules(" relay-denied:* , ") == [Rule("*", "relay_denied")]
    assert parse_rules("") == []
    rules = parse_rules("greylist:*@x.example,drop:a@b.example=3")
    assert parse_rules(",".join(map(str, rules))) == rules


@pytest.mark.parametrize("text, problem", [
    ("explode:*", "unknown action 'explode'; known: greylist, reject"),
    ("greylist", "expected ACTION:ADDRESS[=TIMES]"),
    ("greylist:*@x.example=0", "times must be 1 or more"),
    ("greylist:*@x.example=two", "times 'two' is not a number"),
    ("reject:", "'' is not an address"),
    ("reject:nobody", "'nobody' is not an address"),
    ("reject:a*@x.example", "is not an address"),
])
def test_parse_rules_names_the_problem(text, problem):
    with pytest.raises(RuleSpecError) as error:
        parse_rules(text)
    assert problem in str(error.value) and repr(text) in str(error.value)


@pytest.mark.parametrize("argv, problem", [
    (["--rules", "explode:*"], "--rules: 'explode:*': unknown action"),
    (["--auth", "no-colon"], "--auth: expected USER:PASSWORD"),
    (["--slow-ms", "-5"], "--slow-ms: must be 0 or more"),
    (["--port", "70000"], "--port: 70000 is not a TCP port"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--oauth-issuer", "https://localhost:3000/dev-issuer"],
     "--oauth-issuer and --oauth-jwks go together"),
    (["--oauth-issuer", "https://localhost:3000/dev-issuer", "--oauth-jwks",
      "/nonexistent/jwks.json"], "XOAUTH2: cannot read the issuer's keys"),
    (["--oauth-issuer", "https://localhost:3000/dev-issuer", "--oauth-jwks",
      "ftp://example.test/jwks.json"], "XOAUTH2: JWKS 'ftp://example.test/jwks.json'"),
])
def test_bad_flags_exit_2_with_a_message(argv, problem, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert problem in capsys.readouterr().err


def test_a_port_in_use_exits_2(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        assert main(["--port", str(taken.getsockname()[1])]) == 2
    assert "error: cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_python_m_smtp_simulator_serves_until_sigterm(tmp_path):
    spool = tmp_path / "spool"
    command = [sys.executable, "-m", "smtp_simulator", "--port", "0", "--spool", str(spool),
               "--rules", "reject:nobody@contoso.com", "--auth", "relay-user:s3cret"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "no line from python -m smtp_simulator within 10 s"
            line = proc.stdout.readline()
            found = re.fullmatch(r"SMTP simulator listening on smtp://127\.0\.0\.1:(\d+)\n",
                                 line)
            assert found, line
            with smtplib.SMTP("127.0.0.1", int(found.group(1)), timeout=5) as client:
                client.ehlo()
                assert client.login("relay-user", "s3cret")[0] == 235
                assert client.mail("megan@contoso.com")[0] == 250
                assert client.rcpt("nobody@contoso.com")[0] == 550
                assert client.rcpt("alex@contoso.com")[0] == 250
                qid = queue_id(client.data(MESSAGE))
            [message] = read_spool(spool)
            assert (message.queue_id, message.rcpt_to, message.data) == (
                qid, ("alex@contoso.com",), MESSAGE)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stdout.read() == ""  # one line, no more
            assert proc.stderr.read() == ""  # not even aiosmtpd's login_data notice
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_simulator_never_imports_rollcall():
    sources = sorted(PACKAGE.glob("*.py"))
    assert len(sources) >= 5
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] != "rollcall", f"{path.name}:{node.lineno} imports {name}"


def test_python_m_smtp_simulator_takes_xoauth2(issuers):
    issuer, _ = issuers
    command = [sys.executable, "-m", "smtp_simulator", "--port", "0",
               "--oauth-issuer", issuer.issuer, "--oauth-jwks", str(issuer.jwks_path),
               "--oauth-audience", OUTLOOK]
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
                wrong = app_token(issuer, "https://mail.elsewhere.example/.default")
                with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                    client.auth("XOAUTH2", xoauth2(SERVICE, wrong))
                assert (refused.value.smtp_code, refused.value.smtp_error) == UNSUCCESSFUL
                assert client.auth("XOAUTH2", xoauth2(SERVICE, app_token(issuer)))[0] == 235
                assert client.mail("megan@contoso.com")[0] == 250
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stderr.read() == ""  # not even aiosmtpd's login_data notice
        finally:
            if proc.poll() is None:
                proc.kill()
