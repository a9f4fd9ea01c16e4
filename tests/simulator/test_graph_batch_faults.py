"""The Graph simulator's $batch, injected faults, counters and resource units."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from test_graph_simulator import ORG, Graph, error_code

from graph_simulator import GraphFaults, parse_faults


def _batch(g: Graph, *items: dict[str, Any]) -> requests.Response:
    return g.post("$batch", {"requests": list(items)})


def _get(rid: str, url: str, **more: Any) -> dict[str, Any]:
    return {"id": rid, "method": "GET", "url": url, **more}


def test_a_batch_answers_every_item_by_id_in_another_order(start_graph_simulator: Any) -> None:
    g = Graph(start_graph_simulator(ORG))
    flt = "$filter=proxyAddresses/any(p:p eq 'smtp:{}')&$select=id,mail"
    r = _batch(g, _get("1", "/users?" + flt.format("megan.bowen@contoso.com")),
               _get("2", "groups?" + flt.format("sales@contoso.com")),
               _get("3", "/contacts?" + flt.format("partner@fabrikam.com")),
               _get("4", "/users/nobody@contoso.com"),
               _get("5", "/users?$search=\"displayName:meg\"",
                    headers={"ConsistencyLevel": "eventual"}))
    assert r.status_code == 200, r.text
    answers = r.json()["responses"]
    assert [a["id"] for a in answers] == ["5", "4", "3", "2", "1"]
    by_id = {a["id"]: a for a in answers}
    assert by_id["1"]["body"]["value"][0]["mail"] == "megan@contoso.com"
    assert by_id["2"]["body"]["value"][0]["mail"] == "sales@contoso.com"
    assert by_id["3"]["body"]["value"][0]["mail"] == "partner@fabrikam.com"
    assert by_id["4"]["status"] == 404
    assert by_id["4"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert by_id["5"]["body"]["value"][0]["mail"] == "megan@contoso.com"
    units = {a["id"]: int(a["headers"]["x-ms-resource-unit"]) for a in answers}
    assert units == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 2}  # users 2, $select one less
    assert r.headers["x-ms-resource-unit"] == "1"  # the batch itself, like any other request
    counted = g.sim.snapshot()
    assert (counted["batch"], counted["batch_items"], counted["users"]) == (1, 5, 3)
    assert counted["resource_units"] == 1 + sum(units.values())  # what the headers said


def test_a_batch_refuses_more_than_twenty_and_fails_dependants(start_graph_simulator: Any
                                                               ) -> None:
    g = Graph(start_graph_simulator(ORG))
    r = _batch(g, *(_get(str(i), "/users") for i in range(21)))
    assert r.status_code == 400 and error_code(r) == "BadRequest"
    r = _batch(g, _get("a", "/groups/nope"), _get("b", "/users", dependsOn=["a"]),
               _get("c", "/users?$top=1"), _get("d", "/users?$top=1", dependsOn=["c"]))
    status = {a["id"]: a["status"] for a in r.json()["responses"]}
    assert status == {"a": 404, "b": 424, "c": 200, "d": 200}


def test_batch_items_are_throttled_with_retry_after(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG, faults=GraphFaults(batch_throttle=2, retry_after=3))
    r = _batch(Graph(sim), *(_get(str(i), "/users?$top=1") for i in range(4)))
    assert r.status_code == 200
    answers = {a["id"]: a for a in r.json()["responses"]}
    assert [answers[str(i)]["status"] for i in range(4)] == [200, 429, 200, 429]
    assert answers["1"]["headers"]["Retry-After"] == "3"
    assert answers["1"]["body"]["error"]["code"] == "TooManyRequests"


def test_throttle_and_503_hit_every_nth_request(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG, faults=GraphFaults(throttle=3, retry_after=2))
    g = Graph(sim)
    statuses = [g.get("users").status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]
    g.get("users")
    g.get("users")
    r = g.get("users")  # the ninth
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert error_code(r) == "TooManyRequests" and r.headers["request-id"]
    sim.apply_faults("http503=2")
    answers = [g.get("groups") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 503, 200, 503]
    assert answers[1].headers["Retry-After"] == "1"  # apply_faults replaced retry_after too
    assert "x-ms-resource-unit" not in answers[1].headers
    counted = sim.snapshot()
    assert counted["_throttled"] == 3 and counted["_http503"] == 2
    assert counted["resource_units"] == 6 * 2 + 2 * 1  # refused requests cost nothing


def test_expire_refuses_tokens_issued_before_it(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG)
    old = Graph(sim)
    assert old.get("users").status_code == 200
    sim.set_faults(expire=True)
    r = old.get("users")
    assert r.status_code == 401 and error_code(r) == "InvalidAuthenticationToken"
    assert r.json()["error"]["message"] == "Access token has expired or is not yet valid."
    fresh = Graph(sim)
    assert fresh.get("users").status_code == 200  # a token issued since works
    sim.set_faults(throttle=100)  # other changes leave expire's moment where it was
    assert fresh.get("users").status_code == 200 and old.get("users").status_code == 401
    sim.set_faults(expire=False)
    assert old.get("users").status_code == 200


def test_deny_removes_permissions_from_old_and_new_tokens(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG)
    old = Graph(sim)
    sim.apply_faults("deny=User.Read.All+Member.Read.Hidden")
    r = old.get("users")
    assert r.status_code == 403 and error_code(r) == "Authorization_RequestDenied"
    gid = old.find("groups", "sales@contoso.com")["id"]
    members = old.ok(f"groups/{gid}/members")["value"]
    assert members[0]["id"] and members[0]["mail"] is None  # limited information
    token = requests.post(f"{sim.url}/{sim.tenant}/oauth2/v2.0/token", verify=sim.ca_file,
                          timeout=10, data={"grant_type": "client_credentials",
                                            "client_id": "rollcall-graph",
                                            "client_secret": "graph-secret",
                                            "scope": "https://graph.microsoft.com/.default"})
    roles = jwt.decode(token.json()["access_token"], options={"verify_signature": False})["roles"]
    assert "User.Read.All" not in roles and "GroupMember.Read.All" in roles


def test_slow_pages_and_latency_delay_answers(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG, faults=GraphFaults(slow_page=300))
    g = Graph(sim)
    body = g.ok("users", **{"$top": "2"})
    started = time.monotonic()
    g.ok("users", **{"$top": "2"})
    first_page = time.monotonic() - started
    started = time.monotonic()
    g.ok(body["@odata.nextLink"])
    assert time.monotonic() - started >= 0.3 > first_page
    sim.set_faults(slow_page=0, latency=150)
    started = time.monotonic()
    g.ok("users")
    assert time.monotonic() - started >= 0.15


def test_faults_and_counters_are_switched_over_http(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG)
    control = f"{sim.url}/_simulator"
    r = requests.put(f"{control}/faults", data="throttle=5,deny=Mail.Read,expire",
                     verify=sim.ca_file, timeout=10)
    assert r.status_code == 200 and r.json()["faults"] == "throttle=5,expire,deny=Mail.Read"
    assert sim.faults.deny == ("Mail.Read",) and sim.faults.throttle == 5
    r = requests.put(f"{control}/faults", data="throttle=0", verify=sim.ca_file, timeout=10)
    assert r.status_code == 400 and "throttle" in r.json()["error"]
    assert requests.delete(f"{control}/faults", verify=sim.ca_file,
                           timeout=10).json()["faults"] == "off"
    Graph(sim).get("users")
    counters = requests.get(f"{control}/counters", verify=sim.ca_file, timeout=10).json()
    assert counters == {"users": 1, "resource_units": 2}
    requests.delete(f"{control}/counters", verify=sim.ca_file, timeout=10)
    assert sim.snapshot() == {}


def test_fault_specs_read_back_and_name_bad_items() -> None:
    faults = parse_faults("latency=20 throttle=4,retry_after=3,batch_throttle=2,slow_page=50")
    assert (faults.latency, faults.throttle, faults.retry_after) == (20.0, 4, 3)
    assert (faults.batch_throttle, faults.slow_page) == (2, 50.0)
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("explode=1")
    with pytest.raises(ValueError, match="not a number"):
        parse_faults("throttle=lots")
    with pytest.raises(TypeError):
        GraphFaults().with_changes(explode=1)


def test_counters_name_each_kind_of_request(start_graph_simulator: Any) -> None:
    sim = start_graph_simulator(ORG)
    g = Graph(sim)
    gid = g.find("groups", "allstaff@contoso.com")["id"]
    g.get(f"groups/{gid}/members")
    g.get(f"groups/{gid}/transitiveMembers", **{"$select": "id"})
    g.get("contacts")
    g.get("users/megan@contoso.com/distributionLists")
    g.post("users/megan@contoso.com/getMailTips", {"EmailAddresses": ["sales@contoso.com"],
                                                   "MailTipsOptions": "totalMemberCount"})
    exo = Graph(sim, sim.tokens.app_token("https://outlook.office365.com"))
    exo.post(f"/adminapi/v2.0/{sim.tenant}/DistributionGroupMember", {"CmdletInput": {
        "CmdletName": "Get-DistributionGroupMember",
        "Parameters": {"Identity": "sales@contoso.com"}}})
    counted = sim.snapshot()
    assert {k: counted[k] for k in ("groups", "members", "transitiveMembers", "contacts",
                                    "distributionLists", "mailTips", "adminapi")} == {
        "groups": 1, "members": 1, "transitiveMembers": 1, "contacts": 1,
        "distributionLists": 1, "mailTips": 1, "adminapi": 1}
    assert counted["resource_units"] == 1 + 3 + 4 + 1 + 1 + 1
    requests.post(f"{sim.url}/{sim.tenant}/oauth2/v2.0/token", verify=sim.ca_file, timeout=10,
                  data={"grant_type": "client_credentials"})
    assert sim.snapshot()["token"] == 1
