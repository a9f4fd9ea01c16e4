"""Bounce-backs read: who a returned report is about, what it says, and which Rollcall copy it
answers (notes/sending.md §6.5, issue 16).

Pure: bytes in, a BounceReport out; no network, no database, and never an exception (a report
that cannot be read is kind UNKNOWN, method "none", and is kept and shown by the caller).
Read in order, the first that names a recipient wins:
  1. "dsn": RFC 3464 message/delivery-status parts, with the stdlib email package;
  2. "exchange_text": Exchange's human-readable NDR when its machine-readable part was lost;
  3. "autoreply": out-of-office and other automatic answers (RFC 3834): not bounces;
  4. "heuristic": flufl.bounce's detectors (addresses only) for reports that follow no standard.
The copy is found by token: the envelope recipient's VERP token first, then X-Rollcall-R in the
returned headers or text, then the token inside a returned Message-ID (<TOKEN.ID@domain>).
"""

from __future__ import annotations

import base64
import binascii
import logging
import quopri
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr
from typing import Any

from flufl.bounce import all_failures

from . import dsn_words as w
from .dsn_words import BounceKind

__all__ = ["BounceKind", "BounceReport", "Failure", "parse_bounce", "verp_token"]

# flufl.bounce logs a line per detector it tries (INFO) and a traceback for any detector that
# fails before re-raising (ERROR); _heuristic handles the failure, and a bounce listener logging
# at INFO would print seventeen lines a report. Its own logger only.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

_TOKEN = re.compile(r"[0-9a-f]{24}", re.I)  # secrets.token_hex(12), store/outbox.py
_TOKEN_LINE = re.compile(r"^[ \t>]*X-Rollcall-R:[ \t]*([0-9a-f]{24})\b", re.I | re.M)
_ID_LINE = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]+@[^<>\s]+>)", re.I | re.M)
_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_ID_TOKEN = re.compile(r"^<([0-9a-f]{24})\.\d+@", re.I)
_TYPE = re.compile(r"[A-Za-z][\w.-]*")  # an RFC 3464 address, MTA or diagnostic type


@dataclass(frozen=True, slots=True)
class Failure:
    """One recipient a report is about."""

    address: str | None  # Final-Recipient (or Original-Recipient, or heuristics' address)
    action: str | None  # failed | delayed | delivered | relayed | expanded
    status: str | None  # "5.1.1"
    diagnostic: str | None  # Diagnostic-Code without its "smtp;" type
    remote_mta: str | None
    kind: BounceKind
    meaning: str  # plain words

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "status": self.status,
                "diagnostic": self.diagnostic, "remote_mta": self.remote_mta,
                "kind": self.kind.value, "meaning": self.meaning}


@dataclass(frozen=True, slots=True)
class BounceReport:
    """What a returned message says, and which copy it answers."""

    kind: BounceKind  # hard if any failure is hard, then policy, then soft; delayed if all are
    failures: tuple[Failure, ...]
    tokens: tuple[str, ...]  # Rollcall tokens found, best first (lower case)
    message_ids: tuple[str, ...]  # original Message-IDs found, with their angle brackets
    subject: str | None
    reporter: str | None  # Reporting-MTA, Exchange's generating server, or the report's From
    method: str  # "dsn" | "exchange_text" | "heuristic" | "autoreply" | "none"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "failures": [f.to_json() for f in self.failures],
                "tokens": list(self.tokens), "message_ids": list(self.message_ids),
                "subject": self.subject, "reporter": self.reporter, "method": self.method}


def verp_token(envelope_rcpt: str | None, template: str | None) -> str | None:
    """The token in a VERP address made from `template` ("bounces+{token}@rollcall.contoso.com"),
    lower case; None when either is missing or the address does not fit the template."""
    if not envelope_rcpt or not template or template.count("{token}") != 1:
        return None
    address = parseaddr(envelope_rcpt)[1] or envelope_rcpt.strip().strip("<>")
    before, after = template.strip().split("{token}")
    # Domains are case-insensitive; MTAs have been seen to change the local part's case too,
    # and the token is hex, so nothing is lost by ignoring case throughout.
    found = re.fullmatch(re.escape(before) + r"([0-9a-f]{24})" + re.escape(after),
                         address.strip(), re.I)
    return found[1].lower() if found else None


def parse_bounce(raw: bytes, envelope_rcpt: str | None = None,
                 template: str | None = None) -> BounceReport:
    """Read a returned message; never raises. Callers must handle kind UNKNOWN (keep and show
    it), AUTOREPLY and DELAYED (not bounces), and reports with no token (match by address)."""
    verp = verp_token(envelope_rcpt, template)
    try:
        return _read(raw, verp)
    except Exception:  # a report nobody can read is still kept and shown, never dropped
        return BounceReport(BounceKind.UNKNOWN, (), (verp,) if verp else (), (), None, None,
                            "none")


