"""The bounce mailbox read over EWS: Rollcall's reader, exchangelib over HTTP, the EWS simulator
(every exchange validated against Microsoft's schema when the test ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollcall.core.model import DirectoryError
from rollcall.directory.ews.bounce_mailbox import EwsBounceMailbox, MailItem
from rollcall.directory.ews.settings import EwsSettings

BOUNCES = "bounces@contoso.com"
ORG = {
    "domain": "contoso.com",
    "mailboxes": [
        {"address": BOUNCES, "password": "bounce-pw"},
        {"address": "svc@contoso.com", "password": "svc-pw", "can_impersonate": True},
        {"address": "plain@contoso.com", "password": "plain-pw"},
    ],
}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def dsn(n: int) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.fabrikam.com>\r\n"
        f"To: bounces+tok{n}@contoso.com\r\nSubject: Undelivered Mail {n}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; r{n}@fabrikam.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--b--\r\n"
    ).encode()


# Raw UTF-8 in the headers, as some MTAs send (RFC 6532), and CRLF line ends kept byte for byte.
EIGHT_BIT = ("From: Postmaître <postmaster@exemple.fr>\r\nTo: bounces+tök@contoso.com\r\n"
             "Subject: Non remis : Réunion — 東京\r\n\r\nÉchec de remise.\r\n").encode()


@pytest.fixture
def sim(start_simulator):
    server, _ = start_simulator(ORG)
    return server


def reader(server, user="svc@contoso.com", password="svc-pw", **kwargs) -> EwsBounceMailbox:
    settings = EwsSettings(url=server.url, username=user, password=password, timeout_s=5)
    return EwsBounceMailbox(settings, BOUNCES, **kwargs)


def inbox_and_processed(server) -> tuple[list[str], list[str]]:
    """Subjects in the Inbox and in Processed (wherever it is), as the simulator stores them."""
    store = server.mail
    [processed] = [f for f in store.children(BOUNCES, "msgfolderroot", deep=True)
                   if f.name.lower() == "processed"] or [None]
    inbox = [m.subject for m in store.messages(BOUNCES, "inbox")]
    done = [m.subject for m in store.messages(BOUNCES, processed.local)] if processed else []
    return inbox, done


def test_fetch_returns_the_inbox_oldest_first_with_the_exact_mime(sim):
    sim.deliver(BOUNCES, dsn(1), T0 + timedelta(minutes=2))
    sim.deliver("bounces+tok2@contoso.com", dsn(2), T0)  # plus-addressed, received earliest
    sim.deliver(BOUNCES, EIGHT_BIT, T0 + timedelta(minutes=1))
    items = reader(sim).fetch()
    assert [(i.subject, i.received_at, i.mime) for i in items] == [
        ("Undelivered Mail 2", T0, dsn(2)),
        ("Non remis : Réunion — 東京", T0 + timedelta(minutes=1), EIGHT_BIT),
        ("Undelivered Mail 1", T0 + timedelta(minutes=2), dsn(1)),
    ]
    assert all(isinstance(i, MailItem) and i.id and i.changekey for i in items)
    assert reader(sim).fetch(limit=1) == items[:1]


def test_processed_moves_them_and_makes_the_folder_once(sim):
    for n in range(3):
        sim.deliver(BOUNCES, dsn(n), T0 + timedelta(minutes=n))
    mailbox = reader(sim)
    first = mailbox.fetch()
    mailbox.processed(first)
    assert inbox_and_processed(sim) == ([], [f"Undelivered Mail {n}" for n in range(3)])
    assert mailbox.fetch() == []
    sim.deliver(BOUNCES, dsn(3), T0 + timedelta(minutes=3))
    second = mailbox.fetch()
    assert [i.subject for i in second] == ["Undelivered Mail 3"]
    mailbox.processed(second)
    assert sim.snapshot()["CreateFolder"] == 1
    assert sim.snapshot()["FindFolder"] == 2  # under the Inbox, then the message root: once
    [folder] = [f for f in sim.mail.children(BOUNCES, "inbox") if f.name == "Processed"]
    assert len(sim.mail.messages(BOUNCES, folder.local)) == 4
    sim.reset_counters()
    reader(sim).processed(second)  # a new reader finds the folder; moved items are skipped
    assert "CreateFolder" not in sim.snapshot()


def test_a_processed_folder_made_by_hand_elsewhere_is_found_by_name(sim):
    sim.mail.create_folder(BOUNCES, "msgfolderroot", "processed", None)
    sim.deliver(BOUNCES, dsn(1))
    mailbox = reader(sim)
    mailbox.processed(mailbox.fetch())
    assert inbox_and_processed(sim) == ([], ["Undelivered Mail 1"])
    assert "CreateFolder" not in sim.snapshot()


def test_a_deleted_processed_folder_is_made_again(sim):
    for n in range(2):
        sim.deliver(BOUNCES, dsn(n), T0 + timedelta(minutes=n))
    mailbox = reader(sim)
    items = mailbox.fetch()
    mailbox.processed(items[:1])
    [folder] = [f for f in sim.mail.children(BOUNCES, "inbox") if f.name == "Processed"]
    sim.mail.delete_folder(BOUNCES, folder.local)  # someone tidied up in Outlook
    mailbox.processed(items[1:])
    assert inbox_and_processed(sim) == ([], ["Undelivered Mail 1"])
    assert sim.snapshot()["CreateFolder"] == 2


def test_fetch_pages_through_more_than_a_page(sim):
    for n in range(8):
        sim.deliver(BOUNCES, dsn(n), T0 + timedelta(minutes=n))
    mailbox = reader(sim, page_size=3)
    sim.reset_counters()
    assert [i.subject for i in mailbox.fetch()] == [f"Undelivered Mail {n}" for n in range(8)]
    counts = sim.snapshot()
    assert (counts["FindItem"], counts["GetItem"]) == (3, 3)  # 3 + 3 + 2, MIME in chunks of 3
    assert [i.subject for i in mailbox.fetch(limit=5)] == [
        f"Undelivered Mail {n}" for n in range(5)]
    mailbox.processed(mailbox.fetch(limit=7))
    assert sim.snapshot()["MoveItem"] == 3
    assert [i.subject for i in mailbox.fetch()] == ["Undelivered Mail 7"]


def test_the_service_account_reading_its_own_mailbox_needs_no_impersonation(sim):
    sim.deliver(BOUNCES, dsn(1))
    settings = EwsSettings(url=sim.url, username=BOUNCES, password="bounce-pw")
    assert [i.subject for i in EwsBounceMailbox(settings, BOUNCES).fetch()] == [
        "Undelivered Mail 1"]


@pytest.mark.parametrize(("user", "password", "code"), [
    ("svc@contoso.com", "wrong", "unauthorized"),
    ("plain@contoso.com", "plain-pw", "access_denied"),  # no right to impersonate
])
def test_refusals_are_rollcalls_errors(sim, user, password, code):
    sim.deliver(BOUNCES, dsn(1))
    with pytest.raises(DirectoryError) as refused:
        reader(sim, user, password).fetch()
    assert refused.value.code == code
    assert "exchangelib" not in type(refused.value).__module__


def test_a_busy_exchange_is_rollcalls_throttled_with_its_wait(sim):
    mailbox = reader(sim)
    mailbox.fetch()  # connected; now Exchange starts throttling
    sim.apply_faults("busy,back_off_ms=1500")
    with pytest.raises(DirectoryError) as busy:
        mailbox.fetch()
    assert (busy.value.code, busy.value.back_off) == ("throttled", 1.5)


@pytest.mark.parametrize("build", [None, "15.1.2507.6"])  # with and without the version probe
def test_an_exchange_that_is_down_is_unreachable(start_simulator, build):
    server, _ = start_simulator(ORG)
    url = server.url
    server.stop()
    settings = EwsSettings(url=url, username="svc@contoso.com", password="svc-pw", build=build,
                           timeout_s=2)
    with pytest.raises(DirectoryError) as down:
        EwsBounceMailbox(settings, BOUNCES).fetch()
    assert down.value.code == "unreachable"


def test_settings_that_cannot_work_are_refused_at_once():
    with pytest.raises(ValueError, match="service account"):
        EwsBounceMailbox(EwsSettings(url="https://x/EWS/Exchange.asmx", auth="oauth"), BOUNCES)
    with pytest.raises(ValueError, match="URL"):
        EwsBounceMailbox(EwsSettings(username="svc@contoso.com"), BOUNCES)
