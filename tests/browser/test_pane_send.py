"""The pane's "Send tracked" in Chromium against the real app, the EWS simulator's demo
organisation, a real send worker and an SMTP simulator as the relay: a test to the sender, the
dry run the sender confirms, progress to done, every recipient's fate, and the plain words for
what stops a send. In Outlook the pane sends the draft; in a plain browser tab (`make demo`,
recipients pasted) the sender writes the subject and message in the pane."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from pane_support import MARKUP, OFFICE_JS, PARTNERS
from werkzeug.serving import make_server

from smtp_simulator import SmtpSimulator
from support import demo_config, rollcall_app, signed_in

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "artifacts" / "screenshots"
FAST = {"send_rate_per_minute": 100000, "send_rate_per_hour": 1000000}
BODY = "<html><body><p>Hello partners,</p><p>the <b>Q3 update</b>.</p></body></html>"
PYTHON = re.compile(r"Traceback|Error\(|Exception|ROLLCALL_|smtp_url|HTTP \d")
SEND_POLL = re.compile(r"/api/sends/\d+$")
# The demo organisation's External Partners: 14 people, 3 of them at fabrikam.com.
PARTNERS_PEOPLE = 14
AT_FABRIKAM = 3
COLUMNS = ["Address", "State", "Attempts", "Reply", "Meaning", "Message-ID", "Relay queue ID"]
KIM = {"displayName": "Kim Abercrombie", "emailAddress": "kim.abercrombie@fabrikam.com"}
REFUSED = "andrew.fuller@northwind.example"  # one of the partners, not at fabrikam.com
# The pane's clock in a zone half an hour off UTC: a next try said in UTC would show.
ZONE = "Asia/Kolkata"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass
class SendServer:
    """The app under test on an ephemeral port, with its own database, relay and worker."""

    url: str
    app: Any
    relay: SmtpSimulator | None

    def sends(self) -> list[dict[str, Any]]:
        """GET /api/sends as Megan (the pane's signed-in person)."""
        answer = signed_in(self.app).get("/api/sends")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        sends: list[dict[str, Any]] = answer.get_json()["sends"]
        return sends

    def records(self, state: str | None = None) -> list[dict[str, Any]]:
        """GET /api/sends/ID/recipients of the newest send, as Megan."""
        send_id = self.sends()[0]["id"]
        answer = signed_in(self.app).get(f"/api/sends/{send_id}/recipients",
                                         query_string={"state": state} if state else {})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        records: list[dict[str, Any]] = answer.get_json()["recipients"]
        return records


@pytest.fixture
def send_server(demo_simulator: Any, tmp_path: Any) -> Iterator[Callable[..., SendServer]]:
    """send_server(rules=None, relay=True, slow_ms=0, **settings): conftest's pane_server
    cannot take settings, so each test builds its own the same way, plus an SMTP relay (each
    command answered slow_ms late) and a send worker."""
    from rollcall.bootstrap import start_send_worker

    stops: list[Callable[[], None]] = []

    def start(rules: str | None = None, relay: bool = True, slow_ms: float = 0,
              **settings: Any) -> SendServer:
        smtp = None
        if relay:
            smtp = SmtpSimulator(rules=rules or (), slow_ms=slow_ms).start()
            stops.append(smtp.stop)
            settings = {"smtp_url": smtp.url, **settings}
        values = {"instance_path": str(tmp_path / f"instance-{len(stops)}"), **FAST,
                  **settings}
        app = rollcall_app(demo_config(demo_simulator[0], **values))
        stop_worker = start_send_worker(app.extensions["rollcall"])
        assert (stop_worker is not None) == relay
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def stop_server() -> None:
            server.shutdown()
            thread.join(5)
            if stop_worker is not None:
                stop_worker()

        stops.append(stop_server)
        return SendServer(f"http://127.0.0.1:{server.server_port}", app, smtp)

    yield start
    for stop in reversed(stops):
        stop()


@dataclass
class SendPane:
    page: Any
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    console_errors: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # every GET's path and query
    plan: dict[str, Any] = field(default_factory=dict)  # the last dry run's, as the API said it

    def recipient_requests(self, query: str = "") -> int:
        """GET /api/sends/ID/recipients asked so far, with exactly this query ("" for none)."""
        wanted = re.compile(r"/api/sends/\d+/recipients" + (re.escape("?" + query)
                                                            if query else "") + "$")
        return len([a for a in self.asked if wanted.search(a)])

    def offered(self) -> None:
        """Wait for the count and the offer under it."""
        self.page.locator("#send-offer").wait_for(state="visible", timeout=20_000)

    def sends_requested(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if p.startswith("/api/sends")]

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_send_pane(browser: Any) -> Iterator[Callable[..., SendPane]]:
    """open_send_pane(server, to=[...], subject=..., body=..., routes={...}, timezone=None):
    the pane in Outlook (Office.js stubbed, as conftest's open_pane does) against `server`,
    its clock in `timezone` (an IANA name) when given; with mode="browser", a plain browser tab
    (no mailbox item: the paste box and the dev sign-in)."""
    contexts: list[Any] = []
    stub_js = (HERE / "office_stub.js").read_text()

    def open_(server: SendServer, routes: dict[str, Callable[[Any], None]] | None = None,
              mode: str = "outlook", timezone: str | None = None, **stub: Any) -> SendPane:
        context = browser.new_context(viewport={"width": 360, "height": 900},
                                      **({"timezone_id": timezone} if timezone else {}))
        contexts.append(context)
        page = context.new_page()
        pane = SendPane(page)

        def requested(r: Any) -> None:
            url = urlsplit(r.url)
            pane.requests.append((r.method, url.path))
            if r.method == "GET":
                pane.asked.append(url.path + (f"?{url.query}" if url.query else ""))

        page.on("request", requested)
        page.on("console", lambda m: pane.console_errors.append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: pane.console_errors.append(f"pageerror: {e}"))
        for pattern, handler in (routes or {}).items():
            page.route(pattern, handler)
        page.add_init_script(f"window.__officeConfig = {json.dumps({'mode': mode, **stub})};")
        page.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=stub_js))
        page.goto(server.url + "/")
        return pane

    yield open_
    for context in contexts:
        context.close()


