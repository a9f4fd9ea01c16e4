"""Bounce-backs read: real-world report formats matched to the copy they answer, classified
hard / soft / policy / delayed / auto-reply, and anything else kept without an exception."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollcall.sending.dsn import BounceKind, BounceReport, parse_bounce, verp_token
from rollcall.sending.dsn_words import classify, exchange_text

DATA = Path(__file__).parents[1] / "sending" / "data"
BOUNCES = DATA / "bounces"
TEMPLATE = "bounces+{token}@rollcall.contoso.com"
K = BounceKind


@dataclass(frozen=True)
class Expected:
    kind: BounceKind
    method: str
    address: str | None
    status: str | None
    diagnostic: str | None  # the start of it
    remote_mta: str | None
    token: str
    reporter: str


CASES = {
    "postfix_dsn_5.1.1.eml": Expected(
        K.HARD, "dsn", "ana.trujillo@fabrikam.com", "5.1.1",
        "550 5.1.1 <ana.trujillo@fabrikam.com>: Recipient address rejected: User unknown",
        "127.0.0.1", "dcb3079c012a1b56a39a6a24", "relay.test"),
    "bounces/exchange_online_5.1.10.eml": Expected(
        K.HARD, "dsn", "ana.trujillo@fabrikam.com", "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "AM6PR04MB7312.eurprd04.prod.outlook.com", "0123456789abcdef01234567",
        "DB9PR01MB5678.eurprd01.prod.outlook.com"),
    "bounces/exchange_onprem_5.1.1.eml": Expected(
        K.HARD, "dsn", "bob.kelly@fabrikam.com", "5.1.1",
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", None, "89abcdef0123456789abcdef",
        "EXCH01.fabrikam.local"),
    "bounces/exchange_text_only_5.1.1.eml": Expected(
        K.HARD, "exchange_text", "chris.cannon@fabrikam.com", "5.1.1",
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", None, "fedcba9876543210fedcba98",
        "EXCH02.fabrikam.local"),
    "bounces/gmail_5.1.1.eml": Expected(
        K.HARD, "dsn", "dan.park@fabrikam.com", "5.1.1",
        "550 5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address", "aspmx.l.google.com",
        "00112233445566778899aabb", "googlemail.com"),
    "bounces/delayed_4.4.7.eml": Expected(
        K.DELAYED, "dsn", "dora.ruiz@fabrikam.com", "4.4.7", "400 4.4.7 Message delayed",
        "mbx02.fabrikam.local", "a1b2c3d4e5f60718293a4b5c", "EXCH01.fabrikam.local"),
    "bounces/policy_5.7.1_spam.eml": Expected(
        K.POLICY, "dsn", "eve.lopez@fabrikam.com", "5.7.1",
        "554 5.7.1 <eve.lopez@fabrikam.com>: Message rejected as spam by Content Filtering",
        "mx1.fabrikam.com", "b2c3d4e5f60718293a4b5c6d", "relay.contoso.com"),
    "bounces/mailbox_full_5.2.2.eml": Expected(
        K.SOFT, "dsn", "frank.miller@fabrikam.com", "5.2.2",
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
        "mail.fabrikam.com", "c3d4e5f60718293a4b5c6d7e", "relay.contoso.com"),
    "bounces/qmail_5.1.1.eml": Expected(
        K.HARD, "heuristic", "henry.ng@fabrikam.com", "5.1.1",
        "Sorry, no mailbox here by that name. (#5.1.1)", None, "e5f60718293a4b5c6d7e8f90",
        "MAILER-DAEMON@mail.fabrikam.com"),
    "bounces/exim_5.1.1.eml": Expected(
        K.HARD, "heuristic", "iris.wong@fabrikam.com", "5.1.1",
        "550 5.1.1 <iris.wong@fabrikam.com>: Recipient address rejected: User unknown", None,
        "f60718293a4b5c6d7e8f9001", "Mailer-Daemon@relay2.contoso.com"),
}


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def message_id(token: str) -> str:
    return "<dcb3079c012a1b56a39a6a24.1@rollcall.contoso.com>" if token.startswith("dcb3") \
        else f"<{token}.42@rollcall.contoso.com>"


def test_every_fixture_in_the_folder_is_covered() -> None:
    on_disk = {f"bounces/{p.name}" for p in BOUNCES.glob("*.eml")}
    assert on_disk == {n for n in CASES if n.startswith("bounces/")} | {
        "bounces/out_of_office.eml"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_real_world_format_is_read_and_classified(name: str) -> None:
    want = CASES[name]
    report = parse_bounce(read(name))  # no envelope: the returned headers must be enough
    assert (report.kind, report.method) == (want.kind, want.method)
    [failure] = report.failures
    assert failure.address == want.address
    assert failure.status == want.status
    assert failure.diagnostic is not None and failure.diagnostic.startswith(want.diagnostic)
    assert failure.remote_mta == want.remote_mta
    assert failure.kind is want.kind and failure.meaning
    assert report.tokens == (want.token,)
    assert report.message_ids == (message_id(want.token),)
    assert report.reporter == want.reporter
    assert report.subject


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_envelope_verp_token_comes_first(name: str) -> None:
    verp = "ffffffffffffffffffffffff"
    report = parse_bounce(read(name), f"<bounces+{verp}@Rollcall.Contoso.com>", TEMPLATE)
    assert report.tokens == (verp, CASES[name].token)
    same = parse_bounce(read(name), f"bounces+{CASES[name].token}@rollcall.contoso.com",
                        TEMPLATE)
    assert same.tokens == (CASES[name].token,)


def test_a_delayed_dsn_is_not_a_bounce() -> None:
    report = parse_bounce(read("bounces/delayed_4.4.7.eml"))
    assert report.kind is K.DELAYED
    assert [f.action for f in report.failures] == ["delayed"]
    assert report.failures[0].meaning.startswith("Not a bounce yet")


def test_an_out_of_office_reply_is_ignored_but_still_names_the_copy() -> None:
    report = parse_bounce(read("bounces/out_of_office.eml"))
    assert (report.kind, report.method, report.failures) == (K.AUTOREPLY, "autoreply", ())
    assert report.tokens == ("d4e5f60718293a4b5c6d7e8f",)
    assert report.subject == "Automatic reply: Quarterly update"
    assert report.reporter == "grace.hall@fabrikam.com"


def test_exims_auto_submitted_bounce_is_not_taken_for_an_auto_reply() -> None:
    raw = read("bounces/exim_5.1.1.eml")
    assert b"Auto-Submitted: auto-replied" in raw
    assert parse_bounce(raw).kind is K.HARD


def test_only_flufl_reads_the_report_with_no_machine_readable_part() -> None:
    raw = read("bounces/qmail_5.1.1.eml")
    assert b"multipart/report" not in raw and b"X-Failed-Recipients" not in raw
    report = parse_bounce(raw)
    assert report.method == "heuristic"
    assert [f.address for f in report.failures] == ["henry.ng@fabrikam.com"]


def test_exchanges_delay_notice_read_from_its_words_alone() -> None:
    text = read("bounces/delayed_4.4.7.eml").decode()
    words = text.split("Content-Type: text/plain; charset=\"us-ascii\"\n\n")[1].split("\n--")[0]
    found = exchange_text(words)
    assert found is not None
    assert found[0] == "EXCH01.fabrikam.local"
    assert found[1] == [("dora.ruiz@fabrikam.com", "delayed", "400 4.4.7 Message delayed")]
    raw = (b"From: postmaster@fabrikam.com\nSubject: Delivery delayed:Quarterly update\n"
           b"Content-Type: text/plain\n\n" + words.encode())
    report = parse_bounce(raw)
    assert (report.kind, report.method) == (K.DELAYED, "exchange_text")
    assert report.tokens == ("a1b2c3d4e5f60718293a4b5c",)


def test_older_exchange_wording_in_brackets() -> None:
    text = ("Delivery has failed to these recipients or groups:\n\nJo Lee\n\n"
            "Diagnostic information for administrators:\n\nGenerating server: ex1.fabrikam.com\n\n"
            "jo.lee@fabrikam.com\n#< #5.0.0 smtp;550 5.1.1 <jo.lee@fabrikam.com>... User "
            "unknown> #SMTP#\n\nOriginal message headers:\n\nFrom: megan@contoso.com\n")
    assert exchange_text(text) == ("ex1.fabrikam.com", [
        ("jo.lee@fabrikam.com", "failed", "550 5.1.1 <jo.lee@fabrikam.com>... User unknown")])
    assert exchange_text("Hello, the meeting moved to 3pm.") is None


def _report(*blocks: str, encode: bool = False) -> bytes:
    status = "Reporting-MTA: dns; relay.contoso.com\n\n" + "\n\n".join(blocks) + "\n"
    body = base64.encodebytes(status.encode()).decode() if encode else status
    return ("From: MAILER-DAEMON@relay.contoso.com\nSubject: Undelivered Mail Returned to Sender\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
            "boundary=B\n\n--B\nContent-Type: text/plain\n\nSorry.\n\n--B\n"
            "Content-Type: message/delivery-status\n"
            + ("Content-Transfer-Encoding: base64\n" if encode else "") + "\n" + body
            + "\n--B--\n").encode()


def _block(address: str, action: str, status: str) -> str:
    return f"Final-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}"


def test_the_reports_kind_is_its_worst_failure_and_delayed_only_when_all_are() -> None:
    hard, late = _block("a@fabrikam.com", "failed", "5.1.1"), _block("b@fabrikam.com",
                                                                      "delayed", "4.4.1")
    soft, policy = _block("c@fabrikam.com", "failed", "4.2.2"), _block("d@fabrikam.com",
                                                                       "failed", "5.7.509")
    assert parse_bounce(_report(late, hard)).kind is K.HARD
    assert parse_bounce(_report(late, soft, policy)).kind is K.POLICY
    assert parse_bounce(_report(late, soft)).kind is K.SOFT
    assert parse_bounce(_report(late, late)).kind is K.DELAYED
    assert parse_bounce(_report(_block("e@fabrikam.com", "delivered", "2.0.0"))).kind is K.UNKNOWN


def test_an_encoded_delivery_status_part_is_read_too() -> None:
    report = parse_bounce(_report(_block("<a@fabrikam.com>", "failed (bad address)", "5.1.2"),
                                  encode=True))
    assert (report.method, report.kind) == ("dsn", K.HARD)
    assert [(f.address, f.action, f.status) for f in report.failures] == [
        ("a@fabrikam.com", "failed", "5.1.2")]


def test_a_read_receipt_is_not_a_bounce() -> None:
    raw = (b"From: grace.hall@fabrikam.com\nSubject: Read: Quarterly update\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/report; report-type=disposition-notification; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nYour message was read.\n\n--B\n"
           b"Content-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; "
           b"grace.hall@fabrikam.com\nDisposition: manual-action/MDN-sent-manually; displayed\n"
           b"\n--B--\n")
    assert parse_bounce(raw).kind is K.AUTOREPLY


@pytest.mark.parametrize(("action", "status", "diagnostic", "kind"), [
    ("failed", "5.1.1", "550 5.1.1 User unknown", K.HARD),
    ("failed", "5.1.2", "550 5.1.2 Host unknown", K.HARD),
    ("failed", "5.1.10", None, K.HARD),
    ("failed", "5.4.4", "554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", K.HARD),
    ("failed", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", K.SOFT),
    ("failed", "5.7.1", "550 5.7.1 Unable to relay", K.POLICY),
    ("failed", "5.7.509", "550 5.7.509 Access denied, sending domain contoso.com does not pass "
                          "DMARC verification", K.POLICY),
    ("failed", "5.7.26", "550-5.7.26 Unauthenticated email", K.POLICY),
    ("failed", "5.2.2", "552 5.2.2 Mailbox full", K.SOFT),
    ("failed", "5.0.0", "552 5.0.0 Quota exceeded", K.SOFT),
    ("failed", "5.0.0", "554 5.0.0 Message rejected as spam", K.POLICY),
    ("failed", None, "554 Message rejected as spam", K.POLICY),
    ("failed", None, "550 No such user", K.HARD),
    ("failed", None, None, K.HARD),
    ("failed", "4.2.2", "452 4.2.2 Over quota", K.SOFT),
    ("failed", "4.4.7", None, K.SOFT),
    ("delayed", "5.1.1", None, K.DELAYED),
    ("Delayed (will retry)", "4.4.1", None, K.DELAYED),
    ("delivered", "2.0.0", None, K.UNKNOWN),
])
def test_classification(action: str, status: str | None, diagnostic: str | None,
                        kind: BounceKind) -> None:
    assert classify(action, status, diagnostic) is kind


@pytest.mark.parametrize(("envelope", "template", "token"), [
    ("bounces+0123456789abcdef01234567@rollcall.contoso.com", TEMPLATE,
     "0123456789abcdef01234567"),
    ("<bounces+0123456789ABCDEF01234567@ROLLCALL.contoso.com>", TEMPLATE,
     "0123456789abcdef01234567"),
    ("rc-0123456789abcdef01234567@b.contoso.com", "rc-{token}@b.contoso.com",
     "0123456789abcdef01234567"),
    ("bounces+0123456789abcdef01234567@fabrikam.com", TEMPLATE, None),  # another domain
    ("bounces@rollcall.contoso.com", TEMPLATE, None),  # no plus
    ("bounces+0123456789abcdef0123456@rollcall.contoso.com", TEMPLATE, None),  # 23 characters
    ("bounces+0123456789abcdef0123456z@rollcall.contoso.com", TEMPLATE, None),  # not hex
    ("bounces+{token}@rollcall.contoso.com", TEMPLATE, None),
    ("bounces+0123456789abcdef01234567@rollcall.contoso.com", None, None),
    ("bounces+0123456789abcdef01234567@rollcall.contoso.com", "bounces@contoso.com", None),
    (None, TEMPLATE, None),
    ("", TEMPLATE, None),
])
def test_verp_token(envelope: str | None, template: str | None, token: str | None) -> None:
    assert verp_token(envelope, template) == token


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage \r\n\r\n\x80\x81",
    b"From: colleague@contoso.com\nSubject: lunch?\n\nAre you free at noon?\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\n\n--X\n"
    b"Content-Type: message/delivery-status\n\nAction: failed\nStatus: 9.9.9\n",  # no close
    b"Content-Type: multipart/report\n\n--\n--\n--",  # no boundary
    b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n!!!",
    b"Subject: =?bogus?Q?=FF?=\nContent-Type: text/plain; charset=x-nothing\n\n\xff\xfe",
])
def test_anything_else_is_kept_without_an_exception(raw: bytes) -> None:
    report = parse_bounce(raw, "bounces+0123456789abcdef01234567@rollcall.contoso.com",
                          TEMPLATE)
    assert isinstance(report, BounceReport)
    assert report.tokens[0] == "0123456789abcdef01234567"
    json.dumps(report.to_json())


def test_a_non_report_email_is_unknown_and_read_by_nothing() -> None:
    report = parse_bounce(b"From: colleague@contoso.com\nSubject: lunch?\n\nNoon?\n")
    assert (report.kind, report.method, report.failures) == (K.UNKNOWN, "none", ())
    assert report.reporter == "colleague@contoso.com"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    report = parse_bounce(raw, "x", TEMPLATE)
    assert report.kind in set(BounceKind)
    json.dumps(report.to_json())


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.data())
def test_damaged_real_reports_never_raise(name: str, data: st.DataObject) -> None:
    raw = bytearray(read(name))
    cut = data.draw(st.integers(0, len(raw)))
    noise = data.draw(st.binary(max_size=40))
    report = parse_bounce(bytes(raw[:cut]) + noise + bytes(raw[cut + len(noise):]))
    assert report.kind in set(BounceKind)
    assert all(re.fullmatch(r"[0-9a-f]{24}", t) for t in report.tokens)


def test_to_json_is_plain_data() -> None:
    data = parse_bounce(read("bounces/gmail_5.1.1.eml")).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "hard" and data["failures"][0]["kind"] == "hard"
    assert set(data) == {"kind", "failures", "tokens", "message_ids", "subject", "reporter",
                         "method"}
