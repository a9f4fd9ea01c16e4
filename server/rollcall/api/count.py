"""POST /api/count: the report for the recipients of a message."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from ..core.model import Recipient
from ..errors import BadRequest
from ..service import CountService
from .auth import rate_limited
from .inputs import expected_count, json_object, mailbox

bp = Blueprint("count", __name__)


@bp.post("/api/count")
@rate_limited("count")
def count() -> Any:
    body = json_object('{"recipients": [{"displayName": "...", "emailAddress": "..."}]}')
    recipients = parse_recipients(body.get("recipients"))
    refresh = body.get("refresh", False)
    if not isinstance(refresh, bool):
        raise BadRequest("'refresh' must be true or false", code="bad_refresh")
    service: CountService = current_app.extensions["rollcall.count"]
    return jsonify(service.count(recipients, expected_count(body), mailbox(body), refresh))


def parse_recipients(value: Any) -> list[Recipient]:
    """Office.js EmailAddressDetails (displayName, emailAddress) as Recipients; BadRequest else."""
    if not isinstance(value, list) or not value:
        raise BadRequest("'recipients' must be a non-empty list of "
                         '{"displayName": ..., "emailAddress": ...}', code="no_recipients")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(f"recipients[{i}] must be an object", code="bad_recipient")
        name, address = item.get("displayName") or "", item.get("emailAddress") or ""
        if not isinstance(name, str) or not isinstance(address, str):
            raise BadRequest(f"recipients[{i}]: displayName and emailAddress must be text",
                             code="bad_recipient")
        if not name.strip() and not address.strip():
            raise BadRequest(f"recipients[{i}] has neither a name nor an address",
                             code="bad_recipient")
        out.append(Recipient(name=name.strip(), address=address.strip() or None))
    return out
