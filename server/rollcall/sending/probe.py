"""The relay's "test connection": one SMTP conversation walked step by step (connect, EHLO,
STARTTLS, AUTH, MAIL, RCPT, then RSET or a small test message, QUIT), each step timed and its
reply kept, so an admin sees where a relay stops and why, in plain words.

Network I/O, never an exception for the relay's sake: a refusal, a network or a TLS problem is
a failing Step, and the first one ends the conversation. `open_relay.py` uses the same steps.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Container
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from . import replies
from .replies import Stage
from .smtp import Relay, leave, one_line

log = logging.getLogger(__name__)
TEST_SUBJECT = "Rollcall test connection"


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the conversation: whether the relay took it, how long it took, what it
    said (or what went wrong) and what that means."""

    name: str  # a Stage: connect, ehlo, starttls, auth, mail, rcpt, data, rset, quit
    ok: bool
    elapsed_ms: int
    code: int | None
    text: str
    meaning: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the test connection found; `ok` only when every step passed."""

    relay: str  # primary | fallback
    label: str  # host:port
    ok: bool
    steps: tuple[Step, ...]
    failed_step: str | None
    meaning: str | None  # why it failed, in plain words (None when ok)
    tls: bool
    authenticated: bool
    sent: bool
    queue_id: str | None
    checked_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "steps": [s.to_json() for s in self.steps],
                "checked_at": self.checked_at.isoformat()}


def probe_relay(relay: Relay, *, tls: ssl.SSLContext, timeout_s: float, helo: str | None,
                mail_from: str, rcpt: str | None = None, send: bool = False,
                oauth_token: Callable[[], str] | None = None) -> ProbeResult:
    """Test the relay as the sender would use it; never raises for the relay's sake. Without
    `rcpt` it stops after MAIL FROM; nothing is sent unless `send` (and `rcpt`) are given."""
    talk = Conversation(relay, tls=tls, timeout_s=timeout_s, helo=helo)
    authenticated = sent = False
    queue_id = None
    try:  # each command is skipped once a step has failed, so this reads top to bottom
        talk.open(require_starttls=relay.require_starttls)
        if relay.username:
            authenticated = talk.sign_in(oauth_token)
        talk.command(Stage.MAIL, lambda s: s.mail(mail_from))
        if rcpt is not None:
            to = rcpt
            talk.command(Stage.RCPT, lambda s: s.rcpt(to), (250, 251))
        if rcpt is not None and send:
            said = talk.command(Stage.DATA, lambda s: s.data(
                connection_test_message(mail_from, to, relay.label)))
            sent, queue_id = said is not None, replies.queue_id(said or "")
        else:  # nothing is sent: the envelope is dropped
            talk.command(Stage.RSET, lambda s: s.rset())
        talk.quit()
    finally:
        talk.close()
    failed = talk.failed
    result = ProbeResult(relay.name, relay.label, failed is None, tuple(talk.steps),
                         failed.name if failed else None, failed.meaning if failed else None,
                         talk.encrypted, authenticated, sent, queue_id, datetime.now(UTC))
    log.info("relay test %s (%s): %s", relay.name, relay.label,
             "ok" if failed is None else f"failed at {failed.name}: "
             f"{failed.code or ''} {failed.text}".replace(":  ", ": "))
    return result


def connection_test_message(mail_from: str, rcpt: str, label: str) -> bytes:
    """The small message a test connection sends when asked to."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = mail_from
    msg["To"] = rcpt
    msg["Subject"] = TEST_SUBJECT
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid("rollcall-test", domain=mail_from.rpartition("@")[2]
                                   or "rollcall.invalid")
    msg.set_content(f"This is a connection test from Rollcall: it checked that the relay {label} "
                    f"takes mail from {mail_from} for {rcpt}.\nNothing needs doing; you can "
                    "delete this message.\n")
    return msg.as_bytes()


class _Refusal(Exception):
    """A step failed for a reason Rollcall found itself, already in words."""

    def __init__(self, text: str, meaning: str) -> None:
        super().__init__(text)
        self.text, self.meaning = text, meaning


class _Smtp(smtplib.SMTP):
    """smtplib.SMTP keeping the banner, which its constructor reads and throws away."""

    banner: tuple[int, bytes] = (0, b"")

    def connect(self, host: str = "localhost", port: int = 0,
                source_address: Any = None) -> tuple[int, bytes]:  # typeshed's own alias
        self.banner = super().connect(host, port, source_address)
        return self.banner


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    """SMTPS (TLS from the first byte), keeping the banner."""


