"""Each recipient's copy: one envelope recipient, its own Message-ID, the VERP bounce address,
RFC 8058 one-click unsubscribe, optional tracking, DKIM last (a header re-folded after signing
breaks the signature), serialised with CRLF line ends (email.policy.SMTP)."""

from __future__ import annotations

import email.policy
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from .model import Claimed, SendContent
from .tracking import Mode, rewrite

# Signed when DKIM is on: what identifies the message and the unsubscribe headers (RFC 8058
# asks that they be covered).
SIGNED = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
          b"list-unsubscribe", b"list-unsubscribe-post")


@dataclass(frozen=True, slots=True)
class Dkim:
    domain: str
    selector: str
    key: bytes  # PEM

    @classmethod
    def from_files(cls, domain: str, selector: str, key_file: str) -> Dkim:
        return cls(domain, selector, Path(key_file).read_bytes())


@dataclass(frozen=True, slots=True)
class Envelope:
    mail_from: str
    rcpt: str
    data: bytes
    links: tuple[str, ...]  # the tracked links' targets, by index


def bounce_address(template: str | None, token: str, sender: str) -> str:
    """The envelope sender: the VERP template with the recipient's token, else the sender."""
    return template.replace("{token}", token) if template else sender


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def render(content: SendContent, claimed: Claimed, *, bounce_template: str | None,
           tracking_key: bytes, dkim: Dkim | None = None) -> Envelope:
    """One recipient's message, ready for MAIL FROM / RCPT TO / DATA."""
    mail_from = bounce_address(bounce_template, claimed.token, content.from_address)
    if Mode(content.tracking) is Mode.INDIVIDUAL or not _plain(claimed):
        data, links = _build(content, claimed.address, claimed.message_id, claimed.token,
                             _now(), tracking_key)
    else:
        # Every copy of a send is the same but for a few header values: build the message
        # once (the email package takes milliseconds a message) and fill them in per copy.
        template, links = _template(content, tracking_key)
        head, sep, body = template.partition(b"\r\n\r\n")
        head = (head.replace(_TO.encode(), claimed.address.encode())
                .replace(_MESSAGE_ID.encode(), claimed.message_id.encode())
                .replace(_TOKEN.encode(), claimed.token.encode())
                .replace(_DATE.encode(), _now().encode()))
        data = head + sep + body
    if dkim is not None:
        data = sign(data, dkim)
    return Envelope(mail_from, claimed.address, data, links)


# Stand-ins in the per-send template, as long as the values usually are so that the headers
# fold alike: plain ASCII that no value and no header name contains.
_TO = "rollcall-recipient-stand-in@example.invalid"
_MESSAGE_ID = "<rollcall-message-id-stand-in@example.invalid>"
_TOKEN = "rollcalltokenstandin0000"
_DATE = "Thu, 01 Jan 2099 00:00:00 +0000"  # as the email package writes any date back


def _now() -> str:
    """Now, as RFC 5322 writes it and the email package would (+0000, never GMT)."""
    return format_datetime(datetime.now(UTC))


def _plain(claimed: Claimed) -> bool:
    """Whether a copy can come from the template: ASCII values that fold like the stand-ins."""
    return (claimed.address.isascii() and claimed.message_id.isascii()
            and claimed.token.isascii() and len(claimed.address) <= 64
            and len(claimed.message_id) <= 72)


@functools.lru_cache(maxsize=16)
def _template(content: SendContent, tracking_key: bytes) -> tuple[bytes, tuple[str, ...]]:
    built = _build(content, _TO, _MESSAGE_ID, _TOKEN, _DATE, tracking_key)
    head = built[0].partition(b"\r\n\r\n")[0]
    for stand_in in (_TO, _MESSAGE_ID, _TOKEN, _DATE):
        # A stand-in the email package rewrote would go out as it is: never let one through.
        if stand_in.encode() not in head:
            raise AssertionError(f"the message template lost its stand-in {stand_in!r}")
    return built


def _build(content: SendContent, to: str, message_id: str, token: str, date: str,
           tracking_key: bytes) -> tuple[bytes, tuple[str, ...]]:
    unsubscribe = unsubscribe_url(content.base_url, token)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = content.from_address
    msg["To"] = to
    msg["Subject"] = content.subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Rollcall-R"] = token  # a bounce that lost its envelope still names it
    # Out-of-office replies from Exchange to a broadcast help nobody (they are not bounces).
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    links: tuple[str, ...] = ()
    html = content.html
    mode = Mode(content.tracking)
    if html is not None and mode is not Mode.OFF:
        # Individual tracking knows the person (their token); anonymous only the send.
        who = token if mode is Mode.INDIVIDUAL else f"s{content.id}"
        html, links = _tracked(html, content.base_url, tracking_key, who, mode)
    if content.text is not None:
        msg.set_content(content.text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html or "", subtype="html")
    return msg.as_bytes(policy=email.policy.SMTP), links


@functools.lru_cache(maxsize=64)
def _tracked(html: str, base_url: str, key: bytes, who: str,
             mode: Mode) -> tuple[str, tuple[str, ...]]:
    # Anonymous tracking rewrites a send's body once, not once per recipient. Unsubscribe
    # links are never sent through the click redirect.
    prefix = f"{base_url.rstrip('/')}/u/"
    tracked = rewrite(html, base_url=base_url, key=key, who=who, mode=mode,
                      exclude=lambda url: url.startswith(prefix))
    return tracked.html, tracked.links


def sign(data: bytes, dkim: Dkim) -> bytes:
    """The message with its DKIM-Signature header first (dkimpy; RSA or ed25519 keys)."""
    import dkim as dkimpy

    header = dkimpy.sign(data, dkim.selector.encode(), dkim.domain.encode(), dkim.key,
                         include_headers=list(SIGNED), linesep=b"\r\n")
    return bytes(header) + data