def parsed(accepted: Any) -> email.message.EmailMessage:
    message: email.message.EmailMessage = email.message_from_bytes(
        accepted.data, policy=email.policy.default)
    return message


def confirm_plan(pane: SendPane) -> Any:
    """Press "Send tracked…" and wait for the confirmation (the plan in pane.plan)."""
    pane.offered()
    with pane.page.expect_response(lambda r: r.request.method == "POST"
                                   and urlsplit(r.url).path == "/api/sends") as answer:
        pane.page.click("#send-start")
    pane.plan = answer.value.json()["plan"]
    box = pane.page.locator("#send-confirm")
    box.wait_for(state="visible", timeout=20_000)
    return box


def test_a_test_to_myself_reaches_the_relay_and_the_pane_says_so(send_server, open_send_pane):
    server = send_server()
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    pane.offered()
    page = pane.page
    buttons = page.locator("#send-offer button")
    assert buttons.all_inner_texts() == ["Send a test to myself", "Send tracked…"]
    assert page.locator("#send-compose").is_hidden()  # Outlook has the draft: nothing to write
    page.click("#send-test")
    status = page.locator("#send-test-status")
    status.filter(has_text="Test sent to you: check your inbox").wait_for(timeout=20_000)
    assert status.get_attribute("aria-live") == "polite"
    accepted = server.relay.accepted
    assert [m.rcpt_to for m in accepted] == [("megan@contoso.com",)]
    # The relay's own words, quoted whole, and apart from them what Rollcall reads in them.
    record, = server.records()
    reply = f"250 2.0.0 Ok: queued as {accepted[0].queue_id}"
    assert f"{record['reply']['code']} {record['reply']['text']}" == reply
    assert status.inner_text().splitlines() == [
        "Test sent to you: check your inbox.", f"The relay replied: \u201c{reply}\u201d",
        "Meaning: Accepted."]
    assert record["reply"]["meaning"] == "Accepted."
    message = parsed(accepted[0])
    assert message["Subject"] == "[Test] Partner update"
    assert "Q3 update" in message.get_body(("html",)).get_content()
    assert [s["test"] for s in server.sends()] == [True]  # nobody else got anything
    pane.shot("send-test")
    assert pane.console_errors == []  # a CSP violation (send.css, send.js) would show here


def test_an_empty_subject_is_said_and_nothing_is_asked(send_server, open_send_pane):
    server = send_server()
    pane = open_send_pane(server, to=[PARTNERS], subject="   ", body=BODY)
    pane.offered()
    page = pane.page
    for button in ("#send-test", "#send-start"):
        page.click(button)
        problem = page.locator("#send-problem")
        problem.wait_for(state="visible")
        assert "Give the message a subject first" in problem.inner_text()
    page.wait_for_timeout(300)
    assert pane.sends_requested() == []
    assert server.relay.accepted == []


def test_outlook_failing_to_give_the_body_is_said(send_server, open_send_pane):
    server = send_server()
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY,
                          failField="body")
    pane.offered()
    pane.page.click("#send-test")
    problem = pane.page.locator("#send-problem")
    problem.wait_for(state="visible")
    assert "Outlook didn't give Rollcall the message's subject and body" in problem.inner_text()
    assert pane.sends_requested() == []


