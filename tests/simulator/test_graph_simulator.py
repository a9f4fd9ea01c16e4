"""The Graph simulator over real HTTPS: its token endpoint (msal included), the directory routes'
shapes, queries, paging and permissions. Other test_graph_*.py files import ORG and Graph."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ews_simulator import load
from ews_simulator.generate import generate
from graph_simulator import GraphSimulator, graph_id

ORG: dict[str, Any] = yaml.safe_load("""
name: Contoso
domain: contoso.com
mailboxes:
  - {address: megan@contoso.com, name: Megan Bowen, password: x, proxies: [megan.bowen@contoso.com],
     attributes: {department: Marketing, title: Comms Manager, office: Seattle},
     contacts: [{id: ann, name: Ann Partner, address: ann@fabrikam.com},
                {id: bob, name: Bob Vendor, address: bob@northwind.example}],
     contact_groups: [
       {id: champions, name: Comms Champions, members: [
          {contact: ann},
          {address: alex@contoso.com},
          {legacy_dn: "/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=adele"},
          {group: inner},
          {address: one.off@tailspin.example, name: One Off},
          {address: gone@fabrikam.com, name: Gone Person, status: Demoted},
          {name: Broken Entry, status: Unrecognized}]},
       {id: inner, name: Inner Circle, members: [{contact: bob}]}]}
  - {address: alex@contoso.com, name: Alex Wilber, password: x, attributes: {department: Sales}}
  - {address: adele@contoso.com, name: Adele Vance, password: x, attributes: {department: Sales}}
  - {address: hidden.exec@contoso.com, name: Hidden Executive, password: x, hidden: true,
     attributes: {department: Sales}}
contacts:
  - {address: partner@fabrikam.com, name: Fabrikam Partner, attributes: {company: Fabrikam}}
  - {address: gail@outlook.example, name: Gail Guest, guest: true}
public_folders:
  - {address: feedback@contoso.com, name: Feedback}
lists:
  - {address: sales@contoso.com, name: Sales Team,
     members: [alex@contoso.com, adele@contoso.com, hidden.exec@contoso.com]}
  - {address: allstaff@contoso.com, name: All Staff,
     members: [sales@contoso.com, megan@contoso.com, partner@fabrikam.com, gail@outlook.example,
               feedback@contoso.com, sales-dynamic@contoso.com, loop-a@contoso.com],
     entra_members: [{name: Printer 3, type: device}, {name: Kiosk User, type: user}]}
  - {address: loop-a@contoso.com, name: Loop A, members: [loop-b@contoso.com, megan@contoso.com]}
  - {address: loop-b@contoso.com, name: Loop B, members: [loop-a@contoso.com, alex@contoso.com]}
  - {address: secure@contoso.com, name: Secure Group, security: true, members: [megan@contoso.com]}
  - {address: stale@contoso.com, name: Stale Metrics, metrics: {total: 40, external: 3},
     members: [megan@contoso.com]}
  - {address: fresh@contoso.com, name: Not Yet Measured, metrics: pending,
     members: [megan@contoso.com]}
dynamic_lists:
  - {address: sales-dynamic@contoso.com, name: Sales (dynamic), filter: {department: Sales}}
groups:
  - {address: m365-marketing@contoso.com, name: Marketing,
     members: [megan@contoso.com, partner@fabrikam.com]}
  - {address: board@contoso.com, name: Board, visibility: HiddenMembership,
     members: [alex@contoso.com]}
