"""Whose mailbox a validated token acts as: one rule, from claims the organisation controls.

Pure: claims in, an address out, or InvalidToken saying why not. No I/O, no PyJWT.

The rule (README.md, "Sign-in and access", says the same):
1. Tenant. When Rollcall knows its tenant (ROLLCALL_OIDC_TENANT_ID, or the GUID in an Entra ID
   issuer URL), the token's `tid` must be that tenant.
2. Guests. A guest is refused unless ROLLCALL_OIDC_ALLOW_GUESTS is set. A token is a guest's when
   `acct` is 1 (Entra's optional claim: 0 member, 1 guest), when `idp` names another identity
   provider than the issuer (Entra's access-token reference: `idp` equals `iss` "unless the user
   account isn't in the same tenant as the issuer, such as guests"), or when the UPN holds
   `#EXT#` (the form the resource tenant stores a guest's UPN in).
3. Mailbox. `upn`, which the tenant (or AD FS, from Active Directory) sets; without one,
   `preferred_username`, but only for a member, because a guest's is their address at home.
   Never `email` or `unique_name`: the first is unverified, the second a display value (or
   DOMAIN\\user from AD FS).
Where a directory lookup is configured (Microsoft Graph, later), `oid` is resolved to the mailbox
instead of step 3; that is `TokenValidator`'s `resolve_mailbox`, not this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidToken

# Entra ID's token issuers: the worldwide cloud (v2.0 and v1.0 issuers), US Government, China.
ENTRA_HOSTS = frozenset({"login.microsoftonline.com", "sts.windows.net",
                         "login.microsoftonline.us", "login.chinacloudapi.cn",
                         "login.partner.microsoftonline.cn", "sts.chinacloudapi.cn"})
TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
GUEST_UPN_MARK = "#ext#"


def tenant_of(issuer: str | None) -> str | None:
    """The tenant id (lower case) an Entra ID issuer URL names, e.g.
    https://login.microsoftonline.com/{tid}/v2.0; None for any other issuer."""
    if not issuer:
        return None
    parts = urlsplit(issuer.strip())
    if (parts.hostname or "").lower() not in ENTRA_HOSTS:
        return None
    first = parts.path.strip("/").split("/")[0]
    return first.lower() if TENANT_ID.match(first) else None


def is_guest(claims: Mapping[str, Any]) -> bool:
    """True when any documented guest marker is present (see the module's rule, step 2)."""
    if str(claims.get("acct", "")) == "1":
        return True
    idp = claims.get("idp")
    if isinstance(idp, str) and idp and not _same_provider(idp, claims):
        return True
    return any(isinstance(claims.get(name), str) and GUEST_UPN_MARK in claims[name].lower()
               for name in ("upn", "preferred_username"))


def admit(claims: Mapping[str, Any], tenant_id: str | None = None,
          allow_guests: bool = False) -> bool:
    """Steps 1 and 2: whether the token is a guest's, once admitted; raises InvalidToken
    (`wrong_tenant`, `guest_not_allowed`)."""
    if tenant_id:
        tid = claims.get("tid")
        if not isinstance(tid, str) or tid.strip().lower() != tenant_id.lower():
            raise InvalidToken("The token was issued for another organisation (tenant) than "
                               "Rollcall's", code="wrong_tenant")
    guest = is_guest(claims)
    if guest and not allow_guests:
        raise InvalidToken("Guest accounts may not use Rollcall here; sign in with an account "
                           "of this organisation", code="guest_not_allowed")
    return guest


def acting_mailbox(claims: Mapping[str, Any], tenant_id: str | None = None,
                   allow_guests: bool = False) -> str:
    """The mailbox (lower case) a signature-checked token's claims act as (all three steps);
    raises InvalidToken: `wrong_tenant`, `guest_not_allowed`, or `invalid_token` for no
    usable mailbox claim."""
    guest = admit(claims, tenant_id, allow_guests)
    mailbox = _address(claims.get("upn"))
    if mailbox is None and not guest:
        mailbox = _address(claims.get("preferred_username"))
    if mailbox is None:
        raise InvalidToken("The token names no mailbox Rollcall may act as (it needs 'upn', or "
                           "'preferred_username' for a member of the organisation)")
    return mailbox


def _same_provider(idp: str, claims: Mapping[str, Any]) -> bool:
    """`idp` names the issuer itself, or (Entra writes v1.0-style STS URIs there) the token's
    own tenant."""
    if idp.rstrip("/") == str(claims.get("iss", "")).rstrip("/"):
        return True
    tid = claims.get("tid")
    home = tenant_of(idp)
    return home is not None and isinstance(tid, str) and home == tid.strip().lower()


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    address = value.strip().lower()
    local, at, domain = address.partition("@")
    return address if local and at and domain and " " not in address else None
