"""XOAUTH2 for Exchange Online's SMTP AUTH: an app token from msal's client credentials (basic
authentication is off by default there from the end of December 2026)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SmtpOAuthError(Exception):
    """No token: the message says what the identity provider answered."""


def client_credentials(issuer: str | None, client_id: str | None, secret: str | None,
                       scope: str, ca_file: str | None = None) -> Callable[[], str]:
    """A function returning a current access token (msal caches and renews it)."""
    if not (issuer and client_id and secret):
        raise SmtpOAuthError("ROLLCALL_SMTP_AUTH=oauth needs ROLLCALL_OIDC_ISSUER, "
                             "ROLLCALL_OIDC_CLIENT_ID and ROLLCALL_OIDC_CLIENT_SECRET")
    import threading

    apps: list[Any] = []
    lock = threading.Lock()

    def app() -> Any:
        # Built on first use, not at start: msal reads the issuer's OpenID metadata when the
        # application is made, and an identity provider that is down must cost a relay
        # attempt (paused, said so), not the server's start.
        with lock:
            if not apps:
                import msal
                import requests

                from .on_behalf_of import msal_authority

                authority, entra = msal_authority(issuer)
                http = requests.Session()
                http.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify` otherwise
                http.verify = ca_file or True
                apps.append(msal.ConfidentialClientApplication(
                    client_id, client_credential=secret, http_client=http,
                    **({"authority": authority} if entra else {"oidc_authority": authority})))
            return apps[0]

    def token() -> str:
        try:
            result = app().acquire_token_for_client(scopes=[scope])
        except Exception as e:  # noqa: BLE001 - unreachable, bad TLS, bad metadata: said plainly
            raise SmtpOAuthError(f"the identity provider could not be asked for a token "
                                 f"({type(e).__name__}: {e})") from e
        if "access_token" not in result:
            raise SmtpOAuthError(f"no SMTP token: {result.get('error')}: "
                                 f"{result.get('error_description', '')}".strip())
        return str(result["access_token"])

    return token
