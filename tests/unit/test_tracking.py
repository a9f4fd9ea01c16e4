"""Open and click tracking: signed tokens, the HTML rewrite of Outlook's HTML, and verdicts."""

from __future__ import annotations

import re

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.sending.tracking import (
    FAST_CLICK_S,
    Kind,
    Mode,
    Tracked,
    Verdict,
    classify,
    counts_as_person,
    parse_mode,
    read_click,
    rewrite,
    sign,
    truncate_ip,
    verify,
)

KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
BASE = "https://rollcall.contoso.com"
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# ---- tokens --------------------------------------------------------------------------------


def test_a_token_round_trips_and_is_url_safe():
    token = sign(KEY, Kind.OPEN, "r-7Qx2")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert verify(KEY, Kind.OPEN, token) == "r-7Qx2"
    assert verify(KEY, "open", token) == "r-7Qx2"  # the enum is the plain word


def test_an_open_token_is_not_a_click_token_and_a_foreign_key_fails():
    token = sign(KEY, Kind.OPEN, "who|0")
    assert verify(KEY, Kind.CLICK, token) is None
    assert read_click(KEY, token) is None
    assert verify(OTHER_KEY, Kind.OPEN, token) is None


def test_every_changed_character_is_refused():
    token = sign(KEY, Kind.CLICK, "send-42|3")
    for i, char in enumerate(token):
        other = "A" if char != "A" else "B"
        assert verify(KEY, Kind.CLICK, token[:i] + other + token[i + 1:]) is None, i


@pytest.mark.parametrize("bad", [
    "", "x", lambda t: t[:-1], lambda t: t[1:], lambda t: t + "A", lambda t: t + "==",
    lambda t: t[:4] + "." + t[4:], lambda t: t.replace(t[0], "+", 1), lambda t: "A" * 5000,
])
def test_malformed_tokens_are_refused(bad):
    token = sign(KEY, Kind.OPEN, "some recipient")
    candidate = bad(token) if callable(bad) else bad
    assert verify(KEY, Kind.OPEN, candidate) is None


def test_a_token_has_one_spelling():
    # "YQ" and "YR" both decode to b"a" (they differ only in unused bits): only one may pass.
    token = sign(KEY, Kind.OPEN, "a")
    assert token.startswith("YQ")
    assert verify(KEY, Kind.OPEN, "YR" + token[2:]) is None


def test_a_short_key_is_refused():
    with pytest.raises(ValueError):
        sign(b"short", Kind.OPEN, "x")


def test_read_click_splits_who_and_index():
    assert read_click(KEY, sign(KEY, Kind.CLICK, "a|b|12")) == ("a|b", 12)
    assert read_click(KEY, sign(KEY, Kind.CLICK, "who|x1")) is None
    assert read_click(KEY, sign(KEY, Kind.CLICK, "who|١")) is None  # not an ASCII digit
    assert read_click(KEY, sign(KEY, Kind.CLICK, "no index")) is None


@given(payload=st.text(), kind=st.sampled_from(list(Kind)), key=st.binary(min_size=16))
def test_any_payload_round_trips(payload, kind, key):
    token = sign(key, kind, payload)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert verify(key, kind, token) == payload


@given(payload=st.text(max_size=60), data=st.data())
def test_any_changed_character_fails(payload, data):
    token = sign(KEY, Kind.CLICK, payload)
    i = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(st.sampled_from(URLSAFE.replace(token[i], "")))
    assert verify(KEY, Kind.CLICK, token[:i] + char + token[i + 1:]) is None


# ---- the rewrite ---------------------------------------------------------------------------

