"""ResolveNames, ExpandDL and GetMailTips as exchangelib experiences them, over real HTTP."""

from __future__ import annotations

import warnings

import pytest
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorItemNotFound,
    ErrorNameResolutionNoResults,
    ErrorSchemaValidation,
)
from exchangelib.properties import DLMailbox, ItemId, Mailbox
from exchangelib.services import GetMailTips, ResolveNames
from exchangelib.util import add_xml_child, create_element, set_xml_value

from ews_simulator import load
from ews_simulator.soap import M_NS, T_NS

M = f"{{{M_NS}}}"
T = f"{{{T_NS}}}"


def resolve(account, *names, full=False):
    svc = ResolveNames(protocol=account.protocol, chunk_size=1)
    return list(svc.call(unresolved_entries=list(names), return_full_contact_data=full))


def test_resolving_a_name_an_address_a_proxy_and_a_contact_group(sim, account):
    server, _ = sim
    acc = account(server)
    by_name, by_address, by_proxy, group = resolve(
        acc, "Adele", "SMTP:alex@contoso.com", "mbowen@contoso.com", "Comms Champions"
    )
    assert (by_name.email_address, by_name.mailbox_type) == ("adele@contoso.com", "Mailbox")
    assert by_address.email_address == "alex@contoso.com"
    assert by_proxy.email_address == "megan@contoso.com"
    assert group.mailbox_type == "PrivateDL" and group.item_id is not None


def test_each_name_travels_in_its_own_request(sim, account):
    server, wire = sim
    resolve(account(server), "Adele", "Alex Wilber", "sales@contoso.com")
    requests = [r for r, _, _ in wire.exchanges if b"ResolveNames" in r]
    assert len(requests) == 3
    assert all(r.count(b"UnresolvedEntry>") == 2 for r in requests)  # open and close tag


def test_an_unknown_name_comes_back_as_no_results(sim, account):
    server, _ = sim
    [result] = resolve(account(server), "Nobody Here")
    assert isinstance(result, ErrorNameResolutionNoResults)


def test_several_candidates_are_a_warning_with_all_of_them(sim, account):
    server, wire = sim
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "more than 100 candidates" warning expected
        results = resolve(account(server), "A")  # Adele, Alex, All Staff, Ann (a contact)...
    names = {r.name for r in results}
    assert {"Adele Vance", "Alex Wilber", "All Staff", "Ann Partner"} <= names
    [answer] = wire.responses("ResolveNames")
    message = answer.find(f"{M}ResponseMessages")[0]
    assert message.get("ResponseClass") == "Warning"
    assert message.findtext(f"{M}ResponseCode") == "ErrorNameResolutionMultipleResults"


def test_hidden_recipients_do_not_resolve(sim, account):
    server, _ = sim
    results = resolve(account(server), "hidden.exec@contoso.com", "Hidden Executive")
    assert all(isinstance(r, ErrorNameResolutionNoResults) for r in results)


def test_full_contact_data_carries_directory_attributes(sim, account):
    server, _ = sim
    [(mailbox, contact)] = resolve(account(server), "alex@contoso.com", full=True)
    assert mailbox.email_address == "alex@contoso.com"
    assert contact.display_name == "Alex Wilber" and contact.department == "Sales"


def test_at_most_100_candidates_and_the_range_says_so(start_simulator, account):
    doc = {
        "mailboxes": [
            {"address": f"user{i:03}@contoso.com", "name": f"Test User {i:03}", "password": "pw"}
            for i in range(130)
        ]
    }
    server, wire = start_simulator(load(doc))
    acc = account(server, "user000@contoso.com", "pw")
    with pytest.warns(UserWarning, match="at most 100 candidates"):
        results = resolve(acc, "Test")
    assert len(results) == 100
    [answer] = wire.responses("ResolveNames")
    assert answer.find(f".//{M}ResolutionSet").get("IncludesLastItemInRange") == "false"


