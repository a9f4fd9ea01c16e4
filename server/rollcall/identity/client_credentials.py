"""Rollcall's own tokens from msal's client credentials: XOAUTH2 for Exchange Online's SMTP AUTH
(basic authentication is off by default there from the end of December 2026), and Microsoft
Graph and Exchange's admin API (directory/graph) when Rollcall acts as itself."""

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
    # Built on first use, not at start: msal reads the issuer's OpenID metadata when the
    # application is made, and an identity provider that is down must cost a relay attempt
    # (paused, said so), not the server's start.
    app = ClientApp(issuer, client_id, secret, ca_file)

    def token() -> str:
        try:
            result = app.token(scope)
        except Exception as e:  # noqa: BLE001 - unreachable, bad TLS, bad metadata: said plainly
            raise SmtpOAuthError(f"the identity provider could not be asked for a token "
                                 f"({type(e).__name__}: {e})") from e
        if "access_token" not in result:
            raise SmtpOAuthError(f"no SMTP token: {result.get('error')}: "
                                 f"{result.get('error_description', '')}".strip())
        return str(result["access_token"])

    return token


class ClientApp:
    """msal's confidential client for one app registration, built on first use (it reads the
    authority's OpenID metadata then); msal keeps each resource's token and renews it."""

    def __init__(self, authority: str, client_id: str, secret: str,
                 ca_file: str | None = None, timeout_s: float = 10.0) -> None:
        import threading

        self.authority = authority
        self.client_id = client_id
        self.secret = secret
        self.ca_file = ca_file
        self.timeout_s = timeout_s
        self._app: Any = None
        self._lock = threading.Lock()

    def token(self, scope: str, renew: bool = False) -> dict[str, Any]:
        """msal's answer for `scope` (`access_token`, or `error` and `error_description`);
        `renew` drops the token msal kept, which its resource refused. Raises what reaching
        the authority raised (requests' errors, ValueError for bad metadata)."""
        app = self._msal()
        if renew:
            app.remove_tokens_for_client()
        try:
            answer: dict[str, Any] = app.acquire_token_for_client(scopes=[scope])
        except Exception:
            with self._lock:
                self._app = None  # the next call reads the authority's metadata again
            raise
        return answer

    def _msal(self) -> Any:
        with self._lock:
            if self._app is None:
                import msal
                import requests

                from .on_behalf_of import msal_authority

                authority, entra = msal_authority(self.authority)
                http = requests.Session()
                http.trust_env = False  # REQUESTS_CA_BUNDLE would beat `verify` otherwise
                http.verify = self.ca_file or True
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self.secret, http_client=http,
                    timeout=self.timeout_s,
                    **({"authority": authority} if entra else {"oidc_authority": authority}))
            return self._app


def provider_problem(error: BaseException) -> str:
    """Why the identity provider could not be asked, in words (never a Python class name)."""
    import requests

    if isinstance(error, requests.exceptions.SSLError):
        return "its certificate is not trusted: check the CA file setting"
    if isinstance(error, requests.exceptions.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.RequestException | OSError):
        return "no connection"
    return "its OpenID metadata could not be read"