# What Outlook for Windows hands over: Word's HTML, with Office namespaces, <o:p>, conditional
# comments (a VML button among them), downlevel-revealed list bullets and non-ASCII text.
OUTLOOK = """<html xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=Content-Type content="text/html; charset=windows-1252">
<meta name=Generator content="Microsoft Word 15 (filtered medium)">
<!--[if !mso]><style>v\\:* {behavior:url(#default#VML);}</style><![endif]-->
<style><!--
p.MsoNormal {margin:0cm; font-size:11.0pt;}
--></style>
<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->
</head>
<body lang=DE link="#0563C1" vlink="#954F72" style='word-wrap:break-word'>
<div class=WordSection1>
<p class=MsoNormal>Liebe Kolleginnen, Grüße aus 東京 ☕ — bitte lesen:<o:p></o:p></p>
<p class=MsoListParagraph><![if !supportLists]><span>·<span>&nbsp;&nbsp; </span></span>\
<![endif]><a href="https://intranet.contoso.com/news?id=7&amp;lang=de">Neuigkeiten</a>\
<o:p></o:p></p>
<p class=MsoNormal><a href="mailto:hr@contoso.com">HR</a> · <a href="tel:+49301234">Tel</a> · \
<a href="#agenda">Agenda</a> · <a href="/relative/page">rel</a> · \
<a href="javascript:void(0)">js</a> · <a name="agenda"></a><o:p></o:p></p>
<p class=MsoNormal><a href="HTTPS://www.contoso.com/Plan">Plan</a> and again \
<a href="https://intranet.contoso.com/news?id=7&amp;lang=de">the news</a><o:p></o:p></p>
<!--[if mso]><v:roundrect href="https://intranet.contoso.com/vml-button"></v:roundrect>\
<![endif]-->
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal><a href="https://rollcall.contoso.com/u/opaque-123">Abmelden</a> · \
<a href="https://lists.contoso.com/unsubscribe?x=1">Liste verlassen</a><o:p></o:p></p>
</div>
</body>
</html>
"""
NEWS = "https://intranet.contoso.com/news?id=7&lang=de"
PLAN = "HTTPS://www.contoso.com/Plan"
EXTERNAL_UNSUB = "https://lists.contoso.com/unsubscribe?x=1"


def track(html: str = OUTLOOK, who: str = "r-1", mode: Mode = Mode.INDIVIDUAL,
          **kwargs) -> Tracked:
    kwargs.setdefault("exclude", {EXTERNAL_UNSUB})
    return rewrite(html, base_url=BASE + "/", key=KEY, who=who, mode=mode, **kwargs)


def anchors(html: str) -> dict[str, str]:
    """Link text -> href, from the rewritten HTML."""
    root = lxml.html.document_fromstring(html)
    return {a.text_content(): a.get("href") for a in root.iter("a") if a.get("href")}


def pixels(html: str) -> list[str]:
    return re.findall(r'<img src="' + re.escape(BASE) + r'/t/o/([A-Za-z0-9_-]+)\.gif"', html)


def test_web_links_go_through_click_tokens_that_lead_back_to_them():
    tracked = track()
    assert tracked.links == (NEWS, PLAN)
    hrefs = anchors(tracked.html)
    for text, original in (("Neuigkeiten", NEWS), ("the news", NEWS), ("Plan", PLAN)):
        assert hrefs[text].startswith(BASE + "/t/c/")
        who, index = read_click(KEY, hrefs[text].removeprefix(BASE + "/t/c/"))
        assert who == "r-1" and tracked.links[index] == original
    assert hrefs["Neuigkeiten"] == hrefs["the news"]  # the same URL twice: one index


def test_other_links_and_the_unsubscribe_links_stay_as_written():
    hrefs = anchors(track().html)
    assert hrefs["HR"] == "mailto:hr@contoso.com"
    assert hrefs["Tel"] == "tel:+49301234"
    assert hrefs["Agenda"] == "#agenda"
    assert hrefs["rel"] == "/relative/page"
    assert hrefs["js"] == "javascript:void(0)"
    assert hrefs["Abmelden"] == BASE + "/u/opaque-123"  # Rollcall's own /u/, always
    assert hrefs["Liste verlassen"] == EXTERNAL_UNSUB  # excluded by the caller


def test_exclude_may_be_a_predicate():
    tracked = track(exclude=lambda url: "contoso.com/Plan" in url or "unsubscribe" in url)
    assert tracked.links == (NEWS,)
    assert anchors(tracked.html)["Plan"] == PLAN


def test_word_markup_and_text_survive():
    html = track().html
    assert html.count("<o:p>") == OUTLOOK.count("<o:p>")
    assert "<![if !supportLists]>" in html and "<![endif]><a " in html
    assert "<!--[if !supportLists]-->" not in html
    for comment in re.findall(r"<!--\[if.*?-->", OUTLOOK, re.S):
        assert comment in html  # the VML button inside one is left alone, untracked
    assert "Grüße aus 東京 ☕ — bitte lesen" in html
    assert "&#" not in html
    assert 'xmlns:o="urn:schemas-microsoft-com:office:office"' in html
    assert "<!DOCTYPE" not in html  # none given, none invented
    assert {c.lower() for c in re.findall(r"charset=[\"']?([\w-]+)", html)} <= {"utf-8"}