def test_several_names_in_one_request_fail_schema_validation_as_on_exchange(sim, account):
    server, wire = sim
    acc = account(server)
    with pytest.raises(ErrorSchemaValidation):
        acc.protocol.resolve_names(["Adele", "Alex"])
    wire.exchanges.clear()  # exchangelib's own request here is the invalid one


def expand(account, **kwargs):
    return list(account.protocol.expand_dl(DLMailbox(**kwargs)))


def test_expanding_a_public_list_gives_one_level_of_members(sim, account):
    server, _ = sim
    members = expand(account(server), email_address="allstaff@contoso.com", mailbox_type="PublicDL")
    kinds = {m.email_address: m.mailbox_type for m in members}
    assert kinds == {
        "sales@contoso.com": "PublicDL",
        "megan@contoso.com": "Mailbox",
        "partner@fabrikam.com": "Contact",
        "feedback@contoso.com": "PublicFolder",
        "m365-marketing@contoso.com": "GroupMailbox",
        "loop-a@contoso.com": "PublicDL",
    }


def test_a_list_found_by_legacy_dn_expands_like_by_address(sim, account):
    server, _ = sim
    acc = account(server)
    dn = server.org.find("sales@contoso.com").legacy_dn
    by_dn = expand(acc, email_address=dn, routing_type="EX", mailbox_type="PublicDL")
    by_address = expand(acc, email_address="sales@contoso.com", mailbox_type="PublicDL")
    assert [m.email_address for m in by_dn] == [m.email_address for m in by_address]


def test_hidden_members_are_left_out_of_a_list(sim, account):
    server, _ = sim
    members = expand(account(server), email_address="sales@contoso.com", mailbox_type="PublicDL")
    assert [m.email_address for m in members] == ["alex@contoso.com", "adele@contoso.com"]


def test_dynamic_lists_and_microsoft_365_groups_expand(sim, account):
    server, _ = sim
    acc = account(server)
    dynamic = expand(acc, email_address="sales-dynamic@contoso.com", mailbox_type="PublicDL")
    group = expand(acc, email_address="m365-marketing@contoso.com", mailbox_type="GroupMailbox")
    assert sorted(m.email_address for m in dynamic) == ["adele@contoso.com", "alex@contoso.com"]
    assert [m.email_address for m in group] == ["megan@contoso.com"]


def test_a_truncated_answer_says_so_only_in_the_raw_xml(sim, account):
    server, wire = sim
    members = expand(account(server), email_address="cut@contoso.com", mailbox_type="PublicDL")
    assert len(members) == 2  # exchangelib cannot tell this from a complete list
    [answer] = wire.responses("ExpandDL")
    expansion = answer.find(f".//{M}DLExpansion")
    assert expansion.get("IncludesLastItemInRange") == "false"
    assert expansion.get("TotalItemsInView") == "3"


def test_unknown_and_hidden_lists_are_no_results(sim, account):
    server, _ = sim
    acc = account(server)
    for address in ("nolist@contoso.com", "secret-list@contoso.com", "megan@contoso.com"):
        with pytest.raises(ErrorNameResolutionNoResults):
            expand(acc, email_address=address, mailbox_type="PublicDL")


def test_a_contact_group_expands_by_item_id_without_its_unusable_members(sim, account):
    server, _ = sim
    acc = account(server)
    [group] = resolve(acc, "Comms Champions")
    members = expand(acc, item_id=group.item_id, mailbox_type="PrivateDL")
    assert [(m.email_address, m.mailbox_type) for m in members] == [
        ("alex@contoso.com", "Mailbox"),
        ("ann@fabrikam.com", "Contact"),
        ("one.off@tailspin.example", "OneOff"),
        ("sales@contoso.com", "PublicDL"),
        (None, "PrivateDL"),
        ("gone@contoso.com", "OneOff"),
    ]
    inner = expand(acc, item_id=members[4].item_id, mailbox_type="PrivateDL")
    assert [(m.email_address, m.routing_type) for m in inner] == [
        ("alex@contoso.com", "SMTP"), ("bob@northwind.example", "SMTP"),
        ("/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=adele", "EX")]


