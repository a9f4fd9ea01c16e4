"""The OpenAPI document's component schemas: what every answer of the API looks like.

Objects list the fields callers rely on as required and leave `additionalProperties` open, so a
field added later is not a breaking change; the fuzz test checks every answer against these.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ..core.report_types import ExpectedSource, FindingCode, NodeStatus, Severity


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object schema whose `required` fields must be present."""
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def enum(values: type[StrEnum]) -> dict[str, Any]:
    """A string that is one of the enum's values."""
    return {"type": "string", "enum": [v.value for v in values]}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
WHEN = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
NONBLANK = {"type": "string", "pattern": "\\S"}

SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": obj({"code": STR, "message": STR},
                               {"request_id": {**STR, "description": "Quote it to support: the "
                                               "server's log tells its story under this id."}})}),
    "Recipient": {
        "type": "object",
        "description": "A To/Cc/Bcc entry as Office.js gives it; a name, an address, or both.",
        "properties": {"displayName": STR, "emailAddress": STR},
        "anyOf": [{"required": [field], "properties": {field: NONBLANK}}
                  for field in ("displayName", "emailAddress")],
    },
    "CountRequest": {
        "type": "object",
        "required": ["recipients"],
        "properties": {
            "recipients": {**array(ref("Recipient")), "minItems": 1},
            "expected": nullable(COUNT),
            "refresh": BOOL,
            "mailbox": {**STR, "description": "Only the caller's own address (from the token) "
                        "is accepted; any other answers 403."},
        },
    },
    # The report's schemas follow core/report_types.py; tests/unit/test_report_schema.py holds
    # them to it field by field, enums included.
    "Finding": obj({
        "code": enum(FindingCode), "severity": enum(Severity), "message": STR,
        "addresses": array(nullable(STR)), "path": array(STR),
    }, {
        "top": BOOL, "throttled": BOOL, "retry_after": {"type": "number", "minimum": 0},
        "detail": STR,
        "counted": BOOL,
        "removals": array({"type": "object"}), "loop": array(STR), "depth": INT, "limit": INT,
        "count": COUNT, "sent": COUNT,
        "breakdown": {"type": "object", "additionalProperties": COUNT},
        "difference": INT, "source": enum(ExpectedSource),
        "rule": STR, "action": {"type": "string", "enum": ["block", "warn"]},
    }),
    "TreeNode": obj({
        "address": nullable(STR), "name": STR, "kind": STR, "depth": INT,
        "direct_members": COUNT, "unique_members": COUNT, "status": enum(NodeStatus),
        "cached": BOOL, "children": array(ref("TreeNode")),
    }, {"repeat_of": array(STR), "deeper": COUNT, "estimate": COUNT}),
    "DriftGroup": obj({"path": STR, "joined": COUNT, "left": COUNT}),
    "Drift": obj({"previous_at": STR, "previous_total": COUNT, "joined_count": COUNT,
                  "left_count": COUNT, "joined": array(STR), "left": array(STR),
                  "groups": array(ref("DriftGroup"))}),
    "Contribution": obj({"name": STR, "address": nullable(STR), "path": array(STR),
                         "kind": {"type": "string", "enum": ["entry", "list", "direct"]},
                         "people": COUNT, "only": COUNT, "shared": COUNT,
                         "complete": BOOL}),
    "Report": obj({
        "total": COUNT, "complete": BOOL, "expected": nullable(COUNT),
        "difference": nullable(INT), "entries": COUNT, "duplicates": COUNT,
        "undeliverable": COUNT, "lists": COUNT, "max_depth": COUNT, "requests": COUNT,
        "elapsed_ms": COUNT, "pending": array(STR), "tree": array(ref("TreeNode")),
        "findings": array(ref("Finding")), "mailbox": nullable(STR),
        "exchange_version": nullable(STR),
        "resource_units": nullable(COUNT), "http_requests": nullable(COUNT),
        "expected_source": nullable(enum(ExpectedSource)),
        "drift": nullable(ref("Drift")),
        "not_found": COUNT, "not_looked_up": COUNT, "contributions": array(ref("Contribution")),
    }),
    # POST /api/count: the report, and what the send check would do with it (one policy).
    "CountAnswer": {"allOf": [ref("Report"), obj({"send_check": ref("SendCheckPreview")})]},
    "SendCheckPreview": obj({
        "action": {"type": "string", "enum": ["allow", "warn", "block"]},
        "message": STR,
        "findings": array({"allOf": [ref("Finding"), {"required": ["rule", "action"]}]}),
    }),
    "ValidateRequest": {
        "type": "object",
        "required": ["recipients"],
        "properties": {
            "recipients": {**array(ref("Recipient")), "minItems": 1},
            "subject": STR,
            "expected": nullable(COUNT),
            "message_id": {**STR, "maxLength": 200},
            "mailbox": {**STR, "description": "Only the caller's own address is accepted."},
        },
    },
    "Verdict": obj({
        "action": {"type": "string", "enum": ["allow", "warn", "block"]},
        "message": STR,
        # The report's findings that fired a rule, each saying which rule and what it does.
        "findings": array({"allOf": [ref("Finding"), {"required": ["rule", "action"]}]}),
        # null when Exchange refused before anything was counted: no numbers that are not
        # a count.
        "report": nullable(ref("Report")),
    }),
    "Warming": obj({"warming": BOOL}),
    "ListInfo": obj({"name": STR, "address": STR, "owner": STR, "expected": nullable(COUNT),
                     "created_at": WHEN}),
    "ShareInfo": obj({"principal": STR, "kind": {"type": "string", "enum": ["person", "group"]},
                      "role": {"type": "string", "enum": ["viewer", "editor"]},
                      "added_by": STR, "added_at": WHEN}),
    "NewShare": {
        "type": "object",
        "description": "Exactly one of `person` (a mailbox) or `group` (an id the token's "
                       "`groups` claim carries); `role` is viewer unless given.",
        "properties": {"person": STR, "group": STR,
                       "role": {"type": "string", "enum": ["viewer", "editor"]}},
    },
    "NewOwner": {"type": "object", "required": ["owner"], "properties": {"owner": STR}},
    "NewList": {"type": "object", "required": ["name"],
                "properties": {"name": STR, "expected": nullable(COUNT)}},
    "MemberInfo": obj({"kind": {"type": "string", "enum": ["contact", "exchange", "list"]},
                       "address": nullable(STR), "name": STR, "opted_out": BOOL,
                       "added_at": WHEN, "added_by": STR}),
    "NewMember": {
        "type": "object",
        "description": "One of: a contact (`email`, optional `name`, `attributes`), an "
                       "Exchange address expanded live (`exchange`) or a Rollcall list (`list`).",
        "properties": {"email": STR, "name": STR, "exchange": STR, "list": STR,
                       "attributes": {"type": "object", "additionalProperties": STR}},
    },
    "RemovalInfo": obj({"address": nullable(STR), "name": STR, "removed_at": WHEN,
                        "removed_by": STR, "lists": array(STR), "all_lists": BOOL,
                        "tracking": {"type": "string", "enum": ["kept", "purged"]},
                        "kind": {"type": "string", "enum": ["contact", "exchange", "list"]}}),
    "ListMembers": obj({"list": ref("ListInfo"), "active": array(ref("MemberInfo")),
                        "removed": array(ref("RemovalInfo"))}),
    "AuditInfo": obj({"id": INT, "at": WHEN, "actor": STR, "action": STR,
                      "email": nullable(STR), "pseudonym": nullable(STR), "lists": array(STR),
                      "all_lists": BOOL, "tracking": {"type": "string",
                                                      "enum": ["kept", "purged"]},
                      "detail": {"type": "object"}}),
    "LineProblem": obj({"line": INT, "email": STR, "code": STR, "message": STR}),
    "ImportReport": obj({"list_name": STR, "added": COUNT, "updated": COUNT,
                         "unchanged": COUNT, "skipped": array(ref("LineProblem")),
                         "problems": array(ref("LineProblem"))}),
    "SnapshotInfo": obj({"id": INT, "at": WHEN, "total": COUNT, "size": COUNT,
                         "stored_bytes": COUNT}, {"key": STR}),
    "ExchangeSnapshot": obj({"import": ref("ImportReport"), "total": COUNT, "source": STR}),
    "OptOut": {"type": "object", "properties": {"opted_out": BOOL}, "required": ["opted_out"]},
    "ExchangeAddress": {"type": "object", "required": ["exchange"],
                        "properties": {"exchange": STR}},
    "Me": obj({"mailbox": STR, "name": STR, "roles": array(STR), "admin": BOOL}),
    "AuthConfig": obj({"client_id": nullable(STR), "scope": nullable(STR),
                       "authority": nullable(STR), "dev_token_url": nullable(STR)}),
    "Health": obj({"ok": BOOL,
                   "database": obj({"ok": BOOL, "backend": nullable(STR),
                                    "error": nullable(STR)}),
                   "redis": obj({"backend": {"type": "string", "enum": ["memory", "redis"]},
                                 "ok": BOOL, "down_since": nullable({"type": "number"})})}),
    "Status": obj({
        "rollcall": obj({"version": STR}),
        "exchange": obj({"configured": BOOL, "auth": {"type": "string", "enum": [
                             "basic", "ntlm", "oauth", "obo", "app"]},
                         "reachable": BOOL, "version": nullable(STR),
                         "elapsed_ms": nullable(COUNT), "error": nullable(STR),
                         "directory": {"type": "string", "enum": ["ews", "graph"]}},
                        {"busy": BOOL, "internal_domains": array(STR),
                         "internal_domains_source": {"type": "string",
                                                     "enum": ["configured", "default"]},
                         "endpoint": nullable(STR), "details_error": STR,
                         # Microsoft Graph only: what is granted against what is needed.
                         "exchange_admin_api": STR, "exchange_admin_api_open": BOOL,
                         "acting": STR, "granted": array(STR), "permissions_error": STR,
                         "needed": array(obj({"name": STR, "for": STR, "granted": BOOL,
                                              "optional": BOOL})),
                         "limits": array(STR)}),
        "database": obj({"ok": BOOL, "backend": nullable(STR), "revision": nullable(STR),
                         "error": nullable(STR)}),
        "cache": obj({"entries": COUNT, "ttl_s": {"type": "number"}},
                     {"shared": obj({"backend": {"type": "string", "enum": ["memory", "redis"]},
                                     "ok": BOOL, "error": nullable(STR),
                                     "down_since": nullable({"type": "number"})},
                                    {"where": STR}),
                      "warning": STR}),
    }, {"identity": obj({"issuer": STR, "keys": COUNT, "age_s": nullable(COUNT),
                         "source": STR}),
        "smtp": ref("SmtpSection")}),
}