""")
GRAPH = "https://graph.microsoft.com"
EXCHANGE = "https://outlook.office365.com"
ALL_GRAPH = ["Contacts.Read", "GroupMember.Read.All", "Mail.Read", "Member.Read.Hidden",
             "OrgContact.Read.All", "User.Read.All"]


class Graph:
    """requests against one simulator: its CA passed per request (REQUESTS_CA_BUNDLE is set
    here), a bearer token, and paths relative to /v1.0 unless they start with '/'."""

    def __init__(self, sim: GraphSimulator, token: str | None = None,
                 version: str = "v1.0") -> None:
        self.sim, self.version = sim, version
        self.token = token if token is not None else sim.tokens.app_token()
        self.session = requests.Session()
        self.session.trust_env = False

    def url(self, path: str) -> str:
        if path.startswith("https://"):
            return path
        return self.sim.url + (path if path.startswith("/") else f"/{self.version}/{path}")

    def call(self, method: str, path: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.session.request(method, self.url(path), headers=h, verify=self.sim.ca_file,
                                    timeout=10, **kwargs)

    def get(self, path: str, headers: dict[str, str] | None = None,
            **params: Any) -> requests.Response:
        return self.call("GET", path, headers, params=params or None)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None
             ) -> requests.Response:
        return self.call("POST", path, headers, json=body)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    def find(self, collection: str, address: str) -> dict[str, Any]:
        value = self.ok(collection, **{"$filter": f"mail eq '{address}'"})["value"]
        assert len(value) == 1, (collection, address, value)
        return value[0]

    def all_pages(self, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
        """Every item, following nextLinks; and how many pages that took."""
        body = self.ok(path, **params)
        items, pages = list(body["value"]), 1
        while "@odata.nextLink" in body:
            body = self.ok(body["@odata.nextLink"])
            items += body["value"]
            pages += 1
        return items, pages


def error_code(r: requests.Response) -> str:
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    inner = r.json()["error"]["innerError"]
    assert inner["request-id"] == r.headers["request-id"] and inner["date"]
    return str(r.json()["error"]["code"])


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """A test issuer's RSA key and its JWKS as a file:// URL."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "use": "sig"}
    path = Path(tmp_path_factory.mktemp("jwks")) / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, path.as_uri()


ISSUER = "https://login.example/rollcall"
API = "api://rollcall"


def assertion(key: Any, user: str = "megan@contoso.com", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": API, "iat": now, "exp": now + 600, "scp": "access_as_user",
            "preferred_username": user} | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def sim(signer: tuple[Any, str]) -> Iterator[GraphSimulator]:
    with GraphSimulator(load(ORG), assertion_issuer=ISSUER, assertion_jwks=signer[1],
                        assertion_audiences=(API,)) as s:
        yield s


@pytest.fixture(scope="module")
def app(sim: GraphSimulator) -> Graph:
    return Graph(sim)


def token_request(sim: GraphSimulator, **form: str) -> requests.Response:
    return requests.post(f"{sim.authority.removesuffix('/v2.0')}/oauth2/v2.0/token", data=form,
                         verify=sim.ca_file, timeout=10)


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


# -- OpenID and tokens ---------------------------------------------------------------------------

def test_openid_metadata_points_at_the_tenants_endpoints(sim: GraphSimulator) -> None:
    meta = requests.get(f"{sim.authority}/.well-known/openid-configuration", verify=sim.ca_file,
                        timeout=10).json()
    assert meta["issuer"] == sim.authority
    assert meta["token_endpoint"] == f"{sim.url}/{sim.tenant}/oauth2/v2.0/token"
    keys = requests.get(meta["jwks_uri"], verify=sim.ca_file, timeout=10).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["kid"]
    assert meta["authorization_endpoint"].endswith("/oauth2/v2.0/authorize")


