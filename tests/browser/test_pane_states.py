"""The pane's other states: browser mode, failures, throttling, progress and cancel, hostile
names, dark theme."""

from __future__ import annotations

import json

import pytest
from pane_support import ALL_STAFF, MARKUP, PARTNERS, rewrite_reports


@pytest.mark.parametrize("office", ["stub", "missing"])
def test_browser_mode_counts_pasted_recipients(open_pane, office):
    pane = open_pane("browser", office=office)
    page = pane.page
    page.locator("#paste").wait_for(state="visible")
    pane.paste('"Staff, All" <allstaff@contoso.com>; partners@contoso.com\nComms Champions')
    report = pane.settled()
    assert pane.total() == report["total"]
    assert [n["name"] for n in report["tree"]] == ["All Staff", "External Partners",
                                                    "Comms Champions"]
    assert page.locator('#tree > [role="treeitem"]').count() == 3
    if office == "stub":
        pane.shot("browser-mode")
    else:
        # Office.js unreachable: one console error for that script, nothing else.
        assert len(pane.console_errors) == 1


ERRORS = {
    "unreachable": (None, None, "Can't reach Rollcall"),
    "server_error": (500, {"error": {"code": "internal_server_error", "message": "boom"}},
                     "Something went wrong"),
    "unauthorized": (401, None, "You're not signed in"),
    "throttled": (429, None, "Exchange is throttling us"),
    "service_unavailable": (503, {"error": {"code": "service_unavailable", "message": "x"}},
                            "Exchange is throttling us"),
    "not_signed_in": (401, {"error": {"code": "token_expired", "message": "x"}},
                      "You're not signed in"),
    "not_configured": (503, {"error": {"code": "not_configured", "message": "no EWS url"}},
                       "Rollcall isn't set up yet"),
    "exchange_unreachable": (502, {"error": {"code": "exchange_unreachable", "message": "x"}},
                             "Can't reach Exchange"),
    "too_many_recipients": (413, {"error": {"code": "too_many_recipients", "message": "x"}},
                            "Too many recipients"),
}


@pytest.mark.parametrize("kind", list(ERRORS))
def test_api_failures_show_a_clear_state(open_pane, kind):
    status, body, title = ERRORS[kind]
    pane = open_pane("browser")
    page = pane.page

    def fail(route):
        if status is None:
            route.abort("connectionrefused")
        else:
            route.fulfill(status=status, content_type="application/json",
                          body=json.dumps(body) if body else "")

    page.route("**/api/count", fail)
    pane.paste("allstaff@contoso.com")
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    assert page.locator("#problem-title").inner_text() == title
    assert page.locator("#result").is_hidden()
    if kind in ("unreachable", "unauthorized", "not_configured"):
        pane.shot(f"error-{kind}")
    page.unroute("**/api/count", fail)
    page.click("#retry")  # the server is back: trying again shows the count
    assert pane.total() == 495
    assert problem.is_hidden()


def test_throttled_expansion_says_exchange_is_throttling(open_pane):
    pane = open_pane("browser")
    page = pane.page

    def throttle(report):
        report["complete"] = False
        report["findings"].insert(0, {
            "code": "expansion_failed", "severity": "error", "throttled": True,
            "message": "Sales Division could not be expanded: the directory asked Rollcall to "
                       "slow down (throttled). Its members are not counted, so the count is "
                       "incomplete.",
            "addresses": ["div-sales@contoso.com"], "path": ["All Staff", "Sales Division"]})

    rewrite_reports(page, throttle)
    pane.paste("allstaff@contoso.com")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert banner.get_attribute("data-kind") == "throttled"
    assert "Exchange is throttling us" in banner.inner_text()
    assert page.locator("#badge").inner_text() == "Incomplete"
    assert page.locator('.sev-error .finding[data-code="expansion_failed"]').is_visible()
    pane.shot("throttled")


def test_incomplete_count_is_flagged(open_pane):
    pane = open_pane("browser")
    page = pane.page
    pane.paste("announcements-big@contoso.com")  # Exchange answers only 100 of its 300
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert banner.get_attribute("data-kind") == "incomplete"
    assert banner.inner_text().startswith("Count incomplete.")
    assert page.locator("#badge").inner_text() == "Incomplete"


