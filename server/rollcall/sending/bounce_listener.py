"""`rollcall bounces listen`: an SMTP listener (aiosmtpd) for a bounce domain whose MX points at
Rollcall. It takes mail only for Rollcall's own bounce addresses (ROLLCALL_BOUNCE_ADDRESS's
form) and refuses every other recipient, so it is never a relay; each report goes to the
intake. If the database cannot take a report, the sender is told to try later (451): nothing
is lost."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from .bounces import BounceIntake

log = logging.getLogger(__name__)
MAX_REPORT = 10 * 1024 * 1024  # a bounce carries at most the original message's headers
LONG_LINES = 20_000  # some bounce generators do not fold their HTML: take them anyway


class _Smtp(SMTP):
    """aiosmtpd's SMTP, lenient about long lines in a report (RFC 5321's 1000 is for senders;
    refusing a bounce over it would lose it)."""

    line_length_limit = LONG_LINES


class _Handler:
    def __init__(self, listener: BounceListener) -> None:
        self.listener = listener

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        intake = self.listener.intake
        if intake is None:  # still starting up: the sender tries again
            return "451 4.3.0 Rollcall is starting: try again later"
        if not intake.accepts(address):
            return (f"550 5.7.1 <{address}>: Rollcall takes only its own bounce addresses here "
                    "and relays nothing")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        intake = self.listener.intake
        try:
            for rcpt in envelope.rcpt_tos:
                assert intake is not None  # RCPT took nobody without one
                await loop.run_in_executor(None, intake.receive, raw, rcpt, "smtp")
        except Exception:  # noqa: BLE001 - the store failed: the sender keeps it and retries
            log.exception("a bounce could not be recorded; the sender was asked to retry")
            return "451 4.3.0 Rollcall cannot record this bounce just now: try again later"
        return "250 2.0.0 OK: bounce recorded"


class _Controller(Controller):
    """aiosmtpd's Controller on a socket bound beforehand (port 0 works, a port in use fails
    at once), as the SMTP simulator does."""

    def __init__(self, handler: _Handler, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)

    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


class BounceListener:
    """The listener on `host:port` (port 0: any free one; `.port` says which). Its `intake`
    may be set after it starts (it asks senders to retry until then)."""

    def __init__(self, intake: BounceIntake | None, host: str = "127.0.0.1", port: int = 25,
                 hostname: str | None = None) -> None:
        self.intake = intake
        self.host = host
        self.port = port
        self.hostname = hostname or socket.getfqdn()
        self._controller: _Controller | None = None

    def start(self) -> BounceListener:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        self.port = sock.getsockname()[1]
        controller = _Controller(_Handler(self), sock, server_hostname=self.hostname,
                                 ident="Rollcall bounce listener", decode_data=False,
                                 data_size_limit=MAX_REPORT)
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            sock.close()
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop(no_assert=True)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def __enter__(self) -> BounceListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
