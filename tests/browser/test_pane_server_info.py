"""Server information's SMTP service in Chromium against the real app, two real SMTP simulator
relays (a slow primary, so a send is seen going, and a fallback), a local DNS server and an
in-process send worker: the verdict and a send's progress, STOP, START and EMPTY with their
in-pane confirmation, the per-send controls, each relay's test and health check, tracing a copy
and copying its support report, and the sender's own Pause, Resume and Cancel in the send panel.
One server for the module; each test starts from a running service and an empty queue."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from pane_support import OFFICE_JS, serving

from smtp_simulator import SmtpSimulator
from support import demo_config, rollcall_app, signed_in

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sending"))  # the local DNS server the sending tests use
from dns_server import LocalDnsServer  # noqa: E402

SCREENSHOTS = HERE.parents[1] / "artifacts" / "screenshots"
ADMIN = "isaiah@contoso.com"
SENDER = "megan@contoso.com"
SLOW_MS = 80  # each SMTP reply of the primary relay: about 4 messages a second
# One SMTP session, no rate limit. A worker's lane claims 25 recipients at a time and finishes
# them whatever happens (STOP, pause and cancel act on what waits, not on what a worker holds):
# with one lane, a STOP in the first 6 s holds everything after the first 25.
SENDING = {"send_rate_per_minute": 100000, "send_rate_per_hour": 1000000,
           "send_connections": 1}
# What must never reach the page: Python's or JavaScript's own words, or a value unprinted.
LEAKS = re.compile(r"Traceback|Error\(|Exception|undefined|null|NaN|\[object")
ZONE = "Asia/Kolkata"  # the pane's clock, half an hour off UTC: a time said in UTC would show
STEPS = ["Connect", "Greeting (EHLO)", "Sender (MAIL FROM)", "Recipient (RCPT TO)",
         "Reset (RSET)", "Goodbye (QUIT)"]


@dataclass
class Server:
    url: str
    app: Any
    primary: SmtpSimulator
    fallback: SmtpSimulator

    def client(self, who: str = ADMIN) -> Any:
        return signed_in(self.app, who)

    def smtp(self) -> dict[str, Any]:
        answer = self.client().get("/api/admin/status")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        section: dict[str, Any] = answer.get_json()["smtp"]
        return section

    def send(self, people: int, subject: str) -> dict[str, Any]:
        """A send of Megan's to `people` guests outside the organisation, through the API."""
        recipients = [{"displayName": f"Guest {i}", "emailAddress": f"guest{i}@fabrikam.com"}
                      for i in range(people)]
        answer = self.client(SENDER).post("/api/sends", json={
            "recipients": recipients, "subject": subject, "text": "Hello"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        summary: dict[str, Any] = answer.get_json()
        return summary

    def summary(self, send_id: int) -> dict[str, Any]:
        answer = self.client(SENDER).get(f"/api/sends/{send_id}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        summary: dict[str, Any] = answer.get_json()
        return summary

    def records(self, send_id: int) -> list[dict[str, Any]]:
        answer = self.client(SENDER).get(f"/api/sends/{send_id}/recipients")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        records: list[dict[str, Any]] = answer.get_json()["recipients"]
        return records

    def control(self, path: str, who: str = ADMIN, **body: Any) -> dict[str, Any]:
        answer = self.client(who).post(path, json=body)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        said: dict[str, Any] = answer.get_json()
        return said

    def settle(self, timeout_s: float = 30) -> None:
        """The service running and nothing waiting or in flight."""
        self.control("/api/admin/queue/start")
        self.control("/api/admin/queue/empty")
        deadline = time.monotonic() + timeout_s
        while self.smtp()["queue"]["waiting"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.smtp()["queue"]["waiting"]


@pytest.fixture(scope="module")
def server(demo_simulator: Any, tmp_path_factory: Any) -> Iterator[Server]:
    # Both relays refuse outsiders unless signed in, as Postfix's relay_domains does: not open.
    primary = SmtpSimulator(slow_ms=SLOW_MS, relay_domains=("contoso.com",)).start()
    fallback = SmtpSimulator(relay_domains=("contoso.com",)).start()
    with LocalDnsServer({}) as dns:
        config = demo_config(demo_simulator[0],
                             instance_path=str(tmp_path_factory.mktemp("server-info")),
                             smtp_url=primary.url, smtp_fallback_url=fallback.url,
                             dns_server=dns.address, dnsbl_zones=("clean.rollcall.test",),
                             **SENDING)
        app = rollcall_app(config)
        try:
            with serving(app) as url:
                yield Server(url, app, primary, fallback)
        finally:
            primary.stop()
            fallback.stop()


@pytest.fixture(autouse=True)
def settled(server: Server) -> Iterator[None]:
    server.settle()
    yield
    server.settle()


@dataclass
class Pane:
    page: Any
    posts: list[str] = field(default_factory=list)  # paths POSTed
    asked: list[str] = field(default_factory=list)  # paths asked with GET
    answered: list[str] = field(default_factory=list)  # paths whose answer came in
    console_errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def open_server_info(self) -> Any:
        page = self.page
        page.locator("#server-open").wait_for(state="visible", timeout=15_000)
        page.click("#server-open")
        page.locator("#smtp .smtp-verdict .level").wait_for(timeout=15_000)
        return page.locator("#smtp")

    def focused(self) -> str:
        return str(self.page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.id || e.dataset.action || e.dataset.confirm || e.tagName); }"))

    def no_leaks(self, selector: str = "body") -> None:
        text = self.page.locator(selector).inner_text()
        assert not LEAKS.search(text), LEAKS.search(text)
        assert self.console_errors == []


@pytest.fixture
def open_pane(browser: Any, server: Server) -> Iterator[Callable[..., Pane]]:
    """open_pane(who=ADMIN, clock=False): a browser tab (the paste box, the development
    sign-in) on a clock in ZONE, allowed to use the clipboard, signed in as `who` (None: Megan);
    with `clock`, its timers are Playwright's, for a test to move on by hand."""
    contexts: list[Any] = []
    stub_js = (HERE / "office_stub.js").read_text()

    def open_(who: str | None = ADMIN, clock: bool = False) -> Pane:
        context = browser.new_context(viewport={"width": 360, "height": 900}, timezone_id=ZONE,
                                      permissions=["clipboard-read", "clipboard-write"])
        contexts.append(context)
        page = context.new_page()
        pane = Pane(page)

        def requested(r: Any) -> None:
            path = urlsplit(r.url).path
            (pane.posts if r.method == "POST" else pane.asked).append(path)

        page.on("request", requested)
        page.on("requestfinished", lambda r: pane.answered.append(urlsplit(r.url).path))
        # Chromium logs every 4xx answer as "Failed to load resource"; the tests ask for a 403
        # and a 409 on purpose, and check the words the pane shows for them instead.
        page.on("console", lambda m: pane.console_errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None)
        page.on("pageerror", lambda e: pane.console_errors.append(f"pageerror: {e}"))
        page.add_init_script(f"window.__officeConfig = {json.dumps({'mode': 'browser'})};")
        page.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=stub_js))
        if clock:
            page.clock.install()
        page.goto(server.url + (f"/?as={who}" if who else "/"))
        return pane

    yield open_
    for context in contexts:
        context.close()


def local(iso: str, seconds: bool = False) -> str:
    """A time as the pane's clock says it (today)."""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE)).strftime(
        "%H:%M:%S" if seconds else "%H:%M")


