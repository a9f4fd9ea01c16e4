"""The organisation's directory as bootstrap hands it around: Exchange over EWS, or Exchange
Online through Microsoft Graph. Whatever speaks to it, the rest of Rollcall sees this seam and the
Directory port (core/model.py), never a protocol's names."""

from __future__ import annotations

from typing import Any, Protocol

from rollcall.core.model import Directory


class Organisation(Protocol):
    """One organisation's directory, connected on first need and shared by every count."""

    kind: str  # what it is, for Server information: "ews" or "graph"
    auth: str  # how Rollcall acts there: "basic", "ntlm", "oauth", "obo" (on behalf of each
    # caller), "app" (Graph: Rollcall's own client credentials)

    def missing(self) -> list[str]:
        """The settings (names as in config.SETTINGS) it needs and lacks; [] when ready."""
        ...

    def directory(self, mailbox: str | None) -> Directory:
        """The directory as `mailbox` sees it (its own contacts); raises NotConfigured when
        settings are missing, DirectoryError when it cannot be reached or refuses."""
        ...

    def version(self) -> str | None:
        """The server's version as it reported it, once anything was asked; else None."""
        ...

    def probe(self, mailbox: str | None) -> str | None:
        """Ask one cheap question now (as `mailbox` where callers' own tokens are used) and
        return the version; raises what the adapter raised."""
        ...

    def details(self, mailbox: str | None) -> dict[str, Any]:
        """Server information's own part for this directory (Graph: its endpoint, the
        permissions granted against those needed, what it cannot see); may ask it now."""
        ...
