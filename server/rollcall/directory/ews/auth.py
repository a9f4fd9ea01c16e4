"""How Rollcall's EWS requests prove who they act for and which certificates they trust.

With OAuth each sender has credentials of their own, renewed by Rollcall (the on-behalf-of
exchange) rather than by exchangelib; a private CA for Exchange is trusted through exchangelib's
HTTP adapter hook.
"""

from __future__ import annotations

from typing import Any, ClassVar
from typing import Protocol as Interface
from urllib.parse import urlsplit

import requests
from exchangelib import Account
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.protocol import BaseProtocol, Protocol


class AccessToken(Interface):
    """A bearer token for Exchange (rollcall.identity.on_behalf_of.AccessToken)."""

    @property
    def value(self) -> str: ...

    @property
    def expires_at(self) -> float: ...


class PrivateCA(requests.adapters.HTTPAdapter):
    """exchangelib's documented hook for a private CA (BaseProtocol.HTTP_ADAPTER_CLS): each EWS
    origin's bundle goes with every send, where REQUESTS_CA_BUNDLE from the environment cannot
    override it as it overrides a session's own `verify`."""

    bundles: ClassVar[dict[str, str]] = {}  # https://host:port -> CA file

    @classmethod
    def trust(cls, url: str, ca_file: str) -> None:
        cls.bundles[_origin(url)] = ca_file
        BaseProtocol.HTTP_ADAPTER_CLS = cls

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        bundle = self.bundles.get(_origin(request.url or ""))
        if bundle:
            kwargs["verify"] = bundle
        return super().send(request, *args, **kwargs)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class BearerCredentials(OAuth2AuthorizationCodeCredentials):  # type: ignore[misc]
    """One sender's Exchange token, renewed by Rollcall rather than by exchangelib.

    No client secret is given, so exchangelib never asks a token endpoint itself. When the token
    it holds expires, oauthlib raises TokenExpiredError and exchangelib opens a new session with
    whatever token these credentials hold by then (`use` puts the newest one here before each
    count); the engine retries that one call.
    """

    def __init__(self, mailbox: str, token: AccessToken) -> None:
        super().__init__(access_token=oauth_token(token))
        self.mailbox = mailbox  # part of exchangelib's Protocol cache key: one pool per sender

    def __hash__(self) -> int:
        # exchangelib hashes every attribute but the token, including the oauthlib client it
        # caches on first use: the Protocol cache key would change, and no eviction find it.
        return hash((type(self).__name__, self.mailbox))

    @staticmethod
    def use(account: Account, token: AccessToken) -> None:
        credentials = account.protocol.credentials
        if credentials.access_token["access_token"] != token.value:
            credentials.on_token_auto_refreshed(oauth_token(token))


def oauth_token(token: AccessToken) -> dict[str, object]:
    """The token as requests-oauthlib holds one; `expires_at` lets oauthlib see it expire."""
    return {"access_token": token.value, "token_type": "Bearer",
            "expires_at": token.expires_at}


def forget(account: Account) -> None:
    """Close an Account's connections and drop exchangelib's cached Protocol for it."""
    account.protocol.close()
    try:
        del Protocol[account.protocol.config]
    except KeyError:
        pass
