"""SmtpSimulator: an SMTP relay on a real TCP port, run by aiosmtpd on a background thread."""

from __future__ import annotations

import collections
import socket
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from .dsn import Returner
from .handler import Handler, authenticator
from .ledger import Accepted, Bounce, Ledger
from .oauth import BearerCheck, SignIn, TokenVerifier
from .rules import Rule, parse_rules

IDENT = "ESMTP Rollcall SMTP simulator"
# RFC 4954 section 4: a server offering AUTH takes command lines of at least 12288 octets, for
# the initial response; an XOAUTH2 token alone is well over aiosmtpd's 512 (and its 1001-octet
# read buffer). Every other command keeps RFC 5321's 512, and message lines their 1000.
AUTH_LINE_LIMIT = 12288


class _Smtp(SMTP):
    """aiosmtpd's SMTP protocol with RFC 4954's longer AUTH command line."""

    line_length_limit = AUTH_LINE_LIMIT  # read by SMTP.__init__ for its stream buffer only

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Message lines are held to aiosmtpd's own limit again, as before.
        self.line_length_limit = SMTP.line_length_limit
        # Per connection: aiosmtpd's own table is shared by every SMTP object, and EHLO adds to
        # MAIL's entry in it.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"AUTH": AUTH_LINE_LIMIT})


class _Controller(Controller):
    """aiosmtpd's threaded Controller, serving a socket bound beforehand.

    The Controller binds inside its thread and then probes the port it was given with a real
    connection, so port 0 cannot work (there is no port 0 to probe) and a port in use surfaces
    only after `ready_timeout` as the thread's exception. Binding in the caller's thread fixes
    both. The probe is still one real connection; it is not counted.
    """

    def __init__(self, handler: Handler, sock: socket.socket, **smtp_kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **smtp_kwargs)
        self._sock = sock
        self._ledger = handler.ledger
        self._probed = False

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)

    def factory(self) -> SMTP:
        smtp = _Smtp(self.handler, **self.SMTP_kwargs)  # one per connection
        if self._probed:
            self._ledger.connected()
        self._probed = True
        return smtp


