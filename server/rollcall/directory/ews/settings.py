"""How to reach Exchange over EWS (the configuration's `ews` section); no exchangelib here, so
reading the configuration does not load it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EwsSettings:
    """A service account impersonating senders (basic, ntlm), or OAuth as each sender."""

    url: str | None = None  # the full endpoint, https://mail.example.com/EWS/Exchange.asmx
    username: str | None = None  # the service account (basic, ntlm)
    password: str | None = None
    auth: str = "basic"  # or "ntlm", or "oauth" (each sender's own token, no service account)
    build: str | None = None  # e.g. "15.1.2507.6" skips the version probe
    timeout_s: float = 30.0  # per HTTP request; the count's own deadline is usually shorter
    oauth_scope: str | None = None  # with oauth; default ORIGIN/EWS.AccessAsUser.All of the URL
    ca_file: str | None = None  # Exchange's certificate comes from a private CA
