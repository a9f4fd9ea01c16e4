"""Bounce-backs in the pane, in Chromium against the real app, a real send worker, an SMTP
simulator relay whose `bounce:` rules send DSNs over SMTP to Rollcall's bounce listener: the
send panel's bounce rate, warning and "Bounce-backs (N)" list; a send Rollcall paused itself
for bounces, resumed by its sender; a hard bounce in a Rollcall list removed from it; and
Server information's Bounces part (counts by kind, reports matching nobody, the suppression
list with Lift). One server for the module; each test starts with nothing suppressed and an
empty queue."""

from __future__ import annotations

import json
import re
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pane_support import OFFICE_JS, serving

from smtp_simulator import SmtpSimulator
from support import demo_config, rollcall_app, signed_in

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "artifacts" / "screenshots"
DATA = HERE.parent / "sending" / "data" / "bounces"
ADMIN = "isaiah@contoso.com"
SENDER = "megan@contoso.com"
MARK = "mark.hanson@tailspintoys.example"
SARA = "sara.davis@tailspintoys.example"
BEN = "ben.miller@litwareinc.example"
BOUNCE_ADDRESS = "bounces+{token}@rollcall.contoso.com"
# Two of the 14 partners do not exist; Fabrikam greylists once (a retry a second later).
RULES = f"bounce:{MARK},bounce:{SARA},greylist:*@fabrikam.com"
# A storm: four of them bounce, and Fabrikam keeps refusing (next try in an hour), so the send
# is still going when its bounce rate passes 20% of at least 10 tried.
STORM = (f"bounce:{MARK},bounce:{SARA},bounce:nancy.davolio@northwind.example,"
         "bounce:andrew.fuller@northwind.example,greylist:*@fabrikam.com=100")
SETTINGS = {"send_rate_per_minute": 100000, "send_rate_per_hour": 1000000,
            "send_retry_s": (1,), "bounce_address": BOUNCE_ADDRESS, "bounce_min_sample": 10}
KINDS = {"policy": "Refused as policy/spam"}  # others this module's relay does not send
# What must never reach the page: Python's or JavaScript's own words, a value unprinted, JSON.
LEAKS = re.compile(r"Traceback|Error\(|Exception|undefined|null|NaN|\[object|\{\"|\"\w+\":")


@dataclass
class Server:
    url: str
    app: Any
    relay: SmtpSimulator
    listener: Any

    def client(self, who: str = ADMIN) -> Any:
        return signed_in(self.app, who)

    def get(self, path: str, who: str = ADMIN) -> Any:
        answer = self.client(who).get(path)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    def post(self, path: str, who: str = ADMIN, **body: Any) -> Any:
        answer = self.client(who).post(path, json=body)
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
        return answer.get_json()

    def suppressed(self) -> list[str]:
        return [s["address"] for s in self.get("/api/admin/suppressions")["suppressions"]]

    def clean(self) -> None:
        """Nothing suppressed, the service running, nothing waiting."""
        for address in self.suppressed():
            self.post("/api/admin/suppressions/lift", address=address)
        self.post("/api/admin/queue/start")

        def empty() -> bool:
            # A copy a worker holds is not cancelled; greylisted, it comes back deferred.
            return not self.post("/api/admin/queue/empty")["smtp"]["queue"]["waiting"]

        wait_until(empty, 20, "an empty queue")


@pytest.fixture(scope="module")
def server(demo_simulator: Any, tmp_path_factory: Any) -> Iterator[Server]:
    from rollcall.sending.bounce_listener import BounceListener

    # The relay must know where to send its DSNs before the app knows the relay: the listener
    # starts first and asks senders to try later until it is handed the app's intake.
    listener = BounceListener(None, port=0).start()
    relay = SmtpSimulator(rules=RULES, bounce_to=("127.0.0.1", listener.port)).start()
    config = demo_config(demo_simulator[0], smtp_url=relay.url,
                         instance_path=str(tmp_path_factory.mktemp("bounces")), **SETTINGS)
    app = rollcall_app(config)
    services = app.extensions["rollcall"]
    listener.intake = services.bounces
    try:
        with serving(app) as url:
            yield Server(url, app, relay, listener)
    finally:
        relay.stop()
        listener.stop()


