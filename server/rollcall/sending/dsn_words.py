"""How Rollcall reads a bounce report's words: the kind of a failure (hard, soft, policy,
delayed), its meaning in plain words, whether a message is an auto-reply rather than a bounce,
and Exchange's human-readable non-delivery report when no machine-readable part survived.

Pure: strings and header values in, small values out; no I/O. `dsn.py` does the MIME.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from enum import StrEnum

from .replies import enhanced_code, meaning


class BounceKind(StrEnum):
    HARD = "hard"  # the address is bad: suppress it
    SOFT = "soft"  # a temporary trouble at the recipient's end (full mailbox): score it
    POLICY = "policy"  # refused for spam, reputation or authentication: the address may be fine
    DELAYED = "delayed"  # still being tried: not a bounce
    AUTOREPLY = "autoreply"  # out of office and the like: not a bounce, ignored
    UNKNOWN = "unknown"  # unreadable, or not about a failure: kept and shown


_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
_BASIC = re.compile(r"\s*#?\s*([245]\d\d)(?:[ -]|$)")
# RFC 5321 §4.5.3.1.10 and common practice (Mailman, listmonk, KumoMTA's QuotaIssues): a full
# mailbox is the recipient's passing trouble, even when the server words it as 5.2.2.
_FULL = re.compile(r"mailbox (?:is )?full|over ?quota|quota ?exceeded|exceeded (?:the |its |their "
                   r"|his |her )?(?:storage|quota)|insufficient (?:system )?storage|\bquota\b",
                   re.I)
# A refusal worded as policy where the server gave no 5.7 code ("554 Message rejected as spam").
_POLICY = re.compile(r"\bspam|\bblock(?:ed|list)|\bblacklist|\bdmarc\b|\bspf\b|\bdkim\b|"
                     r"\bpolicy\b|reputation|\brelay(?:ing)? (?:access )?denied|unable to relay|"
                     r"not authori[sz]ed|\bauthenticat", re.I)


def status_parts(status: str | None) -> tuple[int, int, int] | None:
    found = _STATUS.fullmatch(status) if status else None
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def basic_code(diagnostic: str | None) -> int | None:
    """The SMTP reply code a diagnostic opens with ("550 5.1.1 ..." -> 550), or None."""
    found = _BASIC.match(diagnostic) if diagnostic else None
    return int(found[1]) if found else None


def status_of(status: str | None, diagnostic: str | None) -> str | None:
    """A valid RFC 3463 status: the report's Status field, else the one the diagnostic opens
    with; None when neither has one."""
    if status:
        found = enhanced_code(status)
        if found:
            return found
    return enhanced_code(diagnostic.lstrip("#< ")) if diagnostic else None


def classify(action: str | None, status: str | None, diagnostic: str | None) -> BounceKind:
    """The kind of one recipient's failure; never raises."""
    action = (action or "").lower()
    if action.startswith("delayed"):
        return BounceKind.DELAYED  # RFC 3464: delayed means still being tried, whatever Status
    if action.startswith(("delivered", "relayed", "expanded")):
        return BounceKind.UNKNOWN  # a success report, not a failure
    parts = status_parts(status)
    text = diagnostic or ""
    if parts is None:
        code = basic_code(diagnostic)
        if code is not None and code < 500:
            return BounceKind.SOFT
        if _FULL.search(text):
            return BounceKind.SOFT
        if _POLICY.search(text):
            return BounceKind.POLICY
        # Action failed (or a heuristic's permanent failure) with no code at all: RFC 3464 says
        # "failed" is final, so the address is taken as bad.
        return BounceKind.HARD
    klass, subject, detail = parts
    if klass == 4:
        return BounceKind.SOFT
    if klass == 2:
        return BounceKind.UNKNOWN
    if subject == 7:
        return BounceKind.POLICY  # 5.7.x: blocked, spam, DMARC, relaying denied, authentication
    if subject == 1 or parts == (5, 4, 4):
        return BounceKind.HARD  # bad mailbox (5.1.1, 5.1.10), bad domain (5.1.2, 5.4.4)
    if parts == (5, 2, 2) or _FULL.search(text):
        return BounceKind.SOFT  # a full mailbox is temporary whatever class it came in
    if parts == (5, 2, 3) or subject in (3, 6):
        # Too big (5.2.3, 5.3.4) or a content the server will not take (5.6.x): this copy
        # did not arrive, but the address is fine; suppressing it would be wrong.
        return BounceKind.SOFT
    if subject == 0 and _POLICY.search(text):
        return BounceKind.POLICY  # "554 5.0.0 Message rejected as spam"
    return BounceKind.HARD


