"""Signing in: the pane gets a token (Office SSO in Outlook, the development issuer in a
browser tab), sends it, and shows a clear "sign in" state when that fails."""

from __future__ import annotations

import json

import pytest
from pane_support import ALL_STAFF

from support import token

DEV_TOKEN = "**/dev-issuer/token"


def _sign_in_state(pane):
    page = pane.page
    page.locator("#problem").wait_for(state="visible")
    assert page.locator("#problem").get_attribute("data-kind") == "unauthorized"
    assert page.locator("#problem-title").inner_text() == "You're not signed in"
    assert page.locator("#retry").inner_text() == "Sign in"
    assert page.locator("#result").is_hidden()


def test_a_browser_tab_signs_in_through_the_development_issuer(open_pane):
    pane = open_pane("browser")
    pane.paste("allstaff@contoso.com")
    assert pane.total() == 495
    assert any(url.endswith("/dev-issuer/token") for url in pane.requests)
    pane.page.wait_for_function("document.querySelector('#who').textContent !== ''")
    assert pane.page.locator("#who").inner_text() == "megan@contoso.com"
    assert pane.page.locator("#server-open").is_hidden()  # not an administrator


def test_each_person_sees_their_own_contact_groups_only(open_pane):
    pane = open_pane("browser", path="/?as=alex@contoso.com")
    pane.paste("Deal Desk")
    assert pane.settled()["mailbox"] == "alex@contoso.com"
    assert pane.total() == 5
    pane.paste("Comms Champions")  # Megan's: Alex's Contacts do not have it
    report = pane.settled(2)
    assert report["total"] == 0 and report["tree"] == []
    assert pane.page.locator('.finding[data-code="unresolved"]').count() == 1


@pytest.mark.parametrize("failure", ["issuer down", "token refused"])
def test_a_failed_sign_in_shows_the_sign_in_state_and_recovers(open_pane, failure):
    def broken(route):
        if failure == "issuer down":
            route.fulfill(status=503, body="")
        else:  # a token the API's validation refuses (signed by nobody it trusts)
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"access_token": "eyJhbGciOiJub25lIn0.e30.",
                                           "token_type": "Bearer"}))

    pane = open_pane("browser", routes={DEV_TOKEN: broken})  # the pane signs in as it opens
    page = pane.page
    pane.paste("allstaff@contoso.com")
    _sign_in_state(pane)
    if failure == "token refused":
        assert "(HTTP 401)" in page.locator("#problem-detail").inner_text()
        pane.shot("sign-in")
    page.unroute(DEV_TOKEN, broken)
    page.click("#retry")
    assert pane.total() == 495
    assert page.locator("#problem").is_hidden()
    page.locator("#identity").wait_for(state="visible")  # who is signed in, once they are
    assert page.locator("#who").inner_text() == "megan@contoso.com"


def test_outlook_single_sign_on_token_is_sent(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF], sso={"token": token("megan@contoso.com")})
    assert pane.total() == 495
    assert pane.page.evaluate("window.__office.ssoCalls()") >= 1
    assert not any(url.endswith("/dev-issuer/token") for url in pane.requests)


def test_outlook_single_sign_on_failure_asks_to_sign_in(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF], sso={"fail": 13001},
                     routes={DEV_TOKEN: lambda route: route.fulfill(status=404, body="")})
    _sign_in_state(pane)


def test_an_administrator_sees_server_information(open_pane):
    pane = open_pane("browser", path="/?as=isaiah@contoso.com")
    page = pane.page
    page.locator("#server-open").wait_for(state="visible")
    assert page.locator("#who").inner_text() == "isaiah@contoso.com"
    page.click("#server-open")
    exchange = page.locator('#server-info dd[data-fact="exchange"]')
    exchange.wait_for()
    assert exchange.inner_text().startswith("reachable, build 15.1.2507.6")
    assert exchange.inner_text().endswith("a service account impersonates each sender")
    assert page.locator('#server-info dd[data-fact="database"]').inner_text().startswith("sqlite")
    assert page.locator("#server-info").get_attribute("data-health") == "ok"
    pane.shot("server-information")
    page.click("#server-open")
    assert page.locator("#server-info").is_hidden()


def test_the_pane_signs_in_once_for_all_its_first_requests(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF])  # the count and /api/me start together
    assert pane.total() == 495
    pane.page.wait_for_function("document.querySelector('#who').textContent !== ''")
    assert sum(url.endswith("/dev-issuer/token") for url in pane.requests) == 1
