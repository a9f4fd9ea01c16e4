"""Open and click tracking: signed tokens, the HTML rewrite, and a verdict on each request.

Pure logic (stdlib and lxml): the caller reads ROLLCALL_TRACKING, stores the links `rewrite`
returns (one row per send and index), serves /t/o/<token>.gif and /t/c/<token>, and stores only
the verdict and `truncate_ip` of each request, never the raw IP or user agent (the approach
proposed in kannon-email/kannon#412; listmonk and Postal track opens and clicks the same way).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import lxml.html


class Mode(StrEnum):
    """ROLLCALL_TRACKING: nothing, per send (listmonk's default), or per recipient."""

    OFF = "off"
    ANONYMOUS = "anonymous"
    INDIVIDUAL = "individual"


class Kind(StrEnum):
    OPEN = "open"
    CLICK = "click"


class Verdict(StrEnum):
    HUMAN = "human"
    APPLE_PROXY = "apple_proxy"
    GOOGLE_PROXY = "google_proxy"
    YAHOO_PROXY = "yahoo_proxy"
    SCANNER = "scanner"
    # No microsoft_proxy: no checkable fingerprint of a Microsoft image proxy was found;
    # Microsoft's known fetchers (Safe Links, Office link discovery) are scanners.


@dataclass(frozen=True, slots=True)
class Tracked:
    html: str
    links: tuple[str, ...]  # the original URLs; a click token's index points into this


def parse_mode(value: str | None) -> Mode:
    """The setting's Mode: unset or blank is anonymous; anything unknown is an error."""
    # A typo must not silently track people more (or less) than the organisation chose.
    text = (value or "").strip().lower()
    if not text:
        return Mode.ANONYMOUS
    try:
        return Mode(text)
    except ValueError:
        raise ValueError(
            f"ROLLCALL_TRACKING must be off, anonymous or individual, not {value!r}") from None


# ---- signed tokens -------------------------------------------------------------------------

_MAC_BYTES = 16  # HMAC-SHA256 truncated: 128 bits is ample against forgery of a redirect id
_MAC_CHARS = 22  # base64 of 16 bytes without padding
_MAX_TOKEN = 4096  # a request longer than this is not ours; refuse before any work
_URLSAFE = re.compile(r"[A-Za-z0-9_-]*")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Unused low bits in the last character would let several strings decode alike: a token
    # must have exactly one spelling, or "any changed character fails" would not hold.
    return data if _b64(data) == text else None


def _mac(key: bytes, kind: str, payload: bytes) -> bytes:
    if len(key) < 16:
        raise ValueError("the tracking key must be at least 16 bytes")
    # One derived key per kind: an open token can never pass as a click token, with no
    # separator in the message to get wrong.
    kind_key = hmac.new(key, b"rollcall/tracking/v1/" + kind.encode("utf-8"),
                        hashlib.sha256).digest()
    return hmac.new(kind_key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(key: bytes, kind: str, payload: str) -> str:
    """A URL-safe token ([A-Za-z0-9_-] only) carrying `payload`, bound to `kind` and `key`."""
    data = payload.encode("utf-8")
    # The payload is readable (base64), only tamper-proof: opaque ids only. No separator: the
    # MAC is always the last 22 characters, so "<token>.gif" splits without ambiguity.
    return _b64(data) + _b64(_mac(key, kind, data))


def verify(key: bytes, kind: str, token: str) -> str | None:
    """The payload of a token signed with `key` for `kind`; None for anything else."""
    if len(token) < _MAC_CHARS or len(token) > _MAX_TOKEN or not _URLSAFE.fullmatch(token):
        return None
    data, mac = _unb64(token[:-_MAC_CHARS]), _unb64(token[-_MAC_CHARS:])
    if data is None or mac is None or not hmac.compare_digest(mac, _mac(key, kind, data)):
        return None
    return data.decode("utf-8")  # valid: only `sign` (UTF-8) can have made a matching MAC


def read_click(key: bytes, token: str) -> tuple[str, int] | None:
    """(who, link index) of a click token; None when it is not a valid click token."""
    payload = verify(key, Kind.CLICK, token)
    if payload is None:
        return None
    who, bar, index = payload.rpartition("|")  # rpartition: `who` itself may hold a '|'
    if not bar or not (index.isascii() and index.isdecimal()):
        return None
    return who, int(index)


# ---- the HTML rewrite ----------------------------------------------------------------------

# Click tokens carry "who|index", never the URL; `rewrite` returns the URLs for the caller to
# store per send (links table). Why: tracked URLs stay short however long the original (some
# clients and scanners cut long URLs); the redirect target comes from our own table, so even a
# leaked key cannot make /t/c/ an open redirect; a wrong link can be fixed after sending. The
# cost is that table; personalised URLs make the list per recipient rather than per send.
_DOCUMENT = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype|html|head|body)\b",
                       re.I | re.S)
