"""Mail folders and messages through exchangelib's folder and item API: the Inbox, FindFolder,
CreateFolder, FindItem paging and sorting, GetItem with MIME, MoveItem, and delivery from Python
and over HTTP. Every exchange is validated against Microsoft's schema when the test ends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests
from exchangelib import Folder, Q
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorFolderExists,
    ErrorImpersonateUserDenied,
    ErrorItemNotFound,
)
from exchangelib.folders import SHALLOW, FolderCollection
from exchangelib.services import CreateFolder

from ews_simulator.server import MAILBOXES_PATH

MEGAN = "megan@contoso.com"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def message(subject: str, sender: str = "Mail Delivery <postmaster@fabrikam.com>") -> bytes:
    return (f"From: {sender}\r\nTo: {MEGAN}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Nov 2026 08:59:00 +0000\r\nMessage-ID: <{abs(hash(subject))}@x>\r\n"
            f"\r\nbody of {subject}\r\n").encode()


DSN = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.fabrikam.com>\r\n"
    b"To: bounces+t0k3n@contoso.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.fabrikam.com\r\n\r\n"
    b"Final-Recipient: rfc822; nobody@fabrikam.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
    b"--b1--\r\n"
)


def control(server, address: str) -> str:
    return server.url.split("/EWS/")[0] + MAILBOXES_PATH + quote(address) + "/inbox"


def test_the_inbox_is_two_get_folders_away_and_counts_its_messages(sim, account):
    server, wire = sim
    for i in range(3):
        server.deliver(MEGAN, message(f"m{i}"))
    acc = account(server, "svc-rollcall@contoso.com", act_as=MEGAN)
    server.reset_counters()
    inbox = acc.inbox
    assert (inbox.name, inbox.total_count, inbox.folder_class) == ("Inbox", 3, "IPF.Note")
    assert server.snapshot() == {"GetFolder": 2}  # root, then inbox by its distinguished name
    assert acc.msg_folder_root.name == "Top of Information Store"
    assert inbox.parent.id == acc.msg_folder_root.id


def test_find_item_sorts_by_received_time_and_pages(sim, account):
    server, wire = sim
    order = [3, 0, 4, 1, 6, 2, 5]  # delivered out of order: received times say otherwise
    for n in order:
        server.deliver(MEGAN, message(f"m{n}"), T0 + timedelta(minutes=n))
    inbox = account(server).inbox
    server.reset_counters()
    query = inbox.all().order_by("datetime_received").only("subject", "datetime_received")
    query.page_size = 3
    got = [(i.subject, i.datetime_received) for i in query]
    assert got == [(f"m{n}", T0 + timedelta(minutes=n)) for n in range(7)]
    assert server.snapshot() == {"FindItem": 3}  # 3 + 3 + 1, the properties in FindItem itself
    pages = [r.find(".//{*}RootFolder") for r in wire.responses("FindItem")[-3:]]
    assert [(p.get("TotalItemsInView"), p.get("IncludesLastItemInRange")) for p in pages] == [
        ("7", "false"), ("7", "false"), ("7", "true")]
    newest = inbox.all().order_by("-datetime_received").only("subject")
    assert [i.subject for i in newest[:2]] == ["m6", "m5"]


def test_without_a_sort_order_the_newest_come_first(sim, account):
    server, _ = sim
    for n in range(3):
        server.deliver(MEGAN, message(f"m{n}"), T0 + timedelta(minutes=n))
    assert [i.subject for i in account(server).inbox.all().only("subject")] == ["m2", "m1", "m0"]


def test_get_item_returns_the_stored_message_exactly_as_mime(sim, account):
    server, _ = sim
    raw = ("From: Zoë <zoe@fabrikam.com>\r\nTo: megan@contoso.com\r\n"
           "Subject: Récépissé — non remis\r\n\r\nCafé\r\n").encode()  # 8-bit headers
    new_id = server.deliver(MEGAN, raw)
    acc = account(server)
    [item] = acc.fetch(ids=[(new_id, None)], only_fields=["mime_content", "subject", "author"])
    assert item.mime_content == raw
    assert item.subject == "Récépissé — non remis"
    assert (item.author.name, item.author.email_address) == ("Zoë", "zoe@fabrikam.com")


def test_a_delivery_status_notification_is_a_report(sim, account):
    server, _ = sim
    server.deliver(MEGAN, DSN)
    server.deliver(MEGAN, message("plain"))
    items = account(server).inbox.all().only("item_class", "subject")
    assert sorted(i.item_class for i in items) == ["IPM.Note", "REPORT.IPM.Note.NDR"]
    ndrs = account(server).inbox.filter(item_class="REPORT.IPM.Note.NDR").only("subject")
    assert [i.subject for i in ndrs] == ["Undelivered Mail Returned to Sender"]


def test_find_folder_finds_by_name_and_create_folder_refuses_a_second_one(sim, account):
    server, _ = sim
    acc = account(server, "svc-rollcall@contoso.com", act_as=MEGAN)
    inbox = acc.inbox

    def named(name, parent=inbox):
        return list(FolderCollection(account=acc, folders=[parent]).find_folders(
            q=Q(name=name), depth=SHALLOW))

    assert named("Processed") == []
    made = CreateFolder(account=acc).get(parent_folder=inbox,
                                         folders=[Folder(parent=inbox, name="Processed")])
    [found] = named("processed")  # folder names compare without case, as in Exchange
    assert (found.id, found.name, found.parent.id) == (made.id, "Processed", inbox.id)
    assert named("Processed", acc.msg_folder_root) == []  # only the Inbox's children
    with pytest.raises(ErrorFolderExists):
        CreateFolder(account=acc).get(parent_folder=inbox,
                                      folders=[Folder(parent=inbox, name="PROCESSED")])
    # exchangelib's own navigation walks the whole tree: GetFolder for every distinguished
    # folder, then FindFolder Deep from the root.
    assert (acc.inbox / "Processed").id == made.id
    assert {"Inbox", "Contacts", "Processed"} <= {f.name for f in acc.root.walk()}
    [by_id] = FolderCollection(account=acc, folders=[made]).get_folders()  # GetFolder by FolderId
    assert (by_id.name, by_id.total_count, by_id.child_folder_count) == ("Processed", 0, 0)


def test_move_item_gives_the_message_a_new_id_in_the_target_folder(sim, account):
    server, _ = sim
    ids = [server.deliver(MEGAN, message(f"m{n}"), T0 + timedelta(minutes=n)) for n in range(3)]
    acc = account(server)
    target = Folder(parent=acc.inbox, name="Processed")
    target.save()  # exchangelib's way: CreateFolder, after reading the whole folder tree
    moved = acc.bulk_move(ids=[(i, None) for i in ids[:2]], to_folder=target)
    assert len(moved) == 2 and not {m[0] for m in moved} & set(ids)
    gone = list(acc.fetch(ids=[(ids[0], None)], only_fields=["subject"]))
    assert isinstance(gone[0], ErrorItemNotFound)
    assert [i.subject for i in acc.fetch(ids=moved, only_fields=["subject"])] == ["m0", "m1"]
    assert [i.subject for i in acc.inbox.all().only("subject")] == ["m2"]
    processed = acc.inbox / "Processed"
    assert sorted(i.subject for i in processed.all().only("subject")) == ["m0", "m1"]
    acc.inbox.refresh()  # exchangelib keeps folders it has read: GetFolder again
    [fresh] = FolderCollection(account=acc, folders=[processed]).get_folders()
    assert (acc.inbox.total_count, fresh.total_count) == (1, 2)
    again = acc.bulk_move(ids=[moved[0]], to_folder=acc.inbox)  # and back
    assert [i.subject for i in acc.fetch(ids=again, only_fields=["subject"])] == ["m0"]


def test_another_mailboxs_mail_is_denied_without_impersonation(sim, account):
    server, _ = sim
    megans = server.deliver(MEGAN, message("private"))
    with pytest.raises(ErrorImpersonateUserDenied):
        account(server, "alex@contoso.com", act_as=MEGAN).inbox  # noqa: B018
    alex = account(server, "alex@contoso.com")
    with pytest.raises(ErrorAccessDenied):  # raised, where a missing item comes back in the list
        list(alex.fetch(ids=[(megans, None)], only_fields=["subject"]))
    with pytest.raises(ErrorAccessDenied):
        alex.bulk_move(ids=[(megans, None)], to_folder=alex.inbox)
    assert alex.inbox.total_count == 0


def test_deliver_takes_proxy_and_plus_addresses_and_refuses_strangers(sim, account):
    server, _ = sim
    server.deliver("mbowen@contoso.com", message("by proxy"))
    server.deliver("megan+t0k3n@contoso.com", message("plus addressed"))
    with pytest.raises(KeyError):
        server.deliver("nobody@contoso.com", message("lost"))
    with pytest.raises(KeyError):
        server.deliver("sales@contoso.com", message("a list has no inbox"))
    subjects = sorted(i.subject for i in account(server).inbox.all().only("subject"))
    assert subjects == ["by proxy", "plus addressed"]


def test_messages_are_delivered_over_http_from_this_machine(sim, account):
    server, _ = sim
    answer = requests.post(control(server, "megan+bounce-42@contoso.com"), data=DSN,
                           headers={"Content-Type": "message/rfc822"}, timeout=10)
    assert answer.status_code == 201
    assert answer.json()["mailbox"] == MEGAN
    [item] = account(server).fetch(ids=[(answer.json()["id"], None)],
                                   only_fields=["mime_content"])
    assert item.mime_content == DSN
    assert requests.post(control(server, "nobody@contoso.com"), data=DSN,
                         timeout=10).status_code == 404
    assert requests.post(control(server, MEGAN), data=b"", timeout=10).status_code == 400


def test_deliveries_from_many_threads_each_land_once(sim, account):
    server, _ = sim
    ids: list[str] = []
    lock = threading.Lock()

    def deliver(n: int) -> None:
        for i in range(25):
            new = server.deliver(MEGAN, message(f"t{n}-{i}"))
            with lock:
                ids.append(new)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 200
    found = [i.id for i in account(server).inbox.all().only("subject")]
    assert sorted(found) == sorted(ids)


FIND_DEFAULT = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<s:Body><m:FindItem Traversal="Shallow">
  <m:ItemShape><t:BaseShape>Default</t:BaseShape><t:AdditionalProperties>
    <t:FieldURI FieldURI="message:InternetMessageId"/></t:AdditionalProperties></m:ItemShape>
  <m:IndexedPageItemView MaxEntriesReturned="1" Offset="1" BasePoint="Beginning"/>
  <m:SortOrder><t:FieldOrder Order="Descending"><t:FieldURI FieldURI="item:DateTimeReceived"/>
  </t:FieldOrder></m:SortOrder>
  <m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>
</m:FindItem></s:Body></s:Envelope>"""


