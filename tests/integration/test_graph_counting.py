"""Exchange Online through Microsoft Graph, end to end: Rollcall's Graph adapter (msal, O365's
Connection) over HTTPS against the Graph simulator serving the same demo organisation the EWS
simulator serves, so every case is counted both ways and must agree, except where Graph sees
more or less than EWS (and then a finding says so)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ews_simulator.org import DirectoryObject, Organisation
from graph_simulator import GraphSimulator
from rollcall.bootstrap import Services, bootstrap
from rollcall.config import load_config
from rollcall.core.model import Recipient
from rollcall.dev.demo_graph import graph_settings
from rollcall.errors import DirectoryUnavailable
from support import demo_config, identity_settings, rollcall_app, signed_in

# What a sender types, as Outlook hands it over (contact groups and names without address).
CASES = [
    "allstaff@contoso.com", "leadership@contoso.com", "town-hall@contoso.com",
    "project-phoenix@contoso.com", "partners@contoso.com", "sales-dynamic@contoso.com",
    "m365-marketing@contoso.com", "Comms Champions", "Newsletter Reviewers",
    "Nobody Atall", "Tomas", "megan@contoso.com", "nobody@contoso.com",
    "someone@fabrikam.com", "feedback@contoso.com",
]


def recipient(entry: str) -> Recipient:
    return Recipient(entry, entry if "@" in entry else None)


# Every test starts and ends with a well-behaved Graph (the graph_sim fixture).
pytestmark = pytest.mark.usefixtures("graph_sim")


def graph_services(sim: GraphSimulator, tmp_path: Path, auth: str = "app",
                   **more: Any) -> Services:
    return bootstrap(load_config(environ={}, instance_path=str(tmp_path),
                                 mailbox="megan@contoso.com", internal_domains=("contoso.com",),
                                 **{**graph_settings(sim, auth), **more}))


def hidden_reached(org: Organisation, address: str) -> set[str]:
    """People hidden from address lists that a list reaches: Graph (and Exchange's admin API)
    list them, EWS's ExpandDL leaves them out. Read from the organisation, not from Rollcall."""
    start = org.find(address)
    found: set[str] = set()
    seen: set[str] = set()
    stack: list[DirectoryObject] = [start] if start is not None else []
    while stack:
        obj = stack.pop()
        if obj.address in seen:
            continue
        seen.add(obj.address)
        members = (org.dynamic_members(obj) if obj.dynamic_filter is not None
                   else [org.by_address[a] for a in obj.members])
        for member in members:
            if member.members or member.dynamic_filter is not None:
                stack.append(member)
            elif member.hidden:
                found.add(member.address)
    return found


@pytest.fixture(scope="module")
def ews_reports(demo_simulator: Any, tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, Any]:
    sim, _ = demo_simulator
    services = bootstrap(demo_config(sim, instance_path=str(tmp_path_factory.mktemp("ews"))))
    return {entry: services.counts.count([recipient(entry)], None, "megan@contoso.com")
            for entry in CASES}


@pytest.mark.parametrize("entry", CASES)
def test_every_demo_case_counts_the_same_over_graph_as_over_ews(
        entry, graph_sim, demo_org, ews_reports, tmp_path):
    ews = ews_reports[entry]
    graph = graph_services(graph_sim, tmp_path).counts.count(
        [recipient(entry)], None, "megan@contoso.com")
    hidden = hidden_reached(demo_org, entry) if "@" in entry else set()
    assert graph.total == ews.total + len(hidden), (entry, graph.findings)
    assert graph.complete == ews.complete
    assert set(graph.recipients) == set(ews.recipients) | hidden
    codes = {f.code.value for f in graph.findings}
    # Graph's own word: a dynamic list's members as Exchange last stored them.
    extra = {"limited_view"} if entry == "sales-dynamic@contoso.com" else set()
    assert codes == {f.code.value for f in ews.findings} | extra, graph.findings
    assert graph.resource_units and graph.http_requests


def test_a_list_deleted_and_made_again_under_its_address_is_found_by_its_new_id(graph_sim,
                                                                               tmp_path):
    # Lists are read again on every count; the address's lookup is reused for a while
    # (ROLLCALL_RESOLVE_TTL_S), so nothing but the expand meets the new id.
    services = graph_services(graph_sim, tmp_path, cache_ttl_s=0)
    entry = "project-phoenix@contoso.com"
    first = services.counts.count([recipient(entry)], None, "megan@contoso.com")
    assert first.complete and first.total > 0
    # What the process learnt of the list is now out of date: the id Graph gave it then is gone.
    ids = services.organisation.parts()[3]  # type: ignore[attr-defined]
    known = ids.get(entry)
    ids.learn({"@odata.type": "#microsoft.graph.group", "id": str(uuid.uuid4()), "mail": entry,
               "displayName": "Project Phoenix", "groupTypes": [], "mailEnabled": True,
               "securityEnabled": False})
    assert ids.get(entry) != known
    again = services.counts.count([recipient(entry)], None, "megan@contoso.com")
    assert again.complete and again.total == first.total, again.findings
    assert ids.get(entry) == known


def test_a_list_exchange_answers_in_part_is_read_in_full_over_graph(graph_sim, demo_org,
                                                                    demo_simulator, tmp_path):
    sim, _ = demo_simulator
    entry = "announcements-big@contoso.com"
    ews = bootstrap(demo_config(sim, instance_path=str(tmp_path / "ews"))).counts.count(
        [recipient(entry)], None, "megan@contoso.com")
    graph = graph_services(graph_sim, tmp_path).counts.count([recipient(entry)], None,
                                                               "megan@contoso.com")
    assert not ews.complete and [f.code.value for f in ews.findings] == ["truncated"]
    people = demo_org.find(entry).members  # type: ignore[union-attr]
    assert graph.complete and graph.total == len(people) > ews.total
    assert not graph.findings


def test_without_the_admin_api_a_dynamic_list_is_an_estimate_and_the_count_incomplete(
        graph_sim, demo_org, tmp_path):
    graph_sim.apply_faults("deny=Exchange.ManageAsAppV2")
    services = graph_services(graph_sim, tmp_path)
    report = services.counts.count([recipient("sales-dynamic@contoso.com")], None,
                                   "megan@contoso.com")
    assert not report.complete and report.total == 0
    [finding] = [f for f in report.findings if f.code.value == "not_listed"]
    dynamic = demo_org.find("sales-dynamic@contoso.com")
    assert finding.count == len(demo_org.dynamic_members(dynamic))  # type: ignore[arg-type]
    assert "dynamic list" in finding.message and "incomplete" in finding.message
    verdict = services.send_check.validate([recipient("sales-dynamic@contoso.com")],
                                           mailbox="megan@contoso.com", record=False)
    assert verdict["action"] != "allow" and verdict["report"]["complete"] is False


def test_without_the_admin_api_a_public_folder_inside_a_list_makes_it_incomplete(
        graph_sim, tmp_path):
    # town-hall holds the feedback@ public folder, which no Entra ID object is: Graph lists
    # everyone else, and MailTips' count for town-hall says one more.
    graph_sim.apply_faults("deny=Exchange.ManageAsAppV2")
    report = graph_services(graph_sim, tmp_path).counts.count(
        [recipient("town-hall@contoso.com")], None, "megan@contoso.com")
    assert not report.complete
    [finding] = [f for f in report.findings if f.code.value == "not_listed"]
    assert finding.addresses == ("town-hall@contoso.com",)
    assert finding.count == report.total + 1
    assert "feedback@contoso.com" not in report.recipients


def test_a_dynamic_list_through_the_admin_api_says_its_members_are_a_day_old(graph_sim,
                                                                            tmp_path):
    report = graph_services(graph_sim, tmp_path).counts.count(
        [recipient("sales-dynamic@contoso.com")], None, "megan@contoso.com")
    assert report.complete
    [finding] = [f for f in report.findings if f.code.value == "limited_view"]
    assert "once a day" in finding.message and finding.severity.value == "info"


def test_throttling_within_the_deadline_is_waited_out_and_counts_the_same(graph_sim,
                                                                          tmp_path):
    entries = [recipient("allstaff@contoso.com"), recipient("Comms Champions")]
    calm = graph_services(graph_sim, tmp_path / "a").counts.count(entries, None,
                                                                  "megan@contoso.com")
    graph_sim.apply_faults("throttle=4,batch_throttle=3,retry_after=1")
    throttled = graph_services(graph_sim, tmp_path / "b").counts.count(
        entries, None, "megan@contoso.com")
    assert throttled.complete and throttled.recipients == calm.recipients
    # The refused requests were asked again after their Retry-After, inside the deadline.
    assert throttled.http_requests > calm.http_requests


def test_throttling_past_the_deadline_ends_incomplete_with_the_wait_named(graph_sim,
                                                                         tmp_path):
    graph_sim.apply_faults("throttle=1,retry_after=30")
    services = graph_services(graph_sim, tmp_path, deadline_s=3.0)
    report = services.counts.count([recipient("allstaff@contoso.com")], None,
                                   "megan@contoso.com")
    assert not report.complete and not report.has_count
    [finding] = report.findings
    assert finding.throttled and finding.retry_after == 30
    assert "429" in (finding.detail or "")


def test_graph_down_is_said_in_words(tmp_path):
    services = bootstrap(load_config(
        environ={}, instance_path=str(tmp_path), mailbox="megan@contoso.com", directory="graph",
        graph_url="https://127.0.0.1:9", graph_authority="https://127.0.0.1:9/t/v2.0",
        graph_client_id="id", graph_client_secret="s", graph_auth="app"))
    with pytest.raises(DirectoryUnavailable) as caught:
        services.counts.count([recipient("allstaff@contoso.com")], None, None)
    said = caught.value.message
    assert "identity provider could not be asked" in said, said
    assert "Traceback" not in said and "127.0.0.1" not in said and "Error" not in said


def test_a_refused_secret_is_said_as_the_providers_refusal_not_an_outage(graph_sim, tmp_path):
    services = graph_services(graph_sim, tmp_path, graph_client_secret="wrong")
    with pytest.raises(DirectoryUnavailable) as caught:
        services.counts.count([recipient("allstaff@contoso.com")], None, "megan@contoso.com")
    assert caught.value.code == "exchange_unauthorized"
    assert "would not give Rollcall a Microsoft Graph token: invalid_client" in \
        caught.value.message


def test_an_expired_token_is_replaced_and_the_count_goes_on(graph_sim, tmp_path):
    services = graph_services(graph_sim, tmp_path)
    first = services.counts.count([recipient("partners@contoso.com")], None,
                                  "megan@contoso.com", True)
    graph_sim.apply_faults("expire")  # every token issued so far is now refused
    again = services.counts.count([recipient("partners@contoso.com")], None,
                                  "megan@contoso.com", True)
    assert again.complete and again.recipients == first.recipients


def test_a_missing_permission_is_named_in_the_count_and_in_server_information(graph_sim,
                                                                             tmp_path):
    graph_sim.apply_faults("deny=GroupMember.Read.All")
    services = graph_services(graph_sim, tmp_path)
    report = services.counts.count([recipient("partners@contoso.com")], None,
                                   "megan@contoso.com")
    assert not report.complete
    [finding] = [f for f in report.findings if f.code.value == "expansion_failed"]
    assert "permission" in finding.message and "403" in (finding.detail or "")
    status = services.server_info.report("megan@contoso.com")["exchange"]
    assert status["directory"] == "graph" and status["endpoint"] == graph_sim.url
    missing = [p["name"] for p in status["needed"] if not p["granted"]]
    assert missing == ["GroupMember.Read.All"]
    assert status["reachable"] and status["version"] == "Microsoft Graph v1.0"
    assert any("Dynamic distribution lists" in line for line in status["limits"])


def test_cost_is_graphs_own_resource_units(graph_sim, tmp_path):
    services = graph_services(graph_sim, tmp_path)
    services.counts.count([recipient("megan@contoso.com")], None, "megan@contoso.com")  # tokens
    graph_sim.reset_counters()
    report = services.counts.count([recipient("project-phoenix@contoso.com")], None,
                                   "megan@contoso.com", True)
    counters = graph_sim.snapshot()
    assert report.resource_units == counters["resource_units"] > 0


# -- on behalf of the caller, through the API -------------------------------------------------

@pytest.fixture
def obo_client(graph_sim: GraphSimulator, tmp_path: Path) -> Any:
    config = load_config(environ={}, instance_path=str(tmp_path),
                         internal_domains=("contoso.com",), **graph_settings(graph_sim, "obo"),
                         **identity_settings())
    return lambda who: signed_in(rollcall_app(config), who)


def test_the_pane_counts_on_behalf_of_the_caller(obo_client, ews_reports):
    answer = obo_client("megan@contoso.com").post("/api/count", json={"recipients": [
        {"displayName": "Comms Champions", "emailAddress": ""},
        {"displayName": "Partners", "emailAddress": "partners@contoso.com"}]})
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    expected = set(ews_reports["Comms Champions"].recipients) | set(
        ews_reports["partners@contoso.com"].recipients)
    assert report["total"] == len(expected) and report["mailbox"] == "megan@contoso.com"
    assert report["resource_units"] > 0


def test_each_caller_sees_only_their_own_contact_groups(obo_client):
    answer = obo_client("alex@contoso.com").post("/api/count", json={"recipients": [
        {"displayName": "Comms Champions", "emailAddress": ""}]})
    report = answer.get_json()
    assert report["total"] == 0 and [f["code"] for f in report["findings"]] == ["unresolved"]


def test_the_send_check_over_graph(obo_client):
    answer = obo_client("megan@contoso.com").post("/api/validate", json={"recipients": [
        {"displayName": "Leadership", "emailAddress": "leadership@contoso.com"}]})
    assert answer.status_code == 200
    verdict = answer.get_json()
    assert verdict["action"] == "warn" and "cycle" in {f["rule"] for f in verdict["findings"]}


def test_server_information_probes_graph_as_the_admin(obo_client):
    answer = obo_client("isaiah@contoso.com").get("/api/admin/status")
    exchange = answer.get_json()["exchange"]
    assert exchange["reachable"] and exchange["directory"] == "graph"
    assert exchange["acting"] == "obo" and all(p["granted"] for p in exchange["needed"])
    # Every field Server information shows is written down in the OpenAPI document.
    from rollcall.api.openapi_schemas import SCHEMAS

    assert set(exchange) <= set(SCHEMAS["Status"]["properties"]["exchange"]["properties"])


# -- Graph's own cases, each in a small organisation ------------------------------------------

SMALL = {
    "domain": "contoso.com",
    "mailboxes": [{"address": f"{n}@contoso.com", "name": n.title(), "password": "pw"}
                  for n in ("ann", "bob", "cy", "dee")],
    "groups": [{"address": "board@contoso.com", "name": "Board", "visibility": "HiddenMembership",
                "members": ["ann@contoso.com", "bob@contoso.com"]}],
    "lists": [{"address": "floor@contoso.com", "name": "Floor 3",
               "members": ["cy@contoso.com", "dee@contoso.com"],
               "entra_members": [{"name": "Printer 3", "type": "device"}]}],
}


@pytest.fixture
def small(start_graph_simulator: Any, tmp_path: Path) -> Any:
    sim = start_graph_simulator(SMALL)
    return sim, lambda: graph_services(sim, tmp_path).counts


def test_hidden_membership_is_read_with_member_read_hidden_and_said_without(small):
    sim, counts = small
    board = [Recipient("Board", "board@contoso.com")]
    assert counts().count(board, None, "ann@contoso.com").total == 2
    sim.apply_faults("deny=Member.Read.Hidden")
    report = counts().count(board, None, "ann@contoso.com", True)
    assert not report.complete and report.total == 0
    [finding] = [f for f in report.findings if f.code.value == "expansion_failed"]
    assert "hidden" in finding.message and "Member.Read.Hidden" in finding.message


def test_members_without_mail_are_invalid_members_not_people(small):
    _, counts = small
    report = counts().count([Recipient("Floor 3", "floor@contoso.com")], None, "ann@contoso.com")
    assert report.total == 2 and report.complete
    [finding] = [f for f in report.findings if f.code.value == "invalid_member"]
    assert "Printer 3" in finding.message


def test_the_command_line_counts_over_graph_as_rollcalls_own_app(small, tmp_path):
    import subprocess
    import sys

    from support import cli_environ

    sim, _ = small
    env = cli_environ(**{f"ROLLCALL_{k.upper()}": str(v)
                         for k, v in graph_settings(sim, "obo").items()},
                      ROLLCALL_MAILBOX="ann@contoso.com", ROLLCALL_INTERNAL_DOMAINS="contoso.com",
                      ROLLCALL_INSTANCE_PATH=str(tmp_path))
    # ROLLCALL_GRAPH_AUTH=obo is the server's; a command line has no caller and acts as the app.
    counted = subprocess.run([sys.executable, "-m", "rollcall.cli", "count", "board@contoso.com",
                              "floor@contoso.com", "--json"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert counted.returncode == 0, counted.stderr
    report = json.loads(counted.stdout)
    assert report["total"] == 4 and report["resource_units"] > 0
    checked = subprocess.run([sys.executable, "-m", "rollcall.cli", "check", "nobody@contoso.com"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 4 and checked.stdout.startswith("BLOCK"), checked.stdout
    env.pop("ROLLCALL_GRAPH_CLIENT_SECRET")
    refused = subprocess.run([sys.executable, "-m", "rollcall.cli", "count", "board@contoso.com"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "ROLLCALL_GRAPH_CLIENT_SECRET" in refused.stderr
    assert "Traceback" not in refused.stderr