def test_an_unknown_contact_group_is_item_not_found_and_another_users_is_denied(sim, account):
    server, _ = sim
    acc = account(server)
    alex_group = server.org.mailboxes["alex@contoso.com"].groups["secret"].item_id
    missing = server.org.mailboxes["megan@contoso.com"].groups["inner"].item_id.replace("=", "A=")
    [result] = expand(acc, item_id=ItemId(missing, "x"), mailbox_type="PrivateDL")
    assert isinstance(result, ErrorItemNotFound)  # exchangelib hands this one back, not raised
    with pytest.raises(ErrorAccessDenied):
        expand(acc, item_id=ItemId(alex_group, "x"), mailbox_type="PrivateDL")


class MailTipsRequested(GetMailTips):
    """exchangelib 5.6.0 writes SendingAs as t:Mailbox and leaves out m:MailTipsRequested;
    the schema requires m:SendingAs, m:Recipients, m:MailTipsRequested in that order."""

    def get_payload(self, recipients, sending_as, mail_tips_requested):
        payload = create_element("m:GetMailTips")
        sender = create_element("m:SendingAs")
        add_xml_child(sender, "t:EmailAddress", sending_as.email_address)
        payload.append(sender)
        to = create_element("m:Recipients")
        for r in recipients:
            set_xml_value(to, r, version=self.protocol.version)
        payload.append(to)
        add_xml_child(payload, "m:MailTipsRequested", mail_tips_requested)
        return payload


def mail_tips(account, *addresses):
    svc = MailTipsRequested(protocol=account.protocol)
    return list(
        svc.call(
            sending_as=Mailbox(email_address=account.primary_smtp_address),
            recipients=[Mailbox(email_address=a) for a in addresses],
            mail_tips_requested="TotalMemberCount ExternalMemberCount InvalidRecipient",
        )
    )


def test_mail_tips_give_group_metrics_stale_or_pending_and_invalid_recipients(sim, account):
    server, _ = sim
    allstaff, stale, pending, nobody, person = mail_tips(
        account(server),
        "allstaff@contoso.com",
        "stale@contoso.com",
        "fresh@contoso.com",
        "nobody@contoso.com",
        "alex@contoso.com",
    )
    # All Staff reaches megan, alex, adele, partner@fabrikam, the public folder: 5, 1 external.
    assert (allstaff.total_member_count, allstaff.external_member_count) == (5, 1)
    assert (stale.total_member_count, stale.external_member_count) == (40, 3)
    assert pending.total_member_count is None
    assert pending.pending_mail_tips is not None
    assert nobody.invalid_recipient is True and person.invalid_recipient is False


def test_mail_tips_know_recipients_that_address_lists_hide(sim, account):
    # ResolveNames finds neither (test_hidden_recipients_do_not_resolve); Exchange delivers to
    # both, so GetMailTips does not call them invalid.
    server, _ = sim
    person, secret = mail_tips(account(server), "hidden.exec@contoso.com",
                               "secret-list@contoso.com")
    assert person.invalid_recipient is False and person.total_member_count is None
    assert secret.invalid_recipient is False and secret.total_member_count == 1


def test_exchangelibs_own_mail_tips_request_fails_schema_validation_as_on_exchange(sim, account):
    server, wire = sim
    acc = account(server)
    svc = GetMailTips(protocol=acc.protocol)
    with pytest.raises(ErrorSchemaValidation):
        list(
            svc.call(
                sending_as=Mailbox(email_address="megan@contoso.com"),
                recipients=[Mailbox(email_address="alex@contoso.com")],
                mail_tips_requested="TotalMemberCount",
            )
        )
    wire.exchanges.clear()  # exchangelib's own request here is the invalid one