def test_one_pixel_at_the_end_of_the_body():
    html = track().html
    assert len(pixels(html)) == 1
    assert verify(KEY, Kind.OPEN, pixels(html)[0]) == "r-1"
    body = lxml.html.document_fromstring(html).find("body")
    last = body[-1]
    assert last.tag == "img" and last.get("src", "").startswith(BASE + "/t/o/")
    assert (last.get("width"), last.get("height"), last.get("alt")) == ("1", "1", "")
    assert last.get("style") == "display:none;border:0"


def test_a_given_doctype_is_kept():
    html = "<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>x</p></body></html>"
    out = track(html).html
    assert out.startswith("<!DOCTYPE html>\n<html>")
    assert out.endswith('style="display:none;border:0"></body></html>')


def test_a_declared_charset_agrees_with_the_utf8_text():
    html = '<html><head><meta charset="windows-1252"></head><body>Grüße</body></html>'
    assert '<meta charset="utf-8">' in track(html).html


def test_a_document_without_a_body_gets_the_pixel_at_its_end():
    out = track("<html><head><title>t</title></head></html>").html
    assert re.fullmatch(r"<html><head><title>t</title></head><img [^>]*></html>", out)


def test_off_leaves_everything_as_it_is():
    assert track(mode=Mode.OFF) == Tracked(OUTLOOK, ())


def test_a_second_pass_changes_nothing():
    first = track()
    again = rewrite(first.html, base_url=BASE, key=KEY, who="r-1", mode=Mode.INDIVIDUAL)
    assert again == Tracked(first.html, ())


def test_a_quoted_tracked_message_keeps_its_links_and_the_new_one_is_tracked_once():
    quoted = track('<p><a href="https://old.contoso.com/">old</a></p>', who="old-recipient").html
    reply = f'<p><a href="https://new.contoso.com/">new</a></p><blockquote>{quoted}</blockquote>'
    tracked = track(reply, who="r-2")
    assert tracked.links == ("https://new.contoso.com/",)
    hrefs = anchors(tracked.html)
    assert read_click(KEY, hrefs["new"].removeprefix(BASE + "/t/c/")) == ("r-2", 0)
    assert read_click(KEY, hrefs["old"].removeprefix(BASE + "/t/c/")) == ("old-recipient", 0)
    assert [verify(KEY, Kind.OPEN, p) for p in pixels(tracked.html)] == ["old-recipient", "r-2"]


def test_anonymous_mode_gives_every_recipient_the_same_message():
    one = track(who="send-9", mode=Mode.ANONYMOUS)
    assert one == track(who="send-9", mode=Mode.ANONYMOUS)
    assert verify(KEY, Kind.OPEN, pixels(one.html)[0]) == "send-9"


@pytest.mark.parametrize(("fragment", "expected"), [
    ('<p>Hi <a href="https://x.example/a">a</a></p>tail', '<p>Hi <a href="{c}">a</a></p>tail{p}'),
    ("just text, ümlaut", "just text, ümlaut{p}"),
    ("", "{p}"),
    ("<style>p {}</style><p>x</p>", "<style>p {}</style><p>x</p>{p}"),
    ("<p><![if !mso]>not Outlook<![endif]></p>", "<p><![if !mso]>not Outlook<![endif]></p>{p}"),
])
def test_a_fragment_stays_a_fragment(fragment, expected):
    tracked = track(fragment, who="s")
    pixel = (f'<img src="{BASE}/t/o/{sign(KEY, Kind.OPEN, "s")}.gif" width="1" height="1" '
             'alt="" style="display:none;border:0">')
    click = f"{BASE}/t/c/{sign(KEY, Kind.CLICK, 's|0')}"
    assert tracked.html == expected.replace("{c}", click).replace("{p}", pixel)


def test_a_bad_base_url_is_refused():
    with pytest.raises(ValueError):
        rewrite("<p>x</p>", base_url="rollcall.contoso.com", key=KEY, who="s", mode=Mode.ANONYMOUS)


@pytest.mark.parametrize(("value", "mode"), [
    (None, Mode.ANONYMOUS), ("", Mode.ANONYMOUS), ("off", Mode.OFF),
    (" Individual ", Mode.INDIVIDUAL), ("anonymous", Mode.ANONYMOUS),
])
def test_parse_mode(value, mode):
    assert parse_mode(value) is mode


def test_an_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="ROLLCALL_TRACKING"):
        parse_mode("of")


# ---- verdicts ------------------------------------------------------------------------------

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")
OUTLOOK_DESKTOP = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
APPLE_MAIL = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko)")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
CUBOT = ("Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36")
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
BING = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "BingPreview/1.0b")
APPLE_IP, OFFICE_IP = "17.58.101.3", "198.51.100.20"


