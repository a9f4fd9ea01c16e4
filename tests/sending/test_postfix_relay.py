"""A tracked send through a real Postfix (Debian's, run privately on a loopback port; see
postfix.py): Rollcall records what the relay said, and Postfix then queues, retries and bounces
as a production relay does, towards SMTP simulators standing in for the remote MX and for
Rollcall's bounce mailbox.

Skipped where Postfix is missing or cannot start (not root); under CI=true they fail instead.
Set ROLLCALL_SAVE_POSTFIX_DSN=1 to refresh tests/sending/data/postfix_dsn_5.1.1.eml, the real
Postfix DSN kept for the bounce parser's corpus.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from postfix import PostfixRelay, PostfixUnavailable, postfix_relay, skip_or_fail, unavailable
from send_support import create, drain, records

from rollcall.sending.model import State
from smtp_simulator import Accepted, SmtpSimulator

PARTNERS = 14  # partners@contoso.com in the demo organisation
BOUNCE_DOMAIN = "rollcall.contoso.com"  # the VERP domain: bounces+{token}@rollcall.contoso.com
WAIT_S = 20  # for Postfix to deliver, retry or bounce; it takes 0.1 to 3 s here
DSN_CORPUS = Path(__file__).parent / "data" / "postfix_dsn_5.1.1.eml"

T = TypeVar("T")


@pytest.fixture(scope="module")
def next_hop() -> Iterator[SmtpSimulator]:
    """The "remote MX" Postfix relays everything to; each test scripts its rules."""
    with SmtpSimulator(hostname="mx.remote.test") as sim:
        yield sim


@pytest.fixture(scope="module")
def bounce_mailbox() -> Iterator[SmtpSimulator]:
    """Where Postfix delivers mail for the VERP domain: the DSNs it generates."""
    with SmtpSimulator(hostname="bounces.rollcall.test") as sim:
        yield sim


@pytest.fixture(scope="module")
def postfix(next_hop: SmtpSimulator, bounce_mailbox: SmtpSimulator,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixRelay]:
    """One private Postfix for the module, relaying to `next_hop` and routing the bounce
    domain to `bounce_mailbox`. Its log is kept in pytest's temporary folder."""
    reason = unavailable()
    if reason is not None:
        skip_or_fail(reason)
    kept = tmp_path_factory.mktemp("postfix") / "maillog"
    try:
        # The system temporary folder (tmp_dir=None): Postfix's daemons run as `postfix`,
        # and pytest's own folders sit under a 0700 /tmp/pytest-of-root.
        with postfix_relay(None, next_hop.port, {BOUNCE_DOMAIN: bounce_mailbox.port},
                           keep_log=kept) as relay:
            yield relay
    except PostfixUnavailable as e:
        skip_or_fail(f"the private Postfix did not start: {e}")


@pytest.fixture
def fresh(postfix: PostfixRelay, next_hop: SmtpSimulator,
          bounce_mailbox: SmtpSimulator) -> Callable[[str], int]:
    """`fresh(rules)`: the simulators cleared, the next hop given `rules`; returns the log
    offset this test's Postfix lines start at."""

    def reset(rules: str) -> int:
        next_hop.set_rules(rules)
        next_hop.clear()
        bounce_mailbox.clear()
        return postfix.log_size()

    return reset


def wait_for(what: Callable[[], str], probe: Callable[[], T | None],
             timeout: float = WAIT_S) -> T:
    """Poll `probe` until it returns something truthy; else fail with `what()` (said then, so
    it can tell what was seen)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what()}")
        time.sleep(0.1)


def send_through(sending: Any, postfix: PostfixRelay) -> dict[str, Any]:
    """The demo partners sent through Postfix until Rollcall is done; address -> record."""
    services = sending(smtp_url=postfix.url)
    send = create(services, "partners@contoso.com")
    drain(services)
    found = records(services, send.id)
    assert len(found) == PARTNERS
    return found


def token_of(record: Any) -> str:
    return record.message_id[1:].split(".")[0]  # <token.…@…>, as Rollcall builds it


def verp(record: Any) -> str:
    return f"bounces+{token_of(record)}@{BOUNCE_DOMAIN}"


def assert_accepted_by_postfix(found: dict[str, Any]) -> None:
    """Every record is `sent`, with Postfix's queue id from its `250 … queued as ID`."""
    for address, r in found.items():
        assert r.state is State.SENT, (address, r.state, r.code, r.text)
        assert r.code == 250 and r.attempts == 1, (address, r.code, r.attempts)
        assert r.remote_id and re.fullmatch(r"[0-9A-Za-z]+", r.remote_id), r.remote_id
        assert f"queued as {r.remote_id}" in (r.text or ""), r.text
    assert len({r.remote_id for r in found.values()}) == PARTNERS


