"""Who is asking: bearer tokens from an OpenID Connect issuer (Entra ID, AD FS, or the built-in
development issuer) checked against the issuer's published keys.

The rule of this folder: no Flask. Validation takes a token string and answers a `Caller` or
raises one of the errors in `errors.py`; the API layer (`rollcall.api.auth`) reads the header,
and `app.py` decides which routes need a caller.
"""

from .errors import Forbidden, IdentityUnavailable, InvalidToken, NotSignedIn
from .keys import KeySet
from .tokens import ADMIN_ROLE, REQUIRED_SCOPE, Caller, OidcSettings, TokenValidator

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
