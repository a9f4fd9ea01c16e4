"""Each recipient's copy: one envelope recipient, its own Message-ID, the VERP bounce address,
RFC 8058 one-click unsubscribe, optional tracking, DKIM last (a header re-folded after signing
breaks the signature), serialised with CRLF line ends (email.policy.SMTP)."""

from __future__ import annotations

import email.policy
import functools
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
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
    unsubscribe = unsubscribe_url(content.base_url, claimed.token)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = content.from_address
    msg["To"] = claimed.address
    msg["Subject"] = content.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = claimed.message_id
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Rollcall-R"] = claimed.token  # a bounce that lost its envelope still names it
    # Out-of-office replies from Exchange to a broadcast help nobody (they are not bounces).
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    links: tuple[str, ...] = ()
    html = content.html
    mode = Mode(content.tracking)
    if html is not None and mode is not Mode.OFF:
        # Individual tracking knows the person (their token); anonymous only the send.
        who = claimed.token if mode is Mode.INDIVIDUAL else f"s{content.id}"
        html, links = _tracked(html, content.base_url, tracking_key, who, mode)
    if content.text is not None:
        msg.set_content(content.text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html or "", subtype="html")
    data = msg.as_bytes(policy=email.policy.SMTP)
    if dkim is not None:
        data = sign(data, dkim)
    return Envelope(bounce_address(bounce_template, claimed.token, content.from_address),
                    claimed.address, data, links)


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
