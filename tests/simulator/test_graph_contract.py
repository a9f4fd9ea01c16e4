"""The Graph simulator's answers checked against Microsoft's own models (msgraph-sdk): every item
is the concrete class its @odata.type names, every property lands in a typed field (nothing but
@odata.* annotations in `additional_data`), and error bodies parse as ODataError."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.contact_collection_response import ContactCollectionResponse
from msgraph.generated.models.device import Device
from msgraph.generated.models.directory_object_collection_response import (
    DirectoryObjectCollectionResponse,
)
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.org_contact import OrgContact
from msgraph.generated.models.org_contact_collection_response import (
    OrgContactCollectionResponse,
)
from msgraph.generated.models.user import User
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.users.item.get_mail_tips.get_mail_tips_post_response import (
    GetMailTipsPostResponse,
)
from test_graph_simulator import ORG, Graph

from ews_simulator import load
from graph_simulator import GraphSimulator
from graph_simulator.directory import PROPERTIES


def parse(body: bytes, model: type) -> Any:
    node = JsonParseNodeFactory().get_root_parse_node("application/json", body)
    return node.get_object_value(model)


def leftovers(obj: Any, path: str = "$") -> list[str]:
    """Properties the models did not know, anywhere in a parsed answer."""
    extra = getattr(obj, "additional_data", None) or {}
    out = [f"{path}.{k}" for k in extra if not k.startswith("@odata.")]
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                if dataclasses.is_dataclass(item) and not isinstance(item, type):
                    out += leftovers(item, f"{path}.{f.name}[{i}]")
    return out


@pytest.fixture(scope="module")
def g() -> Iterator[Graph]:
    with GraphSimulator(load(ORG)) as sim:
        yield Graph(sim)


def _raw(g: Graph, path: str, **params: Any) -> bytes:
    r = g.get(path, **params)
    assert r.status_code == 200, r.text
    return r.content


def test_user_collections_parse_as_users_with_every_property_typed(g: Graph) -> None:
    for params in ({}, {"$select": ",".join(PROPERTIES["user"]), "$count": "true"}):
        parsed = parse(_raw(g, "users", **params), UserCollectionResponse)
        assert parsed.value and all(isinstance(u, User) for u in parsed.value)
        assert leftovers(parsed) == []
    guest = next(u for u in parsed.value if u.user_type == "Guest")
    assert guest.mail == "gail@outlook.example" and guest.proxy_addresses


@pytest.mark.parametrize("segment", ["members", "transitiveMembers"])
@pytest.mark.parametrize("select", [None, "all"])
def test_member_collections_parse_as_concrete_types(g: Graph, segment: str,
                                                    select: str | None) -> None:
    gid = g.find("groups", "allstaff@contoso.com")["id"]
    everything = ",".join(dict.fromkeys(p for props in PROPERTIES.values() for p in props))
    params = {"$select": everything} if select else {}
    parsed = parse(_raw(g, f"groups/{gid}/{segment}", **params),
                   DirectoryObjectCollectionResponse)
    kinds = {type(m) for m in parsed.value}
    assert kinds == {User, Group, OrgContact, Device}
    assert leftovers(parsed) == []
    group = next(m for m in parsed.value if isinstance(m, Group))
    assert group.group_types == [] and group.mail_enabled is True
    contact = next(m for m in parsed.value if isinstance(m, OrgContact))
    assert contact.mail == "partner@fabrikam.com"


def test_limited_members_still_parse_as_their_types(g: Graph) -> None:
    sim = g.sim
    limited = Graph(sim, sim.tokens.app_token(roles=["GroupMember.Read.All"]))
    gid = g.find("groups", "allstaff@contoso.com")["id"]
    parsed = parse(_raw(limited, f"groups/{gid}/members", **{"$select": "id,displayName,mail"}),
                   DirectoryObjectCollectionResponse)
    users = [m for m in parsed.value if isinstance(m, User)]
    assert users and all(u.id and u.mail is None for u in users)
    assert leftovers(parsed) == []


def test_a_group_and_org_contacts_parse(g: Graph) -> None:
    gid = g.find("groups", "m365-marketing@contoso.com")["id"]
    group = parse(_raw(g, f"groups/{gid}"), Group)
    assert isinstance(group, Group) and group.group_types == ["Unified"]
    assert group.visibility == "Public" and leftovers(group) == []
    contacts = parse(_raw(g, "contacts", **{"$select": ",".join(PROPERTIES["orgContact"])}),
                     OrgContactCollectionResponse)
    assert all(isinstance(c, OrgContact) for c in contacts.value)
    assert leftovers(contacts) == []


def test_personal_contacts_parse(g: Graph) -> None:
    parsed = parse(_raw(g, "users/megan@contoso.com/contacts"),
                   ContactCollectionResponse)
    assert parsed.value[0].email_addresses[0].address == "ann@fabrikam.com"
    assert parsed.odata_next_link is None and leftovers(parsed) == []


def test_error_bodies_parse_as_odata_errors(g: Graph) -> None:
    r = g.get("users/nobody@contoso.com", headers={"client-request-id": "c-1"})
    error = parse(r.content, ODataError)
    assert error.error.code == "Request_ResourceNotFound" and error.error.message
    assert error.error.inner_error.request_id == r.headers["request-id"]
    assert error.error.inner_error.client_request_id == "c-1"
    assert error.error.inner_error.date is not None
    assert leftovers(error) == []


def test_mail_tips_parse(g: Graph) -> None:
    r = g.post("users/megan@contoso.com/getMailTips", {
        "EmailAddresses": ["allstaff@contoso.com", "nobody@nowhere.example", "fresh@contoso.com"],
        "MailTipsOptions": "totalMemberCount, externalMemberCount, recipientScope, "
                           "maxMessageSize, mailboxFullStatus"})
    parsed = parse(r.content, GetMailTipsPostResponse)
    tips = parsed.value
    assert tips[0].total_member_count == 7 and tips[0].external_member_count == 2
    assert tips[0].email_address.address == "allstaff@contoso.com"
    assert tips[1].error.code == "UnknownError" and tips[1].total_member_count is None
    assert tips[2].total_member_count is None
    assert leftovers(parsed) == []
