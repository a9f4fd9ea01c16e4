"""The tracked send's part of the OpenAPI document: its schemas and its routes."""

from __future__ import annotations

from typing import Any

from ..sending.model import State, Status
from .openapi_schemas import BOOL, COUNT, INT, STR, WHEN, array, enum, nullable, obj, ref

_COUNTS = obj({s.value: COUNT for s in State})
_NUMBER = {"type": "number"}

SEND_SCHEMAS: dict[str, Any] = {
    "SendRequest": {
        "type": "object", "required": ["recipients", "subject"],
        "properties": {"recipients": {"type": "array", "minItems": 1,
                                      "items": ref("Recipient")},
                       "subject": {"type": "string", "pattern": "\\S", "maxLength": 998},
                       "html": nullable(STR), "text": nullable(STR),
                       "expected": COUNT, "allow_incomplete": BOOL, "dry_run": BOOL},
    },
    "SendTestRequest": {
        "type": "object", "required": ["subject", "text"],
        "properties": {"subject": {"type": "string", "pattern": "\\S", "maxLength": 998},
                       "html": nullable(STR), "text": STR},
    },
    "SendPlan": obj({
        "messages": COUNT, "suppressed": {"type": "object", "additionalProperties": COUNT},
        "suppressed_words": {"type": "object", "additionalProperties": STR},
        "relay": STR, "fallback": nullable(STR),
        "rate": obj({"per_minute": COUNT, "per_hour": COUNT}), "estimated_s": COUNT,
        "send_check": ref("SendCheckPreview"), "report": ref("Report")}),
    "SendSummary": obj({
        "id": INT, "status": enum(Status), "sender": STR, "from": STR, "subject": STR,
        "test": BOOL, "recipients": COUNT, "counts": _COUNTS,
        "suppressed": {"type": "object", "additionalProperties": COUNT},
        "bounce_rate": nullable(_NUMBER),
        "relays": {"type": "object", "additionalProperties": COUNT},
        "created_at": WHEN, "finished_at": nullable(WHEN), "last_sent_at": nullable(WHEN),
        "waiting": nullable(STR)}, {"paused": nullable({"type": "object"}),
                                    "bounce_warning": nullable(STR)}),
    "SendCreated": {"allOf": [ref("SendSummary"), obj({"plan": ref("SendPlan")})]},
    "RecipientRecord": obj({
        "address": STR, "state": enum(State), "reason": nullable(STR), "attempts": COUNT,
        "message_id": STR, "remote_id": nullable(STR), "relay": nullable(STR),
        "reply": nullable(obj({"stage": nullable(STR), "code": nullable(INT),
                               "enhanced": nullable(STR), "text": nullable(STR),
                               "meaning": nullable(STR)})),
        "next_attempt_at": nullable(WHEN), "sent_at": nullable(WHEN)}),
}


def send_paths(op: Any, json: Any, path_param: Any, query: Any,
               signed_in: tuple[int, ...]) -> dict[str, Any]:
    """The /api/sends routes, built with openapi.py's helpers."""
    send = [path_param("send_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})]
    refused = (*signed_in, 400, 409, 429, 502)
    create = op("Count the recipients and queue one tracked message per person (the send "
                "check's policy applies); with dry_run, only say what would happen",
                ref("SendCreated"), refused, status=201, body=json(ref("SendRequest")))
    create["responses"]["200"] = {"description": "dry_run: what the send would do",
                                  "content": json(obj({"plan": ref("SendPlan")}))}
    return {
        "/api/sends": {
            "post": create,
            "get": op("The caller's sends, newest first (administrators: all=true for "
                      "everyone's)", obj({"sends": array(ref("SendSummary"))}), signed_in,
                      params=[query("all", {"type": "string", "enum": ["true", "false"]})]),
        },
        "/api/sends/test": {"post": op(
            "Send one copy to the caller through the same relay", ref("SendSummary"),
            (*signed_in, 400, 429), status=201, body=json(ref("SendTestRequest")))},
        "/api/sends/{send_id}": {"get": op(
            "One of the caller's sends: status, counts per state, bounce rate",
            ref("SendSummary"), (*signed_in, 404), params=send)},
        "/api/sends/{send_id}/recipients": {"get": op(
            "Every recipient's record: state, attempts, the relay's reply and what it means, "
            "Message-ID, the relay's queue id", obj({"recipients": array(ref(
                "RecipientRecord"))}), (*signed_in, 400, 404),
            params=[*send, query("state", enum(State))])},
    }
