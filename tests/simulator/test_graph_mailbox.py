"""The Graph simulator's mailbox-side and Exchange-side answers: personal contacts and contact
groups, MailTips counts, the Exchange Online admin API, and the demo organisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from test_graph_simulator import EXCHANGE, ORG, Graph, error_code

from ews_simulator import load
from ews_simulator.demo import demo_document
from graph_simulator import GraphSimulator


@pytest.fixture(scope="module")
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(load(ORG)) as s:
        yield s


@pytest.fixture(scope="module")
def megan(sim: GraphSimulator) -> Graph:
    return Graph(sim, sim.tokens.user_token("megan@contoso.com"), version="beta")


def _champions(g: Graph) -> str:
    lists, _ = g.all_pages("me/distributionLists")
    return str(next(d["id"] for d in lists if d["displayName"] == "Comms Champions"))


# -- contacts and contact groups -----------------------------------------------------------------

def test_personal_contacts_page_at_ten_and_carry_email_addresses(sim: GraphSimulator) -> None:
    app = Graph(sim)
    contacts, _ = app.all_pages("users/megan@contoso.com/contacts")
    assert [c["emailAddresses"] for c in contacts] == [
        [{"name": "Ann Partner", "address": "ann@fabrikam.com"}],
        [{"name": "Bob Vendor", "address": "bob@northwind.example"}]]
    one = app.ok(f"users/megan@contoso.com/contacts/{contacts[0]['id']}")
    assert one["displayName"] == "Ann Partner"
    body = app.ok("users/megan@contoso.com/contacts", **{"$top": "1", "$select": "displayName"})
    assert set(body["value"][0]) == {"id", "displayName"} and "@odata.nextLink" in body


def test_contact_group_members_say_what_each_entry_points_at(megan: Graph) -> None:
    contacts, _ = megan.all_pages("me/contacts")
    contact_ids = {c["id"] for c in contacts}
    members, pages = megan.all_pages(f"me/distributionLists/{_champions(megan)}/members",
                                     **{"$top": "3"})
    assert pages == 3
    kinds = [(m["recipientType"], m["emailAddress"]["address"]) for m in members]
    assert kinds == [
        ("contact", "ann@fabrikam.com"), ("mailbox", "alex@contoso.com"),
        ("mailbox", "adele@contoso.com"),  # stored by legacy DN, given by SMTP address
        ("privateDL", None), ("oneOff", "one.off@tailspin.example"),
        ("contact", "gone@fabrikam.com"), ("oneOff", None)]
    assert members[0]["contactId"] in contact_ids
    assert members[5]["contactId"] not in contact_ids  # Demoted: its contact was deleted
    inner = megan.ok(f"me/distributionLists/{members[3]['distributionListId']}")
    assert inner["displayName"] == "Inner Circle"
    assert members[6]["emailAddress"]["name"] == "Broken Entry"


def test_contact_group_members_are_beta_only(megan: Graph) -> None:
    v1 = Graph(megan.sim, megan.token)
    assert [d["displayName"] for d in v1.ok("me/distributionLists")["value"]] == [
        "Comms Champions", "Inner Circle"]
    r = v1.get(f"me/distributionLists/{_champions(megan)}/members")
    assert r.status_code == 400 and error_code(r) == "BadRequest"
    assert r.json()["error"]["message"] == "Resource not found for the segment 'members'."


def test_contacts_need_contacts_read_and_stay_private_to_their_owner(
        sim: GraphSimulator) -> None:
    no_contacts = Graph(sim, sim.tokens.app_token(roles=["User.Read.All"]))
    r = no_contacts.get("users/megan@contoso.com/distributionLists")
    assert r.status_code == 403 and error_code(r) == "Authorization_RequestDenied"
    alex = Graph(sim, sim.tokens.user_token("alex@contoso.com"))
    assert alex.get("users/megan@contoso.com/contacts").status_code == 403
    r = Graph(sim).get("users/megan@contoso.com/distributionLists/bm90LWFuLWlk")
    assert r.status_code == 404 and error_code(r) == "ErrorItemNotFound"


# -- MailTips ------------------------------------------------------------------------------------

def _tips(g: Graph, path: str, *addresses: str) -> list[dict[str, Any]]:
    r = g.post(path, {"EmailAddresses": list(addresses), "MailTipsOptions":
                      "totalMemberCount, externalMemberCount, recipientScope"})
    assert r.status_code == 200, r.text
    return list(r.json()["value"])


def test_mail_tips_count_what_exchange_counts(megan: Graph) -> None:
    tips = _tips(megan, "me/getMailTips", "allstaff@contoso.com", "sales-dynamic@contoso.com",
                 "stale@contoso.com", "megan.bowen@contoso.com", "partner@fabrikam.com",
                 "fresh@contoso.com", "nobody@nowhere.example", "m365-marketing@contoso.com")
    assert [t["emailAddress"]["address"] for t in tips][:2] == [
        "allstaff@contoso.com", "sales-dynamic@contoso.com"]  # the order asked
    counts = [(t.get("totalMemberCount"), t.get("externalMemberCount")) for t in tips]
    # allstaff: 5 people (the GAL-hidden one too), a public folder, a guest; the dynamic list
    # is Sales' three mailboxes; stale metrics win over the live count.
    assert counts == [(7, 2), (3, 0), (40, 3), (1, 0), (1, 1), (None, None), (None, None),
                      (2, 1)]
    assert tips[4]["recipientScope"] == "external" and tips[0]["recipientScope"] == "internal"
    assert tips[6]["error"]["code"] == "UnknownError" and "recipientScope" not in tips[6]


def test_mail_tips_need_mail_read_and_the_callers_own_mailbox(sim: GraphSimulator) -> None:
    app = Graph(sim)
    assert _tips(app, "users/alex@contoso.com/getMailTips", "sales@contoso.com")[0][
        "totalMemberCount"] == 3
    no_mail = Graph(sim, sim.tokens.app_token(roles=["User.Read.All"]))
    r = no_mail.post("users/alex@contoso.com/getMailTips", {
        "EmailAddresses": ["sales@contoso.com"], "MailTipsOptions": "totalMemberCount"})
    assert r.status_code == 403
    r = app.post("me/getMailTips", {"EmailAddresses": ["sales@contoso.com"],
                                    "MailTipsOptions": "totalMemberCount"})
    assert r.status_code == 400


# -- the Exchange Online admin API ---------------------------------------------------------------

def admin(g: Graph, endpoint: str, identity: str, size: int | None = None,
          url: str | None = None) -> Any:
    params: dict[str, Any] = {"Identity": identity}
    if size is not None:
        params["ResultSize"] = size
    cmdlet = f"Get-{endpoint}"
    return g.post(url or f"/adminapi/v2.0/{g.sim.tenant}/{endpoint}",
                  {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}})


@pytest.fixture(scope="module")
def exo(sim: GraphSimulator) -> Graph:
    return Graph(sim, sim.tokens.app_token(EXCHANGE))


def test_admin_api_lists_a_dynamic_lists_members_in_pages(exo: Graph) -> None:
    r = admin(exo, "DynamicDistributionGroupMember", "sales-dynamic@contoso.com", size=2)
    assert r.status_code == 200, r.text
    first = r.json()
    assert [m["PrimarySmtpAddress"] for m in first["value"]] == ["alex@contoso.com",
                                                                 "adele@contoso.com"]
    assert first["value"][0]["RecipientType"] == "UserMailbox"
    rest = admin(exo, "DynamicDistributionGroupMember", "sales-dynamic@contoso.com", size=2,
                 url=first["@odata.nextLink"]).json()
    assert [m["PrimarySmtpAddress"] for m in rest["value"]] == ["hidden.exec@contoso.com"]
    assert "@odata.nextLink" not in rest


def test_admin_api_shows_the_exchange_only_members_graph_leaves_out(exo: Graph) -> None:
    r = admin(exo, "DistributionGroupMember", "allstaff@contoso.com")
    kinds = {m["PrimarySmtpAddress"]: m["RecipientType"] for m in r.json()["value"]}
    assert kinds == {
        "sales@contoso.com": "MailUniversalDistributionGroup", "megan@contoso.com": "UserMailbox",
        "partner@fabrikam.com": "MailContact", "gail@outlook.example": "MailUser",
        "feedback@contoso.com": "PublicFolder",
        "sales-dynamic@contoso.com": "DynamicDistributionGroup",
        "loop-a@contoso.com": "MailUniversalDistributionGroup"}
    hidden = admin(exo, "DistributionGroupMember", "sales@contoso.com").json()["value"]
    assert "hidden.exec@contoso.com" in [m["PrimarySmtpAddress"] for m in hidden]


def test_admin_api_refusals(sim: GraphSimulator, exo: Graph) -> None:
    r = admin(exo, "DistributionGroupMember", "nobody@contoso.com")
    assert r.status_code == 404 and "nobody@contoso.com" in r.json()["error"]["message"]
    assert admin(exo, "DistributionGroupMember", "sales-dynamic@contoso.com").status_code == 400
    assert admin(exo, "DynamicDistributionGroupMember", "sales@contoso.com").status_code == 400
    delegated = Graph(sim, sim.tokens.user_token("megan@contoso.com", EXCHANGE))
    assert admin(delegated, "DistributionGroupMember", "sales@contoso.com").status_code == 403
    graph_token = Graph(sim)  # a Graph token is not for Exchange
    assert admin(graph_token, "DistributionGroupMember", "sales@contoso.com").status_code == 401
    assert exo.get("users").status_code == 401  # nor an Exchange token for Graph


def test_the_admin_api_answers_at_exchange_url_with_its_own_resource(sim: GraphSimulator
                                                                      ) -> None:
    assert sim.exchange_url == f"https://localhost:{sim.url.rsplit(':', 1)[1]}"
    r = requests.post(f"{sim.authority.removesuffix('/v2.0')}/oauth2/v2.0/token",
                      verify=sim.ca_file, timeout=10, data={
                          "grant_type": "client_credentials", "client_id": "rollcall-graph",
                          "client_secret": "graph-secret", "scope": f"{sim.exchange_url}/.default"})
    token = r.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == EXCHANGE
    exo = Graph(sim, token)
    url = f"{sim.exchange_url}/adminapi/v2.0/{sim.tenant}/DistributionGroupMember"
    first = admin(exo, "DistributionGroupMember", "allstaff@contoso.com", size=4, url=url)
    assert first.status_code == 200, first.text
    assert first.json()["@odata.nextLink"].startswith(sim.exchange_url)  # the name it was asked by
    rest = admin(exo, "DistributionGroupMember", "allstaff@contoso.com", size=4,
                 url=first.json()["@odata.nextLink"]).json()
    assert len(first.json()["value"]) + len(rest["value"]) == 7


# -- the demo organisation -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo() -> Iterator[GraphSimulator]:
    with GraphSimulator(load(demo_document())) as s:
        yield s


def test_the_demo_serves_dynamic_lists_through_the_admin_api_only(demo: GraphSimulator) -> None:
    g = Graph(demo)
    flt = "proxyAddresses/any(p:p eq 'smtp:sales-dynamic@contoso.com')"
    assert g.ok("groups", **{"$filter": flt})["value"] == []
    exo = Graph(demo, demo.tokens.app_token(EXCHANGE))
    members = admin(exo, "DynamicDistributionGroupMember", "sales-dynamic@contoso.com").json()
    addresses = [m["PrimarySmtpAddress"] for m in members["value"]]
    assert "alex@contoso.com" in addresses and "nancy.davolio@northwind.example" in addresses
    tips = _tips(g, "users/megan@contoso.com/getMailTips", "sales-dynamic@contoso.com")
    assert tips[0]["totalMemberCount"] == len(addresses)


def test_the_demos_town_hall_hides_its_public_folder_from_graph(demo: GraphSimulator) -> None:
    g = Graph(demo)
    gid = g.find("groups", "town-hall@contoso.com")["id"]
    in_graph = [m["mail"] for m in g.ok(f"groups/{gid}/members")["value"]]
    assert sorted(in_graph) == ["allstaff@contoso.com", "leadership@contoso.com"]
    exo = Graph(demo, demo.tokens.app_token(EXCHANGE))
    in_exchange = admin(exo, "DistributionGroupMember", "town-hall@contoso.com").json()["value"]
    assert {m["PrimarySmtpAddress"]: m["RecipientType"] for m in in_exchange}[
        "feedback@contoso.com"] == "PublicFolder"
    users, _ = g.all_pages("users", **{"$top": "999", "$select": "id"})
    assert len(users) == len(demo.org.mailboxes)