class SmtpSimulator:
    """An SMTP relay for tests and the demo: scripted per-recipient replies, AUTH, STARTTLS.

    `auth=(user, password)` offers AUTH PLAIN and LOGIN; `bearer=BearerCheck(issuer, jwks,
    audience)` offers XOAUTH2 as Exchange Online does, taking RS256 tokens that issuer signed
    for that audience. With either, MAIL needs a successful AUTH first; every attempt is kept
    in `sign_ins`.

    Without AUTH it relays for anyone, as an open relay would. `relay_domains=("contoso.com",)`
    restricts that as Postfix's relay_domains and reject_unauth_destination do: a session that
    has not signed in may relay only when the MAIL FROM or the RCPT TO domain is one of them
    (exactly, case-insensitively); any other recipient gets `554 5.7.1 <address>: Relay access
    denied`, before any rule. A signed-in session relays anywhere.

    The rules `bounce`, `bounce_policy` and `delay_dsn` accept a message and then return a DSN
    (RFC 3464, from MAIL FROM:<>) to its envelope sender, `bounce_delay_s` seconds later, on a
    thread of its own: `bounce_to=(host, port)` sends it there over SMTP (a few tries, a short
    pause between them), `bounce_sink(recipient, data)` is called with it instead (to put it
    into a mailbox in the same process, say); with neither it is only kept. Each DSN, and how
    its delivery went, is in `bounces`; `wait_bounces()` waits for them to settle. `stop()`
    gives up on the DSNs not yet sent.

    `start()` binds (port 0 picks a free port, then `.port` and `.url` say which) and serves on
    a background thread until `stop()`; it can be started again on the same port, which makes a
    relay that goes away and comes back. What it saw is in `accepted`, `attempts` (every RCPT
    as `(address, code)`, code 0 when the connection was dropped) and `connections`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rules: Iterable[Rule] | str = (),
        auth: tuple[str, str] | None = None,
        bearer: BearerCheck | None = None,
        tls: tuple[str | Path, str | Path] | None = None,
        require_tls: bool = False,
        slow_ms: float = 0,
        spool_dir: str | Path | None = None,
        hostname: str = "relay.simulator.test",
        relay_domains: Iterable[str] | None = None,
        bounce_to: tuple[str, int] | None = None,
        bounce_sink: Callable[[str, bytes], None] | None = None,
        bounce_delay_s: float = 0.0,
    ) -> None:
        if bounce_to is not None and bounce_sink is not None:
            raise ValueError("bounce_to and bounce_sink are two places to send DSNs: pick one")
        if bounce_delay_s < 0:
            raise ValueError(f"bounce_delay_s must be 0 or more, not {bounce_delay_s}")
        if isinstance(relay_domains, str):
            raise TypeError("relay_domains takes domains, e.g. ('contoso.com',), not one string")
        if require_tls and tls is None:
            raise ValueError("require_tls needs tls=(certfile, keyfile) to offer STARTTLS with")
        if slow_ms < 0:
            raise ValueError(f"slow_ms must be 0 or more, not {slow_ms}")
        self.host = host
        self.port = port
        self.hostname = hostname
        self.relay_domains = (None if relay_domains is None else
                              frozenset(d.strip().lower() for d in relay_domains))
        self._ledger = Ledger(parse_rules(rules) if isinstance(rules, str) else rules)
        self.verifier = TokenVerifier(bearer) if bearer is not None else None
        self.bounce_to = bounce_to
        self._returner = Returner(self._ledger, hostname=hostname, to=bounce_to,
                                  sink=bounce_sink, delay_s=bounce_delay_s)
        self._handler = Handler(self._ledger, auth=auth, slow_ms=slow_ms,
                                spool_dir=Path(spool_dir) if spool_dir is not None else None,
                                bearer=self.verifier, relay_domains=self.relay_domains,
                                returner=self._returner)
        self._smtp_kwargs: dict[str, Any] = {
            "server_hostname": hostname,
            "ident": IDENT,
            "decode_data": False,  # keep the data as bytes, exactly as received
            "require_starttls": require_tls,
            # A simulator on loopback: AUTH in plain text is allowed unless TLS is on offer,
            # and then, as Postfix with smtpd_tls_auth_only and Exchange Online do, only
            # after STARTTLS.
            "auth_require_tls": tls is not None,
        }
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))  # a bad pair fails here, now
            self._smtp_kwargs["tls_context"] = context
        excluded = [] if bearer is not None else ["XOAUTH2"]
        if auth is not None:
            self._smtp_kwargs["authenticator"] = authenticator(auth, self._ledger)
        else:
            excluded += ["LOGIN", "PLAIN"]
        self._smtp_kwargs["auth_exclude_mechanism"] = excluded
        self._controller: _Controller | None = None

    # Running

    def start(self) -> SmtpSimulator:
        if self._controller is not None:
            raise RuntimeError(f"the SMTP simulator is already running on {self.url}")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        self.port = sock.getsockname()[1]
        controller = _Controller(self._handler, sock, **self._smtp_kwargs)
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            sock.close()
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        """Close the port and every open connection, and give up on the DSNs not yet sent;
        nothing happens if it is not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            self._returner.cancel()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpSimulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"smtp://{host}:{self.port}"

    # Rules

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._ledger.rules

    def set_rules(self, rules: Iterable[Rule] | str) -> None:
        """Replace the rules while running; their counts start again."""
        self._ledger.set_rules(parse_rules(rules) if isinstance(rules, str) else rules)

    # What it saw (copies: the sessions run on another thread)

    @property
    def accepted(self) -> list[Accepted]:
        return self._ledger.accepted()

    def messages_for(self, address: str) -> list[Accepted]:
        """The accepted messages with `address` among their recipients (case-insensitive)."""
        address = address.lower()
        return [m for m in self.accepted if address in (r.lower() for r in m.rcpt_to)]

    @property
    def attempts(self) -> list[tuple[str, int]]:
        return self._ledger.attempts()

    @property
    def sign_ins(self) -> list[SignIn]:
        """Every AUTH attempt: mechanism, user, accepted, the reason for a refusal and (XOAUTH2)
        the token's claims."""
        return self._ledger.sign_ins()

    @property
    def connections(self) -> int:
        return self._ledger.connections()

    @property
    def bounces(self) -> list[Bounce]:
        """The DSNs made so far, oldest first, each with its delivery's state, tries and error."""
        return self._ledger.bounces()

    def wait_bounces(self, timeout: float = 10.0) -> list[Bounce]:
        """`bounces` once none is pending any more; TimeoutError if one still is after
        `timeout` seconds."""
        return self._ledger.wait_bounces(timeout)

    def clear(self) -> None:
        """Forget the messages, attempts, sign-ins, connections and DSNs; the rules' counts
        start again."""
        self._ledger.clear()
