"""SMTP replies as Rollcall reads them: what a reply means in words, what to do about it, and
the relay's queue id from a final 250.

Pure. The sender hands in the stage it was at, the code (None when there was no reply: refused,
timed out, TLS failed, connection dropped) and the text after the code. `classify` sorts a reply
by stage x code x enhanced code (notes/sending.md §6.3-6.4, §7.4): only the recipient outcomes
touch the recipient; quota, sign-in and configuration replies pause the relay instead, because a
5xx that is not about the address must never mark an address as bad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    CONNECT = "connect"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    RSET = "rset"
    QUIT = "quit"


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # 2xx (and 3xx, the go-ahead within a command)
    RECIPIENT_TRANSIENT = "recipient_transient"  # defer this recipient, back off, charge a try
    RECIPIENT_PERMANENT = "recipient_permanent"  # this recipient has failed (bounced_hard)
    RELAY_TRANSIENT = "relay_transient"  # slow or pause the relay, requeue free, use fallback
    RELAY_PAUSED = "relay_paused"  # sign-in, configuration or quota: pause, tell an admin
    MESSAGE_PERMANENT = "message_permanent"  # this copy cannot go as it is; the address is fine


# RFC 3463: class 2/4/5, subject and detail 0-999 without leading zeros; "5.1.1.2" or "5.1.1x"
# is something else (a version, a host name), so a word character or ".digit" may not follow.
_ENHANCED = re.compile(
    r"^\s*(?:\d{3}[ -])?([245])\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})(?!\w|\.\d)")


def enhanced_code(text: str) -> str | None:
    """The RFC 3463 status code that opens a reply's text ("5.1.1"), or None; a leading basic
    code ("550 5.1.1 ...") is skipped. Callers must handle None: many servers send none."""
    found = _ENHANCED.match(text)
    return ".".join(found.groups()) if found else None


def _parts(enhanced: str | None) -> tuple[int, int, int] | None:
    found = _ENHANCED.fullmatch(enhanced) if enhanced else None
    if found is None:
        return None
    klass, subject, detail = (int(g) for g in found.groups())
    return klass, subject, detail


@dataclass(frozen=True, slots=True)
class Reply:
    """One server reply, or its absence (code None) at a stage; text is what followed the code."""

    code: int | None
    text: str
    stage: Stage

    @property
    def enhanced(self) -> str | None:
        return enhanced_code(self.text)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    meaning: str
    retry_after_s: float | None  # the server's own "try again in N seconds/minutes", if any


# --- Meanings -------------------------------------------------------------------------------
# Written for the sender and for IT alike: the words first, the product detail in brackets.

BASIC: dict[int, str] = {
    211: "System status or help from the server (for information only).",
    214: "Help text from the server (for information only).",
    220: "The server is ready.",
    221: "The server is closing the connection normally.",
    235: "Signing in to the relay succeeded.",
    250: "Accepted: the server took the request.",
    251: "Accepted: the recipient is elsewhere and the server will forward the message.",
    252: "The server cannot confirm the address but will accept the message and try to deliver it.",
    334: "The server is waiting for the next step of signing in.",
    354: "The server is ready to receive the message itself.",
    421: "The server is unavailable for now and closed the connection (busy, restarting, or "
         "limiting how fast it takes mail). Trying again later.",
    432: "The server is limiting how much it takes at once (Exchange: too many connections or "
         "messages at the same time). Trying again later.",
    450: "The mailbox is unavailable for now (busy, greylisting, or a temporary policy block).",
    451: "The server hit a temporary problem of its own and could not process the request.",
    452: "The server is short of storage for now, or was given too many recipients at once.",
    454: "A temporary failure: encryption (TLS) or signing in is unavailable right now.",
    455: "The server cannot accept the options sent with the command right now.",
    500: "The server did not understand the command (a syntax error, or a line that is too long).",
    501: "The server refused the command's details (often an address written wrongly).",
    502: "The server does not support this command.",
    503: "Commands came in an order the server refuses (often: it requires signing in first).",
    504: "The server does not support an option sent with the command.",
    521: "This server does not accept mail at all.",
    530: "The relay requires signing in (or an encrypted connection) before it accepts mail.",
    534: "The relay refused the sign-in method as too weak (it wants OAuth or a stronger method).",
    535: "Signing in to the relay failed: the user name or password was not accepted, or this "
         "account may not sign in this way.",
    538: "The relay requires an encrypted connection (TLS) before signing in.",
    550: "The mailbox is unavailable: it does not exist, access is denied, or a policy refused it.",
    551: "The recipient is not on this server; the server suggests another address.",
    552: "A size or storage limit was exceeded (the mailbox is full, or the message is too big).",
    553: "The address is not allowed (written wrongly, or the sender may not use it).",
    554: "The server refused the message (often a spam or policy decision).",
    555: "The server did not recognise options sent with the sender or recipient address (for "
         "example delivery-report options).",
}

# Where the stage changes what a basic code means (RFC 5321 §4.5.3.1.10 for 552 at RCPT).
_BY_STAGE: dict[tuple[int, Stage], str] = {
    (552, Stage.RCPT): "The recipient's mailbox is over its storage limit for now (or too many "
                       "recipients were given); this is treated as temporary.",
    (552, Stage.DATA): "The message is larger than the server accepts.",
    (553, Stage.MAIL): "The relay does not allow this sender address.",
    (550, Stage.MAIL): "The relay refused the sender address (not allowed, or blocked by policy).",
    (554, Stage.CONNECT): "The server refused the connection: it offers no mail service to "
                          "this client.",
}

_THROTTLED = "Exchange Online is holding back the sending mailbox after repeated '{}' errors; "\
             "an administrator needs to fix the cause."
_BANNED = "Exchange Online has banned the sending {} for spam; an administrator must contact " \
          "Microsoft to lift it."

ENHANCED: dict[str, str] = {
    "2.0.0": "Accepted.",
    "2.1.0": "The sender address was accepted.",
    "2.1.5": "The recipient address was accepted.",
    "2.6.0": "The message was accepted and queued for delivery.",
    "4.2.2": "The recipient's mailbox is full for now; it takes mail again once space is freed.",
    "4.3.1": "The receiving system is short of storage or resources for now.",
    "4.3.2": "The receiving system is not taking messages right now (Exchange: too many "
             "connections or messages at once).",
    "4.4.1": "The next mail server on the way did not answer for now.",
    "4.4.2": "The connection dropped, or the sending rate is over the server's limit (Exchange: "
             "message submission rate for this client exceeded).",
    "4.4.7": "The message waited in a queue too long without being delivered.",
    "4.7.0": "A temporary security or policy refusal (for example signing in or encryption is "
             "unavailable right now).",
    "4.7.1": "Temporarily refused by policy, often greylisting: the server asks senders it does "
             "not know yet to try again a little later.",
    "5.1.0": "The address was refused (Exchange: the sender or recipient could not be resolved).",
    "5.1.1": "The recipient's address does not exist (unknown user or mailbox).",
    "5.1.2": "The recipient's domain does not exist or cannot receive mail.",
    "5.1.3": "The address is written wrongly.",
    "5.1.8": "The sender is not accepted (Exchange Online: the sending account is blocked for "
             "sending spam).",
    "5.1.10": "The recipient was not found (Exchange Online: no mailbox or contact has this "
              "address).",
    "5.1.90": "The sending mailbox has reached its daily limit of recipients.",
    "5.2.0": "The mailbox could not take the message (Exchange Online also says this when the "
             "sending mailbox is over its sending quota).",
    "5.2.1": "The recipient's mailbox is disabled and not taking messages.",
    "5.2.2": "The recipient's mailbox is full.",
    "5.2.3": "The message is larger than the recipient's system accepts.",
    "5.2.251": _THROTTLED.format("mailbox full"),
    "5.2.252": _THROTTLED.format("send as denied"),
    "5.2.253": _THROTTLED.format("invalid licence"),
    "5.2.254": _THROTTLED.format("too many recipients"),
    "5.2.255": _THROTTLED.format("invalid recipients"),
    "5.3.4": "The message is larger than the receiving system accepts.",
    "5.4.1": "The recipient's address was refused: access denied (Exchange Online: the address "
             "does not exist there, or that server does not take mail for the domain).",
    "5.4.4": "No mail server could be found for the recipient's domain.",
    "5.5.0": "The receiving server refused the command (Outlook.com and Hotmail say this when the "
             "address does not exist).",
    "5.7.0": "Refused for a security or policy reason (often: signing in or an encrypted "
             "connection is required).",
    "5.7.1": "Not authorised: the server will not take this message for this sender or recipient "
             "(relaying denied, or the recipient does not accept mail from this sender).",
    "5.7.3": "A sign-in or security requirement was not met (Exchange Online: authentication "
             "unsuccessful; elsewhere: an encrypted connection is required).",
    "5.7.8": "Signing in failed: the user name or password was not accepted.",
    "5.7.26": "The message failed the sender's domain checks (SPF, DKIM or DMARC) and was refused.",
    "5.7.30": "Exchange Online no longer accepts a user name and password (basic authentication) "
              "for sending; the relay must sign in with OAuth.",
    "5.7.54": "On-premises Exchange refused to relay to this recipient: its receive connector "
              "does not let this server relay.",
    "5.7.57": "Exchange Online refused the message because the client did not sign in (SMTP "
              "AUTH is required on smtp.office365.com).",
    "5.7.60": "The signed-in account does not have permission to send as this sender (Send As).",
    "5.7.64": "Exchange Online could not match the relay to the organisation's connector "
              "(TenantAttribution): its IP address or certificate has changed.",
    "5.7.68": "Exchange Online refused the message as unauthorised Direct Send (the organisation "
              "has turned on Reject Direct Send).",
    "5.7.139": "Exchange Online refused the sign-in: SMTP AUTH is turned off for the tenant or "
               "mailbox, or the sign-in did not meet its policy.",
    "5.7.232": "The Microsoft 365 trial tenant has reached its daily limit of external "
               "recipients.",
    "5.7.233": "The Microsoft 365 organisation has reached its daily limit of external recipients "
               "(tenant external recipient rate limit).",
    "5.7.501": _BANNED.format("account"),
    "5.7.502": _BANNED.format("account"),
    "5.7.503": _BANNED.format("account"),
    "5.7.511": _BANNED.format("IP address"),
    "5.7.705": "Exchange Online has stopped the tenant sending: too much of its mail looked like "
               "spam.",
    "5.7.708": "Exchange Online does not accept mail from this IP address (low reputation, often "
               "a new tenant's).",
    "5.7.750": "Exchange Online blocked sending from domains the tenant has not registered.",
}
_Range = tuple[tuple[int, int, int], tuple[int, int, int], str]
# Exchange Online's temporary restrictions on a sender or IP: about the relay, not the recipient.
_RESTRICTED: tuple[_Range, ...] = (
    ((4, 7, 500), (4, 7, 699), "Exchange Online has restricted sending for now after suspicious "
                               "activity; it lifts by itself if the mail is legitimate."),
    ((4, 7, 850), (4, 7, 899), "Exchange Online has restricted this IP address for now after "
                               "suspicious activity."),
)
_ENHANCED_RANGES: tuple[_Range, ...] = (
    ((5, 7, 606), (5, 7, 649), _BANNED.format("IP address")), *_RESTRICTED)
_SUBJECTS = {
    0: "of a kind the server did not specify",
    1: "with the sender's or the recipient's address",
    2: "with the recipient's mailbox",
    3: "in the receiving mail system",
    4: "in the network or the routing between mail servers",
    5: "in the SMTP conversation itself",
    6: "with the message's content or format",
    7: "of security or policy (the message or sender was not allowed)",
}

_CAUSES = {  # connection-level failures (no reply): what the exception text says went wrong
    "refused": "The relay refused the connection (nothing listening at that address and port, "
               "or a firewall in the way)",
    "dns": "The relay's host name could not be found (DNS)",
    "tls": "The encrypted connection (TLS) with the relay failed (its certificate is not "
           "trusted, or the two sides share no TLS version)",
    "timeout": "The relay stopped answering (timed out)",
    "dropped": "The connection to the relay failed or dropped",
}
_CAUSE_WORDS = (
    ("dns", re.compile(r"name or service not known|nodename nor servname|getaddrinfo|name "
                       r"resolution|no address associated", re.I)),
    ("refused", re.compile(r"refused", re.I)),
    ("tls", re.compile(r"certificate|ssl|tls|handshake", re.I)),
    ("timeout", re.compile(r"timed? ?out", re.I)),
)
_WHILE = {
    Stage.CONNECT: " while connecting.",
    Stage.EHLO: " while greeting it (EHLO).",
    Stage.STARTTLS: " while starting encryption (STARTTLS).",
    Stage.AUTH: " while signing in.",
    Stage.MAIL: " while giving the sender address.",
    Stage.RCPT: " while giving the recipient address.",
    # Dropped after the message was sent: the relay may have queued it, so the copy is unproven.
    Stage.DATA: " while the message was being sent; it is not confirmed that the relay took it.",
    Stage.RSET: " while resetting between messages; messages already accepted are not affected.",
    Stage.QUIT: " while closing; messages already accepted are not affected.",
}


def _no_reply(stage: Stage | None, cause: str = "dropped") -> str:
    return _CAUSES[cause] + (_WHILE[stage] if stage else ".")


def meaning(code: int | None, enhanced: str | None, stage: Stage | None = None) -> str:
    """A reply in plain words for senders and IT; never empty. An unknown or malformed enhanced
    code falls back to its class and subject, then to the basic code."""
    if code is None and enhanced is None:
        return _no_reply(stage)
    parts = _parts(enhanced)
    if parts is not None:
        known = ENHANCED.get(".".join(map(str, parts)))
        if known is None:
            known = next((text for low, high, text in _ENHANCED_RANGES if low <= parts <= high),
                         None)
        if known is not None:
            return known
        klass, subject, _ = parts
        if subject in _SUBJECTS:
            if klass == 2:
                return f"Accepted (status {enhanced})."
            return (f"{'A temporary' if klass == 4 else 'A permanent'} problem "
                    f"{_SUBJECTS[subject]} (status {enhanced}).")
    if code is None:
        return _no_reply(stage)
    if stage is not None and (code, stage) in _BY_STAGE:
        return _BY_STAGE[(code, stage)]
    if code in BASIC:
        return BASIC[code]
    return {2: f"Accepted (reply {code}).",
            3: f"The server is waiting for more from Rollcall (reply {code}).",
            4: f"A temporary failure (reply {code}); trying again later.",
            5: f"A permanent failure (reply {code})."}.get(
        code // 100, f"The server sent a reply Rollcall does not recognise ({code}).")


# --- Classification -------------------------------------------------------------------------

# Word-bounded, since "rate" hides inside "generate", "separate", "corporate".
_RATE = re.compile(r"\brate\b|\brate[- ]?limit|\bthrottl|\btoo many\b|\bconcurren", re.I)
_QUOTA = re.compile(r"submission ?quota|sending quota|sending limit|relay limit", re.I)
_SEND_AS = re.compile(r"\bsend[- ]as\b", re.I)
_SIGN_IN = re.compile(r"authentication (?:is )?required|client (?:was )?not authenticated|"
                      r"must issue a starttls|starttls (?:is )?required", re.I)
_HINT = re.compile(r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?)\b"
                   r"|(?:retry|try again)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*([smh])\b", re.I)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}

# Not about the address: the sending mailbox, tenant or server is over a quota or banned.
_QUOTA_CODES = {(5, 2, n) for n in range(251, 256)} | {(5, 7, 232), (5, 7, 233), (5, 1, 90)}
_BANNED_CODES = {(5, 1, 8), (5, 7, 501), (5, 7, 502), (5, 7, 503), (5, 7, 511), (5, 7, 705),
                 (5, 7, 708), (5, 7, 750)} | {(5, 7, n) for n in range(606, 650)}
# Sign-in, Send As, connector and relay-permission settings: an admin must act, and suppressing
# every recipient for them would be wrong.
_CONFIG_CODES = {(5, 7, n) for n in (3, 8, 30, 54, 57, 60, 64, 68, 139)}
_PAUSE_CODES = _QUOTA_CODES | _BANNED_CODES | _CONFIG_CODES
_SIGN_IN_REPLIES = {530, 534, 535, 538}
# How Rollcall speaks SMTP, not who it writes to (a bare LF gets 500; DSN options 555, §7).
_PROTOCOL_REPLIES = {500, 502, 503, 504, 555}
_SESSION = (Stage.CONNECT, Stage.EHLO, Stage.STARTTLS, Stage.AUTH)


def retry_hint(text: str) -> float | None:
    """Seconds the server asks to wait ("try again in 5 minutes", "retry in 30s"), or None."""
    found = _HINT.search(text)
    if found is None:
        return None
    number, unit = (found.group(1), found.group(2)) if found.group(1) else found.group(3, 4)
    return float(number) * _UNIT_S[unit[0].lower()]


def _cause(text: str) -> str:
    return next((cause for cause, words in _CAUSE_WORDS if words.search(text)), "dropped")


def classify(reply: Reply) -> Verdict:
    """What to do about a reply (§6.3): always a verdict, never an error; an unknown code is a
    relay-level transient. Callers honour retry_after_s on top of their own back-off."""
    code, text, stage = reply.code, reply.text, reply.stage
    parts = _parts(reply.enhanced)
    said = meaning(code, reply.enhanced, stage)
    hint = retry_hint(text)

    def verdict(outcome: Outcome, words: str = said) -> Verdict:
        return Verdict(outcome, words, None if outcome is Outcome.ACCEPTED else hint)

    if code is None:
        return verdict(Outcome.RELAY_TRANSIENT, _no_reply(stage, _cause(text)))
    if not 200 <= code <= 599:
        return verdict(Outcome.RELAY_TRANSIENT)
    if code < 400:
        return verdict(Outcome.ACCEPTED)
    permanent = code >= 500
    if code == 421 or stage in (Stage.RSET, Stage.QUIT):
        return verdict(Outcome.RELAY_TRANSIENT)
    if _QUOTA.search(text):
        return verdict(Outcome.RELAY_PAUSED, "The sending mailbox or relay has reached its "
                       "sending quota (Exchange Online: 10,000 recipients a day per mailbox).")
    if permanent and parts in _PAUSE_CODES:
        return verdict(Outcome.RELAY_PAUSED)
    if code in _SIGN_IN_REPLIES or (permanent and _SIGN_IN.search(text)):
        return verdict(Outcome.RELAY_PAUSED, said if code in _SIGN_IN_REPLIES else
                       "The relay requires signing in (or encryption) before it takes mail.")
    if permanent and _SEND_AS.search(text):
        return verdict(Outcome.RELAY_PAUSED, ENHANCED["5.7.60"])
    if code in _PROTOCOL_REPLIES or (code == 501 and stage is not Stage.RCPT):
        return verdict(Outcome.RELAY_PAUSED)
    if not permanent:
        # A busy mailbox (X.2.x, Gmail's 4.2.1 "receiving mail at a rate") is this recipient's.
        if stage in (Stage.RCPT, Stage.DATA) and parts is not None and parts[1] == 2:
            return verdict(Outcome.RECIPIENT_TRANSIENT)
        if (code == 432 or _RATE.search(text) or stage in _SESSION
                or any(low <= parts <= high for low, high, _ in _RESTRICTED if parts)):
            return verdict(Outcome.RELAY_TRANSIENT)
        return verdict(Outcome.RECIPIENT_TRANSIENT)
    if stage in _SESSION or stage is Stage.MAIL:
        return verdict(Outcome.RELAY_PAUSED)
    if parts == (5, 2, 2) or (code == 552 and stage is Stage.RCPT):
        return verdict(Outcome.RECIPIENT_TRANSIENT)  # mailbox full: RFC 5321 §4.5.3.1.10
    if code == 552 or parts == (5, 7, 26) or (stage is Stage.DATA and parts is not None and (
            parts[:2] == (5, 6) or parts in ((5, 2, 3), (5, 3, 4)))):
        return verdict(Outcome.MESSAGE_PERMANENT)  # too big, bad format, or failed DMARC
    return verdict(Outcome.RECIPIENT_PERMANENT)


# --- Queue ids ------------------------------------------------------------------------------

_QUEUE_IDS = (
    re.compile(r"\bqueued as ([A-Za-z0-9]+)", re.I),  # Postfix
    re.compile(r"\[InternalId=([^,\]\s]+)"),  # Exchange, Exchange Online
    re.compile(r"(?:^|\s)id=([A-Za-z0-9][A-Za-z0-9-]*)"),  # Exim
    re.compile(r"(?:^|\s)([A-Za-z0-9]{8,})\s+Message accepted for delivery", re.I),  # Sendmail
    re.compile(r"(<[^<>\s@]+@[^<>\s]+>).*queued mail for delivery", re.I | re.S),  # Exchange
    re.compile(r"^\s*(?:2\.0\.0\s+)?OK\s+\d+\s+(\S+)\s+-\s+gsmtp", re.I),  # Gmail
)


def queue_id(text: str) -> str | None:
    """The relay's queue id in a final 250 reply's text, for tracing; None for formats it does
    not know (callers keep the whole text anyway)."""
    for pattern in _QUEUE_IDS:
        found = pattern.search(text)
        if found:
            return found.group(1)
    return None