_DOCTYPE = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\b", re.I | re.S)
# Word's HTML (Outlook for Windows) uses "downlevel-revealed" conditionals such as
# <![if !supportLists]>…<![endif]> around typed list bullets. An HTML5 parser turns them into
# plain comments, so Outlook would then show both its own bullet and the typed one. They are
# hidden in marked comments for the parse and restored afterwards; real comments (including
# <!--[if mso]>…<![endif]-->) are matched first and left as they are.
_DOWNLEVEL = re.compile(r"<!--.*?-->|<!\[(?:if\b[^\]>]*|endif)\]>", re.I | re.S)
_MARK = "rollcall-downlevel:"
_MARKED = re.compile(r"<!--" + re.escape(_MARK) + r"(.*?)-->", re.S)
_UTF8 = lxml.html.HTMLParser(encoding="utf-8")  # bytes in: an XML declaration cannot fail it


def _hide_downlevel(html: str) -> str:
    def swap(match: re.Match[str]) -> str:
        text = match.group()
        return text if text.startswith("<!--") else f"<!--{_MARK}{text[3:-2]}-->"
    return _DOWNLEVEL.sub(swap, html)


def _clickable(href: str) -> bool:
    # Only absolute web links: mailto:, tel:, #anchors, relative and javascript: stay as written.
    parts = urlsplit(href)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def rewrite(html: str, *, base_url: str, key: bytes, who: str, mode: Mode,
            exclude: Callable[[str], bool] | Collection[str] = ()) -> Tracked:
    """The HTML with web links sent through /t/c/ and an open pixel; unchanged when off."""
    # `who` is the recipient's opaque token in individual mode and the send's id in anonymous
    # mode, so one anonymous rewrite serves every recipient of the send.
    if mode == Mode.OFF:
        return Tracked(html, ())
    base = base_url.rstrip("/")
    if not _clickable(base):
        raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
    clicks, opens = f"{base}/t/c/", f"{base}/t/o/"
    # Our own endpoints are never wrapped: /t/ is already tracked and /u/ is the unsubscribe
    # link, which must reach the person untracked (RFC 8058 pages are ours, not a redirect).
    ours = (f"{base}/t/", f"{base}/u/")
    skip = exclude if callable(exclude) else frozenset(exclude).__contains__

    full = bool(_DOCUMENT.match(html))
    data = _hide_downlevel(html).encode("utf-8")
    if full:
        root = lxml.html.document_fromstring(data, parser=_UTF8)
    else:
        root = lxml.html.fragment_fromstring(data, create_parent="div", parser=_UTF8)

    anchors = [a for a in root.iter("a") if a.get("href") is not None]
    pixels = [img.get("src", "") for img in root.iter("img")]
    if any(_is_own(a.get("href", "").strip(), clicks, key, Kind.CLICK, who) for a in anchors) or \
            any(_is_own(src, opens, key, Kind.OPEN, who) for src in pixels):
        # This is already our output for `who`: a second pass would number new links from 0
        # again, and clicks on them would redirect to the wrong URL.
        return Tracked(html, ())

    links: dict[str, int] = {}
    for anchor in anchors:
        href = anchor.get("href", "").strip()
        if not _clickable(href) or href.startswith(ours) or skip(href):
            continue
        index = links.setdefault(href, len(links))
        anchor.set("href", clicks + sign(key, Kind.CLICK, f"{who}|{index}"))

    body = root.find("body") if full else root
    parent = body if body is not None else root  # a document without <body>: its very end
    parent.append(parent.makeelement("img", {
        "src": f"{opens}{sign(key, Kind.OPEN, who)}.gif", "width": "1", "height": "1",
        "alt": "", "style": "display:none;border:0"}))
    # The caller sends the text as UTF-8, so a <meta charset> must agree (libxml2 drops
    # <meta http-equiv="Content-Type"> on output; mail clients follow the MIME charset).
    for meta in root.iter("meta"):
        if meta.get("charset") is not None:
            meta.set("charset", "utf-8")
    return Tracked(_serialise(root, full, bool(_DOCTYPE.match(html))), tuple(links))


def _is_own(url: str, prefix: str, key: bytes, kind: Kind, who: str) -> bool:
    if not url.startswith(prefix):
        return False
    payload = verify(key, kind, url[len(prefix):].removesuffix(".gif"))
    if payload is None:
        return False
    return (payload if kind is Kind.OPEN else payload.rpartition("|")[0]) == who