_PLAIN = {
    BounceKind.HARD: "The receiving system reported this address as failing for good, without "
                     "a status code.",
    BounceKind.SOFT: "The receiving system reported a temporary failure for this address, "
                     "without a status code.",
    BounceKind.POLICY: "The receiving system refused the message by policy (for example as "
                       "spam, or for failing sender checks).",
    BounceKind.DELAYED: "Delivery is delayed; the receiving side keeps trying.",
    BounceKind.UNKNOWN: "The report names this address but gives no failure.",
}
_DELAYED = "Not a bounce yet: delivery is delayed and still being tried. "


def words(kind: BounceKind, status: str | None, diagnostic: str | None) -> str:
    """A failure in plain words: replies.meaning where a code exists, else by kind."""
    code = basic_code(diagnostic)
    if code is None and status is None:
        return _PLAIN[kind]
    said = meaning(code, status)
    if kind is BounceKind.DELAYED:
        return _DELAYED + said
    parts = status_parts(status)
    if kind is BounceKind.SOFT and parts is not None and parts[0] == 5:
        return said + " Counted as a soft bounce: it usually clears once space is freed."
    return said


_REPEAT = re.compile(r"(\d{3})[ -]([245]\.\d{1,3}\.\d{1,3})\s+")


def host(value: str | None) -> str | None:
    """A Remote-MTA's name without Gmail's comment or the root's dot ("mx.example.com.")."""
    return (re.sub(r"\s*\(.*$", "", value).rstrip(".") or None) if value else None


def diagnostic(value: str | None) -> str | None:
    """A diagnostic on one line; a multi-line reply's repeated "550-5.1.1" prefixes dropped."""
    if not value:
        return None
    first = _REPEAT.match(value)
    if first:
        rest = re.sub(rf"\s+{first[1]}[ -]{re.escape(first[2])}\s+", " ", value[first.end():])
        value = f"{first[1]} {first[2]} {rest}"
    return re.sub(r"\s+", " ", value).strip() or None


# --- Auto-replies -----------------------------------------------------------------------------

_AUTO_SUBJECT = re.compile(r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
                           r"out of (?:the )?office|autoreply|abwesenheitsnotiz|"
                           r"r[ée]ponse automatique|respuesta autom[áa]tica)\b|^\s*auto:", re.I)
_BOUNCE_SUBJECT = re.compile(r"undeliver|delivery (?:status|has failed|failure|delayed)|"
                             r"mail delivery failed|failure notice|returned (?:mail|to sender)|"
                             r"non[- ]?delivery|could not be delivered|delivery notification", re.I)
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery (?:subsystem|system)", re.I)

Get = Callable[[str], str | None]


def looks_like_bounce(get: Get) -> bool:
    """Whether a message's headers say it is a bounce, not a person's auto-reply."""
    return bool(get("x-failed-recipients") or _DAEMON.search(get("from") or "")
                or _BOUNCE_SUBJECT.search(get("subject") or ""))


def is_autoreply(get: Get, content_type: str, report_type: object) -> bool:
    """An out-of-office or other automatic answer (RFC 3834, Exchange, vacation programs): not
    a bounce. A read receipt (a disposition-notification report) counts as one too."""
    if content_type == "multipart/report":
        return str(report_type or "").lower() == "disposition-notification"
    if looks_like_bounce(get):
        return False
    auto = (get("auto-submitted") or "").strip().lower()
    return bool(auto.startswith(("auto-replied", "auto-generated"))
                or get("x-autoreply") or get("x-autorespond")
                or (get("precedence") or "").strip().lower() == "auto_reply"
                or _AUTO_SUBJECT.search(get("subject") or ""))


_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/tr|/h\d|/li|/pre|/table)\b[^>]*>", re.I)
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)


def plain(markup: str) -> str:
    """An HTML part's words, a line per block (Exchange Online's NDR may be HTML only)."""
    return html.unescape(re.sub(r"<[^>]*>", "", _BREAKS.sub("\n", _HIDDEN.sub("", markup))))