@pytest.fixture(autouse=True)
def clean(server: Server) -> Iterator[None]:
    server.relay.set_rules(RULES)
    server.clean()
    yield
    server.relay.set_rules(RULES)
    server.clean()


@dataclass
class Pane:
    page: Any
    posts: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def no_leaks(self, selector: str = "body") -> None:
        text = self.page.locator(selector).inner_text()
        assert not LEAKS.search(text), LEAKS.search(text)
        assert self.console_errors == []

    def send(self, recipients: str, subject: str) -> None:
        """Count `recipients`, write the message and send it tracked, as Megan does."""
        page = self.page
        page.locator("#paste").wait_for(state="visible", timeout=20_000)
        page.fill("#paste-text", recipients)
        page.click("#paste-count")
        page.locator("#send-offer").wait_for(state="visible", timeout=20_000)
        page.get_by_label("Subject", exact=True).fill(subject)
        page.get_by_label("Message", exact=True).fill("Hello partners")
        page.click("#send-start")
        page.locator("#send-queue").click(timeout=20_000)
        page.locator("#send-progress").wait_for()


@pytest.fixture
def open_pane(browser: Any, server: Server) -> Iterator[Callable[..., Pane]]:
    """open_pane(who=None): a browser tab signed in as `who` (None: Megan)."""
    contexts: list[Any] = []
    stub_js = (HERE / "office_stub.js").read_text()

    def open_(who: str | None = None) -> Pane:
        context = browser.new_context(viewport={"width": 360, "height": 900})
        contexts.append(context)
        page = context.new_page()
        pane = Pane(page)
        page.on("request", lambda r: (pane.posts if r.method in ("POST", "DELETE")
                                      else pane.asked).append(urlsplit(r.url).path))
        # Chromium logs every 4xx as "Failed to load resource": the words on the page count.
        page.on("console", lambda m: pane.console_errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None)
        page.on("pageerror", lambda e: pane.console_errors.append(f"pageerror: {e}"))
        page.add_init_script(f"window.__officeConfig = {json.dumps({'mode': 'browser'})};")
        page.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=stub_js))
        page.goto(server.url + (f"/?as={who}" if who else "/"))
        return pane

    yield open_
    for context in contexts:
        context.close()


