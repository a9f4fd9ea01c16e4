"""The development issuer over HTTP (only `rollcall demo` and the tests turn it on): its OpenID
metadata, its JWKS, POST /dev-issuer/token for the simulator's people, and the OAuth token
endpoint POST /dev-issuer/oauth2/token where Rollcall's MSAL client trades a caller's token for
an Exchange one (on-behalf-of) or gets its own app token for SMTP (client credentials)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from rollcall.errors import BadRequest
from rollcall.identity import Forbidden

from .issuer import LIFETIME_S, PATH, DevIssuer, OAuthError, is_loopback

bp = Blueprint("dev_issuer", __name__, url_prefix=PATH)


def issuer() -> DevIssuer:
    found: DevIssuer = current_app.extensions["rollcall.dev_issuer"]
    return found


@bp.get("/.well-known/openid-configuration")
def metadata() -> Any:
    return jsonify(issuer().metadata())


@bp.get("/jwks.json")
def jwks() -> Any:
    return jsonify(issuer().jwks())


@bp.post("/token")
def token() -> Any:
    """{"username": "alex@contoso.com"} (default the demo sender) -> a bearer access token."""
    # The server only starts on loopback with this on; a proxy in front could still forward.
    if not is_loopback(request.remote_addr or ""):
        raise Forbidden("The development issuer only answers this machine")
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    username = body.get("username") or current_app.extensions.get("rollcall.dev_user")
    if not isinstance(username, str) or username.strip().lower() not in issuer().users:
        raise BadRequest("'username' must be one of the demo organisation's people",
                         code="unknown_user")
    return jsonify({"access_token": issuer().mint(username), "token_type": "Bearer",
                    "expires_in": LIFETIME_S})


@bp.post("/oauth2/token")
def oauth_token() -> Any:
    """RFC 6749 section 5: form-encoded request, JSON answer, OAuth's own error shape."""
    if not is_loopback(request.remote_addr or ""):
        raise Forbidden("The development issuer only answers this machine")
    auth = request.authorization
    basic = (auth.username or "", auth.password or "") if auth and auth.type == "basic" else None
    try:
        answer, status = issuer().token(request.form.to_dict(), basic), 200
    except OAuthError as e:
        answer, status = e.as_json(), e.status
    return jsonify(answer), status, {"Cache-Control": "no-store"}


@bp.get("/authorize")
def authorize() -> Any:
    """Listed in the metadata because OpenID clients insist on it; nobody signs in here."""
    return jsonify(OAuthError("unsupported_response_type", "the development issuer signs the "
                              f"demo's people in through POST {PATH}/token").as_json()), 400
