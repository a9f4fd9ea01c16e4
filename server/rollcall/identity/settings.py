"""Whom Rollcall trusts to sign callers in, and how it acts for them (the `identity` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .mailbox import tenant_of

if TYPE_CHECKING:
    from .tokens import OidcSettings

# The issuer's keys are read again this often, so a key it withdrew stops working within it.
KEYS_REFRESH_S = 300.0
# ... and when a token names a key not held, at once, but at most once in this many seconds.
KEYS_REREAD_S = 10.0


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    issuer: str | None = None  # the identity provider's issuer; its tokens are the only ones
    audience: tuple[str, ...] = ()  # the API's client id and/or api://HOST/CLIENT-ID
    jwks_url: str | None = None  # signing keys; None: from OpenID discovery
    ca_file: str | None = None  # CA bundle for the issuer's HTTPS
    client_id: str | None = None  # the add-in's app registration
    client_secret: str | None = None  # its secret, for on-behalf-of
    admin_group: str | None = None  # object id of a group whose members are admins
    tenant_id: str | None = None  # Entra ID tenant tokens must name in `tid`; default the issuer's
    allow_guests: bool = False  # let guest accounts (B2B) in, acting as their `upn`
    keys_refresh_s: float = KEYS_REFRESH_S  # the issuer's keys are read again this often

    def __post_init__(self) -> None:
        named = tenant_of(self.issuer)
        if self.tenant_id and named and named != self.tenant_id.lower():
            raise ValueError(f"ROLLCALL_OIDC_TENANT_ID={self.tenant_id} is not the tenant "
                             f"ROLLCALL_OIDC_ISSUER names ({named}): no token could pass both")

    def tenant(self) -> str | None:
        """The tenant every token's `tid` must be: the setting, else the Entra issuer's."""
        return self.tenant_id.lower() if self.tenant_id else tenant_of(self.issuer)

    def oidc(self) -> OidcSettings | None:
        """What token validation needs, or None when no issuer is configured."""
        if not self.issuer or not self.audience:
            return None
        from .tokens import OidcSettings  # PyJWT: loaded when tokens are checked, not before

        return OidcSettings(self.issuer, self.audience, self.jwks_url, self.admin_group,
                            tenant_id=self.tenant(), allow_guests=self.allow_guests,
                            keys_refresh_s=self.keys_refresh_s)
