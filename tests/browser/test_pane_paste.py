"""The paste box in a browser tab: a line break always ends an entry, an unclosed quote is
reported, long and right-to-left text stays inside the pane, the keys are explained, the result is
announced, and the chart's text keeps its size at any pane width."""

from __future__ import annotations

import json

from pane_support import rewrite_reports

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
LONG = "x" * 500


def _import(page, module, expression, arg=None):
    return page.evaluate(
        f"async (arg) => {{ const m = await import('/{module}'); return {expression}; }}", arg)


def _overflow(page):
    """How far the page is wider than the viewport, in CSS pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_line_break_ends_an_entry_even_inside_an_open_quote(open_pane):
    pane = open_pane("browser")
    text = ('"Bowen, Megan <megan@contoso.com>, alex@contoso.com\n'
            "partners@contoso.com\r\n"
            "Lee <lee@contoso.com; x@contoso.com\n"
            '"O\\"Brien, Pat" <pat@contoso.com>; allstaff@contoso.com')
    parsed = _import(pane.page, "recipients.js", "m.parsePasted(arg)", text)
    assert parsed["recipients"] == [
        {"displayName": "Bowen, Megan <megan@contoso.com>, alex@contoso.com",
         "emailAddress": ""},
        {"displayName": "partners@contoso.com", "emailAddress": "partners@contoso.com"},
        {"displayName": "Lee <lee@contoso.com; x@contoso.com", "emailAddress": ""},
        {"displayName": 'O"Brien, Pat', "emailAddress": "pat@contoso.com"},
        {"displayName": "allstaff@contoso.com", "emailAddress": "allstaff@contoso.com"},
    ]
    quote, angle = parsed["problems"]
    assert quote.startswith('Line 1 has an opening " with no closing one')
    assert '\u2068"Bowen, Megan <megan@contoso.com>, alex…\u2069' in quote  # isolated, cut short
    assert angle.startswith("Line 3 has a < with no closing >")
    # The old name keeps working, without the problems.
    assert _import(pane.page, "recipients.js", "m.parseRecipients(arg)", text) \
        == parsed["recipients"]
    assert _import(pane.page, "recipients.js", "m.parsePasted(arg).problems",
                   '"Bowen, Megan" <megan@contoso.com>; "Fischer, Lena" <lena@x.com>') == []
    # A lone quote is a problem, not a nameless recipient.
    lone = _import(pane.page, "recipients.js", "m.parsePasted(arg)", '"\n""\n ; ')
    assert lone["recipients"] == [] and len(lone["problems"]) == 1


def test_a_stray_quote_costs_its_line_only_and_is_shown(open_pane):
    pane = open_pane("browser")
    page = pane.page
    page.locator("#paste").wait_for(state="visible")
    # Before: the quote swallowed both lines below it, and the pane said "0 ... Complete".
    pane.paste('"Bowen, Megan <megan@contoso.com>\npartners@contoso.com\nallstaff@contoso.com')
    report = pane.settled()
    assert [n["name"] for n in report["tree"]] == ["External Partners", "All Staff"]
    assert pane.total() == report["total"] == 495 + 14
    problem = page.locator("#paste-problem")
    assert problem.is_visible()
    assert problem.inner_text().startswith('Line 1 has an opening " with no closing one')
    assert "Bowen, Megan" in problem.inner_text()
    pane.shot("paste-unclosed-quote")
    pane.paste("partners@contoso.com")  # fixed: the warning goes
    pane.settled(2)
    assert problem.is_hidden()


def test_the_hint_says_what_enter_and_ctrl_enter_do_and_they_do_it(open_pane, controls):
    pane = open_pane("browser")
    page = pane.page
    page.locator("#paste").wait_for(state="visible")
    counted = controls.counts
    hint = page.locator("#paste").inner_text()
    assert "list:NAME" in hint
    assert "Enter adds a line" in hint
    assert "Ctrl+Enter (Cmd+Enter on a Mac) counts" in hint
    described = page.locator("#paste-text").get_attribute("aria-describedby").split()
    assert {"paste-hint", "paste-keys"} <= set(described)
    pane.shot("paste-hint")

    box = page.locator("#paste-text")
    box.click()
    page.keyboard.type("allstaff@contoso.com")
    page.keyboard.press("Enter")
    page.keyboard.type("partners@contoso.com")
    assert box.input_value() == "allstaff@contoso.com\npartners@contoso.com"
    page.wait_for_timeout(300)
    assert pane.reports == [] and controls.counts == counted  # Enter alone never counts
    page.keyboard.press("Control+Enter")
    report = pane.settled()
    assert box.input_value() == "allstaff@contoso.com\npartners@contoso.com"
    assert [n["name"] for n in report["tree"]] == ["All Staff", "External Partners"]
    box.focus()
    page.keyboard.press("Meta+Enter")
    pane.settled(2)


def test_long_unbroken_text_wraps_inside_the_pane(open_pane):
    pane = open_pane("browser")
    page = pane.page

    def long_names(report):
        report["tree"][0]["name"] = "y" * 500
        report["tree"][0]["address"] = "z" * 480 + "@contoso.com"
        report["findings"][0]["addresses"] = ["w" * 500 + "@contoso.com"]

    rewrite_reports(page, long_names)
    pane.paste(f"{LONG}\nallstaff@contoso.com")
    page.locator("#result").wait_for(state="visible")
    page.locator(".finding .path .step", has_text=LONG).wait_for()
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert page.evaluate("window.innerWidth") == 360
    assert _overflow(page) <= 0
    # Each place that shows the long text keeps it inside its own box, on several lines.
    places = {
        "finding message": page.locator(".finding-message", has_text="x" * 60),
        "path step": page.locator(".finding .path .step", has_text="x" * 60),
        "tree name": page.locator(".node-name", has_text="y" * 60),
        "tree address": page.locator(".node-where", has_text="z" * 60),
        "address list": page.locator(".addresses li", has_text="w" * 60),
    }
    for what, box in places.items():
        right, height, line = box.first.evaluate(
            "e => [e.getBoundingClientRect().right, e.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(e).lineHeight) || 16]")
        assert right <= 360 and height >= 3 * line, what
    pane.shot("paste-long-entry")


def test_a_long_word_in_a_problem_stays_inside_the_pane(open_pane):
    def refuse(route):
        route.fulfill(status=400, content_type="application/json", body=json.dumps(
            {"error": {"code": "bad_recipient", "message": f"Can't read {LONG}"}}))

    pane = open_pane("browser", routes={"**/api/count": refuse})
    page = pane.page
    page.locator("#paste").wait_for(state="visible")
    pane.paste(LONG)
    page.locator("#problem").wait_for(state="visible")
    assert LONG in page.locator("#problem-detail").inner_text()
    assert _overflow(page) <= 0


def test_a_right_to_left_override_stays_inside_the_name(open_pane):
    pane = open_pane("browser")
    page = pane.page
    evil = f"{RLO}evil@contoso.com"

    def rtl_list(route):
        response = route.fetch()
        report = response.json()
        report["tree"][0]["name"] = f"{RLO}Staff All"
        route.fulfill(response=response, body=json.dumps(report))

    page.route("**/api/count", rtl_list)
    pane.paste(f'{evil}\nallstaff@contoso.com\n"{RLO}Unclosed <u@contoso.com>')
    page.locator("#result").wait_for(state="visible")
    step = page.locator(".finding .path .step", has_text=evil)
    step.wait_for()
    shown = {
        "path step": step,
        "tree name": page.locator(".node-name").first,
        "tree address": page.locator(".node-where").first,
        "finding message": page.locator(".finding-message", has_text=evil),
        "paste problem": page.locator("#paste-problem"),
    }
    for what, element in shown.items():
        assert element.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate", what
    assert RLO in page.locator(".node-name").first.inner_text()
    # The problem sentence isolates the pasted excerpt in the text itself too.
    excerpt = f'\u2068"{RLO}Unclosed <u@contoso.com>\u2069'
    assert excerpt in page.locator("#paste-problem").inner_text()
    pane.shot("paste-rtl")


def test_the_result_is_announced_to_screen_readers(open_pane):
    pane = open_pane("browser")
    page = pane.page
    region = page.locator("#announce")
    assert region.get_attribute("aria-live") == "polite"
    assert region.get_attribute("role") == "status"
    # Visually hidden, but not display:none or [hidden]: a screen reader must still find it.
    assert region.evaluate("e => !e.hidden && getComputedStyle(e).display !== 'none'"
                           " && !e.closest('[hidden]')")
    pane.paste("allstaff@contoso.com")
    pane.settled()
    page.wait_for_function(
        "() => document.querySelector('#announce').textContent"
        " === '495 unique recipients. Complete.'")
    # The same result again is said again: the region is emptied and filled anew.
    texts = _import(page, "announce.js", """new Promise((done) => {
        const seen = [];
        const region = document.getElementById('announce');
        new MutationObserver(() => seen.push(region.textContent))
          .observe(region, {childList: true, characterData: true, subtree: true});
        m.announce('495 unique recipients. Complete.');
        setTimeout(() => done(seen), 400);
    })""")
    assert texts[0] == "" and texts[-1] == "495 unique recipients. Complete."


def test_the_charts_text_keeps_its_size_at_any_pane_width(open_pane):
    pane = open_pane("browser")
    page = pane.page
    page.set_viewport_size({"width": 320, "height": 900})
    pane.paste("allstaff@contoso.com")
    pane.settled()

    def measured():
        page.wait_for_function("""() => {
            const svg = document.querySelector('#chart svg');
            const figure = document.querySelector('#chart');
            return svg && Math.abs(svg.getBoundingClientRect().width
              - figure.getBoundingClientRect().width) < 1;
        }""")
        return page.evaluate("""() => {
            const label = document.querySelector('#chart .chart-label').getBoundingClientRect();
            const value = document.querySelector('#chart .chart-value').getBoundingClientRect();
            const svg = document.querySelector('#chart svg').getBoundingClientRect();
            return {label: label.height, value: value.height, svg: svg.width};
        }""")

    narrow = measured()
    pane.shot("paste-chart-320")
    page.set_viewport_size({"width": 800, "height": 900})
    wide = measured()
    pane.shot("paste-chart-800")
    assert wide["svg"] > narrow["svg"] + 400  # the bars use the room
    assert abs(wide["label"] - narrow["label"]) < 0.5
    assert abs(wide["value"] - narrow["value"]) < 0.5
    assert 10 <= narrow["label"] <= 18  # about 11px text, not scaled up or down
    assert _overflow(page) <= 0