Said = tuple[int, bytes]
OK = (250,)


class Conversation:
    """One probe's SMTP session: each step is run, timed and recorded in `steps`; after the
    first failing one (`failed`) every further command is skipped."""

    def __init__(self, relay: Relay, *, tls: ssl.SSLContext, timeout_s: float,
                 helo: str | None) -> None:
        self.relay, self.tls, self.timeout_s, self.helo = relay, tls, timeout_s, helo
        self.steps: list[Step] = []
        self.encrypted = False
        self._smtp: smtplib.SMTP | None = None

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    def open(self, *, require_starttls: bool) -> bool:
        """Connect, EHLO (HELO if refused) and STARTTLS when offered; whether all passed."""
        r = self.relay

        def connect(_: smtplib.SMTP | None) -> Said:
            smtp: _Smtp = (_SmtpSsl(r.host, r.port, local_hostname=self.helo,
                                    timeout=self.timeout_s, context=self.tls)
                           if r.implicit_tls else
                           _Smtp(r.host, r.port, local_hostname=self.helo,
                                 timeout=self.timeout_s))
            self._smtp = smtp
            return smtp.banner

        if self._run(Stage.CONNECT, connect, (220,)) is None:
            return False
        self.encrypted = r.implicit_tls
        if self.command(Stage.EHLO, _greet) is None:
            return False
        if r.implicit_tls:
            return True
        assert self._smtp is not None
        if self._smtp.has_extn("starttls"):
            if self.command(Stage.STARTTLS, lambda s: s.starttls(context=self.tls),
                            (220,)) is not None:
                self.encrypted = True
                return self.command(Stage.EHLO, _greet) is not None  # what it offers now
            return False
        if require_starttls:
            self.fail(Stage.STARTTLS, "the relay does not offer STARTTLS, and ?starttls=required "
                      "insists on it", "The relay does not offer encryption (STARTTLS), and "
                      "the relay URL's ?starttls=required insists on it, so Rollcall stopped "
                      "before sending anything in plain text.")
            return False
        return True

    def sign_in(self, oauth_token: Callable[[], str] | None) -> bool:
        """AUTH as Session does: XOAUTH2 with a fresh token when given, else LOGIN/PLAIN."""
        user, password = self.relay.username or "", self.relay.password or ""

        def auth(smtp: smtplib.SMTP) -> Said:
            if oauth_token is None:
                return smtp.login(user, password)
            try:
                token = oauth_token()
            except Exception as e:  # noqa: BLE001 - msal or the identity provider: say which
                raise _Refusal(f"no OAuth token for the relay: {e}", "Rollcall could not sign "
                               "in to the relay: the identity provider gave no OAuth token "
                               f"({e}).") from e

            def xoauth2(challenge: bytes | None = None) -> str:
                return f"user={user}\x01auth=Bearer {token}\x01\x01"

            return smtp.auth("XOAUTH2", xoauth2)  # type: ignore[arg-type]

        return self.command(Stage.AUTH, auth, (235,)) is not None

    def command(self, stage: Stage, action: Callable[[smtplib.SMTP], Said],
                ok: Container[int] = OK, *, always: bool = False) -> str | None:
        """Run one command (even after a failed step when `always`); the reply's text when the
        relay took it, else None."""
        return self._run(stage, lambda smtp: action(_connected(smtp)), ok, always)

    def fail(self, stage: Stage, text: str, meaning: str) -> None:
        self.steps.append(Step(stage.value, False, 0, None, text, meaning))

    def quit(self, *, always: bool = False) -> None:
        if self.command(Stage.QUIT, lambda s: s.quit(), range(200, 300),
                        always=always) is not None:
            self._smtp = None

    def close(self) -> None:
        """Leave politely if still connected (QUIT, not recorded); never raises."""
        smtp, self._smtp = self._smtp, None
        leave(smtp)

    def _run(self, stage: Stage, action: Callable[[smtplib.SMTP | None], Said],
             ok: Container[int], always: bool = False) -> str | None:
        if self.failed is not None and not always:
            return None
        start = time.perf_counter()
        try:
            code: int | None
            code, said = action(self._smtp)
            text = one_line(said)
            passed = code in ok
            enhanced = replies.enhanced_code(text)
            if passed and (enhanced == "2.0.0" or enhanced not in replies.ENHANCED):
                enhanced = None  # "Signing in succeeded" says more than "Accepted (2.7.0)"
            meaning = replies.meaning(code, enhanced, stage)
        except Exception as e:  # noqa: BLE001 - every failure becomes a step, in words
            passed = False
            code, text, meaning = trouble(e, stage, self.relay, self.timeout_s)
        elapsed_ms = round((time.perf_counter() - start) * 1000)
        self.steps.append(Step(stage.value, passed, elapsed_ms, code, text, meaning))
        return text if passed else None


