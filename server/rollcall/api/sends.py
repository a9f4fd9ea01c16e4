"""Tracked sends: POST /api/sends (dry_run previews), GET /api/sends, GET /api/sends/ID,
GET /api/sends/ID/recipients?state=, POST /api/sends/test, POST /api/sends/ID/pause|resume|
cancel|retry. A sender sees (and pauses, cancels) only their own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..errors import BadRequest
from ..lists import principal
from ..sending.model import State, subject_problem
from .auth import acting_mailbox, caller, rate_limited
from .context import services
from .inputs import expected_count, json_object, optional_object, parse_recipients
from .request_id import request_id

bp = Blueprint("sends", __name__, url_prefix="/api/sends")
MAX_BODY_CHARS = 1_000_000  # a message body; the app refuses requests over 2 MB anyway


@bp.post("")
@rate_limited("count")
def create() -> Any:
    body = json_object('{"recipients": [...], "subject": "...", "html": "..."}')
    recipients = parse_recipients(body.get("recipients"))
    subject, html, text = _content(body)
    allow_incomplete = _flag(body, "allow_incomplete")
    dry_run = _flag(body, "dry_run")
    sends = services().sends
    sender = acting_mailbox(body.get("mailbox"))  # only ever the caller: 403 for anyone else
    if dry_run:
        plan, _ = sends.plan(sender, recipients, expected_count(body), allow_incomplete,
                             request_id())
        return jsonify({"plan": plan.to_json()})
    summary, plan = sends.create(sender, recipients, subject, html, text,
                                 expected_count(body), allow_incomplete, _base_url(),
                                 request_id())
    return jsonify({**summary.to_json(), "plan": plan.to_json()}), 201


@bp.post("/test")
@rate_limited("count")
def test() -> Any:
    body = json_object('{"subject": "...", "html": "..."}')
    subject, html, text = _content(body)
    summary = services().sends.test(caller().mailbox, subject, html, text, _base_url())
    return jsonify(summary.to_json()), 201


@bp.get("")
def list_sends() -> Any:
    everyone = request.args.get("all") in ("1", "true")
    found = services().sends.sends(principal(caller()), everyone)
    return jsonify({"sends": [s.to_json() for s in found]})


@bp.get("/<int:send_id>")
def show(send_id: int) -> Any:
    return jsonify(services().sends.show(send_id, principal(caller())).to_json(
        with_report=request.args.get("report") in ("1", "true")))


@bp.get("/<int:send_id>/recipients")
def recipients(send_id: int) -> Any:
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in State}:
        raise BadRequest(f"'state' must be one of {', '.join(s.value for s in State)}",
                         code="bad_state")
    found = services().sends.recipients(send_id, principal(caller()),
                                        State(state) if state else None)
    return jsonify({"recipients": [r.to_json() for r in found]})


@bp.get("/<int:send_id>/bounces")
def bounces(send_id: int) -> Any:
    """The bounce-backs matched to a send's recipients, and where to fix their addresses."""
    return jsonify({"bounces": services().bounces.reports(principal(caller()), send_id)})


@bp.post("/<int:send_id>/pause")
def pause(send_id: int) -> Any:
    """Stop sending its copies until resumed (the sender or an administrator)."""
    return _control(send_id, "pause")


@bp.post("/<int:send_id>/resume")
def resume(send_id: int) -> Any:
    """Go on (the sender, unless an administrator paused it)."""
    return _control(send_id, "resume")


@bp.post("/<int:send_id>/cancel")
def cancel(send_id: int) -> Any:
    """Cancel the copies not sent yet (the sender or an administrator)."""
    return _control(send_id, "cancel")


@bp.post("/<int:send_id>/retry")
def retry(send_id: int) -> Any:
    """Deferred copies due now, those that gave up on deferrals queued again (administrators)."""
    return _control(send_id, "retry")


def _control(send_id: int, action: str) -> Any:
    body = optional_object('{"reason": "..."}')
    who = principal(caller())
    changed = getattr(services().controls, action)(send_id, who, body.get("reason"))
    summary = services().sends.show(send_id, who).to_json()
    return jsonify({**summary, "changed": changed if isinstance(changed, int) else None})


def _content(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise BadRequest("'subject' must be the message's subject", code="bad_subject")
    if len(subject) > 998:
        raise BadRequest("'subject' is longer than a mail header may be", code="bad_subject")
    problem = subject_problem(subject)
    if problem:
        raise BadRequest(f"'subject' {problem}", code="bad_subject")
    parts = []
    for name in ("html", "text"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"'{name}' must be text", code=f"bad_{name}")
        if value is not None and len(value) > MAX_BODY_CHARS:
            raise BadRequest(f"'{name}' is over {MAX_BODY_CHARS:,} characters",
                             code=f"bad_{name}")
        parts.append(value if value else None)
    if parts[0] is None and parts[1] is None:
        raise BadRequest("Give the message's body as 'html' or 'text' (or both)",
                         code="no_body")
    return subject.strip(), parts[0], parts[1]


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false", code=f"bad_{name}")
    return value


def _base_url() -> str:
    """Where links in the messages point: ROLLCALL_PUBLIC_URL, else this server's origin."""
    configured = services().config.server.public_url
    return configured or request.host_url.rstrip("/")
