"""Acting in Exchange as the caller over OAuth: the caller's token for Rollcall's API, traded
with MSAL's on-behalf-of flow for a token Exchange accepts (`EWS.AccessAsUser.All`).

Where EWS takes OAuth (Exchange Online until it turns EWS off, hybrid modern authentication on
premises), Rollcall holds no password and no impersonation right: each count runs with the
signed-in person's own Exchange token, so Exchange itself keeps one person out of another's
contact groups.

The API gate hands every validated token to `remember`; the EWS adapter asks `token(mailbox)`
when it needs Exchange. Keeping the newest assertion per person here (rather than passing it down
every call) lets the send check's warm-ups, which run after their request has ended, act as that
person too; the mailbox key comes from the validated token, never from a request body.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from ..core.model import DirectoryError
from .client_credentials import provider_problem

log = logging.getLogger(__name__)

EWS_PERMISSION = "EWS.AccessAsUser.All"
RENEW_BEFORE_S = 300.0  # a token this close to expiry is replaced before a count starts with it
TIMEOUT_S = 10.0  # one request to the identity provider
PRUNE_EVERY_S = 60.0
ENTRA_HOSTS = ("login.microsoftonline.com", "sts.windows.net")


@dataclass(frozen=True, slots=True)
class OboSettings:
    """Rollcall's confidential client at the identity provider, and what it asks Exchange for."""

    issuer: str  # ROLLCALL_OIDC_ISSUER: Entra ID's, AD FS's or the development issuer's
    client_id: str
    client_secret: str
    scope: str  # https://outlook.office365.com/EWS.AccessAsUser.All, or the on-premises host's
    ca_file: str | None = None
    service: str = "Exchange"  # what the token is for, in words: "Microsoft Graph"
    setting: str = "ROLLCALL_EWS_AUTH=oauth"  # the setting that made Rollcall act this way


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token for Exchange and when it stops working (seconds since the epoch)."""

    value: str
    expires_at: float


def ews_scope(ews_url: str) -> str:
    """The scope for an EWS endpoint: its origin is the resource (Exchange Online's
    outlook.office365.com, or an on-premises host registered for hybrid modern auth)."""
    parts = urlsplit(ews_url)
    return f"{parts.scheme}://{parts.netloc}/{EWS_PERMISSION}"


def msal_authority(issuer: str) -> tuple[str, bool]:
    """(authority, is Entra ID) for an issuer: Entra's tenant authority, or the issuer itself
    for any other OpenID provider (MSAL's `oidc_authority`)."""
    parts = urlsplit(issuer.rstrip("/"))
    if parts.hostname in ENTRA_HOSTS:
        tenant = parts.path.strip("/").split("/")[0]
        return f"https://login.microsoftonline.com/{tenant}", True
    return issuer.rstrip("/"), False


class OnBehalfOf:
    """Exchange tokens per person, traded from their newest token and reused until near expiry."""

    def __init__(self, settings: OboSettings, clock: Callable[[], float] = time.time,
                 app_factory: Callable[[OboSettings], Any] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._app_factory = app_factory or _msal_app
        self._app: Any = None
        self._assertions: dict[str, tuple[str, float]] = {}  # mailbox -> (token, expires_at)
        self._tokens: dict[str, AccessToken] = {}
        self._trading: dict[str, threading.Lock] = {}  # one trade at a time per person
        self._prune_at = 0.0
        self._lock = threading.Lock()

    def remember(self, mailbox: str, assertion: str, expires_at: float) -> None:
        """Keep a validated caller's token (the newest per person); expired ones are let go."""
        now = self.clock()
        with self._lock:
            self._assertions[mailbox.lower()] = (assertion, expires_at)
            if now >= self._prune_at:  # every request comes here: sweep once a minute at most
                self._prune_at = now + PRUNE_EVERY_S
                for key in [k for k, (_, exp) in self._assertions.items() if exp <= now]:
                    del self._assertions[key]
                for key in [k for k, t in self._tokens.items() if t.expires_at <= now]:
                    del self._tokens[key]
                    self._trading.pop(key, None)

    def token(self, mailbox: str) -> AccessToken:
        """An Exchange token acting as `mailbox`; raises DirectoryError saying why not."""
        key = mailbox.lower()
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh
        with self._lock:
            trading = self._trading.setdefault(key, threading.Lock())
        with trading:  # a warm-up and a send check at once: one trade, the other waits for it
            return self._fresh(key) or self._trade(key, mailbox)

    def forget(self, mailbox: str) -> None:
        """Drop a token the service refused (revoked, or it restarted): the next call trades
        again from the person's newest assertion."""
        with self._lock:
            self._tokens.pop(mailbox.lower(), None)

    def _fresh(self, key: str) -> AccessToken | None:
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - self.clock() > RENEW_BEFORE_S:
            return cached
        return None

    def _trade(self, key: str, mailbox: str) -> AccessToken:
        now = self.clock()
        with self._lock:
            assertion = self._assertions.get(key)
        if assertion is None or assertion[1] <= now:
            raise DirectoryError(
                "not_signed_in",
                f"With {self.settings.setting} Rollcall reaches {self.settings.service} only "
                f"with a signed-in person's own token, and none is at hand for {mailbox}: sign "
                "in again")
        answer = self._exchange(assertion[0], mailbox)
        token = AccessToken(answer["access_token"], now + float(answer.get("expires_in", 0)))
        with self._lock:
            self._tokens[key] = token
        return token

    def _exchange(self, assertion: str, mailbox: str) -> dict[str, Any]:
        """One on-behalf-of request through MSAL; its failures as directory errors."""
        try:
            answer: dict[str, Any] = self._msal().acquire_token_on_behalf_of(
                assertion, [self.settings.scope])
        except (requests.RequestException, ValueError, OSError) as e:
            # ValueError: MSAL could not read the provider's OpenID metadata.
            with self._lock:
                self._app = None  # the next count tries discovery again
            # Plain words; requests' text (the provider's host and port) is for the log only.
            raise DirectoryError("unreachable", "The identity provider could not be asked for a "
                                 f"{self.settings.service} token", detail=provider_problem(e),
                                 cause=e) from None
        if "access_token" not in answer:
            error = answer.get("error", "error")
            # The description says what to fix (consent, conditional access) and holds no token.
            log.warning("on-behalf-of refused for %s: %s", mailbox, error)
            raise DirectoryError(
                "unauthorized", f"The identity provider would not let Rollcall act in "
                f"{self.settings.service} as "
                f"{mailbox}: {error}: {answer.get('error_description', '')}".strip())
        return answer

    def _msal(self) -> Any:
        with self._lock:
            if self._app is None:
                self._app = self._app_factory(self.settings)
            return self._app


class _UnkeptTokenCache(msal.TokenCache):  # type: ignore[misc]
    """MSAL's on-behalf-of never reads its cache, and keeping every answer (refresh tokens
    included) would grow without bound; `OnBehalfOf` keeps the one token per person it reuses."""

    def add(self, event: dict[str, Any], now: int | None = None) -> None:
        return None


def _msal_app(settings: OboSettings) -> Any:
    """MSAL's confidential client; constructing it reads the provider's OpenID metadata."""
    authority, entra = msal_authority(settings.issuer)
    where = {"authority": authority} if entra else {"oidc_authority": authority}
    return msal.ConfidentialClientApplication(
        settings.client_id, client_credential=settings.client_secret,
        http_client=_ProviderSession(settings.ca_file), token_cache=_UnkeptTokenCache(),
        **where)


class _ProviderSession(requests.Session):
    """requests, with the CA bundle and timeout on every request.

    A session's own `verify` loses to REQUESTS_CA_BUNDLE from the environment (requests applies
    the variable per request), so a private CA for the provider must be passed per request.
    """

    def __init__(self, ca_file: str | None) -> None:
        super().__init__()
        self.ca = ca_file or True

    def request(self, method: Any, url: Any,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.ca)
        kwargs.setdefault("timeout", TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)
