"""Admin-only views: GET /api/admin/status (the pane's "Server Information")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .auth import admin_only, caller
from .context import services

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


@bp.get("/status")
@admin_only
def status() -> Any:
    return jsonify(services().server_info.report(caller().mailbox))