def test_the_confirmation_shows_the_plan_and_nothing_is_queued_before_it(send_server,
                                                                         open_send_pane):
    server = send_server()
    subject = f"Partner update {MARKUP}"
    pane = open_send_pane(server, to=[PARTNERS], subject=subject, body=BODY)
    box = confirm_plan(pane)
    page = pane.page
    fact = lambda name: box.locator(f'[data-fact="{name}"]')  # noqa: E731
    assert fact("messages").inner_text() == f"{PARTNERS_PEOPLE} messages, one per person."
    assert fact("suppressed").count() == 0  # nobody opted out in a fresh database
    assert fact("relay").inner_text() == f"Through the relay 127.0.0.1:{server.relay.port}."
    assert fact("time").inner_text() == ("Takes under a minute at the sending limit "
                                         "(100,000 a minute).")
    # The send check warns about 14 external people: said before anything goes, in its
    # findings' own sentences; its message for Outlook's dialog ends "... check the recipients
    # with Get Recipient Count", which is this very pane.
    check = pane.plan["send_check"]
    assert check["action"] == "warn" and "Get Recipient Count" in check["message"]
    warning = fact("send-check")
    assert warning.locator("li").all_inner_texts() == [f["message"] for f in check["findings"]]
    assert "outside your organisation" in warning.inner_text()
    assert "Get Recipient Count" not in warning.inner_text()
    assert "Send anyway" not in warning.inner_text()
    assert box.locator(".send-subject").inner_text() == f"Subject: {subject}"
    assert page.evaluate("window.__xss") is None  # the subject went in as text
    queue = box.locator("#send-queue")
    assert queue.inner_text() == f"Queue {PARTNERS_PEOPLE} messages"
    assert page.evaluate("document.activeElement.id") == "send-confirm-title"
    pane.shot("send-confirm")
    assert [m for m, _ in pane.sends_requested()] == ["POST"]  # the dry run only
    page.wait_for_timeout(1_000)  # a worker that had something would have sent it by now
    assert server.relay.accepted == [] and server.sends() == []
    page.click("#send-cancel")
    assert box.is_hidden() and page.locator("#send-offer").is_visible()
    assert page.evaluate("document.activeElement.id") == "send-start"
    assert server.sends() == []


def test_a_confirmed_send_reaches_done_and_lists_every_copy(send_server, open_send_pane):
    server = send_server()
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    confirm_plan(pane).locator("#send-queue").click()
    page = pane.page
    progress = page.locator("#send-progress")
    assert progress.get_attribute("aria-live") == "polite"
    headline = page.locator("#send-headline")
    headline.filter(has_text="delivered").wait_for(timeout=30_000)
    assert headline.inner_text() == f"All {PARTNERS_PEOPLE} delivered to the relay."
    counts = {d.get_attribute("data-state"): d.inner_text()
              for d in page.locator("#send-counts dd").all()}
    assert counts == {"queued": "0", "sent": str(PARTNERS_PEOPLE), "deferred": "0",
                      "failed": "0", "suppressed": "0"}
    bar = page.locator("#send-bar")
    assert bar.evaluate("b => [b.value, b.max]") == [PARTNERS_PEOPLE, PARTNERS_PEOPLE]
    assert page.locator("#send-see-failed").is_hidden()
    assert page.locator(".send-note").inner_text() == (
        "The draft is still open: discard it yourself (Rollcall sent the copies).")
    assert page.locator("#send-offer").is_hidden()  # one send per draft from this pane

    polls = len([p for _, p in pane.requests if SEND_POLL.search(p)])
    page.wait_for_timeout(4_500)  # two polling periods: a done send is no longer asked about
    assert len([p for _, p in pane.requests if SEND_POLL.search(p)]) == polls

    toggle = page.locator("#send-every")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    table = page.locator("#send-table table")
    table.wait_for()
    assert table.locator("thead th").all_inner_texts() == COLUMNS
    relay = {m.rcpt_to[0]: (parsed(m)["Message-ID"], m.queue_id)
             for m in server.relay.accepted}
    assert len(relay) == PARTNERS_PEOPLE
    rows = table.locator("tbody tr")
    assert rows.count() == PARTNERS_PEOPLE
    shown = {}
    for row in rows.all():
        address, state, attempts, reply, meaning, message_id, queue_id = row.locator(
            "td").all_inner_texts()
        # The relay's reply as it said it, and Rollcall's reading of it beside it.
        assert (state, attempts, reply, meaning) == (
            "Sent", "1", f"250 2.0.0 Ok: queued as {queue_id}", "Accepted.")
        shown[address] = (message_id, queue_id)
    assert shown == relay
    assert page.locator("#send-table .hint").count() == 0  # no "updated every few seconds"
    pane.shot("send-done")
    at_pane_width_nothing_is_off_screen(page, relay)
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false" and table.is_hidden()
    assert pane.console_errors == []


