"""GET /api/admin/status's document for the admin asking, each part gathered when asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rollcall.counting.cache import ExpansionCache
from rollcall.directory.organisation import Organisation

from .status import directory_status, server_status

if TYPE_CHECKING:
    from rollcall.identity import TokenValidator


class ServerInfo:
    """Rollcall's version, the organisation's directory (probed now: over OAuth with the admin's
    own token), the database, the expansion cache, the sign-in keys and the SMTP service."""

    def __init__(self, organisation: Organisation, database: Callable[[], dict[str, Any]],
                 cache: ExpansionCache, cache_ttl_s: float,
                 validator: TokenValidator | None, issuer: str | None,
                 domains: Callable[[str | None], tuple[str, ...]] | None = None,
                 configured_domains: tuple[str, ...] = (),
                 smtp: Callable[[], dict[str, Any]] | None = None,
                 shared: Callable[[], dict[str, Any]] | None = None) -> None:
        self.organisation = organisation
        self.database = database
        self.cache = cache
        self.cache_ttl_s = cache_ttl_s
        self.validator = validator
        self.issuer = issuer or ""
        self.domains = domains  # the organisation's domains for a count acting as a mailbox
        self.configured_domains = configured_domains
        self.smtp = smtp  # the SMTP service section (sending/control.py)
        self.shared = shared  # where the caches live: this process, or Redis (and its state)

    def report(self, mailbox: str) -> dict[str, Any]:
        """The status document as `mailbox`, an administrator, sees it."""
        org = self.organisation
        return server_status(
            exchange=lambda: {**directory_status(org.missing(), lambda: org.probe(mailbox),
                                                 auth=org.auth), "directory": org.kind,
                              **self._details(mailbox), **self._domains(mailbox)},
            database=self.database,
            cache=self._cache,
            identity=self._identity, smtp=self.smtp)

    def _cache(self) -> dict[str, Any]:
        """This process's cached expansions, and where the processes share theirs: Redis away
        means every process asks the directory itself (slower), said in words."""
        out: dict[str, Any] = {"entries": len(self.cache), "ttl_s": self.cache_ttl_s}
        if self.shared is not None:
            state = self.shared()
            out["shared"] = state
            if not state.get("ok"):
                out["warning"] = ("Redis is not answering, so each Rollcall process counts "
                                  "with its own cache: slower, and the same lists are asked "
                                  "for more than once. Nothing is lost.")
        return out

    def _details(self, mailbox: str) -> dict[str, Any]:
        """The directory's own part (Graph's permissions, limits); its failure said, not raised."""
        try:
            return self.organisation.details(mailbox)
        except Exception as e:  # noqa: BLE001 - the status reports any failure, it never raises
            return {"details_error": getattr(e, "message", None) or type(e).__name__}

    def _domains(self, mailbox: str) -> dict[str, Any]:
        """Which domains count as inside the organisation (recipients elsewhere are external,
        and an unknown address inside them is unresolved): configured, or defaulted from the
        acting mailbox's and the service account's."""
        if self.domains is None:
            return {}
        return {"internal_domains": list(self.domains(mailbox)),
                "internal_domains_source": "configured" if self.configured_domains
                else "default"}

    def _identity(self) -> dict[str, Any]:
        keys = (self.validator.keys.status() if self.validator
                else {"keys": 0, "age_s": None, "source": ""})
        return {"issuer": self.issuer, **keys}
