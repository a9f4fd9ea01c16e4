"""The aiosmtpd handler: Postfix-style replies, the rules at RCPT and DATA, AUTH, relay
restrictions, slowness.

aiosmtpd calls `handle_<COMMAND>` hooks found by name on this object, and takes any
`auth_<NAME>` method as an AUTH mechanism: `auth_XOAUTH2` is the one here (the server leaves it
out of EHLO unless a BearerCheck is set). A hook that returns its own reply takes over: aiosmtpd
then records nothing itself, which is why MAIL and RCPT fill the envelope here.

Rules that act later (quota at DATA, the DSN rules after it) accept the RCPT; the recipients
they hold are kept with the envelope until DATA.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
import weakref
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from . import spool
from .dsn import Returner
from .ledger import Accepted, Ledger
from .oauth import UNSUCCESSFUL, InvalidToken, SignIn, TokenVerifier, parse_xoauth2
from .rules import REPLIES, Rule

AUTH_REQUIRED = "530 5.7.0 Authentication required"
RELAY_DENIED = "554 5.7.1 <{address}>: Relay access denied"  # Postfix's reject_unauth_destination
HANG_UP_WAIT_S = 5.0  # the hook waits for its own cancellation, which comes at once


class Handler:
    """Replies to one simulator's sessions and records them in its ledger."""

    def __init__(self, ledger: Ledger, *, auth: tuple[str, str] | None, slow_ms: float,
                 spool_dir: Path | None, bearer: TokenVerifier | None = None,
                 relay_domains: frozenset[str] | None = None,
                 returner: Returner) -> None:
        self.ledger = ledger
        self.returner = returner  # makes and sends the DSNs the rules call for
        self.auth = auth
        # None: any recipient (an open relay, as before); else lower-case domains it serves.
        self.relay_domains = relay_domains
        self.bearer = bearer
        if bearer is not None:
            quiet_login_data_notice()
        self.slow_ms = slow_ms
        self.spool_dir = spool_dir
        # Recipients a quota or DSN rule accepted at RCPT, with that rule, acted on at DATA;
        # gone with the envelope.
        self._later: weakref.WeakKeyDictionary[Envelope, list[tuple[str, Rule]]] = (
            weakref.WeakKeyDictionary())

    @property
    def signs_in(self) -> bool:
        """Whether AUTH is offered, and then required before MAIL."""
        return self.auth is not None or self.bearer is not None

    def refuses_relay(self, session: Session, envelope: Envelope, address: str) -> bool:
        """Whether RCPT `address` is outside->outside from a session that has not signed in."""
        if self.relay_domains is None or session.authenticated:
            return False
        domains = {a.rpartition("@")[2].lower() for a in (envelope.mail_from or "", address)}
        return not domains & self.relay_domains

    async def _pause(self) -> None:
        if self.slow_ms > 0:
            await asyncio.sleep(self.slow_ms / 1000)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        await self._pause()
        session.host_name = hostname  # with an EHLO hook, aiosmtpd leaves this to the hook
        if not self.signs_in:  # a relay without AUTH does not offer it
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return responses

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str) -> Any:
        await self._pause()
        return MISSING

    async def handle_AUTH(self, server: SMTP, session: Session, envelope: Envelope,
                          args: list[str]) -> Any:
        await self._pause()
        return MISSING  # aiosmtpd runs the mechanism, then asks `authenticator` below

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        await self._pause()
        if self.signs_in and not session.authenticated:
            return AUTH_REQUIRED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        await self._pause()
        # As Postfix, the relay check comes before anything about the recipient's mailbox.
        if self.refuses_relay(session, envelope, address):
            self.ledger.attempt(address, 554)
            return RELAY_DENIED.format(address=address)
        rule = self.ledger.choose(address)
        if rule is None or rule.action == "quota" or rule.notice is not None:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            if rule is not None:
                self._later.setdefault(envelope, []).append((address, rule))
            self.ledger.attempt(address, 250)
            return "250 2.1.5 Ok"
        reply = rule.reply(address)
        self.ledger.attempt(address, int(reply[:3]) if reply else 0)
        if rule.action == "drop":
            await _hang_up(server, abort=True)
        elif rule.action == "throttle":
            await server.push(reply)
            await _hang_up(server, abort=False)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._pause()
        later = self._later.pop(envelope, [])
        if any(rule.action == "quota" for _, rule in later):
            return REPLIES["quota"]  # refused: no message, so no DSN either
        queue_id = secrets.token_hex(5).upper()
        message = Accepted(
            queue_id=queue_id,
            mail_from=envelope.mail_from or "",
            rcpt_to=tuple(envelope.rcpt_tos),
            # The bytes as received (dot-unstuffed, CRLF kept); aiosmtpd adds no headers.
            # `content` is the same bytes here, as decode_data is off.
            data=bytes(envelope.original_content or b""),
            at=time.time(),
        )
        self.ledger.accept(message)
        if self.spool_dir is not None:
            spool.write(self.spool_dir, message)
        self.returner.report(message, [(address, rule.notice) for address, rule in later
                                       if rule.notice is not None])
        return f"250 2.0.0 Ok: queued as {queue_id}"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> Any:
        await self._pause()
        return "250 2.0.0 Ok"

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope,
                          arg: str) -> Any:
        await self._pause()
        return "250 2.0.0 Ok"

    async def handle_VRFY(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str) -> Any:
        await self._pause()
        return MISSING

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._pause()
        return "221 2.0.0 Bye"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2 [initial response]: the bearer token checked as Exchange Online does;
        any refusal is its 535 5.7.3, the reason kept in the ledger's sign-ins."""
        if len(args) == 1:  # no initial response: ask for it with an empty challenge
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)  # aiosmtpd answered 501
            assert isinstance(answer, bytes)
            message = answer
        else:
            try:
                message = base64.b64decode(args[1].encode(), validate=True)
            except ValueError:  # binascii.Error is one
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        user = ""
        try:
            user, token = parse_xoauth2(message)
            assert self.bearer is not None  # the server offers XOAUTH2 only with a check
            loop = asyncio.get_running_loop()
            # Reading the issuer's keys may block: off the event loop, like a real relay's I/O.
            claims = await loop.run_in_executor(None, self.bearer.claims, token)
        except InvalidToken as e:
            self.ledger.signed_in(SignIn("XOAUTH2", user, False, str(e)))
            return AuthResult(success=False, handled=False, message=UNSUCCESSFUL)
        accepted = SignIn("XOAUTH2", user, True, claims=claims)
        self.ledger.signed_in(accepted)
        return AuthResult(success=True, auth_data=accepted)


