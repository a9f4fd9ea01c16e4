"""Whom Rollcall trusts to sign callers in, and how it acts for them (the `identity` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tokens import OidcSettings


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    issuer: str | None = None  # the identity provider's issuer; its tokens are the only ones
    audience: tuple[str, ...] = ()  # the API's client id and/or api://HOST/CLIENT-ID
    jwks_url: str | None = None  # signing keys; None: from OpenID discovery
    ca_file: str | None = None  # CA bundle for the issuer's HTTPS
    client_id: str | None = None  # the add-in's app registration
    client_secret: str | None = None  # its secret, for on-behalf-of
    admin_group: str | None = None  # object id of a group whose members are admins

    def oidc(self) -> OidcSettings | None:
        """What token validation needs, or None when no issuer is configured."""
        if not self.issuer or not self.audience:
            return None
        from .tokens import OidcSettings  # PyJWT: loaded when tokens are checked, not before

        return OidcSettings(self.issuer, self.audience, self.jwks_url, self.admin_group)
