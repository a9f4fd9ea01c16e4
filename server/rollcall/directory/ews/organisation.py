"""Exchange over EWS as the organisation's directory: connected on first need, shared by every
count and by Server information."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rollcall.core.entries import internal_domains as default_domains
from rollcall.core.model import Directory
from rollcall.errors import NotConfigured

from .settings import EwsSettings

if TYPE_CHECKING:
    from .auth import AccessToken
    from .client import EwsConnections


class EwsOrganisation:
    """The Organisation seam over EWS; exchangelib is loaded only when a count first needs it.

    `missing` names the settings it lacks and `problem` says why it cannot start (bootstrap
    reads both from the configuration), so a count fails with NotConfigured naming the setting.
    """

    kind = "ews"

    def __init__(self, settings: EwsSettings, *, missing: Sequence[str] = (),
                 problem: str | None = None, connections: int = 8,
                 internal_domains: Sequence[str] = (),
                 tokens: Callable[[str], AccessToken] | None = None) -> None:
        self.settings = settings
        self.auth = settings.auth
        self._missing = list(missing)
        self._problem = problem
        self._connections_per_account = connections
        self._internal_domains = tuple(internal_domains)
        self._tokens = tokens
        self._connections: EwsConnections | None = None
        self._lock = threading.Lock()

    def missing(self) -> list[str]:
        return list(self._missing)

    def connections(self) -> EwsConnections:
        """The EWS connections, made on first use; raises NotConfigured naming the setting."""
        with self._lock:
            if self._connections is None:
                if self._problem:
                    raise NotConfigured(self._problem)
                from .client import EwsConnections

                self._connections = EwsConnections(
                    self.settings, tokens=self._tokens,
                    connections=self._connections_per_account,
                    internal_domains=self._internal_domains)
            return self._connections

    def directory(self, mailbox: str | None) -> Directory:
        directory: Directory = self.connections().directory(mailbox)
        return directory

    def internal_domains(self, mailbox: str | None) -> tuple[str, ...]:
        """The domains a count acting as `mailbox` (None: the service account) treats as the
        organisation's: ROLLCALL_INTERNAL_DOMAINS, else that mailbox's and the service
        account's. An unresolved address there is nobody's; elsewhere it is a one-off."""
        return default_domains(self._internal_domains, mailbox, self.settings.username)

    def details(self, mailbox: str | None) -> dict[str, Any]:
        return {"endpoint": self.settings.url}

    def version(self) -> str | None:
        return self._connections.server_version() if self._connections is not None else None

    def probe(self, mailbox: str | None) -> str | None:
        """One ResolveNames now, as the service account (over OAuth: as `mailbox`, the person
        asking); raises what EWS raised."""
        acting = mailbox if self.auth == "oauth" else None
        name = acting or self.settings.username or ""
        self.connections().directory(acting).resolve(name, name)
        return self.version()