def test_the_default_shape_carries_what_a_mail_list_shows(sim):
    server, wire = sim
    for n in range(3):
        server.deliver(MEGAN, message(f"m{n}"), T0 + timedelta(minutes=n))
    answer = requests.post(server.url, data=FIND_DEFAULT.encode(), timeout=10,
                           auth=(MEGAN, "megan-pw"), headers={"Content-Type": "text/xml"})
    assert answer.status_code == 200
    [found] = wire.responses("FindItem")
    root = found.find(".//{*}RootFolder")
    assert (root.get("IndexedPagingOffset"), root.get("TotalItemsInView"),
            root.get("IncludesLastItemInRange")) == ("2", "3", "false")
    [msg] = root.find("{*}Items")
    assert [child.tag.split("}")[1] for child in msg] == [
        "ItemId", "ParentFolderId", "ItemClass", "Subject", "DateTimeReceived", "Size",
        "DateTimeSent", "Sender", "ToRecipients", "From", "InternetMessageId", "IsRead"]
    assert msg.findtext("{*}Subject") == "m1"
    assert msg.findtext("{*}DateTimeReceived") == "2026-11-02T09:01:00Z"
    assert msg.findtext("{*}From/{*}Mailbox/{*}EmailAddress") == "postmaster@fabrikam.com"
