"""The organisation's directory as bootstrap hands it around: Exchange over EWS today, Microsoft
Graph beside it next. Whatever speaks to it, the rest of Rollcall sees this seam and the
Directory port (core/model.py), never a protocol's names."""

from __future__ import annotations

from typing import Protocol

from rollcall.core.model import Directory


class Organisation(Protocol):
    """One organisation's directory, connected on first need and shared by every count."""

    kind: str  # what it is, for Server information: "ews" (later "graph")
    auth: str  # how Rollcall acts there: "basic", "ntlm", "oauth" (on behalf of each caller)

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
