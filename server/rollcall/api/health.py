"""GET /healthz for load balancers: no sign-in, no secrets, one line of state per part.

503 only when the database cannot be reached: Redis is a cache, and taking every Rollcall out
of the pool because it is away would turn "slower" into "down" (its state is still shown)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .auth import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    answer = services().health()
    return jsonify(answer), 200 if answer["ok"] else 503