def wait_until(check: Callable[[], Any], timeout_s: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def confirm(page: Any, host: Any, expect: str, reason: str | None = None) -> Any:
    """Press Confirm in the open confirmation; the answer of the request ending in `expect`."""
    panel = host.locator(".confirm")
    panel.wait_for()
    if reason is not None:
        panel.get_by_label(re.compile("^Reason")).fill(reason)
    with page.expect_response(lambda r: r.request.method in ("POST", "DELETE")
                              and urlsplit(r.url).path.endswith(expect)) as answer:
        panel.locator('button[data-confirm="yes"]').click()
    assert answer.value.ok, answer.value.text()
    return answer.value.json()


def test_bounce_backs_show_in_the_send_panel_with_the_rate_and_the_warning(server, open_pane):
    pane = open_pane()
    page = pane.page
    pane.send("partners@contoso.com", "Partner update")
    headline = page.locator("#send-headline")
    headline.filter(has_text="12 sent, 2 bounced").wait_for(timeout=20_000)
    box = page.locator("#send-bounce")
    box.locator(".send-bounce-rate", has_text="14%").wait_for(timeout=10_000)
    assert box.locator(".send-bounce-rate").inner_text() == (
        "Bounce rate: 14% (2 of the 14 messages tried bounced or were refused).")
    warning = box.locator('[data-part="bounce-warning"]')
    assert warning.get_attribute("data-level") == "warning"
    assert warning.locator(".level-word").inner_text() == "Warning:"  # words, not colour alone
    assert warning.locator(".level-text").inner_text() == (
        "Bounce rate 14% is at or over 10%: below 20% it is usually the list (bad addresses), "
        "above it the sending side.")

    toggle = page.locator("#send-bounces-open")
    assert toggle.inner_text() == "Bounce-backs (2)"
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    items = page.locator("#send-bounces-list .bounce")
    items.nth(1).wait_for()
    assert sorted(items.locator(".bounce-address").all_inner_texts()) == [MARK, SARA]
    mark = items.filter(has_text=MARK)
    assert mark.get_attribute("data-kind") == "hard"
    assert mark.locator(".bounce-kind").inner_text() == "address does not exist"
    assert mark.locator('[data-part="status"]').inner_text().startswith("5.1.1")
    assert mark.locator('[data-part="diagnostic"]').inner_text() == (
        f"\u201c550 5.1.1 <{MARK}>: Recipient address rejected: User unknown in virtual "
        "mailbox table\u201d")
    assert mark.locator('[data-part="remote-mta"]').inner_text() == "mx.tailspintoys.example"
    assert mark.locator("button").count() == 0  # in no Rollcall list: nothing to fix here
    asked = len([a for a in pane.asked if a.endswith("/bounces")])
    page.wait_for_timeout(5_500)  # open: asked again every 5 s
    assert len([a for a in pane.asked if a.endswith("/bounces")]) > asked
    pane.shot("send-bounce-backs")

    # Counted again, the report warns that these two bounced last time.
    page.fill("#paste-text", "partners@contoso.com")
    page.click("#paste-count")
    found = page.locator('.sev-warning .finding[data-code="bounced"] .finding-message')
    found.wait_for(timeout=20_000)
    assert found.inner_text() == (
        f"2 recipients bounced last time ({MARK} and {SARA}): their addresses do not exist, so "
        "a tracked send leaves them out. Correct or remove them where the list is kept.")
    pane.no_leaks()


def test_a_storm_of_bounces_pauses_the_send_and_its_sender_resumes_it(server, open_pane):
    server.relay.set_rules(STORM)
    pane = open_pane()
    page = pane.page
    pane.send("partners@contoso.com", "Storm")
    headline = page.locator("#send-headline")
    headline.filter(has_text="Paused by Rollcall itself").wait_for(timeout=20_000)
    assert re.fullmatch(r"Paused by Rollcall itself at \d\d:\d\d: too many of its messages "
                        r"bounced or were refused\. Nothing goes out until you resume or "
                        r"cancel it\.( \d+ (failed|bounced|failed or bounced) so far:)?",
                        headline.inner_text())
    stop = page.locator('#send-bounce [data-part="bounce-warning"]')
    assert stop.get_attribute("data-level") == "error"
    assert stop.locator(".level-word").inner_text() == "Problem:"
    assert re.fullmatch(r"Why it paused: bounce rate \d\d% is over 20%: check the relay's "
                        r"reputation \(blacklists\) and the list\.",
                        stop.locator(".level-text").inner_text())
    assert re.fullmatch(r"Bounce rate: \d\d% \(\d of the \d+ messages tried bounced or were "
                        r"refused\)\.", page.locator(".send-bounce-rate").inner_text())
    assert "Resume if you know why" in page.locator('[data-part="bounce-advice"]').inner_text()
    hold = page.locator("#send-hold")
    assert hold.inner_text() == "Resume" and page.locator("#send-abort").is_visible()
    # The send is not done and its bounce-backs are closed: their list is not asked for.
    toggle = page.locator("#send-bounces-open")
    assert re.fullmatch(r"Bounce-backs \([34]\)", toggle.inner_text())
    assert not [a for a in pane.asked if a.endswith("/bounces")]
    with page.expect_response(lambda r: r.url.endswith("/bounces")):
        toggle.click()
    page.locator("#send-bounces-list .bounce").nth(2).wait_for()
    pane.shot("send-paused-for-bounces")

    with page.expect_response(lambda r: r.url.endswith("/resume")) as resumed:
        hold.click()
    assert resumed.value.ok and resumed.value.json()["status"] == "sending"
    headline.filter(has_text="Sending").wait_for()
    assert hold.inner_text() == "Pause"
    assert page.locator('[data-part="bounce-warning"]').get_attribute("data-level") == "warning"
    assert page.locator('[data-part="bounce-advice"]').count() == 0
    send_id = resumed.value.json()["id"]
    assert server.get(f"/api/sends/{send_id}", SENDER)["status"] == "sending"
    pane.no_leaks()


def _unmatched_report() -> bytes:
    """Exchange Online's bounce for an address Rollcall never sent to, with a token it never
    made: it matches nobody."""
    raw = (DATA / "exchange_online_5.1.10.eml").read_bytes()
    return raw.replace(b"ana.trujillo@fabrikam.com", b"old.partner@northwind.example")


def test_an_administrator_reads_the_bounces_and_lifts_a_suppression(server, open_pane):
    sent = server.post("/api/sends", SENDER, subject="Quarterly update", text="Hello",
                       recipients=[{"displayName": "P", "emailAddress": "partners@contoso.com"}])
    wait_until(lambda: sorted(server.suppressed()) == [MARK, SARA], what="two suppressions")
    with smtplib.SMTP("127.0.0.1", server.listener.port, timeout=10) as smtp:
        smtp.sendmail("", [BOUNCE_ADDRESS.replace("{token}", "f" * 24)], _unmatched_report())
    wait_until(lambda: server.get("/api/admin/bounces?unmatched=true")["bounces"],
               what="the report matching nobody")

    pane = open_pane(ADMIN)
    page = pane.page
    page.locator("#server-open").wait_for(state="visible", timeout=15_000)
    page.click("#server-open")
    part = page.locator("#bounces")
    part.locator(".suppression").nth(1).wait_for(timeout=10_000)
    counts = dict(zip(part.locator(".bounce-counts dt").all_inner_texts(),
                      part.locator(".bounce-counts dd").all_inner_texts(), strict=True))
    kinds = Counter(b["kind"] for b in server.get("/api/admin/bounces")["bounces"])
    assert kinds["hard"] >= 3  # two of this send's, one stray (and the module's other tests')
    assert counts.pop("Address does not exist") == f"{kinds.pop('hard')} bounce-backs"
    assert counts.pop("Matched no send") == "1 bounce-back"
    assert counts == {KINDS[k]: f"{n} bounce-back{'s' if n > 1 else ''}" for k, n in kinds.items()}
    (orphan,) = part.locator(".unmatched-report").all()
    assert "\u201cUndeliverable: Quarterly update\u201d about old.partner@northwind.example" in (
        orphan.inner_text())
    assert orphan.locator(".unmatched-status").inner_text().startswith(
        "Status 5.1.10: address does not exist")
    assert "Matched nobody: kept for you to read." in orphan.inner_text()
    rows = part.locator(".suppression")
    assert sorted(rows.locator(".suppression-address").all_inner_texts()) == [MARK, SARA]
    mark = rows.filter(has_text=MARK)
    assert mark.locator(".suppression-why").inner_text().startswith(
        "bounced: the address does not exist, since ")
    assert mark.locator(".suppression-why").inner_text().endswith(
        f"by a bounce-back, send {sent['id']}")

    mark.get_by_role("button", name=f"Lift {MARK}").click()
    panel = mark.locator(".confirm")
    assert "Sends reach this address again" in panel.inner_text()
    assert confirm(page, mark, "/suppressions/lift", "she is back") == {"lifted": MARK}
    part.locator(".control-said", has_text=f"Lifted {MARK}: sends reach it again.").wait_for()
    mark.wait_for(state="detached")
    assert rows.count() == 1 and server.suppressed() == [SARA]
    pane.shot("server-info-bounces")

    # The card opened with the whole status; its refresh every 5 s asks for the SMTP section.
    smtp_asks = lambda: pane.asked.count("/api/admin/smtp")  # noqa: E731
    wait_until(lambda: (page.wait_for_timeout(100), smtp_asks())[1], 8, "a refresh")
    assert pane.asked.count("/api/admin/status") == 1
    pane.no_leaks("#server-info")


def test_a_bounced_address_is_removed_from_the_rollcall_list_that_holds_it(server, open_pane):
    server.relay.set_rules(f"{RULES},bounce:{BEN}")
    server.post("/api/lists", SENDER, name="Tailspin contacts")
    server.post("/api/lists/Tailspin contacts/members", SENDER, email=SARA, name="Sara Davis")
    for address in (MARK, BEN):
        server.post("/api/lists/Tailspin contacts/members", SENDER, email=address)
    pane = open_pane()
    page = pane.page
    pane.send("list:Tailspin contacts", "Toy fair")
    toggle = page.locator("#send-bounces-open")
    toggle.filter(has_text="Bounce-backs (3)").wait_for(timeout=20_000)
    toggle.click()
    row = page.locator(f'#send-bounces-list .bounce[data-address="{MARK}"] .bounce-fix')
    row.wait_for(timeout=10_000)
    assert row.get_attribute("data-list") == "Tailspin contacts"
    assert row.locator(".bounce-fix-title").inner_text() == (
        "In the Rollcall list \u201cTailspin contacts\u201d:")
    assert row.locator("button").all_inner_texts() == [
        "Correct the address\u2026", "Remove from the list", "Mark opted out"]

    # Correcting asks for the right address and refuses one that is not.
    row.get_by_role("button", name="Correct the address\u2026").click()
    panel = row.locator(".confirm")
    panel.get_by_label("The right address").fill("mark.hanson at tailspin")
    panel.get_by_role("button", name="Correct").click()
    assert panel.locator(".confirm-error").inner_text() == (
        "That is not an email address (name@domain.com).")
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    panel.get_by_role("button", name="Cancel").click()
    assert not [p for p in pane.posts if "/api/lists/" in p]

    row.get_by_role("button", name="Remove from the list").click()
    assert "It is taken out of this list" in row.locator(".confirm").inner_text()
    confirm(page, row, f"/members/{MARK.replace('@', '%40')}")
    said = page.locator("#send-bounces-said")
    said.filter(has_text=f"Removed {MARK} from \u201cTailspin contacts\u201d.").wait_for()
    assert page.evaluate("document.activeElement.id") == "send-bounces-said"
    row.wait_for(state="detached")  # no longer in the list: nothing left to fix there
    members = server.get("/api/lists/Tailspin contacts", SENDER)
    assert MARK not in [m["address"] for m in members["active"]]
    assert [m["address"] for m in members["removed"]] == [MARK]

    # Corrected: the right address joins the list (with her name), the one that bounced leaves.
    row = page.locator(f'#send-bounces-list .bounce[data-address="{SARA}"] .bounce-fix')
    row.get_by_role("button", name="Correct the address\u2026").click()
    row.locator(".confirm").get_by_label("The right address").fill("sara@tailspintoys.example")
    confirm(page, row, f"/members/{SARA.replace('@', '%40')}")
    said.filter(has_text=f"Corrected {SARA} to sara@tailspintoys.example in \u201cTailspin "
                "contacts\u201d.").wait_for()
    row.wait_for(state="detached")
    members = server.get("/api/lists/Tailspin contacts", SENDER)
    assert sorted((m["address"], m["name"]) for m in members["active"]) == [
        (BEN, ""), ("sara@tailspintoys.example", "Sara Davis")]

    # Opted out: still a member, marked; its fixes are done with.
    row = page.locator(f'#send-bounces-list .bounce[data-address="{BEN}"] .bounce-fix')
    row.get_by_role("button", name="Mark opted out").click()
    assert "No Rollcall list sends to this address again" in row.locator(".confirm").inner_text()
    confirm(page, row, "/opt-out")
    said.filter(has_text=f"Marked {BEN} opted out: no Rollcall list sends to it again.").wait_for()
    row.wait_for(state="detached")
    members = server.get("/api/lists/Tailspin contacts", SENDER)
    assert [m["opted_out"] for m in members["active"] if m["address"] == BEN] == [True]
    pane.shot("send-bounce-fixed")
    pane.no_leaks()