# --- Exchange's human-readable NDR ------------------------------------------------------------

_EXCHANGE = re.compile(r"delivery has failed to these recipients|delivery is delayed to these "
                       r"recipients|diagnostic information for administrators", re.I)
_ORIGINAL = re.compile(r"original message headers:", re.I)
_DIAGNOSTICS = re.compile(r"diagnostic information for administrators:", re.I)
_DELAY = re.compile(r"delivery is delayed to these recipients|hasn't been delivered yet", re.I)
_GENERATING = re.compile(r"generating server:\s*(\S+)", re.I)
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_ADDRESS_LINE = re.compile(r"^(?:[^<(@]*[<(])?\s*(" + _ADDRESS.pattern + r")\s*[>)]?$")
_RETURNED = re.compile(r"remote server (?:at .*? )?returned '(.*)'", re.I)
_YOUR_MESSAGE = re.compile(r"your message to (\S+@\S+?) couldn't be delivered", re.I)

ExchangeFailure = tuple[str | None, str, str | None]  # address, action, diagnostic


def _exchange_diagnostic(line: str) -> str | None:
    returned = _RETURNED.search(line)
    if returned:
        text = returned[1]
    elif line.startswith("#") and _STATUS.search(line):
        text = line
    else:
        return None
    text = re.sub(r"\s*(?:##.*|>?\s*#SMTP#.*)$", "", text.strip()).strip("#<> ")
    lowered = text.lower()
    if "smtp;" in lowered:  # "< #5.0.0 smtp; 550 5.1.1 ...> #SMTP#" (Exchange 2007-2010)
        text = text[lowered.index("smtp;") + 5:]
    return text.strip().strip("#<> ") or None


def exchange_text(text: str) -> tuple[str | None, list[ExchangeFailure]] | None:
    """Exchange's own words ("Delivery has failed to these recipients or groups", "Diagnostic
    information for administrators: ... Remote Server returned '550 5.1.1 ...'"): the
    generating server and each failed address with its diagnostic; None when the text is not
    an Exchange NDR or names nobody."""
    if not _EXCHANGE.search(text):
        return None
    head = _ORIGINAL.split(text, maxsplit=1)[0]  # the returned headers name the sender too
    action = "delayed" if _DELAY.search(head) else "failed"
    generating = _GENERATING.search(head)
    pieces = _DIAGNOSTICS.split(head, maxsplit=1)
    intro, diagnostics = pieces[0], (pieces[1] if len(pieces) > 1 else "")
    found: dict[str | None, str | None] = {}
    current: str | None = None
    for line in (raw.strip() for raw in diagnostics.splitlines()):
        listed = _ADDRESS_LINE.match(line)
        if listed and not _GENERATING.match(line):
            current = listed[1]
            found.setdefault(current, None)
            continue
        said = _exchange_diagnostic(line)
        if said is not None and found.get(current) is None:
            found[current] = said  # the first reply is the final one; later lines are history
    named = [m[1] for m in (_YOUR_MESSAGE.search(intro),) if m] + _ADDRESS.findall(intro)
    for address in named:
        if None in found and address not in found:
            found[address] = found.pop(None)  # a diagnostic with no address line of its own
        found.setdefault(address, None)
    failures = [(address, action, said) for address, said in found.items()
                if address is not None or said is not None]
    if not failures:
        return None
    return (generating[1] if generating else None), failures


def near(text: str, address: str) -> tuple[str | None, str | None]:
    """The status and diagnostic a plain-text bounce gives just after naming an address (qmail's
    "(#5.1.1)", Exim's "550 5.1.1 ..." lines), or (None, None)."""
    at = text.lower().find(address.lower())
    if at < 0:
        return None, None
    lines = text[at + len(address):].splitlines()[:8]
    paragraph: list[str] = []
    for line in lines[1:] if lines and not lines[0].strip(" >:") else lines:
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    for line in paragraph:
        coded = re.search(r"\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b.*", line)
        if coded:
            return enhanced_code(coded[0]), coded[0]
    joined = " ".join(paragraph)
    hashed = re.search(r"\(#([245]\.\d{1,3}\.\d{1,3})\)", joined)
    if hashed:
        return hashed[1], joined or None
    return None, None