def _serialise(root: lxml.html.HtmlElement, full: bool, had_doctype: bool) -> str:
    if full:
        tree = root.getroottree()
        text = lxml.html.tostring(tree, encoding="unicode")
        doctype = tree.docinfo.doctype
        if not had_doctype and doctype:  # libxml2 invents an HTML 4.0 doctype: not ours to add
            text = text.removeprefix(doctype).lstrip("\n")
    else:  # the fragment's <div> wrapper, which has no attributes, comes off exactly
        text = lxml.html.tostring(root, encoding="unicode")[len("<div>"):-len("</div>")]
    return _MARKED.sub(lambda m: f"<![{m.group(1)}]>", text)


# ---- request verdicts ----------------------------------------------------------------------

# Apple's own address space, where Mail Privacy Protection prefetches come from: 17.0.0.0/8
# (Apple's ARIN block; check.live-direct-marketing.online) and Apple's IPv6 blocks. Indicative
# only: MPP relays in two hops (SocketLabs' MPP analysis), so some prefetches leave from
# partner networks; the bare user agent rule covers those.
APPLE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "17.0.0.0/8", "2620:149::/32", "2a01:b740::/32"))
# A click this soon after sending is faster than a person: Defender Safe Links and other
# gateways fetch every link within seconds of delivery (check.live-direct-marketing.online's
# analysis; a vendor blog, not Microsoft's word).
FAST_CLICK_S = 10.0
# "(?<!cu)bot" spares Cubot phones; every other "...bot" (Googlebot, bingbot, Slackbot) is one.
_SCANNER_UA = re.compile(
    r"(?<!cu)bot\b|crawl|spider|scanner|python-requests|python-urllib|aiohttp|httpx|curl/|"
    r"wget|go-http-client|java/|okhttp|libwww|headless|phantomjs|"
    r"microsoft office (?:existence|protocol) discovery|bingpreview|skypeuripreview|"
    r"barracuda|mimecast|proofpoint|safelinks", re.I)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:a.b.c.d from a dual-stack listener is IPv4
    return address


def classify(kind: str, user_agent: str, ip: str, seconds_since_sent: float | None,
             head_request: bool = False) -> Verdict:
    """Who most likely made an open or click request: a person, a mail proxy or a scanner."""
    kind = Kind(kind)  # ValueError for anything but "open" and "click"
    ua = user_agent.strip()
    if head_request:  # browsers and mail clients GET; HEAD is a link checker or a sandbox
        return Verdict.SCANNER
    # Gmail and Yahoo disclose their image proxies and fetch at open time, but show neither
    # the person's IP nor a repeat open (they cache), so they are kept apart.
    if "GoogleImageProxy" in ua:  # "... Firefox/11.0 (via ggpht.com GoogleImageProxy)"
        return Verdict.GOOGLE_PROXY
    if "YahooMailProxy" in ua:  # "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-..."
        return Verdict.YAHOO_PROXY
    if kind is Kind.OPEN:
        # MPP prefetches every image whether or not the message is read, with the bare user
        # agent "Mozilla/5.0" (ua-parser/uap-core#509). WebKit without a Safari token is Apple
        # Mail's own agent, but also Outlook's (warmbly/warmbly#569) and Apple Mail's without
        # MPP: only from Apple's addresses is it the proxy.
        address = _ip(ip)
        apple = address is not None and any(address in n for n in APPLE_NETWORKS)
        webkit = "AppleWebKit" in ua and "Safari" not in ua
        if ua == "Mozilla/5.0" or (apple and (webkit or not ua)):
            return Verdict.APPLE_PROXY
    if not ua or ua == "Mozilla/5.0" or _SCANNER_UA.search(ua):
        return Verdict.SCANNER  # no real browser sends nothing, or nothing but "Mozilla/5.0"
    if kind is Kind.CLICK and seconds_since_sent is not None and seconds_since_sent < FAST_CLICK_S:
        return Verdict.SCANNER
    return Verdict.HUMAN


def counts_as_person(verdict: Verdict) -> bool:
    """Whether a request with this verdict counts as a person's open or click."""
    return verdict == Verdict.HUMAN  # == : a verdict read back from the database is a str


def truncate_ip(ip: str) -> str:
    """The address with its host part zeroed (IPv4 /24, IPv6 /48); "" when not an address."""
    address = _ip(ip)
    if address is None:
        return ""
    host_bits = address.max_prefixlen - (24 if address.version == 4 else 48)
    return str(type(address)(int(address) >> host_bits << host_bits))  # a scope id goes too