def test_client_credentials_give_an_app_token_with_the_granted_roles(sim: GraphSimulator
                                                                     ) -> None:
    r = token_request(sim, grant_type="client_credentials", client_id="rollcall-graph",
                      client_secret="graph-secret", scope=f"{GRAPH}/.default")
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    claims = claims_of(r.json()["access_token"])
    assert claims["aud"] == GRAPH and claims["iss"] == sim.authority
    assert claims["tid"] == sim.tenant and claims["exp"] - claims["iat"] == 3600
    assert sorted(claims["roles"]) == ALL_GRAPH
    r = token_request(sim, grant_type="client_credentials", client_id="rollcall-graph",
                      client_secret="graph-secret", scope=f"{EXCHANGE}/.default")
    assert claims_of(r.json()["access_token"])["roles"] == ["Exchange.ManageAsAppV2"]
    r = token_request(sim, grant_type="client_credentials", client_id="rollcall-graph",
                      client_secret="graph-secret", scope=f"{sim.url}/.default")
    own = r.json()["access_token"]
    assert claims_of(own)["aud"] == sim.url and Graph(sim, own).get("users").status_code == 200


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "someone-else"}, 400, "unauthorized_client"),
    ({"scope": f"{GRAPH}/User.Read.All"}, 400, "invalid_scope"),
    ({"scope": "https://elsewhere.example/.default"}, 400, "invalid_resource"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
])
def test_token_requests_are_refused_as_entra_refuses_them(
        sim: GraphSimulator, form: dict[str, str], status: int, error: str) -> None:
    base = {"grant_type": "client_credentials", "client_id": "rollcall-graph",
            "client_secret": "graph-secret", "scope": f"{GRAPH}/.default"}
    r = token_request(sim, **(base | form))
    assert r.status_code == status and r.json()["error"] == error
    assert r.json()["error_description"].startswith("AADSTS") and r.json()["error_codes"]


def obo(sim: GraphSimulator, token: str, scope: str = f"{GRAPH}/.default") -> requests.Response:
    return token_request(sim, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                         requested_token_use="on_behalf_of", assertion=token,
                         client_id="rollcall-graph", client_secret="graph-secret", scope=scope)


def test_on_behalf_of_trades_a_signed_assertion_for_a_delegated_token(
        sim: GraphSimulator, signer: tuple[Any, str]) -> None:
    r = obo(sim, assertion(signer[0], "MEGAN.bowen@contoso.com"))  # a proxy address, any case
    assert r.status_code == 200, r.text
    claims = claims_of(r.json()["access_token"])
    assert claims["upn"] == claims["preferred_username"] == "megan@contoso.com"
    assert claims["oid"] == graph_id("megan@contoso.com") and "roles" not in claims
    assert sorted(claims["scp"].split()) == ALL_GRAPH


@pytest.mark.parametrize("case", ["other key", "wrong issuer", "expired", "wrong audience",
                                  "stranger", "garbage"])
def test_on_behalf_of_refuses_a_bad_assertion(sim: GraphSimulator, signer: tuple[Any, str],
                                              case: str) -> None:
    key = signer[0]
    token = {
        "other key": lambda: assertion(rsa.generate_private_key(public_exponent=65537,
                                                                key_size=2048)),
        "wrong issuer": lambda: assertion(key, iss="https://evil.example"),
        "expired": lambda: assertion(key, exp=int(time.time()) - 3600),
        "wrong audience": lambda: assertion(key, aud="api://someone-else"),
        "stranger": lambda: assertion(key, "nobody@contoso.com"),
        "garbage": lambda: "not.a.token",
    }[case]()
    r = obo(sim, token)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_on_behalf_of_without_a_trusted_issuer_is_unauthorized_client(
        start_graph_simulator: Any, signer: tuple[Any, str]) -> None:
    plain = start_graph_simulator(ORG)
    r = obo(plain, assertion(signer[0]))
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_msal_gets_app_and_on_behalf_of_tokens(sim: GraphSimulator,
                                               signer: tuple[Any, str]) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = sim.ca_file
    app = msal.ConfidentialClientApplication(
        "rollcall-graph", client_credential="graph-secret", oidc_authority=sim.authority,
        http_client=session)
    got = app.acquire_token_for_client([f"{GRAPH}/.default"])
    assert "access_token" in got, got
    assert Graph(sim, got["access_token"]).get("users").status_code == 200
    got = app.acquire_token_on_behalf_of(assertion(signer[0]), [f"{GRAPH}/.default"])
    assert "access_token" in got, got
    me = Graph(sim, got["access_token"]).ok("me")
    assert me["mail"] == "megan@contoso.com"
    refused = app.acquire_token_on_behalf_of("not.a.token", [f"{GRAPH}/.default"])
    assert refused["error"] == "invalid_grant"


