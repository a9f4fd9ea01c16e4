"""GET /api/openapi.json: the whole API described in OpenAPI 3.0, built in code.

Written by hand beside the views rather than generated from them: the views stay thin Flask and
the fuzz test (tests/identity/test_openapi_fuzz.py) holds the two together, sending what this
document allows and checking every answer against it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .. import __version__
from .openapi_admin import ADMIN_SCHEMAS, admin_paths
from .openapi_schemas import SCHEMAS, STR, ref
from .openapi_sends import SEND_SCHEMAS, send_paths

bp = Blueprint("openapi", __name__)

# What each status means across the API; operations pick the ones they can answer.
_MEANING = {
    400: "Bad input; `error.code` says which",
    401: "No valid bearer token (not_signed_in, invalid_token, token_expired, ...)",
    403: "Signed in, but not allowed (not an admin, another person's mailbox, a Rollcall list "
         "not shared with the caller: not_your_list)",
    404: "No such list, contact, member or send (or a send that is not the caller's)",
    409: "Conflicts with the current state (exists already, nothing to restore), or a send "
         "refused: its count is incomplete (count_incomplete) or the send check blocks it "
         "(send_blocked)",
    413: "Too many recipients in one count, or a body over the size limit",
    429: "Too many requests from this caller; see Retry-After",
    502: "Exchange could not be asked (unreachable, credentials refused)",
    503: "Not configured yet (no SMTP relay for sends: smtp_not_configured), the identity "
         "provider's keys cannot be read, or Exchange is busy (exchange_busy, with Retry-After)",
}
_SIGNED_IN = (401, 413, 503)  # any authenticated route: token checks, body size, identity
_STORE = (*_SIGNED_IN, 400, 404, 409)
_LISTS = (*_STORE, 403)  # a list not shared with the caller (as far as needed): not_your_list


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    out = {}
    for status in sorted(set(statuses)):
        headers = {}
        if status == 429:
            headers["Retry-After"] = {"schema": {"type": "integer", "minimum": 1},
                                      "description": "seconds until a request will be taken"}
        out[str(status)] = {"description": _MEANING[status], "content": _json(ref("Error")),
                            **({"headers": headers} if headers else {})}
    return out


def op(summary: str, ok: dict[str, Any] | None, errors: tuple[int, ...] = _STORE, *,
       status: int = 200, body: dict[str, Any] | None = None, params: list[Any] | None = None,
       public: bool = False, ok_content: dict[str, Any] | None = None) -> dict[str, Any]:
    """One operation: its success answer (`ok` JSON schema, or `ok_content`) and its errors."""
    success: dict[str, Any] = {"description": "OK"}
    if ok_content or ok:
        success["content"] = ok_content or _json(ok or {})
    operation: dict[str, Any] = {"summary": summary,
                                 "responses": {str(status): success, **_errors(errors)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    if params:
        operation["parameters"] = params
    if public:
        operation["security"] = []
    return operation


def path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or STR}


def query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or STR}


LIST = [path_param("name")]
EMAIL = [path_param("email", {"type": "string", "format": "email"})]
FLAG = {"type": "string", "enum": ["true", "false"]}
CSV = {"text/csv": {"schema": STR}}


def paths() -> dict[str, Any]:
    """Every route the API answers, by path and method."""
    return {
        "/api/count": {"post": op(
            "Count the unique recipients of To/Cc/Bcc entries, as the caller",
            ref("CountAnswer"), (*_SIGNED_IN, 400, 403, 429, 502),
            body=_json(ref("CountRequest")))},
        "/api/validate": {"post": op(
            "The send check's verdict (allow, warn, block) and its count, as the caller",
            ref("Verdict"), (*_SIGNED_IN, 400, 403, 429, 502),
            body=_json(ref("ValidateRequest")))},
        "/api/validate/warmup": {"post": op(
            "Start expanding the lists of a message being written", ref("Warming"),
            (*_SIGNED_IN, 400, 403, 429, 502), status=202, body=_json(ref("ValidateRequest")))},
        "/api/me": {"get": op("Who the token says the caller is", ref("Me"), _SIGNED_IN)},
        "/api/admin/status": {"get": op(
            "Server information for administrators (Rollcall.Admin)", ref("Status"),
            (*_SIGNED_IN, 403))},
        "/api/auth/config": {"get": op(
            "How the pane signs in (public)", ref("AuthConfig"), (), public=True)},
        # For load balancers: 503 only when the database is down (Redis away is slower, not
        # down); the same document either way.
        "/healthz": {"get": {
            "summary": "Whether this process can serve (public): the database, and Redis",
            "security": [],
            "responses": {"200": {"description": "Serving", "content": _json(ref("Health"))},
                          "503": {"description": "The database cannot be reached",
                                  "content": _json(ref("Health"))}}}},
        "/api/lists": {
            "get": op("The Rollcall lists the caller may see (administrators: all)",
                      {"type": "array", "items": ref("ListInfo")}, _SIGNED_IN),
            "post": op("Create a Rollcall list, owned by the caller", ref("ListInfo"),
                       status=201, body=_json(ref("NewList"))),
        },
        "/api/lists/{name}": {"get": op("A list's members and removals (viewers)",
                                        ref("ListMembers"), _LISTS, params=LIST)},
        "/api/lists/{name}/members": {"post": op(
            "Add a contact, an Exchange address or a list (editors; a nested list must be "
            "one the caller may see)", ref("MemberInfo"), _LISTS, status=201,
            body=_json(ref("NewMember")), params=LIST)},
        "/api/lists/{name}/members/{member}": {"delete": op(
            "End one membership (soft, audited; editors)", ref("AuditInfo"), _LISTS,
            params=[*LIST, path_param("member")])},
        "/api/lists/{name}/import": {"post": op(
            "Import a CSV (all or nothing unless skip_invalid; editors, or a new list)",
            ref("ImportReport"), _LISTS, body=CSV, params=[*LIST, query("skip_invalid", FLAG)])},
        "/api/lists/{name}/export": {"get": op(
            "The list as CSV (viewers)", None, _LISTS, ok_content=CSV, params=LIST)},
        "/api/lists/{name}/history": {"get": op(
            "Stored counts of the list, newest first (viewers)",
            {"type": "array", "items": ref("SnapshotInfo")}, _LISTS, params=LIST)},
        "/api/lists/{name}/snapshot": {"post": op(
            "Copy the people an Exchange list reaches today into this list, as the caller "
            "(editors, or a new list)",
            ref("ExchangeSnapshot"), (*_LISTS, 502), body=_json(ref("ExchangeAddress")),
            params=[*LIST, query("skip_invalid", FLAG)])},
        "/api/lists/{name}/shares": {
            "get": op("Whom the list is shared with (its owner, administrators)",
                      {"type": "array", "items": ref("ShareInfo")}, _LISTS, params=LIST),
            "post": op("Share the list with a person or a group as viewer or editor (its "
                       "owner, administrators)", ref("ShareInfo"), _LISTS,
                       body=_json(ref("NewShare")), params=LIST),
            "delete": op("Stop sharing the list with a person or a group (its owner, "
                         "administrators)", ref("AuditInfo"), _LISTS,
                         params=[*LIST, query("person"), query("group")]),
        },
        "/api/lists/{name}/owner": {"put": op(
            "Hand the list over to a new owner (its owner, administrators)", ref("ListInfo"),
            _LISTS, body=_json(ref("NewOwner")), params=LIST)},
        "/api/contacts/{email}": {"delete": op(
            "Delete a contact from one list, or from every list the caller may edit (soft, "
            "audited); purge_tracking is for administrators", ref("AuditInfo"), _LISTS,
            params=[*EMAIL, query("list"), query("all", FLAG),
                    query("purge_tracking", FLAG)])},
        "/api/contacts/{email}/restore": {"post": op(
            "Undo a delete, in the lists the caller may edit", ref("AuditInfo"), _LISTS,
            params=EMAIL)},
        "/api/contacts/{email}/opt-out": {"post": op(
            "Unsubscribe (or resubscribe) a contact of a list the caller may edit",
            ref("AuditInfo"), _LISTS, body=_json(ref("OptOut")), params=EMAIL)},
        "/api/audit": {"get": op(
            "The audit trail, newest first: events about lists the caller may see "
            "(administrators: all)", {"type": "array", "items": ref("AuditInfo")}, _LISTS,
            params=[query("email"), query("list")])},
        "/api/openapi.json": {"get": op(
            "This document (public)", {"type": "object"}, (), public=True)},
        **send_paths(op, _json, path_param, query, _SIGNED_IN),
        **admin_paths(op, _json, path_param, query, _SIGNED_IN),
    }


def document(extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI document; `extra_paths` lets optional parts add their routes."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Rollcall", "version": __version__,
                 "description": "Know exactly who will receive an Outlook message, and why. "
                                "Every route needs an access token for Rollcall's API "
                                "(scope access_as_user) unless marked public."},
        "paths": {**paths(), **(extra_paths or {})},
        "components": {
            "schemas": {**SCHEMAS, **SEND_SCHEMAS, **ADMIN_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


@bp.get("/api/openapi.json")
def openapi() -> Any:
    return jsonify(document())
