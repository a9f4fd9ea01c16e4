"""The pane when Exchange fails for real (the simulator's faults, not rewritten answers): a state
card with plain words and a reference for support, never a number; and the honest pieces of a
real count: "at least", entries not found, what Send would do, where the people come from."""

from __future__ import annotations

import re

import pytest

PYTHON = re.compile(r"Traceback|Reraised|Error\(|Exception|\(_[A-Z]\w+\)|RemoteDisconnected")
CLEAR = {"drop_every": None, "busy_every": None, "http503_every": None, "latency_ms": 0.0,
         "back_off_ms": 1000, "retry_after_s": 1}


@pytest.fixture
def sim(demo_simulator):
    simulator, _ = demo_simulator
    yield simulator
    simulator.set_faults(**CLEAR)  # the simulator is shared by the whole session


# Each case types someone else: a person resolved a moment ago is reused without asking
# Exchange (ROLLCALL_RESOLVE_TTL_S), which would hide the fault.
@pytest.mark.parametrize(("fault", "title", "shot", "who"), [
    ({"drop_every": 1}, "Can't reach Exchange", "exchange-dropped",
     "Megan Bowen <megan@contoso.com>"),
    ({"busy_every": 1, "back_off_ms": 30_000}, "Exchange is busy", "exchange-busy",
     "Alex Wilber <alex@contoso.com>"),
    ({"http503_every": 1, "retry_after_s": 30}, "Exchange is busy", "exchange-503",
     "Isaiah Langer <isaiah@contoso.com>"),
])
def test_a_failing_exchange_shows_a_state_not_a_number(open_pane, sim, fault, title, shot,
                                                       who):
    pane = open_pane("browser")
    page = pane.page
    sim.set_faults(**fault)
    pane.paste(who)
    page.locator("#problem").wait_for(state="visible")
    assert page.locator("#problem-title").inner_text() == title
    assert page.locator("#result").is_hidden()  # no total, no badge, no "people left"
    card = page.locator("#problem").inner_text()
    assert "Reference for support: " in card and not PYTHON.search(card)
    if title == "Exchange is busy":
        assert "(about 30 s)" in card
    pane.shot(shot)
    sim.set_faults(**CLEAR)
    page.click("#retry")
    assert pane.total() == 1
    assert page.locator("#problem").is_hidden()


def test_a_partial_count_is_at_least_a_number(open_pane, sim):
    pane = open_pane("browser")
    page = pane.page
    pane.paste("megan@contoso.com\nallstaff@contoso.com")
    assert pane.total() == 495
    # Refresh reads every list again: Megan resolves in time, but All Staff's five levels of
    # lists cannot be read before the pane server's 8 s deadline at 2.5 s a request.
    sim.set_faults(latency_ms=2_500)
    page.click("#refresh")
    page.locator("#total-prefix").wait_for(state="visible", timeout=40_000)
    assert page.locator("#total-prefix").inner_text() == "at least"
    assert page.locator("#badge").inner_text() == "Incomplete"
    assert page.locator("#drift").is_hidden()  # never compared with the complete count
    assert not PYTHON.search(page.locator("#findings").inner_text())
    pane.shot("partial-count")


def test_an_entry_exchange_did_not_answer_for_is_not_looked_up_never_undeliverable(open_pane,
                                                                                  sim):
    pane = open_pane("browser")
    page = pane.page
    # Every second request busy, for longer than the count may wait: of the two lookups (two
    # requests in a row, in either order) exactly one is answered, the other never is.
    sim.set_faults(busy_every=2, back_off_ms=30_000)
    pane.paste("Patti Fernandez <patti@contoso.com>\nLee Gu <lee.gu@contoso.com>")
    report = pane.settled()
    assert (report["total"], report["complete"]) == (1, False)
    assert (report["undeliverable"], report["not_looked_up"], report["entries"]) == (0, 1, 2)
    assert page.locator("#total-prefix").inner_text() == "at least"
    labels = page.locator("#chart .chart-label").all_text_contents()
    values = page.locator("#chart .chart-value").all_text_contents()
    assert dict(zip(labels, values, strict=True)) == {"Entries": "2", "− Duplicates": "0",
                                         "− Not looked up": "−1", "− Undeliverable": "0",
                                         "= Total": "1"}
    caption = page.locator("#chart figcaption").inner_text()
    assert caption.startswith("2 entries − 0 duplicates − 1 not looked up − 0 undeliverable = "
                              "at least 1 unique recipients")


def test_entries_not_found_are_problems_and_send_would_stop_them(open_pane):
    pane = open_pane("browser")
    page = pane.page
    pane.paste("allstaff@contoso.com\nAlex W <alexw@contoso.com>")
    assert pane.total() == 495
    assert page.locator("#badge").inner_text() == "Complete, 1 entry not found"
    assert "badge-warn" in page.locator("#badge").get_attribute("class")
    item = page.locator('.sev-error .finding[data-code="unresolved"]')
    assert "alexw@contoso.com" in item.inner_text()
    assert item.get_attribute("data-action") == "block"
    assert "Outlook will stop this message" in item.inner_text()
    # The send check's own finding, which the count alone never showed.
    assert page.locator('.finding[data-code="large_audience"]').get_attribute(
        "data-action") == "warn"
    pane.shot("not-found-and-send-actions")


def test_the_difference_from_the_expected_count_names_the_lists(open_pane):
    pane = open_pane("browser")
    page = pane.page
    pane.paste("allstaff@contoso.com\nleadership@contoso.com\npartners@contoso.com")
    pane.total()
    page.fill("#expected", "450")
    page.click("#expected-apply")
    page.locator("#difference").wait_for(state="visible")
    parts = page.locator("#contributions")
    parts.wait_for(state="visible")
    text = parts.text_content()
    assert "Where the people come from" in text and "All Staff" in text
    assert "External Partners" in text and "Expected" in text
    row = parts.locator('tr[data-part="External Partners"]')
    people, only = (int(c) for c in row.locator("td").all_inner_texts())
    assert people == only > 0  # partners are in no other entry: they are the gap
    pane.shot("contributions")
