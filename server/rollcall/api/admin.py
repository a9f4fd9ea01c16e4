"""Admin-only views: GET /api/admin/status (the pane's "Server Information", its SMTP service
section included), the queue's controls (POST /api/admin/queue/stop|start|empty), the relays'
test and health check (POST /api/admin/relays/NAME/test|health) and GET /api/admin/trace."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..errors import BadRequest
from ..lists import principal
from .auth import admin_only, caller
from .context import services
from .inputs import json_object, optional_object

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


@bp.get("/status")
@admin_only
def status() -> Any:
    return jsonify(services().server_info.report(caller().mailbox))


@bp.get("/smtp")
@admin_only
def smtp() -> Any:
    """The SMTP service section alone (cheap: no Exchange probe), for the pane's refresh."""
    return jsonify(services().controls.status())


@bp.post("/queue/stop")
@admin_only
def stop() -> Any:
    body = optional_object('{"reason": "..."}')
    return jsonify(services().controls.stop(principal(caller()), body.get("reason")))


@bp.post("/queue/start")
@admin_only
def start() -> Any:
    body = optional_object('{"reason": "..."}')
    return jsonify(services().controls.start(principal(caller()), body.get("reason")))


@bp.post("/queue/empty")
@admin_only
def empty() -> Any:
    body = optional_object('{"send_id": 7, "reason": "..."}')
    send_id = body.get("send_id")
    if send_id is not None and (not isinstance(send_id, int) or isinstance(send_id, bool)):
        raise BadRequest("'send_id' must be a send's number", code="bad_send_id")
    controls = services().controls
    cancelled = controls.empty(principal(caller()), body.get("reason"), send_id)
    return jsonify({"cancelled": cancelled, "smtp": controls.status()})


@bp.post("/relays/<name>/test")
@admin_only
def test_relay(name: str) -> Any:
    """Test the relay: nothing sent (RCPT TO `rcpt`, then RSET), or one real message to `to`."""
    body = optional_object('{"to": "you@contoso.com"}')
    return jsonify(services().diagnostics.test(principal(caller()), name, body.get("to"),
                                               body.get("rcpt")))


@bp.post("/relays/<name>/health")
@admin_only
def check_relay(name: str) -> Any:
    """The open-relay self-test and the blacklist, SPF, DKIM and DMARC lookups."""
    return jsonify(services().diagnostics.health(principal(caller()), name))


@bp.get("/trace")
@admin_only
def trace() -> Any:
    """A recipient's copies by Message-ID, the relay's queue id or address (?send=ID)."""
    send = request.args.get("send")
    if send is not None and not send.isdigit():
        raise BadRequest("'send' must be a send's number", code="bad_send_id")
    return jsonify(services().diagnostics.trace(principal(caller()), request.args.get("q", ""),
                                                int(send) if send else None))


@bp.get("/bounces")
@admin_only
def bounces() -> Any:
    """Every send's bounce-backs, newest first (?unmatched=true: those matching nobody)."""
    unmatched = request.args.get("unmatched") in ("1", "true")
    return jsonify({"bounces": services().bounces.reports(principal(caller()),
                                                          unmatched=unmatched)})


@bp.get("/suppressions")
@admin_only
def suppressions() -> Any:
    """The addresses no send reaches: hard bounces, unsubscribes, an administrator's."""
    return jsonify({"suppressions": services().controls.suppressions(principal(caller()))})


@bp.post("/suppressions/lift")
@admin_only
def lift() -> Any:
    """Let sends reach an address again (audited)."""
    body = json_object('{"address": "kim@fabrikam.com", "reason": "..."}')
    services().controls.lift(principal(caller()), body.get("address"), body.get("reason"))
    return jsonify({"lifted": body.get("address")})
