"""Tokens for Graph and Exchange's admin API: Rollcall's own (client credentials through
rollcall.identity) or the caller's (on-behalf-of, rollcall.identity.on_behalf_of)."""

from __future__ import annotations

from collections.abc import Callable

import requests

from rollcall.core.model import DirectoryError
from rollcall.identity.client_credentials import ClientApp, provider_problem

from .settings import GraphSettings

TokenSource = Callable[[bool], str]  # a current token; True: a new one, the last was refused


def scope(resource_url: str) -> str:
    """The `.default` scope of a resource: its origin, as Entra ID names resources."""
    return resource_url.rstrip("/") + "/.default"


class AppTokens:
    """Rollcall's own tokens (client credentials) per resource, as the directory's errors."""

    def __init__(self, settings: GraphSettings) -> None:
        self.app = ClientApp(settings.entra_authority, settings.client_id or "",
                             settings.client_secret or "", settings.ca_file)

    def token(self, resource_url: str, renew: bool = False) -> str:
        """A current token for the resource (`renew`: not the one kept, which the resource
        refused); raises DirectoryError saying why not."""
        try:
            answer = self.app.token(scope(resource_url), renew)
        except (requests.RequestException, ValueError, OSError) as e:
            raise DirectoryError("unreachable", "The identity provider could not be asked for "
                                 "a Microsoft Graph token", detail=provider_problem(e),
                                 cause=e) from None
        if "access_token" not in answer:
            raise DirectoryError(
                "unauthorized", "The identity provider would not give Rollcall a Microsoft "
                f"Graph token: {answer.get('error', 'error')}: "
                f"{str(answer.get('error_description', ''))[:300]}".strip())
        return str(answer["access_token"])