@pytest.mark.parametrize(("kind", "ua", "ip", "seconds", "head", "verdict"), [
    ("open", "Mozilla/5.0", APPLE_IP, 4.0, False, Verdict.APPLE_PROXY),  # MPP
    ("open", "Mozilla/5.0", "104.28.1.1", 900.0, False, Verdict.APPLE_PROXY),  # MPP, 2nd hop
    ("open", APPLE_MAIL, APPLE_IP, 60.0, False, Verdict.APPLE_PROXY),
    ("open", APPLE_MAIL, "2620:149:a:1::5", 60.0, False, Verdict.APPLE_PROXY),
    ("open", "", APPLE_IP, 60.0, False, Verdict.APPLE_PROXY),
    ("open", APPLE_MAIL, OFFICE_IP, 60.0, False, Verdict.HUMAN),  # Apple Mail without MPP
    ("open", GMAIL, "66.249.84.1", 300.0, False, Verdict.GOOGLE_PROXY),
    ("open", YAHOO, "98.136.1.1", 300.0, False, Verdict.YAHOO_PROXY),
    ("open", OUTLOOK_DESKTOP, OFFICE_IP, 2.0, False, Verdict.HUMAN),  # fast opens are real
    ("open", CHROME, OFFICE_IP, None, False, Verdict.HUMAN),
    ("open", "", OFFICE_IP, 60.0, False, Verdict.SCANNER),
    ("open", CHROME, OFFICE_IP, 60.0, True, Verdict.SCANNER),
    ("click", CHROME, "40.94.1.1", 3.0, False, Verdict.SCANNER),  # Safe Links-like
    ("click", CHROME, "40.94.1.1", -1.0, False, Verdict.SCANNER),
    ("click", CHROME, OFFICE_IP, FAST_CLICK_S, False, Verdict.HUMAN),
    ("click", CHROME, OFFICE_IP, 120.0, False, Verdict.HUMAN),
    ("click", CHROME, OFFICE_IP, None, False, Verdict.HUMAN),
    ("click", IPHONE_SAFARI, APPLE_IP, 600.0, False, Verdict.HUMAN),  # MPP never clicks
    ("click", CUBOT, OFFICE_IP, 600.0, False, Verdict.HUMAN),
    ("click", "Mozilla/5.0", APPLE_IP, 600.0, False, Verdict.SCANNER),
    ("click", CHROME, OFFICE_IP, 600.0, True, Verdict.SCANNER),
    ("click", "curl/8.5.0", OFFICE_IP, 600.0, False, Verdict.SCANNER),
    ("click", "python-requests/2.32.3", OFFICE_IP, 600.0, False, Verdict.SCANNER),
    ("click", "Microsoft Office Existence Discovery", OFFICE_IP, 600.0, False, Verdict.SCANNER),
    ("click", BING, OFFICE_IP, 600.0, False, Verdict.SCANNER),
    ("click", "Mozilla/5.0 (compatible; Barracuda Sentinel)", OFFICE_IP, 600.0, False,
     Verdict.SCANNER),
    ("click", "Mozilla/5.0 (compatible; Googlebot/2.1)", OFFICE_IP, 600.0, False,
     Verdict.SCANNER),
    ("click", "   ", OFFICE_IP, 600.0, False, Verdict.SCANNER),
])
def test_classify(kind, ua, ip, seconds, head, verdict):
    assert classify(kind, ua, ip, seconds, head_request=head) is verdict


def test_classify_knows_only_opens_and_clicks():
    with pytest.raises(ValueError):
        classify("unsubscribe", CHROME, OFFICE_IP, 60.0)


@pytest.mark.parametrize("verdict", list(Verdict))
def test_only_a_human_counts_as_a_person(verdict):
    assert counts_as_person(verdict) is (verdict is Verdict.HUMAN)


@pytest.mark.parametrize(("ip", "kept"), [
    ("203.0.113.77", "203.0.113.0"),
    (" 10.1.2.3 ", "10.1.2.0"),
    ("2001:db8:abcd:12:3456::1", "2001:db8:abcd::"),
    ("::ffff:198.51.100.9", "198.51.100.0"),
    ("fe80::1%eth0", "fe80::"),
    ("not an ip", ""),
    ("", ""),
    ("300.1.1.1", ""),
])
def test_truncate_ip(ip, kept):
    assert truncate_ip(ip) == kept
