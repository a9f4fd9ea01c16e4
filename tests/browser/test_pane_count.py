"""The pane inside Outlook (Office.js stubbed) counting the demo organisation's lists."""

from __future__ import annotations

from pane_support import ALL_STAFF, CHAMPIONS, LEADERSHIP, OFFICE_JS, PARTNERS


def test_shows_the_reports_total_for_a_nested_list(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF], subject="All-hands")
    report = pane.settled()
    assert report["total"] == 495 and report["max_depth"] == 5
    assert pane.total() == report["total"]
    assert pane.page.locator("#badge").inner_text() == "Complete"
    assert pane.page.locator("#stats").inner_text().startswith(f"{report['lists']} lists")
    pane.shot("outlook-allstaff")
    assert pane.console_errors == []  # a CSP violation would show up here


def test_calls_only_its_own_origin(open_pane):
    pane = open_pane("outlook", to=[PARTNERS])
    pane.settled()
    strangers = [u for u in pane.requests if not u.startswith(pane.base + "/") and u != OFFICE_JS]
    assert strangers == []
    assert any(u == pane.base + "/api/count" for u in pane.requests)


def test_tree_expands_by_click_and_by_keyboard(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF, PARTNERS])
    pane.settled()
    page = pane.page
    root = page.locator('#tree > [role="treeitem"]').first
    assert root.get_attribute("aria-expanded") == "false"
    assert page.locator('[role="treeitem"]').count() == 2  # children are built on opening

    root.locator(":scope > .node-row").click()
    assert root.get_attribute("aria-expanded") == "true"
    division = root.locator('[role="group"] > [role="treeitem"]', has_text="Engineering Division")
    assert division.is_visible()
    assert division.locator(":scope > .node-row .count").inner_text() != ""

    root.locator(":scope > .node-row").click()
    assert root.get_attribute("aria-expanded") == "false" and not division.is_visible()

    root.focus()
    page.keyboard.press("ArrowRight")  # opens
    assert root.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowRight")  # moves to the first child
    first_child = root.locator('[role="group"] > [role="treeitem"]').first
    assert first_child.evaluate("e => e === document.activeElement")
    assert first_child.get_attribute("tabindex") == "0"
    assert root.get_attribute("tabindex") == "-1"  # one tab stop in the whole tree
    page.keyboard.press("ArrowLeft")  # back to the parent
    assert root.evaluate("e => e === document.activeElement")
    page.keyboard.press("ArrowLeft")  # closes
    assert root.get_attribute("aria-expanded") == "false"
    page.keyboard.press("ArrowDown")
    partners = page.locator('#tree > [role="treeitem"]').nth(1)
    assert partners.evaluate("e => e === document.activeElement")
    assert "External Partners" in partners.inner_text()
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    assert root.get_attribute("aria-expanded") == "true"
    pane.shot("tree-expanded")


def test_findings_for_the_cycle_the_deep_chain_and_the_deleted_contact(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF, LEADERSHIP], cc=[CHAMPIONS])
    report = pane.settled()
    codes = {f["code"] for f in report["findings"]}
    assert {"cycle", "nested_too_deep", "deleted_contact"} <= codes
    page = pane.page
    cycle = page.locator('.finding[data-code="cycle"]')
    assert "loop" in cycle.locator(".finding-message").inner_text()
    assert cycle.locator(".path .step").all_inner_texts()[:2] == ["Leadership Team", "All Managers"]
    deep = page.locator('.finding[data-code="nested_too_deep"]')
    assert deep.locator(".path .step").last.inner_text() == "Platform On-call Squad"
    deleted = page.locator('.sev-warning .finding[data-code="deleted_contact"]')
    assert "lena.fischer@fabrikam.com" in deleted.inner_text()
    assert deleted.locator(".path .step").all_inner_texts() == ["Comms Champions"]
    assert page.locator(".sev-info .finding[data-code='cycle']").count() == 1
    pane.shot("findings")