def test_the_command_line_names_a_bad_setting(capsys: pytest.CaptureFixture[str]) -> None:
    from graph_simulator.__main__ import main

    assert main(["--faults", "throttle=often"]) == 2
    assert "throttle" in capsys.readouterr().err
    assert main(["--assertion-issuer", ISSUER]) == 2
    assert "go together" in capsys.readouterr().err


# -- bearer checks -------------------------------------------------------------------------------

def test_graph_refuses_missing_foreign_and_expired_tokens(sim: GraphSimulator) -> None:
    for token, message in [
        ("", "Access token is empty."),
        (sim.tokens.app_token(EXCHANGE), "Invalid audience"),
        (sim.tokens.app_token(lifetime_s=-120), "Access token has expired or is not yet valid."),
        (jwt.encode({"aud": GRAPH}, "s" * 32, algorithm="HS256"), "validation failure"),
    ]:
        r = Graph(sim, token).get("users")
        assert r.status_code == 401 and error_code(r) == "InvalidAuthenticationToken"
        assert message in r.json()["error"]["message"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_answer_carries_request_ids_and_resource_units(app: Graph) -> None:
    r = app.get("users", headers={"client-request-id": "abc-123"})
    assert r.headers["client-request-id"] == "abc-123" and r.headers["request-id"]
    assert r.headers["x-ms-resource-unit"] == "2"
    assert app.get("users", **{"$select": "id"}).headers["x-ms-resource-unit"] == "1"
    missing = app.get("users/nobody@contoso.com", headers={"client-request-id": "xyz"})
    assert missing.status_code == 404 and error_code(missing) == "Request_ResourceNotFound"
    assert missing.json()["error"]["innerError"]["client-request-id"] == "xyz"


# -- directory routes ----------------------------------------------------------------------------

def test_users_resolve_by_any_proxy_address_case_insensitively(app: Graph) -> None:
    for typed in ("smtp:megan.bowen@contoso.com", "SMTP:MEGAN@contoso.com"):
        found = app.ok("users", **{"$filter": f"proxyAddresses/any(p:p eq '{typed}')"})["value"]
        assert [u["mail"] for u in found] == ["megan@contoso.com"]
    megan = found[0]
    assert megan == {
        "id": graph_id("megan@contoso.com"), "displayName": "Megan Bowen",
        "mail": "megan@contoso.com", "userPrincipalName": "megan@contoso.com",
        "proxyAddresses": ["SMTP:megan@contoso.com", "smtp:megan.bowen@contoso.com"],
        "userType": "Member", "jobTitle": "Comms Manager", "department": "Marketing",
        "officeLocation": "Seattle"}
    assert app.ok(f"users/{megan['id']}")["mail"] == app.ok("users/megan@contoso.com")["mail"]
    hidden = app.find("users", "hidden.exec@contoso.com")  # GAL-hidden people are in Graph
    ids = f"'{megan['id']}','{hidden['id']}'"
    assert len(app.ok("users", **{"$filter": f"id in ({ids})"})["value"]) == 2


def test_guests_are_users_and_other_mail_contacts_org_contacts(app: Graph) -> None:
    gail = app.find("users", "gail@outlook.example")
    assert gail["userType"] == "Guest" and "#EXT#" in gail["userPrincipalName"]
    assert app.ok("contacts", **{"$filter": "mail eq 'gail@outlook.example'"})["value"] == []
    partner = app.find("contacts", "partner@fabrikam.com")
    assert partner["companyName"] == "Fabrikam" and partner["proxyAddresses"] == [
        "SMTP:partner@fabrikam.com"]
    assert app.ok(f"contacts/{partner['id']}")["displayName"] == "Fabrikam Partner"
    r = app.get("contacts/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and error_code(r) == "Request_ResourceNotFound"


def test_groups_carry_their_kind_and_exchange_only_recipients_are_absent(app: Graph) -> None:
    sales = app.find("groups", "sales@contoso.com")
    assert (sales["groupTypes"], sales["securityEnabled"], sales["visibility"]) == ([], False,
                                                                                   None)
    assert app.find("groups", "secure@contoso.com")["securityEnabled"] is True
    m365 = app.find("groups", "m365-marketing@contoso.com")
    assert (m365["groupTypes"], m365["visibility"]) == (["Unified"], "Public")
    assert app.find("groups", "board@contoso.com")["visibility"] == "HiddenMembership"
    for exchange_only in ("sales-dynamic@contoso.com", "feedback@contoso.com"):
        for collection in ("users", "groups", "contacts"):
            flt = f"proxyAddresses/any(p:p eq 'smtp:{exchange_only}')"
            assert app.ok(collection, **{"$filter": flt})["value"] == []
    assert app.ok(f"groups/{sales['id']}")["mail"] == "sales@contoso.com"


def test_me_needs_a_delegated_token(sim: GraphSimulator, app: Graph) -> None:
    r = app.get("me")
    assert r.status_code == 400 and error_code(r) == "BadRequest"
    assert r.json()["error"]["message"] == ("/me request is only valid with delegated "
                                            "authentication flow.")
    alex = Graph(sim, sim.tokens.user_token("alex@contoso.com"))
    assert alex.ok("me")["id"] == graph_id("alex@contoso.com")


def test_search_needs_consistency_level_eventual(app: Graph) -> None:
    r = app.get("users", **{"$search": '"displayName:meg bow"'})
    assert r.status_code == 400 and error_code(r) == "Request_UnsupportedQuery"
    eventual = {"ConsistencyLevel": "eventual"}
    r = app.get("users", eventual, **{"$search": '"displayName:meg bow"', "$count": "true"})
    assert [u["mail"] for u in r.json()["value"]] == ["megan@contoso.com"]
    assert r.json()["@odata.count"] == 1
    r = app.get("groups", eventual, **{"$search": '"displayName:loop"'})
    assert sorted(g["displayName"] for g in r.json()["value"]) == ["Loop A", "Loop B"]


def test_unknown_select_properties_and_filters_are_refused(app: Graph) -> None:
    r = app.get("users", **{"$select": "id,favouriteColour"})
    assert r.status_code == 400
    r = app.get("users", **{"$filter": "favouriteColour eq 'red'"})
    assert r.status_code == 400 and error_code(r) == "Request_UnsupportedQuery"


# -- members -------------------------------------------------------------------------------------

def _members(g: Graph, group: str, segment: str = "members", **params: Any) -> list[Any]:
    gid = g.find("groups", group)["id"]
    return g.all_pages(f"groups/{gid}/{segment}", **params)[0]


def test_members_are_typed_and_leave_out_exchange_only_recipients(app: Graph) -> None:
    members = _members(app, "allstaff@contoso.com")
    by_name = {m["displayName"]: m for m in members}
    assert {n: m["@odata.type"] for n, m in by_name.items()} == {
        "Sales Team": "#microsoft.graph.group", "Megan Bowen": "#microsoft.graph.user",
        "Fabrikam Partner": "#microsoft.graph.orgContact", "Gail Guest": "#microsoft.graph.user",
        "Loop A": "#microsoft.graph.group", "Printer 3": "#microsoft.graph.device",
        "Kiosk User": "#microsoft.graph.user"}
    assert by_name["Kiosk User"]["mail"] is None and "mail" not in by_name["Printer 3"]
    assert by_name["Gail Guest"]["userType"] == "Guest"


def test_transitive_members_flatten_nesting_once_despite_loops(app: Graph) -> None:
    everyone = _members(app, "allstaff@contoso.com", "transitiveMembers")
    assert len(everyone) == len({m["id"] for m in everyone}) == 11
    users = _members(app, "allstaff@contoso.com", "transitiveMembers/microsoft.graph.user")
    assert sorted(u["displayName"] for u in users) == [
        "Adele Vance", "Alex Wilber", "Gail Guest", "Hidden Executive", "Kiosk User",
        "Megan Bowen"]
    gid = app.find("groups", "allstaff@contoso.com")["id"]
    path = f"groups/{gid}/transitiveMembers/microsoft.graph.user/$count"
    r = app.get(path)
    assert r.status_code == 400
    r = app.get(path, {"ConsistencyLevel": "eventual"})
    assert r.headers["Content-Type"].startswith("text/plain") and r.text == "6"
    assert r.headers["x-ms-resource-unit"] == "5"


def test_member_selection_and_count(app: Graph) -> None:
    gid = app.find("groups", "allstaff@contoso.com")["id"]
    body = app.ok(f"groups/{gid}/members", **{"$select": "id,mail,userType", "$count": "true",
                                               "$top": "3"})
    assert body["@odata.count"] == 7 and len(body["value"]) == 3
    assert body["@odata.nextLink"].startswith(f"{app.sim.url}/v1.0/groups/{gid}/members?")
    group = next(m for m in body["value"] if m["@odata.type"] == "#microsoft.graph.group")
    assert set(group) == {"@odata.type", "id", "mail"}  # a group has no userType


def test_members_without_user_read_all_are_limited_to_type_and_id(sim: GraphSimulator) -> None:
    roles = ["GroupMember.Read.All"]
    limited = Graph(sim, sim.tokens.app_token(roles=roles))
    members = _members(Graph(sim), "allstaff@contoso.com")
    ids = {m["displayName"]: m["id"] for m in members}
    gid = Graph(sim).find("groups", "allstaff@contoso.com")["id"]
    seen = limited.ok(f"groups/{gid}/members", **{"$select": "id,displayName,mail"})["value"]
    megan = next(m for m in seen if m["id"] == ids["Megan Bowen"])
    assert megan == {"@odata.type": "#microsoft.graph.user", "id": ids["Megan Bowen"],
                     "displayName": None, "mail": None}
    partner = next(m for m in seen if m["id"] == ids["Fabrikam Partner"])
    assert partner["mail"] is None
    sales = next(m for m in seen if m["id"] == ids["Sales Team"])
    assert sales["mail"] == "sales@contoso.com"  # groups are GroupMember.Read.All's own


def test_member_permissions_and_hidden_membership(sim: GraphSimulator) -> None:
    board = Graph(sim).find("groups", "board@contoso.com")["id"]
    assert Graph(sim).ok(f"groups/{board}/members")["value"][0]["mail"] == "alex@contoso.com"
    no_hidden = [r for r in ALL_GRAPH if r != "Member.Read.Hidden"]
    r = Graph(sim, sim.tokens.app_token(roles=no_hidden)).get(f"groups/{board}/members")
    assert r.status_code == 403 and error_code(r) == "Authorization_RequestDenied"
    assert r.json()["error"]["message"] == "Insufficient privileges to complete the operation."
    sales = Graph(sim).find("groups", "sales@contoso.com")["id"]
    r = Graph(sim, sim.tokens.app_token(roles=["User.Read.All"])).get(f"groups/{sales}/members")
    assert r.status_code == 403
    r = Graph(sim, sim.tokens.app_token(roles=["GroupMember.Read.All"])).get("users")
    assert r.status_code == 403


@pytest.fixture(scope="module")
def big() -> Iterator[GraphSimulator]:
    """2,500 people in one list (all@example.com)."""
    with GraphSimulator(load(generate(2500, 1, 1, 1, seed=7))) as s:
        yield s


def test_paging_past_999_members_with_absolute_next_links(big: GraphSimulator) -> None:
    g = Graph(big)
    gid = g.find("groups", "all@example.com")["id"]
    first = g.ok(f"groups/{gid}/members")
    assert len(first["value"]) == 100  # Graph's default page
    items, pages = g.all_pages(f"groups/{gid}/members", **{"$top": "999", "$select": "id,mail"})
    assert pages == 3 and len({m["id"] for m in items}) == 2500
    assert all(set(m) == {"@odata.type", "id", "mail"} for m in items)
    users, pages = g.all_pages("users", **{"$top": "999", "$count": "true"})
    assert len(users) == 2500 and pages == 3
    r = g.get(f"groups/{gid}/members", **{"$top": "1000"})
    assert r.status_code == 400 and error_code(r) == "Request_UnsupportedQuery"