def at_pane_width_nothing_is_off_screen(page: Any, relay: dict[str, tuple[str, str]]) -> None:
    """At 360 pixels each recipient is a card of labelled lines, inside the pane: the table
    box does not scroll sideways and every Message-ID and queue id is on screen. It is still a
    table to assistive technology (Chromium's own accessibility tree, not the DOM): rows of
    cells under column headers, each cell named by its value alone. Wide, it is a table again,
    and what does not fit scrolls with a scrollbar that takes room (a visible one)."""
    box = page.locator("#send-table")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")
    width = page.viewport_size["width"]
    for cell in page.locator("#send-table td.mono").all():
        if cell.inner_text():
            found = cell.bounding_box()
            assert found is not None and found["x"] >= 0
            assert found["x"] + found["width"] <= width, cell.inner_text()
    labels = page.locator("#send-table tbody tr").first.locator("td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    # Drawn before each value (the address needs none), and left out of its name: / "".
    assert labels == ["none", *(f'"{c}" / ""' for c in COLUMNS[1:])]

    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    role = lambda n: n.get("role", {}).get("value")  # noqa: E731
    name = lambda n: n.get("name", {}).get("value")  # noqa: E731
    assert [name(n) for n in nodes if role(n) == "columnheader"] == COLUMNS
    assert len([n for n in nodes if role(n) == "row"]) == len(relay) + 1  # and the header row
    cells = {name(n) for n in nodes if role(n) == "cell"}
    assert {m for m, _ in relay.values()} <= cells  # "Message-ID" is drawn, not in the name
    session.detach()

    page.set_viewport_size({"width": 1200, "height": 900})
    try:
        assert page.locator("#send-table tr").first.evaluate(
            "r => getComputedStyle(r).display") == "table-row"
        assert page.locator("#send-table th").first.bounding_box()["height"] > 4
        if box.evaluate("b => b.scrollWidth > b.clientWidth"):
            assert box.evaluate("b => b.offsetHeight - b.clientHeight") > 0
    finally:
        page.set_viewport_size({"width": 360, "height": 900})


def test_addresses_the_relay_refuses_show_as_failed_with_their_meaning(send_server,
                                                                        open_send_pane):
    server = send_server(rules="reject:*@fabrikam.com")
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    confirm_plan(pane).locator("#send-queue").click()
    page = pane.page
    headline = page.locator("#send-headline")
    headline.filter(has_text="failed").wait_for(timeout=30_000)
    sent = PARTNERS_PEOPLE - AT_FABRIKAM
    assert headline.inner_text() == f"{sent} sent, {AT_FABRIKAM} failed:"
    assert len(server.relay.accepted) == sent
    page.click("#send-see-failed")  # "see them"
    rows = page.locator("#send-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == AT_FABRIKAM
    for row in rows.all():
        address, state, attempts, reply, meaning, message_id, queue_id = row.locator(
            "td").all_inner_texts()
        assert address.endswith("@fabrikam.com") and (state, attempts) == ("Failed", "1")
        assert reply == (f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")
        assert "does not exist" in meaning
        assert message_id.startswith("<") and queue_id == ""  # refused: no relay queue id
    pane.shot("send-failed")
    page.click("#send-every")
    page.locator("#send-table tbody tr").nth(AT_FABRIKAM).wait_for()
    assert page.locator("#send-table tbody tr").count() == PARTNERS_PEOPLE


def test_an_unsubscribed_person_is_left_out_and_the_confirmation_says_why(send_server,
                                                                          open_send_pane):
    server = send_server()
    client = signed_in(server.app)
    first = client.post("/api/sends", json={"recipients": [PARTNERS], "subject": "Earlier",
                                            "html": "<p>x</p>"})
    assert first.status_code == 201, first.get_data(as_text=True)
    deadline = time.monotonic() + 30
    while len(server.relay.accepted) < PARTNERS_PEOPLE and time.monotonic() < deadline:
        time.sleep(0.1)
    leaving = parsed(server.relay.accepted[0])
    link = leaving["List-Unsubscribe"].strip("<>")
    assert client.post(urlsplit(link).path).status_code == 200  # the one-click unsubscribe
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    box = confirm_plan(pane)
    fact = lambda name: box.locator(f'[data-fact="{name}"]')  # noqa: E731
    assert fact("messages").inner_text() == f"{PARTNERS_PEOPLE - 1} messages, one per person."
    assert fact("suppressed").inner_text() == "1 not sent: unsubscribed."
    assert box.locator("#send-queue").inner_text() == f"Queue {PARTNERS_PEOPLE - 1} messages"


def test_an_incomplete_count_offers_no_send(send_server, open_send_pane):
    server = send_server()

    def incomplete(route: Any) -> None:
        response = route.fetch()
        report = response.json()
        report["complete"] = False
        route.fulfill(response=response, body=json.dumps(report))

    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY,
                          routes={"**/api/count": incomplete})
    page = pane.page
    page.locator("#send-needs").wait_for(state="visible", timeout=20_000)
    assert page.locator("#total-prefix").inner_text() == "at least"
    assert page.locator("#send-needs").inner_text() == "Tracked send needs a complete count."
    assert page.locator("#send button:visible").count() == 0
    pane.shot("send-incomplete")


def test_without_a_relay_the_pane_says_so_plainly(send_server, open_send_pane):
    server = send_server(relay=False)
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    page = pane.page
    problem = page.locator("#send-problem")
    pane.offered()
    for button, path in (("#send-start", "/api/sends"), ("#send-test", "/api/sends/test")):
        page.click(button)
        page.wait_for_function("() => !document.querySelector('#send-problem').hidden"
                               " && !document.querySelector('#send-test').disabled")
        assert pane.sends_requested()[-1] == ("POST", path)
        text = problem.inner_text()
        assert text.startswith("Rollcall has no mail relay to send through, so it can't send.")
        assert re.search(r"Reference for support: \S+", text) and not PYTHON.search(text)
        assert page.locator("#send-confirm").is_hidden()
    pane.shot("send-no-relay")


def test_a_send_the_send_check_blocks_shows_its_message(send_server, open_send_pane):
    server = send_server(policy_external="block")
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    pane.offered()
    page = pane.page
    page.click("#send-start")
    problem = page.locator("#send-problem")
    problem.wait_for(state="visible", timeout=20_000)
    text = problem.inner_text()
    assert text.startswith("Rollcall's send check stops this send: ")
    assert "outside your organisation" in text and "Reference for support: " in text
    assert not PYTHON.search(text)
    assert page.locator("#send-confirm").is_hidden()
    assert server.relay.accepted == [] and server.sends() == []


def test_a_failing_poll_is_said_and_the_next_one_waits_longer(send_server, open_send_pane):
    server = send_server()
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    page = pane.page
    polls: list[float] = []
    failures = [1]  # the first poll meets a proxy's bare 503; the server is fine after that

    def flaky(route: Any) -> None:
        if route.request.method == "GET" and SEND_POLL.search(route.request.url):
            polls.append(time.monotonic())
            if failures[0]:
                failures[0] -= 1
                route.fulfill(status=503, body="")
                return
        route.continue_()

    page.route("**/api/sends/*", flaky)
    confirm_plan(pane).locator("#send-queue").click()
    queued = time.monotonic()
    lag = page.locator("#send-lag")
    lag.wait_for(state="visible", timeout=10_000)
    assert lag.inner_text() == "Rollcall isn't answering just now; still trying."
    page.locator("#send-headline").filter(has_text="delivered").wait_for(timeout=30_000)
    assert lag.is_hidden()
    first, second = polls[0] - queued, polls[1] - polls[0]
    assert 1.5 < first < 3.5  # every 2 s while all is well
    assert second > 3.5  # twice that after an error: a struggling server is not hammered


# --- A plain browser tab (`make demo`): no draft, so the sender writes the message in the pane

WRITTEN = ('Hello partners,\n\nthe <b>markup</b> & "quotes" stay as typed.\nA second line.'
           '\n\n\nLast paragraph.')
WRITTEN_PARAGRAPHS = ["Hello partners,",
                      'the <b>markup</b> & "quotes" stay as typed.\nA second line.',
                      "Last paragraph."]


def counted_in_a_tab(server: SendServer, open_send_pane: Callable[..., SendPane]) -> SendPane:
    """The pane as a web page: partners@contoso.com pasted and counted, the offer shown."""
    pane = open_send_pane(server, mode="browser")
    page = pane.page
    page.locator("#paste").wait_for(state="visible", timeout=20_000)
    page.fill("#paste-text", "partners@contoso.com")
    page.click("#paste-count")
    pane.offered()
    assert page.locator("#total").inner_text() == str(PARTNERS_PEOPLE)
    return pane


def write(page: Any, subject: str, message: str) -> None:
    """Fill the fields as the sender would: found by their labels."""
    page.get_by_label("Subject", exact=True).fill(subject)
    page.get_by_label("Message", exact=True).fill(message)


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    """The text part (line ends as typed) and the HTML part."""
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, message.get_body(("html",)).get_content()


def paragraphs(html: str) -> list[str]:
    """What a mail client shows of the HTML part: one string per <p>, <br> as a line break."""
    import lxml.html

    root = lxml.html.document_fromstring(html)
    assert root.xpath("//body//*[not(self::p or self::br or self::img)]") == []  # no <b>
    assert all(img.get("width") == "1" for img in root.iter("img"))  # the open pixel only
    return [p.text_content() for p in root.iter("p")]


def test_in_a_browser_tab_the_sender_writes_tests_and_sends_tracked(send_server,
                                                                    open_send_pane):
    server = send_server()
    pane = counted_in_a_tab(server, open_send_pane)
    page = pane.page
    assert page.locator("#send-compose").is_visible()
    subject_field, message_field = page.locator("#send-subject"), page.locator("#send-message")
    # Labels belong to their fields; both are required.
    assert page.get_by_label("Subject", exact=True).evaluate("e => e.id") == "send-subject"
    assert page.get_by_label("Message", exact=True).evaluate("e => e.id") == "send-message"
    assert subject_field.evaluate("e => e.required") and message_field.evaluate(
        "e => e.required && e.tagName") == "TEXTAREA"
    pane.shot("send-tab-compose")
    write(page, "Partner update", WRITTEN)

    page.click("#send-test")
    status = page.locator("#send-test-status")
    status.filter(has_text="Test sent to you: check your inbox").wait_for(timeout=20_000)
    test_copy, = server.relay.accepted
    assert test_copy.rcpt_to == ("megan@contoso.com",)  # the dev sign-in's Megan, nobody else
    message = parsed(test_copy)
    assert message["Subject"] == "[Test] Partner update"
    text, html = parts(message)
    assert text == WRITTEN + "\n"  # the text part verbatim, markup and all
    assert "&lt;b&gt;markup&lt;/b&gt;" in html and "<b>" not in html  # escaped in the HTML
    assert paragraphs(html) == WRITTEN_PARAGRAPHS
    assert [s["test"] for s in server.sends()] == [True]

    box = confirm_plan(pane)
    assert box.locator(".send-subject").inner_text() == "Subject: Partner update"
    assert box.locator('[data-fact="messages"]').inner_text() == (
        f"{PARTNERS_PEOPLE} messages, one per person.")
    assert page.locator("#send-compose").is_hidden()  # nothing changes under the confirmation
    box.locator("#send-queue").click()
    headline = page.locator("#send-headline")
    headline.filter(has_text="delivered").wait_for(timeout=30_000)
    assert headline.inner_text() == f"All {PARTNERS_PEOPLE} delivered to the relay."
    assert page.locator("#send-note").inner_text() == "Sent from Rollcall; nothing else to do."
    assert page.locator("#send-compose").is_hidden()

    page.click("#send-every")
    rows = page.locator("#send-table tbody tr")
    rows.first.wait_for()
    tracked = server.relay.accepted[1:]
    relay = {m.rcpt_to[0]: (parsed(m)["Message-ID"], m.queue_id) for m in tracked}
    assert len(relay) == rows.count() == PARTNERS_PEOPLE
    shown = {}
    for row in rows.all():
        address, state, attempts, reply, meaning, message_id, queue_id = row.locator(
            "td").all_inner_texts()
        assert (state, attempts, meaning) == ("Sent", "1", "Accepted.")
        assert reply == f"250 2.0.0 Ok: queued as {queue_id}" and message_id and queue_id
        shown[address] = (message_id, queue_id)
    assert shown == relay
    for copy in tracked:  # every person got what was written, both parts
        message = parsed(copy)
        assert message["Subject"] == "Partner update"
        text, html = parts(message)
        assert text == WRITTEN + "\n" and paragraphs(html) == WRITTEN_PARAGRAPHS
    assert [s["test"] for s in server.sends()] == [False, True]  # newest first
    pane.shot("send-tab-done")
    assert page.evaluate("window.__xss") is None
    assert pane.console_errors == []


def test_in_a_browser_tab_empty_fields_are_said_and_nothing_is_asked(send_server,
                                                                     open_send_pane):
    server = send_server()
    pane = counted_in_a_tab(server, open_send_pane)
    page = pane.page
    subject_error, message_error = (page.locator("#send-subject-error"),
                                    page.locator("#send-message-error"))
    focused = lambda: page.evaluate("document.activeElement.id")  # noqa: E731

    def described(field: str) -> list[str]:
        return (page.locator(f"#send-{field}").get_attribute("aria-describedby") or "").split()

    def invalid(field: str) -> bool:
        return page.locator(f"#send-{field}").get_attribute("aria-invalid") == "true"

    page.click("#send-test")  # both empty: both said, the first one gets the focus
    assert subject_error.inner_text() == "Write a subject first"
    assert message_error.inner_text() == "Write the message first"
    assert focused() == "send-subject" and invalid("subject") and invalid("message")
    assert described("subject") == ["send-subject-error"]
    assert described("message") == ["send-message-error", "send-message-hint"]
    assert page.locator("#send-problem").is_hidden()  # said beside the fields, once
    pane.shot("send-tab-empty")

    page.locator("#send-subject").press_sequentially("x")  # typing clears that field's error
    assert subject_error.is_hidden() and not invalid("subject") and described("subject") == []
    assert message_error.is_visible()

    write(page, "   ", "Hello partners")  # blanks are no subject
    page.click("#send-start")
    assert subject_error.is_visible() and message_error.is_hidden()
    assert focused() == "send-subject" and not invalid("message")
    assert described("message") == ["send-message-hint"]

    write(page, "Partner update", " \n\n \t")  # nor are they a message
    page.click("#send-start")
    assert message_error.inner_text() == "Write the message first"
    assert subject_error.is_hidden() and focused() == "send-message"
    page.click("#send-test")
    assert message_error.is_visible() and page.locator("#send-test-status").is_hidden()

    page.wait_for_timeout(300)
    assert pane.sends_requested() == []
    assert page.locator("#send-confirm").is_hidden()
    assert server.relay.accepted == [] and server.sends() == []


@pytest.mark.parametrize(("text", "html"), [
    ("One line", "<p>One line</p>"),
    ("a\nb\n\nc", "<p>a<br>\nb</p>\n<p>c</p>"),
    ("a\r\n \r\n\r\nb\rc", "<p>a</p>\n<p>b<br>\nc</p>"),  # Windows and old Mac line ends
    ("\n\n\na\n \n", "<p>a</p>"),  # blank lines at either end make no empty paragraph
    ("\na\n", "<p>a</p>"),
    ("<script>x()</script> & 'q' \"r\"",
     "<p>&lt;script&gt;x()&lt;/script&gt; &amp; &#39;q&#39; &quot;r&quot;</p>"),
    ("&lt;b&gt;", "<p>&amp;lt;b&amp;gt;</p>"),  # typed entities stay as typed
])
def test_written_text_becomes_escaped_paragraphs(open_pane, text, html):
    pane = open_pane("browser")
    made = pane.page.evaluate(
        "async (t) => (await import('/send.js')).htmlFromText(t)", text)
    assert made == f"<html><body>\n{html}\n</body></html>"


# --- While the send goes on: deferred recipients, failures so far, every copy's state


def clock(iso: str) -> str:
    """A next try as the pane says it on a clock in ZONE: "at 14:05", or "on 3 Jun at 00:10"
    when that is another day there."""
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))
    time_ = at.strftime("%H:%M")
    if at.date() == datetime.now(ZoneInfo(ZONE)).date():
        return f"at {time_}"
    return f"on {at.day} {MONTHS[at.month - 1]} at {time_}"


