"""POST /api/count: the report for the recipients of a message."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..core.policy import evaluate
from ..counting.service import no_count
from ..errors import BadRequest
from .auth import rate_limited
from .context import services
from .inputs import expected_count, json_object, mailbox, parse_recipients
from .request_id import request_id

bp = Blueprint("count", __name__)


@bp.post("/api/count")
@rate_limited("count")
def count() -> Any:
    body = json_object('{"recipients": [{"displayName": "...", "emailAddress": "..."}]}')
    recipients = parse_recipients(body.get("recipients"))
    refresh = body.get("refresh", False)
    if not isinstance(refresh, bool):
        raise BadRequest("'refresh' must be true or false", code="bad_refresh")
    found = services()
    report = found.counts.count(recipients, expected_count(body), mailbox(body), refresh,
                                request_id=request_id())
    failure = no_count(report)
    if failure is not None:
        raise failure  # nothing is known: a state ("Can't reach Exchange"), never a number
    # What Send would do with this count, by the same policy: the pane shows it per finding.
    preview = evaluate(report, found.config.policy)
    return jsonify({**report.to_json(), "send_check": preview.to_json()})
