"""POST /api/validate (the send check's verdict), its warm-up, and the files its runtime loads."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import BadRequest
from ..manifest import HOST
from ..sendcheck import SendCheck
from .auth import rate_limited
from .context import services
from .inputs import expected_count, json_object, mailbox, message_id, parse_recipients
from .pane import addin_folder
from .request_id import request_id

bp = Blueprint("validate", __name__)

PLACEHOLDER = '"__ROLLCALL_ORIGIN__"'  # in addin/sendcheck.js, quotes included


@bp.post("/api/validate")
@rate_limited("validate")
def validate() -> Any:
    body = json_object('{"recipients": [{"displayName": "...", "emailAddress": "..."}], '
                       '"subject": "..."}')
    subject = body.get("subject", "")
    if not isinstance(subject, str):
        raise BadRequest("'subject' must be text", code="bad_subject")
    result = _service().validate(parse_recipients(body.get("recipients")), subject,
                                 expected_count(body), mailbox(body), message_id(body),
                                 request_id=request_id())
    return jsonify(result)


@bp.post("/api/validate/warmup")
@rate_limited("warmup")
def warmup() -> Any:
    body = json_object('{"recipients": [{"displayName": "...", "emailAddress": "..."}], '
                       '"subject": "..."}')
    started = _service().warm_up(parse_recipients(body.get("recipients")), mailbox(body))
    return jsonify({"warming": started}), 202


@bp.get("/sendcheck.js")
def sendcheck_js() -> Any:
    """addin/sendcheck.js with this server's origin written in, for URLs without a page."""
    # The JavaScript-only runtime has no page address that relative URLs could follow.
    source = (addin_folder(services().config.server) / "sendcheck.js").read_text("utf-8")
    origin = _origin()
    if origin is not None:
        source = source.replace(PLACEHOLDER, json.dumps(origin))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # as every add-in file: deploys replace it
    if not services().config.server.public_url:
        response.headers["Vary"] = "Host, X-Forwarded-Proto"
    return response  # api/headers.py gives it the pane's headers: it shadows the pane's route


@bp.get("/.well-known/microsoft-officeaddins-allowed.json")
def officeaddins_allowed() -> Any:
    """The send-check script, listed as allowed to make CORS requests to this origin."""
    # Classic Outlook's JavaScript-only runtime checks this file first (Microsoft's
    # "Use SSO or CORS in your event-based or spam-reporting Outlook add-in").
    origin = _origin()
    return jsonify({"allowed": [f"{origin}/sendcheck.js"] if origin else []})


def _service() -> SendCheck:
    return services().send_check


def _origin() -> str | None:
    """ROLLCALL_PUBLIC_URL when set; else this server's origin as the client reached it (None
    for a Host header that is no host)."""
    public_url = services().config.server.public_url
    if public_url:
        # A Host header is the client's to choose: where an origin is configured, it never
        # decides what the script calls or which script may call.
        return public_url
    if not HOST.match(request.host):
        return None
    forwarded = request.headers.get("X-Forwarded-Proto", "").lower()
    scheme = "https" if forwarded == "https" else request.scheme
    return f"{scheme}://{request.host.lower()}"