def _read(raw: bytes, verp: str | None) -> BounceReport:
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)

    def get(name: str) -> str | None:
        return _header(msg, name)

    text = "\n".join(_texts(msg))
    failures, reporter, envelope_ids, original_ids = _dsn(msg)
    method = "dsn"
    if not failures:
        exchange = w.exchange_text(text)
        if exchange is not None:
            method, reporter = "exchange_text", exchange[0]
            failures = [_failure(address, action, None, said, None)
                        for address, action, said in exchange[1]]
        elif w.is_autoreply(get, msg.get_content_type(), msg.get_param("report-type")):
            method = "autoreply"
        else:
            failures = _heuristic(msg, text)
            method = "heuristic" if failures else "none"
    returned = _returned(msg)
    message_ids = _unique(
        [i for h in returned for i in _ID.findall(str(h.get("message-id", "")))[:1]]
        + original_ids + _ID_LINE.findall(text)
        + _ID.findall(f"{get('in-reply-to') or ''} {get('references') or ''}"))
    found = [verp or "", *envelope_ids, *(str(h.get("x-rollcall-r", "")).strip()
                                          for h in returned), *_TOKEN_LINE.findall(text),
             *(m[1] for m in map(_ID_TOKEN.match, message_ids) if m)]
    tokens = _unique([t.lower() for t in found if _TOKEN.fullmatch(t)])
    sender = get("from")
    return BounceReport(_overall(failures, method), tuple(failures), tuple(tokens),
                        tuple(message_ids), get("subject"),
                        reporter or (parseaddr(sender)[1] or sender if sender else None), method)


def _overall(failures: list[Failure], method: str) -> BounceKind:
    if method == "autoreply":
        return BounceKind.AUTOREPLY
    kinds = {f.kind for f in failures}
    for kind in (BounceKind.HARD, BounceKind.POLICY, BounceKind.SOFT):
        if kind in kinds:
            return kind
    return BounceKind.DELAYED if kinds == {BounceKind.DELAYED} else BounceKind.UNKNOWN


def _failure(address: str | None, action: str | None, status: str | None,
             diagnostic: str | None, remote_mta: str | None) -> Failure:
    status = w.status_of(status, diagnostic)
    kind = w.classify(action, status, diagnostic)
    return Failure(address, action, status, diagnostic, remote_mta, kind,
                   w.words(kind, status, diagnostic))


# --- RFC 3464 ---------------------------------------------------------------------------------

def _dsn(msg: Message) -> tuple[list[Failure], str | None, list[str], list[str]]:
    """Each per-recipient block of every message/delivery-status part, the Reporting-MTA, the
    ENVIDs (Original-Envelope-Id) and Gmail's X-Original-Message-ID."""
    failures: list[Failure] = []
    reporter: str | None = None
    envelope_ids: list[str] = []
    original_ids: list[str] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part):
            if any(block.get(n) for n in ("final-recipient", "original-recipient", "action")):
                address = (_typed(block, "final-recipient") or _typed(block, "original-recipient")
                           or _typed(block, "x-actual-recipient"))
                action = (_header(block, "action") or "").split(" ")[0].lower() or None
                failures.append(_failure(
                    (parseaddr(address)[1] or address) if address else None, action,
                    _header(block, "status"), w.diagnostic(_typed(block, "diagnostic-code")),
                    w.host(_typed(block, "remote-mta"))))
            else:
                reporter = reporter or _typed(block, "reporting-mta")
                envelope_ids += [v.strip() for v in [_header(block, "original-envelope-id")] if v]
                original_ids += _ID.findall(_header(block, "x-original-message-id") or "")
    return failures, reporter, envelope_ids, original_ids


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    encoding = (_header(part, "content-transfer-encoding") or "").lower()
    if isinstance(payload, list) and encoding not in ("base64", "quoted-printable"):
        return [b for b in payload if isinstance(b, Message)]
    if isinstance(payload, list):  # the parser took the encoded text for header blocks
        body = "\n\n".join(b.as_string() for b in payload if isinstance(b, Message)).encode()
        try:
            text = (base64.b64decode(body) if encoding == "base64"
                    else quopri.decodestring(body)).decode("utf-8", "replace")
        except binascii.Error:
            return []
    else:
        text = _decoded(part)
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text)
    return [HeaderParser(policy=policy.compat32).parsestr(c.strip()) for c in chunks if c.strip()]


def _typed(block: Message, name: str) -> str | None:
    """A field's value without its RFC 3464 type ("rfc822; a@b" -> "a@b", "dns; mx" -> "mx")."""
    value = _header(block, name)
    if value is None:
        return None
    kind, sep, rest = value.partition(";")
    return (rest.strip() if sep and _TYPE.fullmatch(kind.strip()) else value) or None


# --- MIME -------------------------------------------------------------------------------------

def _header(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    if value is None:
        return None
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except Exception:  # a bad encoded word: keep the raw text
        pass
    return re.sub(r"\s+", " ", text).strip() or None


def _decoded(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def _texts(msg: Message) -> list[str]:
    """Every text part's words, HTML made plain (Exchange Online's NDR may be HTML only)."""
    found: list[str] = []
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        subtype = part.get_content_subtype()
        if subtype == "rfc822-headers":
            continue  # read as headers by _returned
        text = _decoded(part)
        if subtype == "html":
            text = w.plain(text)
        found.append(text.replace("\xa0", " "))
    return found


def _returned(msg: Message) -> list[Message]:
    """The original message's headers, as message/rfc822 or text/rfc822-headers returned them."""
    found: list[Message] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list):
                found += [m for m in payload if isinstance(m, Message)]
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            found.append(HeaderParser(policy=policy.compat32).parsestr(_decoded(part)))
    return found


# --- Heuristics -------------------------------------------------------------------------------

def _heuristic(msg: Message, text: str) -> list[Failure]:
    """flufl.bounce's addresses: permanent ones failed, temporary ones (its warnings) delayed;
    a status only where the text gives one next to the address."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # its detectors re-raise whatever they hit on a malformed message
        return []
    failures: list[Failure] = []
    for found, action in ([(a, "failed") for a in sorted(permanent)]
                          + [(a, "delayed") for a in sorted(temporary - permanent)]):
        address = found.decode("ascii", "replace")
        status, said = w.near(text, address) if action == "failed" else (None, None)
        failures.append(_failure(address, action, status, said, None))
    return failures


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
