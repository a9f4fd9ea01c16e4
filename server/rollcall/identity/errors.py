"""Identity errors in Rollcall's one error shape, with the headers RFC 6750 asks for."""

from __future__ import annotations

from ..errors import RollcallError


class AuthError(RollcallError):
    """Who is asking could not be established, or may not do this (the gate logs these)."""


class NotSignedIn(AuthError):
    """No bearer token at all: the pane should get one and try again."""

    code = "not_signed_in"
    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="rollcall"'}


class InvalidToken(AuthError):
    """A token that fails validation; `code` says which way where the pane can act on it."""

    code = "invalid_token"
    status = 401
    # The message goes to the client anyway (it is the body); it never quotes the token.
    headers = {"WWW-Authenticate": 'Bearer realm="rollcall", error="invalid_token"'}


class Forbidden(AuthError):
    """A valid caller without the right (the admin role, another person's mailbox)."""

    code = "forbidden"
    status = 403


class IdentityUnavailable(AuthError):
    """The issuer's keys could not be read: not the caller's fault, so 503 and not 401."""

    code = "identity_unavailable"
    status = 503
