"""The pane's parts on their own: pasted-text parsing, tree paging, the send-check handlers."""

from __future__ import annotations

import re
from pathlib import Path

from pane_support import rewrite_reports

REPO = Path(__file__).resolve().parents[2]


def _import(page, module, expression, arg=None):
    return page.evaluate(
        f"async (arg) => {{ const m = await import('/{module}'); return {expression}; }}", arg)


def test_pasted_text_splits_on_lines_commas_and_semicolons_but_not_inside_names(open_pane):
    pane = open_pane("browser")
    text = ('"Bowen, Megan" <megan@contoso.com>; alex@contoso.com\n'
            "Comms Champions,  All Staff <allstaff@contoso.com>\n\n;")
    parsed = _import(pane.page, "recipients.js", "m.parseRecipients(arg)", text)
    assert parsed == [
        {"displayName": "Bowen, Megan", "emailAddress": "megan@contoso.com"},
        {"displayName": "alex@contoso.com", "emailAddress": "alex@contoso.com"},
        {"displayName": "Comms Champions", "emailAddress": ""},
        {"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"},
    ]


def _leaf(i):
    return {"address": f"team-{i}@contoso.com", "name": f"Team {i:03d}", "kind": "public_dl",
            "depth": 2, "direct_members": 3, "unique_members": 3, "status": "expanded",
            "cached": False, "children": []}


def test_long_trees_are_built_on_opening_and_shown_a_page_at_a_time(open_pane):
    pane = open_pane("browser")
    page = pane.page

    def big(report):
        report["tree"][0]["children"] = [_leaf(i) for i in range(120)]

    rewrite_reports(page, big)
    pane.paste("allstaff@contoso.com")
    root = page.locator('#tree > [role="treeitem"]').first
    root.wait_for()
    assert page.locator('[role="treeitem"]').count() == 1
    root.locator(":scope > .node-row").click()
    children = root.locator(':scope > [role="group"] > [role="treeitem"]')
    assert children.count() == 51  # one page and the "show more" item
    more = root.locator(".more")
    assert more.inner_text() == "Show 50 more lists (70 left)"
    more.click()
    assert children.count() == 101
    more.focus()
    page.keyboard.press("Enter")
    assert children.count() == 120 and more.count() == 0
    assert children.last.get_attribute("aria-posinset") == "120"
    assert children.last.get_attribute("aria-setsize") == "120"
    page.keyboard.press("End")
    assert children.last.evaluate("e => e === document.activeElement")


def test_send_check_is_one_classic_script_without_the_dom():
    # Classic Outlook on Windows runs it in a JavaScript-only runtime: no modules, no document.
    source = (REPO / "addin" / "sendcheck.js").read_text()
    assert not re.search(r"^\s*(import|export)\b", source, re.M)
    assert not re.search(r"\b(document|window)\.", source)
    assert "Office.actions.associate(" in source
