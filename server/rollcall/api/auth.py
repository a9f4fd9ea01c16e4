"""The API's gate: who is asking (a bearer token), what they may do, and the headers that keep a
browser from being turned against them (CORS for the pane's own origin only, HSTS, no caching).

`app.py` installs `authenticate` as a before_request hook, so every /api/ route needs a valid
token unless it is in PUBLIC; views read the caller with `caller()`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from ..errors import BadRequest, NotConfigured
from ..identity import Caller, Forbidden, NotSignedIn, TokenValidator
from ..identity.errors import AuthError
from ..lists import signed_in
from .context import services
from .ratelimit import EXTENSION, CallerLimits
from .request_id import request_id

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

# Routes anyone may read: the API's description and what the pane needs before it has a token.
PUBLIC = frozenset({"/api/openapi.json", "/api/auth/config"})


def authenticate() -> None:
    """before_request: set the caller for /api/ routes, or raise NotSignedIn/InvalidToken."""
    path = request.path
    if not path.startswith("/api/") or path in PUBLIC or request.method == "OPTIONS":
        return  # preflights carry no credentials by design (Fetch standard)
    validator: TokenValidator | None = services().identity
    if validator is None:
        raise NotConfigured("ROLLCALL_OIDC_ISSUER and ROLLCALL_OIDC_AUDIENCE are not set: Rollcall "
                            "does not answer the API before it can tell who is asking")
    try:
        token = bearer_token()
        g.rollcall_caller = validator.validate(token)
    except AuthError as e:
        # One line per refusal, with the reason and the request's id, never the token: enough
        # to see an attack or a misconfigured audience in the log, and to find a person's 401.
        log.info("request %s: refused %s %r: %s (%s)", request_id(), request.method, path,
                 e.code, e.message)
        raise
    # Counts act as the caller's mailbox only: their Rollcall lists need the token's groups and
    # admin role too (store/access.py remembers them for this mailbox).
    signed_in(g.rollcall_caller)
    obo = services().on_behalf_of
    if obo is not None and token:
        # Exchange over OAuth acts with this person's token, traded when a count needs it.
        obo.remember(g.rollcall_caller.mailbox, token, g.rollcall_caller.expires_at)


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer ...` header; NotSignedIn for any other scheme."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotSignedIn("Only 'Authorization: Bearer <token>' is accepted")
    return token.strip()


def caller() -> Caller:
    """The authenticated caller of this request (authenticate() ran before the view)."""
    found: Caller | None = g.get("rollcall_caller")
    if found is None:
        raise NotSignedIn("Sign in to use Rollcall")
    return found


def acting_mailbox(requested: object = None) -> str:
    """The mailbox a request acts as: always the caller's; naming anyone else is 403."""
    mailbox = caller().mailbox
    if requested is not None and not isinstance(requested, str):
        raise BadRequest("'mailbox' must be an SMTP address", code="bad_mailbox")
    if requested is not None and requested.strip().lower() != mailbox:
        raise Forbidden("Rollcall acts as the signed-in person only; 'mailbox' may name only "
                        "you, or be left out", code="not_your_mailbox")
    return mailbox


def admin_only(view: F) -> F:
    """A view only callers with the admin role (or in the admin group) may use: 403 otherwise."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not caller().admin:
            raise Forbidden("This needs Rollcall's administrator role (Rollcall.Admin)")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def rate_limited(what: str) -> Callable[[F], F]:
    """Limit a view per caller (their mailbox) with the app's limit for `what`: RateLimited
    (429 with Retry-After) when they have none left; no limits at all when the app has none."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            limits: CallerLimits | None = current_app.extensions.get(EXTENSION)
            if limits is not None:
                limits.check(what, caller().mailbox)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
