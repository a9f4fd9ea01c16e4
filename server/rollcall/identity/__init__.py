"""Who is asking: bearer tokens from an OpenID Connect issuer (Entra ID, AD FS, or the built-in
development issuer) checked against the issuer's published keys.

The rule of this folder: no Flask. Validation takes a token string and answers a `Caller` or
raises one of the errors in `errors.py`; the API layer (`rollcall.api.auth`) reads the header,
and `app.py` decides which routes need a caller.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import Forbidden, IdentityUnavailable, InvalidToken, NotSignedIn
    from .keys import KeySet
    from .tokens import ADMIN_ROLE, REQUIRED_SCOPE, Caller, OidcSettings, TokenValidator

# Loaded on first use (PEP 562): reading the configuration imports this package's settings, and
# must not pay for what the rest of it imports.
_EXPORTS = {
    "ADMIN_ROLE": "rollcall.identity.tokens",
    "Caller": "rollcall.identity.tokens",
    "Forbidden": "rollcall.identity.errors",
    "IdentityUnavailable": "rollcall.identity.errors",
    "InvalidToken": "rollcall.identity.errors",
    "KeySet": "rollcall.identity.keys",
    "NotSignedIn": "rollcall.identity.errors",
    "OidcSettings": "rollcall.identity.tokens",
    "REQUIRED_SCOPE": "rollcall.identity.tokens",
    "TokenValidator": "rollcall.identity.tokens",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ADMIN_ROLE",
    "REQUIRED_SCOPE",
    "Caller",
    "Forbidden",
    "IdentityUnavailable",
    "InvalidToken",
    "KeySet",
    "NotSignedIn",
    "OidcSettings",
    "TokenValidator",
]
