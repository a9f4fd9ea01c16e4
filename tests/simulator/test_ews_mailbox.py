"""Contacts, contact groups and impersonation through exchangelib's folder API."""

from __future__ import annotations

import pytest
from exchangelib.errors import ErrorAccessDenied, ErrorImpersonateUserDenied
from exchangelib.items import DistributionList

from ews_simulator import load


def test_contact_group_members_carry_their_status(sim, account):
    server, _ = sim
    groups = {g.display_name: g for g in account(server).contacts.filter(item_class="IPM.DistList")}
    assert set(groups) == {"Comms Champions", "Inner Circle"}
    members = [
        (m.mailbox.email_address, m.mailbox.mailbox_type, m.status)
        for m in groups["Comms Champions"].members
    ]
    assert members == [
        ("alex@contoso.com", "Mailbox", "Normal"),
        ("ann@fabrikam.com", "Contact", "Normal"),
        ("one.off@tailspin.example", "OneOff", "Normal"),
        ("sales@contoso.com", "PublicDL", "Normal"),
        (None, "PrivateDL", "Normal"),
        ("gone@contoso.com", "OneOff", "Demoted"),
        (None, "Unknown", "Unrecognized"),
    ]


def test_the_contacts_folder_lists_contacts_and_groups(sim, account):
    server, _ = sim
    items = list(account(server).contacts.all())
    assert sorted(i.display_name for i in items) == [
        "Ann Partner",
        "Bob Vendor",
        "Comms Champions",
        "Inner Circle",
    ]
    assert sum(isinstance(i, DistributionList) for i in items) == 2


def test_find_item_pages_through_250_contacts(start_simulator, account):
    contacts = [
        {"id": f"c{i}", "name": f"Contact {i:03}", "address": f"c{i}@example.org"}
        for i in range(250)
    ]
    doc = {"mailboxes": [{"address": "big@contoso.com", "password": "pw", "contacts": contacts}]}
    server, _ = start_simulator(load(doc))
    server.reset_counters()
    items = list(account(server, "big@contoso.com", "pw").contacts.all())
    assert sorted(i.email_addresses[0].email for i in items) == sorted(
        c["address"] for c in contacts
    )
    assert server.snapshot()["FindItem"] == 3  # 100 + 100 + 50


def test_each_mailbox_sees_only_its_own_contacts(sim, account):
    server, _ = sim
    alex = [g.display_name for g in account(server, "alex@contoso.com").contacts.all()]
    assert alex == ["Alex Private"]


def test_reading_another_mailboxs_contacts_is_denied(sim, account):
    server, _ = sim
    megan = account(server, "alex@contoso.com", act_as="megan@contoso.com", delegate=True)
    with pytest.raises(ErrorAccessDenied):
        list(megan.contacts.all())
    assert account(server, "alex@contoso.com").contacts.total_count == 1


def test_a_service_account_with_the_right_impersonates_a_mailbox(sim, account):
    server, wire = sim
    acc = account(server, "svc-rollcall@contoso.com", act_as="megan@contoso.com")
    names = sorted(i.display_name for i in acc.contacts.all())
    assert names == ["Ann Partner", "Bob Vendor", "Comms Champions", "Inner Circle"]
    assert any(b"ExchangeImpersonation" in r for r, _, _ in wire.exchanges)


def test_impersonation_without_the_right_is_denied(sim, account):
    server, _ = sim
    acc = account(server, "alex@contoso.com", act_as="megan@contoso.com")
    with pytest.raises(ErrorImpersonateUserDenied):
        list(acc.contacts.all())
