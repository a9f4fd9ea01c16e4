"""XOAUTH2 for Exchange Online's SMTP AUTH: an app token from msal's client credentials (basic
authentication is off by default there from the end of December 2026)."""

from __future__ import annotations

from collections.abc import Callable


class SmtpOAuthError(Exception):
    """No token: the message says what the identity provider answered."""


def client_credentials(issuer: str | None, client_id: str | None, secret: str | None,
                       scope: str, ca_file: str | None = None) -> Callable[[], str]:
    """A function returning a current access token (msal caches and renews it)."""
    if not (issuer and client_id and secret):
        raise SmtpOAuthError("ROLLCALL_SMTP_AUTH=oauth needs ROLLCALL_OIDC_ISSUER, "
                             "ROLLCALL_OIDC_CLIENT_ID and ROLLCALL_OIDC_CLIENT_SECRET")
    import msal
    import requests

    from .on_behalf_of import msal_authority

    authority, entra = msal_authority(issuer)
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify` otherwise
    http.verify = ca_file or True
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=secret, http_client=http,
        **({"authority": authority} if entra else {"oidc_authority": authority}))

    def token() -> str:
        result = app.acquire_token_for_client(scopes=[scope])
        if "access_token" not in result:
            raise SmtpOAuthError(f"no SMTP token: {result.get('error')}: "
                                 f"{result.get('error_description', '')}".strip())
        return str(result["access_token"])

    return token
