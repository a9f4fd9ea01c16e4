"""How Rollcall sends (the configuration's `sending` section): relays, envelope, limits."""

from __future__ import annotations

from dataclasses import dataclass

# Exchange Online's SMTP AUTH ceilings per mailbox: 30 messages a minute and 10,000 recipients
# a rolling day (10,000 / 24 ~ 416 an hour keeps any day under it). A connector relay (by IP or
# certificate) allows far more: raise both for it.
EXO_PER_MINUTE = 30
EXO_PER_HOUR = 416


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """One SMTP relay: `smtp://host:port` (STARTTLS when offered; `?starttls=required` to
    insist) or `smtps://host:465`; credentials optional (a connector relay needs none)."""

    url: str
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class SendSettings:
    smtp_url: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_fallback_url: str | None = None
    smtp_fallback_username: str | None = None
    smtp_fallback_password: str | None = None
    smtp_auth: str = "password"  # or "oauth": XOAUTH2 with an msal client-credentials token
    smtp_oauth_scope: str = "https://outlook.office365.com/.default"
    smtp_ca_file: str | None = None  # the relays' TLS certificates; default the system's CAs
    smtp_timeout_s: float = 30.0
    helo_name: str | None = None  # what Rollcall calls itself in EHLO; default the host's name
    bounce_address: str | None = None  # VERP template, bounces+{token}@rollcall.contoso.com
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_key_file: str | None = None
    tracking: str = "anonymous"  # off | anonymous | individual
    # The key signing tracking and unsubscribe links: one file every machine shares (a mounted
    # secret); default INSTANCE/tracking.key, made on first use (one machine, or a shared folder).
    tracking_key_file: str | None = None
    connections: int = 4  # SMTP sessions at once per worker process
    retry_s: tuple[float, ...] = (60, 300, 900, 1800, 3600)  # then hourly
    expire_s: float = 86400  # a recipient still deferred then has failed
    rate_per_hour: int = EXO_PER_HOUR  # recipients per relay and per sender
    rate_per_minute: int = EXO_PER_MINUTE
    lease_s: float = 120.0  # a claimed recipient returns to the queue if its worker goes quiet
    worker: bool = True  # `rollcall serve` drains the outbox in-process; off with dedicated ones
    # The relay health check (Server information): blacklists asked, and the DNS server asked.
    dnsbl_zones: tuple[str, ...] = ("zen.spamhaus.org", "bl.spamcop.net",
                                    "b.barracudacentral.org")
    dns_server: str | None = None
    relay_public_ips: tuple[str, ...] = ()
    # Bounces: a send warns from warn_percent and pauses itself over stop_percent once
    # min_sample copies were tried; the bounce mailbox (EWS) is read every poll_s.
    bounce_warn_percent: float = 10.0
    bounce_stop_percent: float = 20.0
    bounce_min_sample: int = 50
    bounce_mailbox: str | None = None
    bounce_poll_s: float = 30.0

    def relays(self) -> list[tuple[str, RelaySettings]]:
        """The configured relays, primary first: ("primary", ...), ("fallback", ...)."""
        found = []
        if self.smtp_url:
            found.append(("primary", RelaySettings(self.smtp_url, self.smtp_username,
                                                   self.smtp_password)))
        if self.smtp_fallback_url:
            found.append(("fallback", RelaySettings(self.smtp_fallback_url,
                                                    self.smtp_fallback_username,
                                                    self.smtp_fallback_password)))
        return found