_WATCH_PROGRESS = """
window.__progressShownAfter = null;
const realFetch = window.fetch;
window.fetch = (...args) => { window.__fetchAt = performance.now(); return realFetch(...args); };
new MutationObserver(() => {
  const p = document.getElementById('progress');
  if (p && !p.hidden && window.__progressShownAfter === null) {
    window.__progressShownAfter = performance.now() - window.__fetchAt;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['hidden']});
"""


def test_progress_appears_after_300_ms_and_cancel_stops_the_count(open_pane, controls):
    pane = open_pane("browser")
    page = pane.page
    page.evaluate(_WATCH_PROGRESS)
    controls.delay_s = 3.0
    pane.paste("allstaff@contoso.com")
    page.locator("#progress").wait_for(state="visible")
    assert page.evaluate("window.__progressShownAfter") >= 290
    assert page.locator("#cancel").is_visible()
    pane.shot("progress")
    page.click("#cancel")
    page.locator("#problem").wait_for(state="visible")
    assert page.locator("#problem").get_attribute("data-kind") == "cancelled"
    assert page.locator("#progress").is_hidden()
    assert page.locator("#retry").inner_text() == "Count again"


def test_outlook_failing_to_give_recipients_is_shown(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF], failField="cc")
    pane.page.locator("#problem").wait_for(state="visible")
    assert pane.page.locator("#problem-title").inner_text() == (
        "Outlook didn't give us the recipients")
    assert pane.reports == []


@pytest.mark.parametrize("mode", ["outlook", "browser"])
def test_markup_in_names_shows_as_text(open_pane, mode):
    pane = open_pane(mode, to=[{"displayName": MARKUP, "emailAddress": ""}, PARTNERS])
    page = pane.page
    if mode == "browser":
        pane.paste(f"{MARKUP}\npartners@contoso.com")
    report = pane.settled()
    assert any(MARKUP in f["message"] for f in report["findings"])
    finding = page.locator('.finding[data-code="unresolved"]')
    assert MARKUP in finding.locator(".finding-message").inner_text()
    assert finding.locator(".path .step").inner_text() == MARKUP
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_markup_in_directory_names_shows_as_text_in_the_tree(open_pane):
    pane = open_pane("browser")
    page = pane.page

    def hostile(report):
        report["tree"][0]["name"] = MARKUP
        report["tree"][0]["address"] = f"{MARKUP}@contoso.com"

    rewrite_reports(page, hostile)
    pane.paste("partners@contoso.com")
    row = page.locator('#tree > [role="treeitem"] > .node-row').first
    row.wait_for()
    assert row.locator(".node-name").inner_text() == MARKUP
    assert page.locator("img[src='x']").count() == 0
    page.click("#copy")
    page.locator("#copied").filter(has_text="Copied").wait_for()
    assert f"  {MARKUP} <{MARKUP}@contoso.com>: 14" in page.evaluate(
        "navigator.clipboard.readText()")
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_dark_theme_follows_the_system(open_pane):
    pane = open_pane("outlook", dark=True, to=[ALL_STAFF, PARTNERS])
    pane.settled()
    page = pane.page
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(31, 31, 31)"
    page.locator('#tree > [role="treeitem"] > .node-row').first.click()
    pane.shot("dark")


def test_who_joined_and_left_since_the_last_count_is_shown(open_pane):
    pane = open_pane("browser")
    page = pane.page

    def moved(report):
        report["drift"] = {"previous_at": "2026-11-20T09:00:00+00:00", "previous_total": 496,
                           "joined_count": 1, "left_count": 2, "joined": ["new@contoso.com"],
                           "left": ["<b>gone</b>@contoso.com", "left@contoso.com"]}

    rewrite_reports(page, moved)
    pane.paste("allstaff@contoso.com")
    drift = page.locator("#drift")
    drift.wait_for(state="visible")
    assert "Since the last count on 2026-11-20 (496)" in drift.inner_text()
    assert "1 person joined" in drift.inner_text() and "2 people left" in drift.inner_text()
    drift.locator("summary", has_text="left").click()
    assert drift.get_by_text("<b>gone</b>@contoso.com").is_visible()  # shown as text


def test_a_first_count_shows_no_drift(open_pane):
    pane = open_pane("browser")
    rewrite_reports(pane.page, lambda report: report.update(drift=None))
    pane.paste("partners@contoso.com")
    pane.page.locator("#badge", has_text="Complete").wait_for(state="visible")
    assert pane.page.locator("#drift").is_hidden()
