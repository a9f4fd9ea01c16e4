"""The pane in Chromium against Rollcall reading the demo organisation through Microsoft Graph
(the Graph simulator over HTTPS), on behalf of each person signed in: a sender's count and its
findings, a dynamic list Graph can only estimate, Server information's Graph rows for an admin,
and contact groups that stay their owner's. One Graph simulator and one app for the module.

The admin API's refusal is remembered by the app for ten minutes (exchange_only.py), so the
test that denies it runs last; expansions are not cached here, so each count asks Graph now."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pane_support import OFFICE_JS, serving

from graph_simulator import GraphSimulator
from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import Recipient
from rollcall.dev.demo_graph import graph_settings
from rollcall.directory.graph.permissions import NEEDED
from smtp_simulator import SmtpSimulator
from support import demo_config, identity_settings, rollcall_app

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "artifacts" / "screenshots"
SENDER = "megan@contoso.com"
ADMIN = "isaiah@contoso.com"
DYNAMIC = "sales-dynamic@contoso.com"
PHOENIX = "project-phoenix@contoso.com"  # a list whose members Graph lists in full
CHAMPIONS = "Comms Champions"  # Megan's contact group: typed by its name, as Outlook has it
ENTRIES = ["allstaff@contoso.com", DYNAMIC]
# What must never reach the page: Python's or JavaScript's own words, or a value unprinted.
LEAKS = re.compile(r"Traceback|Error\(|Exception|undefined|null|NaN|\[object|\{'|\{\"")


@pytest.fixture(scope="module")
def url(graph_simulator: GraphSimulator, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[str]:
    """Rollcall over Graph on behalf of each signed-in person, served with its send worker
    (serving() starts one, so a relay is there for it; nothing is sent here)."""
    relay = SmtpSimulator(relay_domains=("contoso.com",)).start()
    config = load_config(environ={}, instance_path=str(tmp_path_factory.mktemp("pane-graph")),
                         internal_domains=("contoso.com",), smtp_url=relay.url,
                         cache_ttl_s=0.0,  # every count asks Graph as it is now (faults)
                         **graph_settings(graph_simulator, "obo"), **identity_settings())
    try:
        with serving(rollcall_app(config)) as served:
            yield served
    finally:
        relay.stop()


# Every test starts and ends with a well-behaved Graph (the graph_sim fixture).
pytestmark = pytest.mark.usefixtures("graph_sim")


@dataclass
class Pane:
    page: Any
    reports: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def count(self, *entries: str) -> dict[str, Any]:
        """Type `entries` in the paste box, one a line, and count: the report once shown."""
        page = self.page
        page.locator("#paste").wait_for(state="visible", timeout=15_000)
        before = len(self.reports)
        page.fill("#paste-text", "\n".join(entries))
        with page.expect_response("**/api/count", timeout=20_000) as answer:
            page.click("#paste-count")
        if not answer.value.ok:
            page.locator("#problem").wait_for(state="visible")
        assert len(self.reports) == before + 1, (
            f"HTTP {answer.value.status} instead of a report; the pane says: "
            + page.locator("#problem").inner_text().replace("\n", " / "))
        report = self.reports[-1]
        page.wait_for_function(
            "t => document.querySelector('#total').textContent.replace(/,/g, '') === String(t)"
            " && !document.querySelector('#result').hidden", arg=report["total"])
        return report

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def no_leaks(self, selector: str = "body") -> None:
        text = self.page.locator(selector).inner_text()
        assert not LEAKS.search(text), LEAKS.search(text)
        assert self.console_errors == []


@pytest.fixture
def open_pane(browser: Any, url: str) -> Iterator[Callable[[str], Pane]]:
    """open_pane(who): a browser tab (the paste box) signed in as `who` by the dev issuer."""
    contexts: list[Any] = []
    stub_js = (HERE / "office_stub.js").read_text()

    def open_(who: str) -> Pane:
        context = browser.new_context(viewport={"width": 360, "height": 900})
        contexts.append(context)
        page = context.new_page()
        pane = Pane(page)

        def record(route: Any) -> None:
            response = route.fetch()
            if response.ok:
                pane.reports.append(response.json())
            route.fulfill(response=response)

        page.route("**/api/count", record)
        page.on("console", lambda m: pane.console_errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None)
        page.on("pageerror", lambda e: pane.console_errors.append(f"pageerror: {e}"))
        page.add_init_script(f"window.__officeConfig = {json.dumps({'mode': 'browser'})};")
        page.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=stub_js))
        page.goto(f"{url}/?as={who}")
        return pane

    yield open_
    for context in contexts:
        context.close()


def test_a_sender_sees_what_graph_counts_with_the_hidden_people_and_the_daily_note(
        open_pane, graph_sim, demo_org, demo_simulator, tmp_path):
    # The expected number: the same entries counted over Graph by Rollcall itself, and over
    # EWS, whose ExpandDL leaves out people hidden from address lists that Graph lists.
    recipients = [Recipient(e, e) for e in ENTRIES]
    graph = bootstrap(load_config(
        environ={}, instance_path=str(tmp_path / "graph"), mailbox=SENDER,
        internal_domains=("contoso.com",), **graph_settings(graph_sim, "app"))
    ).counts.count(recipients, None, SENDER)
    ews = bootstrap(demo_config(demo_simulator[0], instance_path=str(tmp_path / "ews"))
                    ).counts.count(recipients, None, SENDER)
    hidden = set(graph.recipients) - set(ews.recipients)
    assert graph.complete and hidden and set(ews.recipients) <= set(graph.recipients)
    assert all(demo_org.by_address[a].hidden for a in hidden)
    assert graph.total == ews.total + len(hidden)

    pane = open_pane(SENDER)
    report = pane.count(*ENTRIES)
    page = pane.page
    assert report["total"] == graph.total and report["complete"]
    assert page.locator("#who").inner_text() == SENDER
    assert page.locator("#total").inner_text() == f"{graph.total:,}"
    assert page.locator("#total-prefix").is_hidden()
    assert page.locator("#badge").inner_text() == "Complete"
    assert page.locator("#banner").is_hidden()
    names = page.locator('#tree > [role="treeitem"]').all_inner_texts()
    assert len(names) == 2 and "All Staff" in names[0]
    note = page.locator('.sev-info .finding[data-code="limited_view"]')
    assert note.count() == 1
    assert "once a day" in note.locator(".finding-message").inner_text()
    assert note.locator(".send-action").inner_text() == "On Send: no question asked."
    pane.shot("graph-megan-allstaff-dynamic")
    pane.no_leaks()


def test_an_admin_reads_graphs_endpoint_and_permissions_and_a_missing_one_after_refresh(
        open_pane, graph_sim):
    pane = open_pane(ADMIN)
    page = pane.page
    page.locator("#server-open").wait_for(state="visible", timeout=15_000)
    page.click("#server-open")
    facts = page.locator("#server-body dl.facts")
    facts.locator("dt").first.wait_for(timeout=15_000)
    # Rollcall's own version, then the directory: Exchange Online, read through Graph.
    assert facts.locator("dt").all_inner_texts()[:4] == [
        "Rollcall", "Exchange Online", "Directory", "Permissions"]
    exchange = facts.locator('dd[data-fact="exchange online"]')
    assert exchange.inner_text().startswith("reachable, Microsoft Graph v1.0")
    assert exchange.inner_text().endswith("each sender's own token (on behalf of)")
    assert facts.locator('dd[data-fact="directory"]').inner_text() == (
        f"Microsoft Graph at {graph_sim.url}")
    permissions = facts.locator('dd[data-fact="permissions"]')
    assert permissions.inner_text() == f"all {len(NEEDED) + 1} granted"  # + Exchange's role
    sees = facts.locator('dd[data-fact="what graph sees"]')
    assert sees.inner_text().startswith("Dynamic distribution lists: members from Exchange's")
    pane.shot("graph-server-info")

    # Rollcall reads what is granted from the token it holds for the admin, reused until near
    # its expiry (an hour): `expire` stands in for that hour, so the next token lacks it.
    graph_sim.apply_faults("deny=GroupMember.Read.All,expire")
    # Closing and opening again asks for the whole status at once.
    page.click("#server-open")
    with page.expect_response("**/api/admin/status"):
        page.click("#server-open")
    [why] = [w for n, w, _ in NEEDED if n == "GroupMember.Read.All"]
    permissions.filter(has_text="missing").wait_for(timeout=10_000)
    assert permissions.inner_text() == f"GroupMember.Read.All missing (needed for {why})"
    pane.shot("graph-server-info-missing-permission")
    pane.no_leaks("#server-body")


def test_another_person_does_not_see_megans_contact_group(open_pane):
    # Megan counts her own contact group first: the same app must not hand it to Alex.
    megan = open_pane(SENDER).count(CHAMPIONS)
    assert megan["total"] > 0 and megan["complete"]
    pane = open_pane("alex@contoso.com")
    report = pane.count(CHAMPIONS)
    page = pane.page
    assert page.locator("#who").inner_text() == "alex@contoso.com"
    assert report["total"] == 0 and report["not_found"] == 1
    assert [f["code"] for f in report["findings"]] == ["unresolved"]
    assert page.locator("#total").inner_text() == "0"
    assert page.locator("#badge").inner_text() == "Complete, 1 entry not found"
    unresolved = page.locator('.finding[data-code="unresolved"]')
    assert CHAMPIONS in unresolved.inner_text()
    assert page.locator('#tree > [role="treeitem"]').count() == 0
    pane.shot("graph-alex-comms-champions")
    pane.no_leaks()


# Last in the module: the app remembers the admin API's refusal for ten minutes.

def test_without_the_admin_api_a_dynamic_list_makes_the_count_at_least_with_why(open_pane,
                                                                                graph_sim):
    graph_sim.apply_faults("deny=Exchange.ManageAsAppV2")
    pane = open_pane(SENDER)
    report = pane.count(PHOENIX, DYNAMIC)
    page = pane.page
    assert not report["complete"] and report["total"] > 0
    [finding] = [f for f in report["findings"] if f["code"] == "not_listed"]
    # The big number is what was counted, a lower bound; Exchange's estimate is only said.
    assert page.locator("#total-prefix").inner_text() == "at least"
    assert page.locator("#total").inner_text() == f"{report['total']:,}"
    assert report["total"] != finding["count"]
    assert page.locator("#badge").inner_text() == "Incomplete"
    banner = page.locator("#banner")
    assert banner.get_attribute("data-kind") == "incomplete"
    assert banner.inner_text().startswith("Count incomplete.")
    shown = page.locator('.sev-error .finding[data-code="not_listed"]')
    message = shown.locator(".finding-message").inner_text()
    assert message == finding["message"]
    assert "dynamic list" in message and "incomplete" in message
    assert f"about {finding['count']:,}" in message  # Exchange's own estimate, said as one
    assert page.locator("#problem").is_hidden()
    # In the tree too, the list says Exchange's number in words beside the people listed.
    [node] = [n for n in report["tree"] if n["address"] == DYNAMIC]
    assert node["estimate"] == finding["count"] > node["unique_members"]
    row = page.locator('#tree > [role="treeitem"]', has_text=DYNAMIC).locator(".node-row")
    assert row.locator(".tag").inner_text() == f"Exchange counts about {finding['count']:,}"
    assert row.locator(".count").inner_text() == f"{node['unique_members']:,}"
    pane.shot("graph-dynamic-not-listed")
    pane.no_leaks()


def test_without_the_admin_api_a_dynamic_list_alone_is_said_incomplete_not_unreachable(
        open_pane, graph_sim):
    graph_sim.apply_faults("deny=Exchange.ManageAsAppV2")
    pane = open_pane(SENDER)
    report = pane.count(DYNAMIC)
    page = pane.page
    assert not report["complete"]
    [finding] = [f for f in report["findings"] if f["code"] == "not_listed"]
    assert page.locator("#total-prefix").inner_text() == "at least"
    assert page.locator("#badge").inner_text() == "Incomplete"
    message = page.locator('.finding[data-code="not_listed"] .finding-message').inner_text()
    assert message == finding["message"] and "incomplete" in message
    pane.no_leaks()
