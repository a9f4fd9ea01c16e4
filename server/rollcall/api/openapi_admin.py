"""Server information's SMTP service in the OpenAPI document: the section, the queue's and a
send's controls, the relay test and health check, and trace."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOL, COUNT, INT, STR, WHEN, array, nullable, obj, ref

_NUMBER = {"type": "number"}
_LEVEL = {"type": "string", "enum": ["ok", "warning", "error"]}
_FREE = {"type": "object"}  # a check's details: their fields are described where they are made
_REASON = {"type": "string", "maxLength": 500}
_STEP = obj({"name": STR, "ok": BOOL, "elapsed_ms": COUNT, "code": nullable(INT), "text": STR,
             "meaning": nullable(STR)})

ADMIN_SCHEMAS: dict[str, Any] = {
    "SmtpSection": obj({
        "ok": BOOL, "verdict": obj({"level": _LEVEL, "text": STR})},
        {"error": STR, "configured": BOOL,
         "service": obj({"state": {"type": "string", "enum": ["running", "stopped"]},
                         "changed_by": nullable(STR), "changed_at": nullable(WHEN),
                         "reason": nullable(STR)}),
         "relays": array(obj({
             "name": STR, "label": STR, "state": STR, "reachable": nullable(BOOL),
             "tls": nullable(BOOL), "authenticated": nullable(BOOL), "reason": nullable(STR),
             "last_error": nullable(STR), "until": nullable(WHEN),
             "last_ok_at": nullable(WHEN), "down_since": nullable(WHEN),
             "per_minute_5m": _NUMBER, "per_minute_60m": _NUMBER, "budget_hour": COUNT,
             "limit_hour": COUNT, "checks": nullable(_FREE), "checked_at": nullable(WHEN)})),
         "queue": obj({"pending": {"type": "object", "additionalProperties": COUNT},
                       "waiting": COUNT, "oldest_pending_s": nullable(COUNT),
                       "recent_hours": COUNT,
                       "recent": {"type": "object", "additionalProperties": COUNT}}),
         "sends": array(obj({
             "id": INT, "sender": STR, "subject": STR, "status": STR, "test": BOOL,
             "to_send": COUNT, "done": COUNT, "progress": _NUMBER, "remaining": COUNT,
             "deferred": COUNT, "failed": COUNT, "bounced": COUNT,
             "bounce_rate": nullable(_NUMBER), "per_minute": _NUMBER,
             "eta_s": nullable(COUNT), "waiting": nullable(STR),
             "paused": nullable(_FREE)}))}),
    "ControlRequest": {"type": "object", "properties": {"reason": nullable(_REASON)}},
    "EmptyRequest": {"type": "object", "properties": {
        "reason": nullable(_REASON),
        "send_id": nullable({"type": "integer", "minimum": 1, "maximum": 2**31 - 1})}},
    "QueueEmptied": obj({"cancelled": COUNT, "smtp": ref("SmtpSection")}),
    "SendControlled": {"allOf": [ref("SendSummary"), obj({"changed": nullable(COUNT)})]},
    "RelayTestRequest": {"type": "object", "properties": {
        "to": {"type": "string", "format": "email"},
        "rcpt": {"type": "string", "format": "email"}}},
    "RelayTest": obj({
        "relay": STR, "label": STR, "ok": BOOL, "steps": array(_STEP),
        "failed_step": nullable(STR), "meaning": nullable(STR), "tls": BOOL,
        "authenticated": BOOL, "sent": BOOL, "queue_id": nullable(STR), "checked_at": WHEN}),
    "RelayHealth": obj({
        "relay": STR, "label": STR, "checked_at": WHEN, "checked_by": STR,
        "open_relay": obj({"open": nullable(BOOL), "verdict": STR, "steps": array(_STEP)}),
        "dns": obj({"verdict": STR, "addresses": array(STR), "public": BOOL,
                    "listings": array(obj({"zone": STR, "address": STR,
                                           "listed": nullable(BOOL)})),
                    "whitelist": array(STR), "spf": _FREE, "dkim": _FREE, "dmarc": _FREE})}),
    "Bounces": obj({"bounces": array(obj({
        "id": INT, "received_at": WHEN, "source": STR, "kind": STR, "method": STR,
        "matched_by": nullable(STR), "send_id": nullable(INT), "address": nullable(STR),
        "status": nullable(STR), "diagnostic": nullable(STR), "remote_mta": nullable(STR),
        "lists": array(STR), "fixes": array(STR)}))}),
    "Suppressions": obj({"suppressions": array(obj({
        "address": STR, "reason": STR, "send_id": nullable(INT), "created_at": WHEN,
        "created_by": STR}))}),
    "LiftRequest": {"type": "object", "required": ["address"], "properties": {
        "address": {"type": "string", "format": "email"}, "reason": nullable(_REASON)}},
    "Traces": obj({
        "query": STR, "tried": array(STR),
        "traces": array(obj({
            "send_id": INT, "address": STR, "state": STR, "message_id": STR,
            "remote_id": nullable(STR), "relay": nullable(STR), "relay_label": nullable(STR),
            "events": array(obj({"at": WHEN, "kind": STR})),
            "next_steps": array(obj({"where": STR, "why": STR})),
            "support_report": {"type": "object", "additionalProperties": STR},
            "support_text": STR}))}),
}


def admin_paths(op: Any, json: Any, path_param: Any, query: Any,
                signed_in: tuple[int, ...]) -> dict[str, Any]:
    """The SMTP service's routes, built with openapi.py's helpers."""
    admin = (*signed_in, 400, 403)
    send = [path_param("send_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})]
    relay = [path_param("name", {"type": "string", "enum": ["primary", "fallback"]})]
    control = json(ref("ControlRequest"))
    paths: dict[str, Any] = {
        "/api/admin/smtp": {"get": op(
            "The SMTP service section alone (no Exchange probe), for a refresh",
            ref("SmtpSection"), admin)},
        "/api/admin/queue/stop": {"post": op(
            "STOP: workers finish what they hold and claim nothing more (administrators)",
            ref("SmtpSection"), admin, body=control)},
        "/api/admin/queue/start": {"post": op(
            "START: workers claim again (administrators)", ref("SmtpSection"), admin,
            body=control)},
        "/api/admin/queue/empty": {"post": op(
            "EMPTY: cancel what is queued or deferred, of one send or all (kept, marked "
            "cancelled)", ref("QueueEmptied"), (*admin, 404), body=json(ref("EmptyRequest")))},
        "/api/admin/relays/{name}/test": {"post": op(
            "Test a relay step by step (nothing sent), or send it one test message (to)",
            ref("RelayTest"), (*admin, 404), body=json(ref("RelayTestRequest")),
            params=relay)},
        "/api/admin/relays/{name}/health": {"post": op(
            "The open-relay self-test, DNS blacklists, SPF, DKIM and DMARC; kept for Server "
            "information", ref("RelayHealth"), (*admin, 404), params=relay)},
        "/api/admin/trace": {"get": op(
            "A recipient's copies by Message-ID, the relay's queue id or address",
            ref("Traces"), admin,
            params=[query("q"), query("send", {"type": "string", "pattern": "^[0-9]+$"})])},
    }
    paths["/api/admin/bounces"] = {"get": op(
        "Every send's bounce-backs, newest first, and where each address can be fixed",
        ref("Bounces"), admin,
        params=[query("unmatched", {"type": "string", "enum": ["true", "false"]})])}
    paths["/api/admin/suppressions"] = {"get": op(
        "The addresses no send reaches (hard bounces, unsubscribes, an administrator's)",
        ref("Suppressions"), admin)}
    paths["/api/admin/suppressions/lift"] = {"post": op(
        "Let sends reach an address again (audited)", obj({"lifted": STR}), (*admin, 404),
        body=json(ref("LiftRequest")))}
    paths["/api/sends/{send_id}/bounces"] = {"get": op(
        "The bounce-backs matched to a send's recipients (its sender or an administrator)",
        ref("Bounces"), (*signed_in, 404), params=send)}
    words = {"pause": "Pause a send (its sender or an administrator)",
             "resume": "Resume a paused send (its sender, unless an administrator paused it)",
             "cancel": "Cancel a send's copies not sent yet (its sender or an administrator)",
             "retry": "Deferred copies now, and those that gave up on deferrals queued again "
                      "(administrators)"}
    for action, summary in words.items():
        paths[f"/api/sends/{{send_id}}/{action}"] = {"post": op(
            summary, ref("SendControlled"), (*admin, 404, 409), body=control, params=send)}
    return paths