def confirm(page: Any, host: Any, reason: str | None = None, expect: str | None = None) -> Any:
    """Fill the open confirmation's reason and press Confirm; the answer of `expect` (a path's
    end) when given."""
    panel = host.locator(".confirm")
    panel.wait_for()
    if reason is not None:
        panel.get_by_label(re.compile("^Reason")).fill(reason)
    if expect is None:
        panel.get_by_role("button", name="Confirm").click()
        return None
    with page.expect_response(lambda r: r.request.method == "POST"
                              and urlsplit(r.url).path.endswith(expect)) as answer:
        panel.get_by_role("button", name="Confirm").click()
    assert answer.value.ok, answer.value.text()
    return answer.value.json()


def wait_until(check: Callable[[], bool], timeout_s: float = 20, what: str = "",
               page: Any = None) -> None:
    """Polls `check`; with a page, through it, so that its events (requests) are seen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def reopen(page: Any) -> None:
    """Close Server information and open it again: it is asked for at once."""
    page.click("#server-open")
    with page.expect_response("**/api/admin/status"):
        page.click("#server-open")


def steady(relay: SmtpSimulator, quiet_s: float = 1.5, timeout_s: float = 15) -> int:
    """How many messages the relay has taken, once it has taken none for `quiet_s`."""
    deadline = time.monotonic() + timeout_s
    seen, since = len(relay.accepted), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the relay kept receiving"
        time.sleep(0.1)
        if len(relay.accepted) != seen:
            seen, since = len(relay.accepted), time.monotonic()
    return seen


PEOPLE = 50  # two batches of a worker's lane: a STOP in the first holds the second


def test_stop_holds_a_send_until_start_and_the_queue_drains(server, open_pane):
    before = len(server.primary.accepted)
    sent = server.send(PEOPLE, "Quarterly update")
    pane = open_pane()
    page = pane.page
    smtp = pane.open_server_info()
    verdict = smtp.locator(".smtp-verdict")
    verdict.filter(has_text="still queued: still sending").wait_for(timeout=10_000)
    assert verdict.locator(".level").get_attribute("data-level") == "ok"
    assert verdict.locator(".level-word").inner_text() == "OK:"  # a word, not colour alone
    block = smtp.locator(f'.smtp-send[data-send="{sent["id"]}"]')
    assert block.locator(".send-subject").inner_text() == "Quarterly update"
    assert block.locator(".send-from").inner_text() == f"From {SENDER}"
    assert block.locator("progress").evaluate("b => b.max") == PEOPLE
    assert re.fullmatch(rf"\d+ of {PEOPLE} messages handled \(\d+(\.\d)?%\)",
                        block.locator(".send-done").inner_text())

    toggle = smtp.locator(".smtp-parts button").first
    assert toggle.inner_text() == "Stop sending"
    toggle.click()
    panel = smtp.locator(".confirm")
    assert panel.locator(".confirm-title").inner_text() == "Stop the SMTP service?"
    assert "Workers finish what they hold and send nothing more until started" in (
        panel.inner_text())
    assert page.evaluate("document.activeElement.id").endswith("-reason")  # the focus went in
    pane.shot("server-info-stop-confirm")
    said = confirm(page, smtp, "relay maintenance", "/api/admin/queue/stop")
    assert said["service"]["state"] == "stopped" and said["service"]["changed_by"] == ADMIN
    verdict.filter(has_text=f"stopped by {ADMIN}").wait_for()
    assert "(relay maintenance)" in verdict.inner_text()
    assert verdict.locator(".level").get_attribute("data-level") == "warning"
    assert smtp.locator('dd[data-fact="service"]').inner_text() == (
        f"Stopped by {ADMIN} at {local(said['service']['changed_at'])} (relay maintenance): "
        "nothing is sent until it is started.")
    assert toggle.inner_text() == "Start sending"
    assert pane.focused() == "start"  # back on the control that opened the confirmation

    # Workers finish what they hold (a batch of up to 25), then the relay hears nothing more.
    # Meanwhile a refresh updates the send in place: the focused button stays focused.
    block.locator('button[data-action="pause"]').focus()
    held = steady(server.primary)
    page.wait_for_timeout(50)  # the page's events from meanwhile are taken in first
    asked = pane.asked.count("/api/admin/smtp")
    wait_until(lambda: pane.asked.count("/api/admin/smtp") > asked, 8, "a refresh", page)
    primary = smtp.locator('.relay[data-relay="primary"]')
    # The relay's health is written once a lane's batch is through: after this refresh.
    primary.locator(".relay-state", has_text="Reachable").wait_for(timeout=3_000)
    block.locator(".send-state", has_text="Waiting: the SMTP service is stopped.").wait_for()
    assert pane.focused() == "pause"
    assert block.locator(".facts dd").last.inner_text() == "on hold"
    assert len(server.primary.accepted) == held < before + PEOPLE
    assert primary.locator(".relay-title").inner_text() == (
        f"Primary relay 127.0.0.1:{server.primary.port}")
    assert primary.locator(".relay-state").inner_text() == "\u2713OK: Reachable: it takes mail."
    last = datetime.fromisoformat(server.smtp()["relays"][0]["last_ok_at"])
    assert primary.locator("dd").nth(2).inner_text() == local(last.isoformat(), seconds=True)
    fallback = smtp.locator('.relay[data-relay="fallback"]')
    assert fallback.locator(".relay-state").inner_text() == (
        "Not used yet: no message has gone through it.")
    pane.shot("server-info-smtp-stopped")

    toggle.click()
    assert "Workers start sending again" in smtp.locator(".confirm").inner_text()
    confirm(page, smtp, expect="/api/admin/queue/start")
    verdict.filter(has_text="Queue empty and all delivered.").wait_for(timeout=30_000)
    assert len(server.primary.accepted) == before + PEOPLE
    assert smtp.locator(".smtp-send").count() == 0
    assert smtp.get_by_text("No sends in progress.").is_visible()
    assert server.summary(sent["id"])["counts"]["sent"] == PEOPLE
    pane.shot("server-info-smtp-drained")
    pane.no_leaks("#server-info")


def test_cancelling_a_confirmation_does_nothing_and_empty_cancels_what_waits(server,
                                                                            open_pane):
    pane = open_pane()
    page = pane.page
    smtp = pane.open_server_info()
    toggle = smtp.locator(".smtp-parts button").first
    for dismiss in ("Escape", "Cancel"):
        toggle.click()
        panel = smtp.locator(".confirm")
        panel.wait_for()
        if dismiss == "Escape":
            page.keyboard.press("Escape")
        else:
            panel.get_by_role("button", name="Cancel").click()
        assert panel.count() == 0
        assert pane.focused() == "stop"  # back where it was
    assert [p for p in pane.posts if p.startswith("/api/admin")] == []
    assert server.smtp()["service"]["state"] == "running"

    toggle.click()
    confirm(page, smtp, expect="/api/admin/queue/stop")
    before = len(server.primary.accepted)
    one = server.send(6, "First")
    two = server.send(4, "Second")
    three = server.send(3, "Third")
    blocks = {s["id"]: smtp.locator(f'.smtp-send[data-send="{s["id"]}"]')
              for s in (one, two, three)}
    reopen(page)  # asked again at once, rather than at the next refresh (every 5 s)
    for block in blocks.values():
        block.wait_for()
    assert "13 messages waiting" in smtp.locator(".smtp-verdict").inner_text()
    said = smtp.locator(".control-said").last

    # Pause and resume one send, and retry it now: each asks first.
    second = blocks[two["id"]]
    second.locator('button[data-action="pause"]').click()
    assert "Nothing more of this send goes out" in second.locator(".confirm").inner_text()
    answer = confirm(page, second, "wrong list", "/pause")
    assert answer["paused"]["by"] == ADMIN
    second.locator(".send-state", has_text="Paused").wait_for()
    assert second.locator(".send-state").inner_text() == (
        f"Paused by {ADMIN} at {local(answer['paused']['at'])} (wrong list): nothing goes out "
        "until it is resumed.")
    second.locator('button[data-action="resume"]').click()
    assert "Its 4 waiting messages go out again." in second.locator(".confirm").inner_text()
    confirm(page, second, expect="/resume")
    second.locator(".send-state", has_text="Waiting: the SMTP service is stopped.").wait_for()
    second.locator('button[data-action="retry"]').click()
    confirm(page, second, expect="/retry")
    said.filter(has_text="Nothing of \u201cSecond\u201d was waiting to be retried.").wait_for()

    # EMPTY for one send: its waiting copies are cancelled, nothing deleted.
    first = blocks[one["id"]]
    first.locator('button[data-action="empty"]').click()
    panel = first.locator(".confirm")
    assert panel.locator(".confirm-title").inner_text() == "Cancel 6 waiting messages?"
    assert "Sent ones stay sent" in panel.inner_text()
    panel.get_by_role("button", name="Cancel").click()  # changes nothing
    assert server.summary(one["id"])["counts"]["cancelled"] == 0
    first.locator('button[data-action="empty"]').click()
    answer = confirm(page, first, "sent to the wrong people", "/api/admin/queue/empty")
    assert answer["cancelled"] == 6
    said.filter(has_text="Cancelled 6 messages of \u201cFirst\u201d; sent ones stay sent.") \
        .wait_for()
    first.wait_for(state="detached")  # nothing of it waits any more
    summary = server.summary(one["id"])
    assert summary["counts"]["cancelled"] == 6 and summary["counts"]["queued"] == 0
    assert len(server.records(one["id"])) == 6  # cancelled, not deleted

    # A control that no longer applies: said beside it in the server's words (EMPTY's answer
    # was just drawn: the next refresh is 5 s away, and the block still offers Pause).
    server.control(f"/api/sends/{two['id']}/cancel", who=SENDER)
    second.locator('button[data-action="pause"]').click()
    confirm(page, second, expect=None)
    problem = second.locator(".control-problem")
    problem.wait_for()
    assert problem.inner_text() == f"Send {two['id']} was cancelled: there is nothing to pause"

    reopen(page)
    second.wait_for(state="detached")  # nothing of it waits any more

    # EMPTY for everything that waits.
    empty = smtp.get_by_role("button", name="Empty the queue")
    empty.click()
    assert smtp.locator(".confirm-title").inner_text() == "Cancel all 3 waiting messages?"
    answer = confirm(page, smtp, None, "/api/admin/queue/empty")
    assert answer["cancelled"] == 3
    smtp.get_by_text("Cancelled 3 messages; sent ones stay sent.").wait_for()
    assert empty.is_hidden() and pane.focused() == "start"  # the focus was handed on
    assert server.summary(three["id"])["counts"]["cancelled"] == 3
    assert len(server.records(three["id"])) == 3
    assert len(server.primary.accepted) == before  # nothing went while stopped
    pane.shot("server-info-smtp-emptied")
    toggle.click()
    confirm(page, smtp, expect="/api/admin/queue/start")
    smtp.locator(".smtp-verdict", has_text="Queue empty").wait_for(timeout=10_000)
    pane.no_leaks("#server-info")


def test_each_relay_is_tested_step_by_step_and_its_health_checked(server, open_pane):
    pane = open_pane()
    page = pane.page
    smtp = pane.open_server_info()
    before = len(server.primary.accepted)
    for name in ("primary", "fallback"):
        relay = smtp.locator(f'.relay[data-relay="{name}"]')
        button = relay.get_by_role("button", name="Test connection")
        button.click()
        if name == "primary":  # slow: still busy, and said so
            assert relay.locator('button[data-action="test"]').inner_text() == "Testing\u2026"
            assert relay.locator('button[data-action="test"]').is_disabled()
        result = relay.locator(".probe")
        result.wait_for(timeout=10_000)
        assert result.get_attribute("data-ok") == "true"
        assert result.locator(".level").inner_text() == "\u2713OK: Every step passed; nothing " \
            "was sent."
        steps = result.locator(".step")
        assert steps.locator(".step-name").all_inner_texts() == STEPS
        assert all(s.get_attribute("data-ok") == "true" for s in steps.all())
        for step in steps.all():
            assert re.fullmatch(r"\d+ ms", step.locator(".step-time").inner_text())
        assert steps.first.locator(".step-reply").inner_text() == (
            "220 relay.simulator.test ESMTP Rollcall SMTP simulator")
    assert len(server.primary.accepted) == before and server.fallback.accepted == []

    primary = smtp.locator('.relay[data-relay="primary"]')
    with page.expect_response("**/relays/primary/test") as answer:
        primary.get_by_role("button", name="Send a test email").click()
    queue_id = answer.value.json()["queue_id"]
    primary.locator(".probe .level", has_text="Test email sent").wait_for()
    assert primary.locator(".probe .level-text").inner_text() == (
        f"Test email sent to {ADMIN}: the relay queued it as {queue_id}.")
    mail = server.primary.accepted[-1]
    assert mail.rcpt_to == (ADMIN,) and mail.queue_id == queue_id

    fallback = smtp.locator('.relay[data-relay="fallback"]')
    server.fallback.stop()  # the relay is down: nothing listens on its port
    try:
        fallback.get_by_role("button", name="Test connection").click()
        fallback.locator('.probe[data-ok="false"]').wait_for(timeout=10_000)
        step = fallback.locator(".step")
        assert step.count() == 1
        assert step.get_attribute("data-ok") == "false"
        assert step.locator(".step-head").inner_text().split("\n")[1:3] == ["Connect", "failed"]
        assert step.locator(".step-reply").inner_text() == (
            "connection refused: nothing listens there")
        meaning = (f"The relay refused the connection: nothing listens at "
                   f"127.0.0.1:{server.fallback.port}")
        assert step.locator(".step-meaning").inner_text().startswith(meaning)
        assert fallback.locator(".probe .level-text").inner_text().startswith(
            f"Failed at Connect: {meaning}")
        pane.shot("server-info-relay-down")
    finally:
        server.fallback.start()

    with page.expect_response("**/relays/primary/health") as answer:
        primary.get_by_role("button", name="Check health").click()
        assert primary.locator('button[data-action="health"]').inner_text() == "Checking\u2026"
    checks = answer.value.json()
    health = primary.locator(".health")
    health.wait_for()
    opened = health.locator('[data-part="open-relay"]')
    assert opened.get_attribute("data-level") == "ok"
    assert opened.locator(".level-text").inner_text().startswith("Not an open relay: the "
                                                                "primary relay")
    assert "554 5.7.1" in opened.inner_text()
    assert health.locator(".hint").first.inner_text() == (
        f"Checked at {local(checks['checked_at'], seconds=True)} by {ADMIN}.")
    assert health.locator('[data-part="spf"]').inner_text() == checks["dns"]["spf"]["words"]
    assert health.locator('[data-part="dmarc"]').inner_text() == checks["dns"]["dmarc"]["words"]
    assert health.locator('[data-part="blacklists"]').inner_text() == checks["dns"]["verdict"]
    # Kept: the relay's facts say when it was last checked, and what was found.
    primary.locator("dd", has_text="Not an open relay").wait_for(timeout=8_000)
    pane.shot("server-info-relay-health")
    pane.no_leaks("#server-info")


def test_a_copy_is_traced_by_its_relay_queue_id_and_its_report_copied(server, open_pane):
    sent = server.send(3, "Trace me")
    wait_until(lambda: server.summary(sent["id"])["status"] == "done", what="the send")
    record = server.records(sent["id"])[0]
    queue_id = record["remote_id"]
    trace = server.client().get("/api/admin/trace", query_string={"q": queue_id}).get_json()
    pane = open_pane()
    page = pane.page
    pane.open_server_info()
    box = page.locator("#trace")
    status = page.locator("#trace-status")
    box.get_by_role("button", name="Trace").click()  # nothing typed: said, nothing asked
    assert status.inner_text() == "Type a Message-ID, a relay queue id or an address first."
    assert pane.focused() == "trace-query"
    assert not any(p.startswith("/api/admin/trace") for p in pane.asked)

    page.get_by_label("Message-ID, relay queue id or address").fill(queue_id)
    page.keyboard.press("Enter")
    status.filter(has_text="found").wait_for()
    assert status.inner_text() == f"1 copy found for \u201c{queue_id}\u201d."
    copy = box.locator(".trace-copy")
    assert copy.locator("h5").inner_text() == f"{record['address']}: sent"
    assert copy.locator(".event-kind").all_inner_texts() == [
        "Queued", "Tried", "Accepted by the relay"]
    tried = copy.locator('.event[data-kind="attempt"]')
    assert tried.locator(".event-reply").inner_text() == f"250 2.0.0 Ok: queued as {queue_id}"
    assert tried.locator(".event-meaning").inner_text() == "Accepted."
    times = copy.locator(".event-time").all_inner_texts()
    assert times[0] == local(trace["traces"][0]["events"][0]["at"], seconds=True)

    # A focused field keeps its focus and what was typed across a refresh.
    field_ = page.locator("#trace-query")
    field_.focus()
    with page.expect_response("**/api/admin/smtp", timeout=8_000):
        pass
    assert pane.focused() == "trace-query" and field_.input_value() == queue_id

    command = copy.locator(".command code").first
    assert command.inner_text().startswith("Get-MessageTraceV2 -MessageId")
    copy.locator(".command").first.get_by_role("button", name="Copy the command").click()
    copy.locator(".command .copy-said").first.filter(has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == command.inner_text()
    copy.get_by_role("button", name="Copy support report").click()
    copy.locator(":scope > .row .copy-said").filter(has_text="Copied.").wait_for()
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert clipboard == trace["traces"][0]["support_text"]
    assert f"Remote id: {queue_id}" in clipboard
    pane.shot("server-info-trace")

    field_.fill("nobody@nowhere.example")
    box.get_by_role("button", name="Trace").click()
    status.filter(has_text="Nothing matches").wait_for()
    assert status.inner_text() == ("Nothing matches \u201cnobody@nowhere.example\u201d "
                                   "(looked for it as a Message-ID and as an address).")
    assert box.locator(".trace-copy").count() == 0
    pane.no_leaks("#server-info")


def test_the_section_is_asked_again_only_while_open_and_visible(server, open_pane):
    pane = open_pane(clock=True)
    page = pane.page
    pane.open_server_info()
    # Opening asks for the whole status (Exchange probed); the refresh, the SMTP section alone.
    paths = ("/api/admin/status", "/api/admin/smtp")
    asked = lambda: sum(map(pane.asked.count, paths))  # noqa: E731
    answered = lambda: sum(map(pane.answered.count, paths))  # noqa: E731

    def visible(shown: bool) -> None:
        page.evaluate("""(shown) => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => !shown});
            document.dispatchEvent(new Event('visibilitychange'));
        }""", shown)

    def after(ms: int, expected: int) -> None:
        page.clock.run_for(ms)
        wait_until(lambda: answered() >= expected, 5, "the status", page)
        page.wait_for_timeout(300)  # and nothing more
        assert asked() == answered() == expected

    wait_until(lambda: answered() == 1, 5, "the first status", page)
    page.clock.pause_at((page.evaluate("Date.now()") + 10) / 1000)  # seconds, in Python
    after(4_000, 1)  # not before 5 s
    after(1_100, 2)  # every 5 s
    after(5_000, 3)
    visible(False)
    after(20_000, 3)  # not while the pane is hidden
    visible(True)
    after(0, 4)  # at once when it is seen again
    after(5_000, 5)
    page.click("#server-open")  # closed
    assert page.locator("#server-info").is_hidden()
    after(20_000, 5)
    page.click("#server-open")  # opened again: asked at once
    after(0, 6)
    assert pane.asked.count("/api/admin/status") == 2  # each opening, never the refresh


def test_a_sender_pauses_resumes_and_cancels_her_own_send_and_reads_why_it_waits(server,
                                                                                open_pane):
    pane = open_pane(None)  # Megan, who is not an administrator
    page = pane.page
    page.locator("#paste").wait_for(state="visible", timeout=20_000)
    # All Staff: 495 people, many batches of a worker's lane, so there is always some waiting.
    page.fill("#paste-text", "allstaff@contoso.com")
    page.click("#paste-count")
    page.locator("#send-offer").wait_for(state="visible", timeout=20_000)
    page.locator("#identity").wait_for(state="visible")
    assert page.locator("#who").inner_text() == SENDER
    assert page.locator("#server-open").is_hidden()  # no Server information for her
    page.get_by_label("Subject", exact=True).fill("Partner update")
    page.get_by_label("Message", exact=True).fill("Hello partners")
    page.click("#send-start")
    page.locator("#send-queue").click(timeout=20_000)
    headline = page.locator("#send-headline")
    controls = page.locator("#send-controls")
    controls.wait_for()
    hold = page.locator("#send-hold")
    assert hold.inner_text() == "Pause"

    hold.click()
    panel = page.locator("#send-control-confirm .confirm")
    assert "Nothing more goes out until you resume it." in panel.inner_text()
    answer = confirm(page, page.locator("#send-control-confirm"), "checking the list", "/pause")
    send_id = answer["id"]
    headline.filter(has_text=f"Paused by {SENDER}").wait_for()
    assert headline.inner_text() == answer["waiting"]
    assert "(checking the list): nothing goes out until it is resumed." in answer["waiting"]
    assert hold.inner_text() == "Resume" and pane.focused() == "send-hold"

    with page.expect_response(lambda r: r.url.endswith("/resume")):
        hold.click()  # resuming needs no asking
    headline.filter(has_text="Sending").wait_for()
    assert hold.inner_text() == "Pause"

    # An administrator stops the SMTP service: the sender reads who, when and why.
    stopped = server.control("/api/admin/queue/stop", reason="relay maintenance")
    headline.filter(has_text="stopped").wait_for(timeout=8_000)
    assert headline.inner_text() == (
        f"Waiting: the SMTP service was stopped by {ADMIN} at "
        f"{datetime.fromisoformat(stopped['service']['changed_at']).strftime('%H:%M')} UTC "
        "(relay maintenance); nothing is sent until an administrator starts it again.")
    assert page.locator("#send-waiting").is_hidden()  # said once, in the headline
    pane.shot("send-stopped-by-admin")

    # An administrator pauses it: only an administrator may resume it, and the pane says so.
    server.control(f"/api/sends/{send_id}/pause", reason="too many external people")
    server.control("/api/admin/queue/start")
    headline.filter(has_text=f"Paused by {ADMIN}").wait_for(timeout=8_000)
    with page.expect_response(lambda r: r.url.endswith("/resume")) as refused:
        hold.click()
    assert refused.value.status == 403
    problem = page.locator("#send-control-problem")
    problem.wait_for()
    assert problem.inner_text() == (f"An administrator ({ADMIN}) paused this send, so only an "
                                    "administrator can resume it.")

    page.locator("#send-abort").click()
    panel = page.locator("#send-control-confirm .confirm")
    assert re.search(r"Cancel \d+ waiting messages\? Sent ones stay sent", panel.inner_text())
    answer = confirm(page, page.locator("#send-control-confirm"), None, "/cancel")
    assert answer["status"] == "cancelled" and answer["changed"] > 0
    headline.filter(has_text="Cancelled").wait_for()
    assert headline.inner_text() == (
        f"Cancelled: {answer['counts']['sent']} sent before it was cancelled.")
    assert controls.is_hidden() and pane.focused() == "send-title"
    # What a worker held when it was cancelled still goes; then the numbers stay.
    wait_until(lambda: not sum(server.summary(send_id)["counts"][k]
                               for k in ("queued", "sending", "deferred")), 15, "the batch")
    summary = server.summary(send_id)
    assert summary["status"] == "cancelled"
    assert summary["counts"]["cancelled"] == answer["changed"]
    assert summary["counts"]["sent"] + summary["counts"]["cancelled"] == 495
    headline.filter(has_text=f"Cancelled: {summary['counts']['sent']} sent").wait_for(
        timeout=5_000)
    pane.shot("send-cancelled")
    pane.no_leaks("#send")