def arrivals(next_hop: SmtpSimulator, addresses: set[str]) -> dict[str, Accepted]:
    """Wait for the messages to `addresses` at the next hop; address -> what arrived."""

    def arrived() -> dict[str, Accepted] | None:
        by_rcpt = {a.rcpt_to: a for a in next_hop.accepted}
        got = {x: by_rcpt[(x,)] for x in addresses if (x,) in by_rcpt}
        return got if len(got) == len(addresses) else None

    return wait_for(lambda: f"{len(addresses)} messages arrive at the next hop (it has "
                    f"{sorted(a.rcpt_to for a in next_hop.accepted)})", arrived)


def logged(postfix: PostfixRelay, since: int, what: str,
           complete: Callable[[list[dict[str, str]]], bool]) -> list[dict[str, str]]:
    """Postfix's delivery lines since `since`, once `complete` says they are all there."""

    def lines() -> list[dict[str, str]] | None:
        found = postfix.deliveries(since)
        return found if complete(found) else None

    return wait_for(lambda: f"Postfix's log shows {what}; its deliveries were:\n"
                    + "\n".join(str(d) for d in postfix.deliveries(since)), lines)


def as_email(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_every_recipient_is_queued_by_postfix_and_reaches_the_next_hop(
        sending, postfix, next_hop, fresh):
    since = fresh("")
    found = send_through(sending, postfix)
    assert_accepted_by_postfix(found)
    arrived = arrivals(next_hop, set(found))
    for address, r in found.items():
        accepted = arrived[address]
        message = as_email(accepted.data)
        assert message["Message-ID"] == r.message_id  # the id Rollcall recorded, kept by Postfix
        assert accepted.mail_from == verp(r)  # the VERP envelope sender survives the relay
        # Postfix's Received header names the queue id Rollcall recorded for this recipient.
        assert f"by relay.test (Postfix) with ESMTP id {r.remote_id}" in " ".join(
            message.get_all("Received", []))
    ids = {r.remote_id: a for a, r in found.items()}
    lines = logged(postfix, since, f"status=sent for the {PARTNERS} queue ids",
                   lambda d: ids.keys() <= {x["queue_id"] for x in d if x["status"] == "sent"})
    for line in lines:
        if line["queue_id"] in ids:
            address = ids[line["queue_id"]]
            assert (line["to"], line["status"]) == (address, "sent"), line
            # …and the next hop's own queue id, from its reply to Postfix.
            assert line["text"].endswith(f"queued as {arrived[address].queue_id}"), line


def delivery_status(dsn: EmailMessage) -> tuple[Message, list[Message]]:
    """(per-message fields, per-recipient field blocks) of a DSN's message/delivery-status."""
    parts = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    assert len(parts) == 1, [p.get_content_type() for p in dsn.walk()]
    blocks = parts[0].get_payload()  # one Message per block of fields
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    assert all(isinstance(b, Message) for b in blocks), blocks
    return cast(Message, blocks[0]), cast(list[Message], blocks[1:])


def test_a_recipient_the_next_hop_rejects_comes_back_as_a_dsn_to_its_verp_address(
        sending, postfix, next_hop, bounce_mailbox, fresh):
    since = fresh("reject:*@fabrikam.com")
    found = send_through(sending, postfix)
    # Postfix accepted every message: to Rollcall they are sent, the rejection comes later.
    assert_accepted_by_postfix(found)
    rejected = {a for a in found if a.endswith("@fabrikam.com")}
    assert rejected and len(rejected) < PARTNERS
    arrivals(next_hop, set(found) - rejected)

    verps = {verp(found[a]): a for a in rejected}

    def all_dsns() -> dict[tuple[str, ...], Accepted] | None:
        got = {m.rcpt_to: m for m in bounce_mailbox.accepted if m.rcpt_to[0] in verps}
        return got if len(got) == len(rejected) else None

    dsns = wait_for(lambda: f"a DSN for each of {sorted(verps)} reaches the bounce mailbox "
                    f"(it has {[m.rcpt_to for m in bounce_mailbox.accepted]})", all_dsns)
    assert len(bounce_mailbox.accepted) == len(rejected)  # nobody else bounced
    for rcpt_to, accepted in dsns.items():
        assert len(rcpt_to) == 1, rcpt_to
        to = rcpt_to[0]
        address, record = verps[to], found[verps[to]]
        assert to == f"bounces+{token_of(record)}@{BOUNCE_DOMAIN}"  # the token names the send
        assert accepted.mail_from in ("", "<>")  # a DSN has the null sender
        dsn = as_email(accepted.data)
        assert dsn.get_content_type() == "multipart/report"
        assert dsn.get_param("report-type") == "delivery-status"
        per_message, per_recipient = delivery_status(dsn)
        assert per_message["Reporting-MTA"] == "dns; relay.test"
        assert len(per_recipient) == 1
        fields = per_recipient[0]
        assert fields["Final-Recipient"] == f"rfc822; {address}"
        assert fields["Action"] == "failed"
        assert fields["Status"] == "5.1.1"
        assert "550 5.1.1" in str(fields["Diagnostic-Code"])
        # The returned message is Rollcall's: its Message-ID is the one recorded.
        assert f"Message-ID: {record.message_id}" in accepted.data.decode(errors="replace")
        if os.environ.get("ROLLCALL_SAVE_POSTFIX_DSN") and address == min(rejected):
            DSN_CORPUS.parent.mkdir(exist_ok=True)
            DSN_CORPUS.write_bytes(accepted.data)

    bounced = {found[a].remote_id: a for a in rejected}
    lines = logged(postfix, since, "status=bounced for each rejected recipient",
                   lambda d: bounced.keys() <= {x["queue_id"] for x in d
                                                if x["status"] == "bounced"})
    for line in lines:
        if line["queue_id"] in bounced:
            assert line["to"] == bounced[line["queue_id"]] and line["status"] == "bounced"
            assert "said: 550 5.1.1" in line["text"], line
    # Each DSN left Postfix by the bounce domain's route, not the relayhost.
    route = f"127.0.0.1[127.0.0.1]:{bounce_mailbox.port}"
    logged(postfix, since, f"status=sent via {route} for each DSN",
           lambda d: set(verps) <= {x["to"] for x in d
                                    if x["status"] == "sent" and x["relay"] == route})


def test_greylisting_at_the_next_hop_is_postfixs_to_retry_not_rollcalls(
        sending, postfix, next_hop, fresh):
    since = fresh("greylist:*@fabrikam.com")
    found = send_through(sending, postfix)
    assert_accepted_by_postfix(found)  # all sent at once, on the first attempt
    greylisted = {a for a in found if a.endswith("@fabrikam.com")}
    assert greylisted
    arrivals(next_hop, set(found))
    # The next hop said 451 once to each greylisted address, then took it.
    codes = {a: [c for x, c in next_hop.attempts if x == a] for a in greylisted}
    assert all(c == [451, 250] for c in codes.values()), codes
    ids = {found[a].remote_id: a for a in greylisted}

    def deferred_then_sent(lines: list[dict[str, str]]) -> bool:
        seen = {q: [x["status"] for x in lines if x["queue_id"] == q] for q in ids}
        return all(s == ["deferred", "sent"] for s in seen.values())

    lines = logged(postfix, since, "status=deferred then status=sent for each greylisted "
                   "queue id", deferred_then_sent)
    for line in lines:
        if line["queue_id"] in ids and line["status"] == "deferred":
            assert line["to"] == ids[line["queue_id"]]
            assert "451 4.7.1 Greylisted" in line["text"], line
