"""POST /api/count: the report for the recipients of a message."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..core.model import Recipient
from ..errors import BadRequest
from ..service import CountService
from .auth import acting_mailbox, rate_limited

bp = Blueprint("count", __name__)


@bp.post("/api/count")
@rate_limited("count")
def count() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object like "
                         '{"recipients": [{"displayName": "...", "emailAddress": "..."}]}',
                         code="not_json")
    recipients = parse_recipients(body.get("recipients"))
    expected = body.get("expected")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)
                                 or expected < 0):
        raise BadRequest("'expected' must be a whole number of recipients, 0 or more",
                         code="bad_expected")
    refresh = body.get("refresh", False)
    if not isinstance(refresh, bool):
        raise BadRequest("'refresh' must be true or false", code="bad_refresh")
    mailbox = acting_mailbox(body.get("mailbox"))  # the token's person, never the body's
    service: CountService = current_app.extensions["rollcall.count"]
    return jsonify(service.count(recipients, expected, mailbox, refresh))


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