class _NoLoginDataNotice(logging.Filter):
    """Drops aiosmtpd 1.4's "Session.login_data is deprecated" warning.

    aiosmtpd sets that attribute itself after every successful AUTH and then warns about it;
    the command line would print it once per login. Nothing else is filtered.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


def quiet_login_data_notice() -> None:
    mail_log = logging.getLogger("mail.log")  # aiosmtpd's logger
    if not any(isinstance(f, _NoLoginDataNotice) for f in mail_log.filters):
        mail_log.addFilter(_NoLoginDataNotice())


def authenticator(credentials: tuple[str, str], ledger: Ledger | None = None) -> Any:
    """aiosmtpd's `authenticator` callable accepting exactly `credentials` (PLAIN and LOGIN);
    each attempt is kept in `ledger`'s sign-ins."""
    user, password = credentials[0].encode(), credentials[1].encode()
    quiet_login_data_notice()

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              auth_data: Any) -> AuthResult:
        # Failure without a message makes aiosmtpd answer 535 5.7.8 credentials invalid.
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (user, password)
        if ledger is not None:
            login = auth_data.login if isinstance(auth_data, LoginPassword) else b""
            ledger.signed_in(SignIn(mechanism, login.decode("utf-8", "replace"), ok,
                                    None if ok else "wrong user name or password"))
        return AuthResult(success=ok, handled=False)

    return check


async def _hang_up(server: SMTP, *, abort: bool) -> None:
    """Close the connection (abort: at once, unsent data lost) and wait to be cancelled.

    Closing makes aiosmtpd's connection_lost cancel the session task, this hook included, so
    the reply the hook would return is never written.
    """
    transport = server.transport
    if isinstance(transport, asyncio.WriteTransport):
        if abort:
            transport.abort()
        else:
            transport.close()
    await asyncio.sleep(HANG_UP_WAIT_S)
