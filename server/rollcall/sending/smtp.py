"""One SMTP session to a relay, with smtplib's low-level calls so every reply is kept: the
final 250 to DATA holds the relay's queue id, which `sendmail()` throws away.

A session is opened once (connect, EHLO, STARTTLS, AUTH) and carries many messages, one
envelope recipient each, with RSET after a refusal. Connection-level trouble raises
SmtpFailure with the stage and what was said; a refusal of one message is a Reply.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .replies import Reply, Stage
from .settings import RelaySettings

MAX_MESSAGES_PER_SESSION = 100  # then a fresh connection (KumoMTA uses 50 for Office 365)


@dataclass(frozen=True, slots=True)
class Relay:
    """Where one relay is and how to talk to it, from its smtp:// or smtps:// URL."""

    name: str  # primary | fallback
    host: str
    port: int
    implicit_tls: bool  # smtps://
    require_starttls: bool  # ?starttls=required
    username: str | None = None
    password: str | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def parse_relay_url(text: str) -> tuple[str, int, bool, bool]:
    """(host, port, implicit TLS, STARTTLS required) of a relay URL; ValueError names the
    problem."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must be smtp://host:port or smtps://host:465")
    query = parse_qs(parts.query)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; only ?starttls=required")
    starttls = query.get("starttls", [""])[-1].lower()
    if starttls not in ("", "required", "optional"):
        raise ValueError("?starttls= must be required or optional")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    return parts.hostname, port, parts.scheme == "smtps", starttls == "required"


def relay(name: str, settings: RelaySettings) -> Relay:
    host, port, implicit, required = parse_relay_url(settings.url)
    return Relay(name, host, port, implicit, required, settings.username, settings.password)


class SmtpFailure(Exception):
    """The session failed (could not connect, TLS, authentication, connection dropped);
    `paused` names a reason the relay must rest that no reply code carries (no OAuth token)."""

    def __init__(self, reply: Reply, paused: str | None = None) -> None:
        super().__init__(f"{reply.stage}: {reply.code or ''} {reply.text}".strip())
        self.reply = reply
        self.paused = paused


class Session:
    """A session to one relay; not thread-safe (one per sending lane)."""

    def __init__(self, relay: Relay, *, timeout_s: float, helo: str | None,
                 tls: ssl.SSLContext, oauth_token: Callable[[], str] | None = None) -> None:
        self.relay = relay
        self.timeout_s = timeout_s
        self.helo = helo
        self.tls_context = tls
        self.oauth_token = oauth_token  # XOAUTH2 (Exchange Online's SMTP AUTH) when given
        self.messages = 0
        self.tls = False  # the open session is encrypted (SMTPS or STARTTLS)
        self._smtp: smtplib.SMTP | None = None

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self.messages < MAX_MESSAGES_PER_SESSION

    def open(self) -> None:
        """Connect, EHLO, STARTTLS and AUTH; raises SmtpFailure with the failing stage."""
        self.close()
        r = self.relay
        stage = Stage.CONNECT
        try:
            # Connecting in the constructor is what tells STARTTLS and SMTPS which name the
            # certificate must carry; a banner other than 220 raises SMTPConnectError.
            if r.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(r.host, r.port, local_hostname=self.helo,
                                                       timeout=self.timeout_s,
                                                       context=self.tls_context)
            else:
                smtp = smtplib.SMTP(r.host, r.port, local_hostname=self.helo,
                                    timeout=self.timeout_s)
            self._smtp = smtp
            stage = Stage.EHLO
            code, said = smtp.ehlo()
            if code != 250:
                code, said = smtp.helo()
                if code != 250:
                    raise SmtpFailure(Reply(code, one_line(said), Stage.EHLO))
            if not r.implicit_tls and smtp.has_extn("starttls"):
                stage = Stage.STARTTLS
                code, said = smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            elif not r.implicit_tls and r.require_starttls:
                raise SmtpFailure(Reply(None, "the relay does not offer STARTTLS, and "
                                        "?starttls=required insists on it", Stage.STARTTLS))
            if r.username:
                stage = Stage.AUTH
                self._authenticate(smtp)
        except SmtpFailure:
            self.close()
            raise
        except smtplib.SMTPResponseException as e:
            self.close()
            raise SmtpFailure(Reply(e.smtp_code, one_line(e.smtp_error), stage)) from e
        except smtplib.SMTPNotSupportedError as e:
            self.close()
            raise SmtpFailure(Reply(None, f"the relay does not support {stage}: {e}",
                                    stage)) from e
        except ssl.SSLCertVerificationError as e:
            self.close()
            why = str(e.verify_message or e.reason or e)
            raise SmtpFailure(Reply(None, f"the relay's TLS certificate could not be verified "
                                    f"({why}); if an internal CA issued it, name that CA in "
                                    "ROLLCALL_SMTP_CA_FILE", stage)) from e
        except ssl.SSLError as e:
            self.close()
            raise SmtpFailure(Reply(None, f"TLS failed: {e.reason or e}", stage)) from e
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            raise SmtpFailure(Reply(None, _network(e), stage)) from e
        except Exception as e:  # noqa: BLE001 - whatever it was, this relay cannot be used now
            self.close()
            raise SmtpFailure(Reply(None, f"unexpected error: {e}", stage)) from e
        self.messages = 0
        self.tls = isinstance(smtp.sock, ssl.SSLSocket)

    def _authenticate(self, smtp: smtplib.SMTP) -> None:
        user = self.relay.username or ""
        if self.oauth_token is not None:
            try:
                token = self.oauth_token()
            except Exception as e:  # noqa: BLE001 - msal or the identity provider: say which
                raise SmtpFailure(Reply(None, f"no OAuth token for the relay: {e}",
                                        Stage.AUTH),
                                  paused="Rollcall could not sign in to the relay: the identity "
                                  f"provider gave no OAuth token ({e})") from e

            def xoauth2(challenge: bytes | None = None) -> str:
                return f"user={user}\x01auth=Bearer {token}\x01\x01"

            smtp.auth("XOAUTH2", xoauth2)  # type: ignore[arg-type]
            return
        smtp.login(user, self.relay.password or "")

    def send(self, mail_from: str, rcpt: str, data: bytes) -> Reply:
        """Offer one message to one recipient: the relay's final reply (250 with its queue id,
        or the refusal at MAIL, RCPT or DATA). Raises SmtpFailure if the connection is lost."""
        smtp = self._smtp
        if smtp is None:
            raise SmtpFailure(Reply(None, "not connected", Stage.CONNECT))
        stage = Stage.MAIL
        try:
            code, said = smtp.mail(mail_from)
            if code != 250:
                return self._refused(Reply(code, one_line(said), Stage.MAIL))
            stage = Stage.RCPT
            code, said = smtp.rcpt(rcpt)
            if code not in (250, 251):
                return self._refused(Reply(code, one_line(said), Stage.RCPT))
            stage = Stage.DATA
            try:
                code, said = smtp.data(data)
            except smtplib.SMTPDataError as e:  # DATA itself refused (no 354)
                return self._refused(Reply(e.smtp_code, one_line(e.smtp_error), Stage.DATA))
            self.messages += 1
            reply = Reply(code, one_line(said), Stage.DATA)
            return reply if code == 250 else self._refused(reply)
        except smtplib.SMTPServerDisconnected as e:
            self.close()
            raise SmtpFailure(Reply(None, f"the relay closed the connection ({e})".replace(
                " ()", ""), stage)) from e
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            raise SmtpFailure(Reply(None, _network(e), stage)) from e

    def _refused(self, reply: Reply) -> Reply:
        # 421 means the relay is closing the channel: the session is gone either way.
        if reply.code == 421:
            self.close()
            return reply
        try:
            assert self._smtp is not None
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()
        return reply

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        leave(smtp)


def leave(smtp: smtplib.SMTP | None) -> None:
    """QUIT politely, else drop the connection; never raises."""
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        try:
            smtp.close()
        except OSError:
            pass


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates checked, against `ca_file` or the system's CAs."""
    return ssl.create_default_context(cafile=ca_file)


def one_line(said: bytes | str) -> str:
    """A reply's text on one line (multi-line replies, EHLO's, joined)."""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return " ".join(text.split())  # multi-line replies on one line


def _network(e: BaseException) -> str:
    if isinstance(e, socket.timeout | TimeoutError):
        return "the relay did not answer in time"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(e, socket.gaierror):
        return f"the relay's name does not resolve ({e.strerror})"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "the relay closed the connection"
    return f"network error: {getattr(e, 'strerror', None) or e}"