def test_expected_count_shows_the_difference_and_the_picture(open_pane):
    open_pane("outlook", to=[ALL_STAFF]).settled()  # a complete count: the next one's baseline
    pane = open_pane("outlook", to=[ALL_STAFF])
    assert pane.settled()["expected_source"] == "previous_count"
    page = pane.page
    # Without a number from the sender the pane compares with the previous count.
    assert page.locator("#chart rect.bar-expected").count() == 1
    labels = page.locator("#chart .chart-label").all_text_contents()
    assert "Last count" in labels and "Expected" not in labels
    page.fill("#expected", "500")
    page.click("#expected-apply")
    report = pane.settled(2)
    assert report["expected"] == 500 and report["difference"] == -5
    assert page.locator("#difference").inner_text() == "5 fewer than the 500 you expected (−5)."
    assert page.locator("#chart rect.bar-expected").count() == 1
    caption = page.locator("#chart figcaption").inner_text()
    assert caption.startswith("499 entries − 4 duplicates − 0 undeliverable = 495")
    assert "expected 500 (5 fewer)" in caption
    values = page.locator("#chart .chart-value").all_text_contents()
    assert values == ["499", "−4", "0", "495", "500"]
    assert page.locator("#chart .chart-label").all_text_contents()[-1] == "Expected"
    assert page.locator('.finding[data-code="count_mismatch"]').is_visible()
    pane.shot("expected-count")


def test_support_report_has_subject_lists_counts_and_findings(open_pane):
    pane = open_pane("outlook", to=[ALL_STAFF], cc=[LEADERSHIP], subject="Q3 town hall")
    pane.settled()
    page = pane.page
    page.fill("#expected", "600")
    page.keyboard.press("Enter")
    report = pane.settled(2)
    page.click("#copy")
    page.locator("#copied").filter(has_text="Copied").wait_for()
    text = page.evaluate("navigator.clipboard.readText()")
    assert "Subject: Q3 town hall" in text
    assert f"Current count: {report['total']} unique recipients (complete)" in text
    assert f"Expected count: 600, difference {report['difference']}" in text
    assert "All Staff <allstaff@contoso.com>: 495" in text
    assert "Leadership Team <leadership@contoso.com>: 47" in text
    assert "[info, send: warn] cycle: These lists contain each other in a loop" in text
    assert "path: All Staff > Engineering Division > Platform Department" in text
    assert f"Exchange version: {report['exchange_version']}" in text
    assert "Time: 20" in text


def test_recipients_changed_counts_again(open_pane):
    pane = open_pane("outlook", to=[PARTNERS])
    first = pane.settled()
    assert pane.total() == first["total"] == 14
    page = pane.page
    page.evaluate("r => { window.__office.setRecipients('bcc', r);"
                  " window.__office.fireRecipientsChanged({bcc: true}); }", [ALL_STAFF])
    second = pane.settled(2)
    assert second["total"] == 495 + 14
    assert pane.total() == second["total"]
    page.evaluate("() => { for (const f of ['to', 'bcc']) window.__office.setRecipients(f, []);"
                  " window.__office.fireRecipientsChanged({to: true, bcc: true}); }")
    page.locator("#waiting").filter(has_text="Add people or lists").wait_for()
    assert page.locator("#result").is_hidden()
    assert len(pane.reports) == 2


def test_removing_every_recipient_mid_count_drops_the_count_quietly(open_pane, controls):
    controls.delay_s = 1.5
    pane = open_pane("outlook", to=[PARTNERS])
    page = pane.page
    page.locator("#progress").wait_for(state="visible")
    page.evaluate("() => { window.__office.setRecipients('to', []);"
                  " window.__office.fireRecipientsChanged({to: true}); }")
    page.locator("#waiting").filter(has_text="Add people or lists").wait_for()
    assert page.locator("#progress").is_hidden()
    page.wait_for_timeout(1800)  # past the server's answer to the dropped count
    assert page.locator("#problem").is_hidden() and page.locator("#result").is_hidden()