def _connected(smtp: smtplib.SMTP | None) -> smtplib.SMTP:
    if smtp is None:
        raise smtplib.SMTPServerDisconnected("not connected")
    return smtp


def _greet(smtp: smtplib.SMTP) -> Said:
    code, said = smtp.ehlo()
    return (code, said) if code == 250 else smtp.helo()


_DURING = {
    Stage.CONNECT: " while connecting", Stage.EHLO: " while greeting it (EHLO)",
    Stage.STARTTLS: " while starting encryption (STARTTLS)", Stage.AUTH: " while signing in",
    Stage.MAIL: " at MAIL FROM", Stage.RCPT: " at RCPT TO",
    Stage.DATA: " while sending the test message", Stage.RSET: " at RSET",
    Stage.QUIT: " while closing",
}


def trouble(e: BaseException, stage: Stage, relay: Relay,
            timeout_s: float) -> tuple[int | None, str, str]:
    """(code, what went wrong, what it means) for an exception at `stage`."""
    during = _DURING[stage]
    if isinstance(e, _Refusal):
        return None, e.text, e.meaning
    if isinstance(e, smtplib.SMTPResponseException):  # a reply: 535 at AUTH, 554 banner, ...
        text = one_line(e.smtp_error)
        return e.smtp_code, text, replies.meaning(e.smtp_code, replies.enhanced_code(text), stage)
    if isinstance(e, ssl.SSLCertVerificationError):
        why = str(e.verify_message or e.reason or e)
        return None, f"the relay's TLS certificate could not be verified ({why})", (
            f"The relay's TLS certificate is not trusted here ({why}){during}. If an internal "
            "certificate authority issued it, name that CA's certificate file (PEM) in "
            "ROLLCALL_SMTP_CA_FILE; if the name does not match, put the name the certificate "
            "carries in the relay URL.")
    if isinstance(e, ssl.SSLError):
        why = str(e.reason or e)
        hint = (" smtps:// speaks TLS from the first byte (usually port 465); for a relay that "
                "offers STARTTLS (port 587 or 25) use smtp:// instead."
                if stage is Stage.CONNECT and relay.implicit_tls else "")
        return None, f"TLS failed: {why}", (
            f"The encrypted connection (TLS) with the relay failed ({why}){during}.{hint}")
    if isinstance(e, TimeoutError) or "timed out" in str(e):  # smtplib wraps read timeouts
        return None, "the relay did not answer in time", (
            f"The relay did not answer within {timeout_s:g} seconds{during}: it may be down or "
            "overloaded, or a firewall drops the connection without a word.")
    if isinstance(e, ConnectionRefusedError):
        return None, "connection refused: nothing listens there", (
            f"The relay refused the connection: nothing listens at {relay.label}, or a "
            "firewall turned it away. Check the host and port in the relay URL.")
    if isinstance(e, socket.gaierror):
        return None, f"the relay's name does not resolve ({e.strerror})", (
            f"The relay's host name {relay.host} could not be found (DNS): check its spelling "
            "in the relay URL and this server's DNS.")
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return None, "the relay closed the connection", (
            f"The relay closed the connection{during}, without a reply.")
    if isinstance(e, smtplib.SMTPNotSupportedError) and stage is Stage.AUTH:
        return None, "the relay does not offer AUTH", (
            "The relay does not offer signing in (AUTH) on this connection, yet a user name is "
            "set for it: remove the user name if the relay takes mail without signing in; some "
            "relays offer AUTH only over an encrypted connection.")
    if isinstance(e, smtplib.SMTPException) and stage is Stage.AUTH:  # no method in common
        return None, str(e), (
            "The relay offers no sign-in method Rollcall can use with a password (Rollcall "
            "signs in with PLAIN or LOGIN; the EHLO reply above lists what the relay offers).")
    if isinstance(e, OSError | smtplib.SMTPException):
        why = getattr(e, "strerror", None) or str(e)
        return None, f"network error: {why}", f"The connection to the relay failed{during} ({why})."
    return None, f"unexpected error: {e}", f"Something unexpected went wrong{during}: {e}."
