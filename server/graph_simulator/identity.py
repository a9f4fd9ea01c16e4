"""Entra ID's tenant endpoints under /{tenant}/: OpenID metadata, the keys and the token
endpoint, answered as msal expects them (its `oidc_authority` is `{url}/{tenant}/v2.0`)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from .tokens import TokenError, TokenService
from .wire import JSON, GraphError, Request, Response, json_response


def answer(tokens: TokenService, request: Request, path: list[str],
           deny: tuple[str, ...]) -> Response:
    """`path` is what follows the tenant; GraphError 404 for anything else."""
    if path == ["v2.0", ".well-known", "openid-configuration"] and request.method == "GET":
        return json_response(tokens.openid_configuration(), content_type=JSON)
    if path in (["discovery", "v2.0", "keys"], ["discovery", "keys"]):
        return json_response(tokens.jwks(), content_type=JSON)
    if path == ["oauth2", "v2.0", "token"] and request.method == "POST":
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return json_response(tokens.token(form, _basic(request), deny), content_type=JSON)
        except TokenError as e:
            return json_response(e.body(), e.status, JSON)
    if path == ["oauth2", "v2.0", "authorize"]:
        error = TokenError(400, "unsupported_response_type", 70005, "The simulator serves "
                           "only the token endpoint's grants, not interactive sign-in.")
        return json_response(error.body(), 400, JSON)
    raise GraphError(404, "NotFound", "No such endpoint for this tenant.")


def _basic(request: Request) -> tuple[str, str] | None:
    """client_secret_basic: the client id and secret from an HTTP Basic header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(user), unquote_plus(password)
