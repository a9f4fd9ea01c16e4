"""POST /api/count: the report for the recipients of a message."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..errors import BadRequest
from .auth import rate_limited
from .context import services
from .inputs import expected_count, json_object, mailbox, parse_recipients

bp = Blueprint("count", __name__)


@bp.post("/api/count")
@rate_limited("count")
def count() -> Any:
    body = json_object('{"recipients": [{"displayName": "...", "emailAddress": "..."}]}')
    recipients = parse_recipients(body.get("recipients"))
    refresh = body.get("refresh", False)
    if not isinstance(refresh, bool):
        raise BadRequest("'refresh' must be true or false", code="bad_refresh")
    report = services().counts.count(recipients, expected_count(body), mailbox(body), refresh)
    return jsonify(report.to_json())
