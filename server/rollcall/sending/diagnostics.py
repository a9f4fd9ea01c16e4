"""What an administrator asks about the relays and the copies sent: test a relay's connection
(nothing sent, or one real test message), check its health (open relay, blacklists, SPF, DKIM,
DMARC), and trace a recipient's copy. Administrators only; the relay's own words come back as
steps, never as exceptions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..errors import BadRequest, RollcallError
from ..store.access import Principal
from .control import require_admin as _admin
from .settings import SendSettings
from .smtp import Relay, parse_relay_url, relay, tls_context

log = logging.getLogger(__name__)
DNS_TIMEOUT_S = 3.0


class RelayNotConfigured(RollcallError):
    code = "relay_not_configured"
    status = 404


class RelayDiagnostics:
    """Relay tests, health checks and traces; every call names who asks."""

    def __init__(self, settings: SendSettings, engine: Callable[[], Any],
                 oauth_token: Callable[[], Callable[[], str]] | None = None,
                 mailbox: str | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self.mailbox = mailbox  # ROLLCALL_MAILBOX: who the command line acts as
        self._oauth_token = oauth_token  # made on first use: msal only when a test needs it

    def test(self, who: Principal, name: str = "primary", to: str | None = None,
             rcpt: str | None = None, mail_from: str | None = None) -> dict[str, Any]:
        """Connect, EHLO, STARTTLS, AUTH, MAIL FROM (`mail_from`, else as a send would) and
        RCPT TO `rcpt` (then RSET: nothing is sent); with `to`, one real test message."""
        from .probe import probe_relay

        _admin(who)
        target = self._relay(name)
        sender = _address(mail_from, "from") if mail_from else self.probe_sender(who)
        address = _address(to or rcpt, "to" if to else "rcpt") if (to or rcpt) else \
            f"postmaster@{sender.rpartition('@')[2]}"
        result = probe_relay(target, tls=tls_context(self.settings.smtp_ca_file),
                             timeout_s=min(self.settings.smtp_timeout_s, 30.0),
                             helo=self.settings.helo_name, mail_from=sender, rcpt=address,
                             send=to is not None, oauth_token=self._token())
        log.info("relay test by %s: %s %s", who.name, name, "ok" if result.ok else "failed")
        return result.to_json()

    def health(self, who: Principal, name: str = "primary") -> dict[str, Any]:
        """The open-relay self-test and the DNS checks, kept for Server information."""
        from ..store.relay_state import RelayStates
        from .dns_checks import check_relay_dns, resolver
        from .open_relay import open_relay_test

        _admin(who)
        target = self._relay(name)
        opened = open_relay_test(target, tls=tls_context(self.settings.smtp_ca_file),
                                 timeout_s=min(self.settings.smtp_timeout_s, 30.0),
                                 helo=self.settings.helo_name)
        s = self.settings
        dns = check_relay_dns(name, target.host, zones=s.dnsbl_zones,
                              domain=self.sending_domain(who), dkim_selector=s.dkim_selector,
                              dkim_key_file=s.dkim_key_file,
                              public_addresses=s.relay_public_ips,
                              res=resolver(s.dns_server, DNS_TIMEOUT_S),
                              dkim_domain=s.dkim_domain)
        checks = {"relay": name, "label": target.label, "open_relay": opened.to_json(),
                  "dns": dns.to_json(), "checked_at": datetime.now(UTC).isoformat(),
                  "checked_by": who.name}
        RelayStates(self._engine()).checked(name, checks)
        return checks

    def trace(self, who: Principal, query: str, send_id: int | None = None) -> dict[str, Any]:
        """Every copy `query` (a Message-ID, the relay's queue id, an address) names."""
        from ..store.trace import Traces
        from .trace import query_kinds

        _admin(who)
        if not isinstance(query, str):
            raise BadRequest("Give a Message-ID, the relay's queue id or an address to trace",
                             code="bad_query")
        try:
            kinds = query_kinds(query)
        except ValueError as e:
            raise BadRequest(str(e), code="bad_query") from None
        labels = dict(self.labels())
        found = [replace(t, relay_label=labels.get(t.relay or "")) for t in
                 Traces(self._engine()).find(query, send_id)]
        return {"query": query.strip(), "tried": [k.value for k in kinds],
                "traces": [t.to_json() for t in found]}

    # -- settings as the checks need them ------------------------------------------------------

    def labels(self) -> list[tuple[str, str]]:
        out = []
        for name, settings in self.settings.relays():
            host, port, _, _ = parse_relay_url(settings.url)
            out.append((name, f"{host}:{port}"))
        return out

    def probe_sender(self, who: Principal) -> str:
        """MAIL FROM for a test, as a send's envelope would be: the relay's own user when it
        is an address (Exchange Online takes mail only from the mailbox that signed in), else
        the bounce address, else the administrator's mailbox (the command line:
        ROLLCALL_MAILBOX's)."""
        s = self.settings
        if s.smtp_username and "@" in s.smtp_username:
            return s.smtp_username
        if s.bounce_address:
            return s.bounce_address.replace("{token}", "relay-test")
        mailbox = who.mailbox or self.mailbox
        if mailbox:
            return mailbox
        raise BadRequest("Say which address the test sends from (--from ADDR), or set "
                         "ROLLCALL_BOUNCE_ADDRESS or ROLLCALL_MAILBOX", code="bad_from")

    def sending_domain(self, who: Principal) -> str:
        """The domain SPF is checked for: the envelope's (the bounce address's), else the
        DKIM domain, else the administrator's (ROLLCALL_MAILBOX's)."""
        s = self.settings
        bounce = (s.bounce_address or "").rpartition("@")[2]
        mailbox = who.mailbox or self.mailbox or ""
        return bounce or s.dkim_domain or mailbox.rpartition("@")[2] or "localhost"

    def _relay(self, name: str) -> Relay:
        configured = dict(self.settings.relays())
        if name not in ("primary", "fallback"):
            raise BadRequest("The relay is 'primary' or 'fallback'", code="bad_relay")
        if name not in configured:
            setting = "ROLLCALL_SMTP_URL" if name == "primary" else "ROLLCALL_SMTP_FALLBACK_URL"
            # A relay that is not configured is no resource to test (404, not a server fault).
            raise RelayNotConfigured(f"No {name} relay is configured ({setting})")
        return relay(name, configured[name])

    def _token(self) -> Callable[[], str] | None:
        if self.settings.smtp_auth != "oauth" or self._oauth_token is None:
            return None
        return self._oauth_token()


def _address(text: Any, name: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(text, str):
        raise BadRequest(f"'{name}' must be an email address", code=f"bad_{name}")
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise BadRequest(f"'{name}' is not an email address: {e}", code=f"bad_{name}") from None
