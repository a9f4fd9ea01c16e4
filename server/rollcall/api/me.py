"""GET /api/me (who the token says you are) and GET /api/auth/config (how the pane signs in)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .auth import caller
from .context import services

bp = Blueprint("me", __name__, url_prefix="/api")


@bp.get("/me")
def me() -> Any:
    return jsonify(caller().as_json())


@bp.get("/auth/config")
def auth_config() -> Any:
    """Public: the app registration's client id and scope for MSAL, and the dev issuer if on."""
    return jsonify(services().pane_auth.to_json())