def cells(row: Any) -> dict[str, str]:
    return dict(zip(COLUMNS, row.locator("td").all_inner_texts(), strict=True))


def shown_counts(page: Any) -> dict[str, str]:
    return {d.get_attribute("data-state"): d.inner_text()
            for d in page.locator("#send-counts dd").all()}


def test_while_recipients_are_deferred_the_pane_says_when_and_shows_every_copy(
        send_server, open_send_pane):
    # fabrikam.com's mailboxes are full for the next hour; one partner's address is refused.
    server = send_server(rules=f"defer:*@fabrikam.com,reject:{REFUSED}", send_retry_s=(3600.0,))
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY,
                          timezone=ZONE)
    confirm_plan(pane).locator("#send-queue").click()
    page = pane.page
    handled = PARTNERS_PEOPLE - AT_FABRIKAM
    headline = page.locator("#send-headline")
    headline.filter(has_text=f"{handled} of").wait_for(timeout=30_000)
    # Still sending (the deferred ones are pending), and the failure is there to see already.
    assert headline.inner_text() == (
        f"Sending: {handled} of {PARTNERS_PEOPLE} messages handled. 1 failed so far:")
    see_them = page.locator("#send-see-failed")
    assert see_them.is_visible() and page.locator("#send-every").is_visible()
    assert page.locator("#send-note").is_hidden()  # "Rollcall sent the copies" waits for done

    # When the relay is asked again, on the sender's clock.
    next_try = page.locator("#send-next")
    deadline = time.monotonic() + 10
    while len(server.records("deferred")) < AT_FABRIKAM and time.monotonic() < deadline:
        time.sleep(0.1)
    deferred = {r["address"]: r for r in server.records("deferred")}
    assert len(deferred) == AT_FABRIKAM
    earliest = min(deferred.values(), key=lambda r: r["next_attempt_at"])["next_attempt_at"]
    said = f"{AT_FABRIKAM} deferred: next try {clock(earliest)}."
    page.wait_for_function("t => document.querySelector('#send-next').textContent === t",
                           arg=said, timeout=10_000)
    assert next_try.is_visible()
    counts = shown_counts(page)
    assert counts == {"queued": "0", "sending": "0", "sent": str(handled - 1),
                      "deferred": str(AT_FABRIKAM), "failed": "1", "suppressed": "0"}
    assert sum(map(int, counts.values())) == PARTNERS_PEOPLE
    # The poll stays light: the same deferred ones are not asked about on every poll, and
    # nobody's record is fetched while no table is open.
    polls = len([p for _, p in pane.requests if SEND_POLL.search(p)])
    asked = pane.recipient_requests("state=deferred")
    assert asked >= 1
    page.wait_for_timeout(4_500)
    assert len([p for _, p in pane.requests if SEND_POLL.search(p)]) >= polls + 2
    assert pane.recipient_requests("state=deferred") == asked
    assert pane.recipient_requests() == 0

    see_them.click()  # "see them", before the send is done
    rows = page.locator("#send-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    refused = cells(rows.first)
    assert (refused["Address"], refused["State"], refused["Attempts"]) == (REFUSED, "Failed",
                                                                           "1")
    assert refused["Reply"] == f"550 5.1.1 <{REFUSED}>: Recipient address rejected: User unknown"

    page.click("#send-every")  # every copy, before the send is done
    rows.nth(PARTNERS_PEOPLE - 1).wait_for()
    assert rows.count() == PARTNERS_PEOPLE
    table = page.locator("#send-table")
    assert table.locator(".hint").inner_text() == (
        "Updated every few seconds until the send is done.")
    for row in rows.all():
        shown = cells(row)
        record = deferred.get(shown["Address"])
        if record is None:
            continue
        assert shown["State"] == f"Deferred: next try {clock(record['next_attempt_at'])}"
        assert (shown["Attempts"], shown["Reply"]) == ("1", "452 4.2.2 Mailbox full")
        assert shown["Meaning"] == record["reply"]["meaning"] and shown["Meaning"]
    assert len(table.locator('tr[data-state="deferred"]').all()) == AT_FABRIKAM
    pane.shot("send-deferred")
    # An open table is asked again on each poll; the line under the counts takes its rows.
    asked, asked_deferred = pane.recipient_requests(), pane.recipient_requests("state=deferred")
    page.wait_for_timeout(4_500)
    assert pane.recipient_requests() >= asked + 2
    assert pane.recipient_requests("state=deferred") == asked_deferred
    assert next_try.inner_text() == said
    page.click("#send-every")  # closed: the polls go on alone again
    assert table.is_hidden()
    asked = pane.recipient_requests()
    page.wait_for_timeout(2_500)
    assert pane.recipient_requests() == asked
    assert pane.console_errors == []


def test_an_open_table_follows_the_send_to_done_and_keeps_every_attempt(send_server,
                                                                        open_send_pane):
    # fabrikam.com defers every try, retried about every 2 s, until the relay lets them through.
    server = send_server(rules="defer:*@fabrikam.com", send_retry_s=(2.0,) * 20)
    pane = open_send_pane(server, to=[PARTNERS], subject="Partner update", body=BODY)
    confirm_plan(pane).locator("#send-queue").click()
    page = pane.page
    page.click("#send-every")  # offered as soon as the send is queued
    table = page.locator("#send-table")
    table.locator('tr[data-state="deferred"]').nth(AT_FABRIKAM - 1).wait_for(timeout=30_000)
    headline = page.locator("#send-headline")
    headline.filter(has_text="Sending: ").wait_for(timeout=5_000)  # the next poll says so too
    page.locator("#send-next").wait_for(timeout=5_000)
    server.relay.set_rules("")  # the mailboxes have room again
    headline.filter(has_text="delivered").wait_for(timeout=30_000)
    assert headline.inner_text() == f"All {PARTNERS_PEOPLE} delivered to the relay."
    # Nobody touched the table: it followed the send to the end.
    page.wait_for_function(
        "n => document.querySelectorAll('#send-table tr[data-state=sent]').length === n",
        arg=PARTNERS_PEOPLE, timeout=10_000)
    assert table.locator(".hint").count() == 0 and page.locator("#send-next").is_hidden()
    records = {r["address"]: r for r in server.records()}
    for row in table.locator("tbody tr").all():
        shown = cells(row)
        record = records[shown["Address"]]
        assert shown["State"] == "Sent" and shown["Attempts"] == str(record["attempts"])
        again = shown["Address"].endswith("@fabrikam.com")  # deferred first, then sent
        assert (int(shown["Attempts"]) >= 2) == again, shown
        assert shown["Reply"] == f"250 2.0.0 Ok: queued as {shown['Relay queue ID']}"
    pane.shot("send-retried")
    assert pane.console_errors == []


def test_the_counts_add_up_to_the_total_while_a_copy_is_being_sent(send_server,
                                                                  open_send_pane):
    server = send_server(slow_ms=1000)  # a slow relay: the one copy is "sending" for seconds
    pane = open_send_pane(server, to=[KIM], subject="Partner update", body=BODY)
    box = confirm_plan(pane)
    page = pane.page
    # Every rendering of the counts, as it was drawn.
    page.evaluate("""() => {
      window.__counts = [];
      const dl = document.querySelector('#send-counts');
      new MutationObserver(() => window.__counts.push([...dl.querySelectorAll('dd')]
        .map((d) => [d.previousElementSibling.textContent, d.dataset.state,
          Number(d.textContent)]))).observe(dl, { childList: true });
    }""")
    box.locator("#send-queue").click()
    page.wait_for_function("() => document.querySelector("
                           "'#send-counts dd[data-state=sending]')?.textContent === '1'",
                           timeout=20_000)
    page.locator("#send-headline").filter(has_text="delivered").wait_for(timeout=30_000)
    drawn = page.evaluate("window.__counts")
    assert any(["Sending now", "sending", 1] in counts for counts in drawn)
    assert all(sum(n for _, _, n in counts) == 1 for counts in drawn), drawn
    assert "sending" not in shown_counts(page)  # 0 once done: not shown


@pytest.mark.parametrize(("reply", "said"), [
    ({"code": 250, "enhanced": "2.0.0", "text": "2.0.0 Ok: queued as 4F2A1C0B7"},
     "250 2.0.0 Ok: queued as 4F2A1C0B7"),
    ({"code": 250, "enhanced": None, "text": "Ok"}, "250 Ok"),  # many relays send no 2.0.0
    ({"code": 550, "enhanced": "5.1.1", "text": "User unknown"}, "550 5.1.1 User unknown"),
    ({"code": None, "enhanced": None, "text": "Connection lost"}, "Connection lost"),
    (None, ""),
])
def test_the_relays_reply_is_shown_as_the_relay_sent_it(open_pane, reply, said):
    pane = open_pane("browser")
    assert pane.page.evaluate(
        "async (r) => (await import('/send.js')).relayWords(r)", reply) == said


@pytest.mark.parametrize(("at", "said"), [
    ([2026, 5, 2, 14, 5], "at 14:05"),
    ([2026, 5, 2, 9, 0, 1], "at 09:00"),  # a second ahead: still to come
    ([2026, 5, 3, 0, 10], "on 3 Jun at 00:10"),  # after midnight: the day is said
    ([2026, 8, 30, 7, 0], "on 30 Sep at 07:00"),
    ([2026, 5, 2, 8, 59], "due now"),  # passed: the worker is on it
])
def test_a_next_try_is_said_on_the_senders_clock(open_pane, at, said):
    pane = open_pane("browser")
    assert pane.page.evaluate("""async (at) => (await import('/send.js')).when(
      new Date(...at).getTime(), new Date(2026, 5, 2, 9, 0).getTime())""", at) == said
