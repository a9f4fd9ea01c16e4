"""Who is asking: bearer tokens from an OpenID Connect issuer (Entra ID, AD FS, or the built-in
development issuer) checked against the issuer's published keys.

The rule of this folder: no Flask. Validation takes a token string and answers a `Caller` or
raises one of the errors in `errors.py`; the API layer (`rollcall.api.auth`) reads the header,
and `app.py` decides which routes need a caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollcall.lazy import lazy_exports

if TYPE_CHECKING:
    from .errors import Forbidden, IdentityUnavailable, InvalidToken, NotSignedIn
    from .keys import KeySet
    from .tokens import (
        ADMIN_ROLE,
        REQUIRED_SCOPE,
        Caller,
        MailboxResolver,
        OidcSettings,
        TokenValidator,
    )

# Loaded on first use (PEP 562): reading the configuration imports this package's settings, and
# must not pay for what the rest of it imports.
_EXPORTS = {
    "ADMIN_ROLE": "rollcall.identity.tokens",
    "Caller": "rollcall.identity.tokens",
    "Forbidden": "rollcall.identity.errors",
    "IdentityUnavailable": "rollcall.identity.errors",
    "InvalidToken": "rollcall.identity.errors",
    "KeySet": "rollcall.identity.keys",
    "MailboxResolver": "rollcall.identity.tokens",
    "NotSignedIn": "rollcall.identity.errors",
    "OidcSettings": "rollcall.identity.tokens",
    "REQUIRED_SCOPE": "rollcall.identity.tokens",
    "TokenValidator": "rollcall.identity.tokens",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "ADMIN_ROLE",
    "REQUIRED_SCOPE",
    "Caller",
    "Forbidden",
    "IdentityUnavailable",
    "InvalidToken",
    "KeySet",
    "MailboxResolver",
    "NotSignedIn",
    "OidcSettings",
    "TokenValidator",
]
