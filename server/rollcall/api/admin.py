"""Admin-only views: GET /api/admin/status (the pane's "Server Information")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from .auth import admin_only, caller

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


@bp.get("/status")
@admin_only
def status() -> Any:
    return jsonify(current_app.extensions["rollcall.status"](caller().mailbox))
