"""Rollcall lists, contacts, deletions, restores, shares and count history over REST.

Every view names the caller (`who()`) to the service, which says what they may do with each
list (403 `not_your_list` otherwise)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request
from werkzeug.utils import secure_filename

from ..errors import BadRequest
from ..lists import ListsService, Principal, principal
from .auth import acting_mailbox, caller, rate_limited
from .context import services
from .inputs import expected_count, json_object

bp = Blueprint("lists", __name__, url_prefix="/api")


def lists() -> ListsService:
    return services().lists


def who() -> Principal:
    """Who acts: the signed-in caller, as the token names them (mailbox, groups, admin)."""
    return principal(caller())


def as_json(value: Any) -> Any:
    """Rollcall's records (frozen dataclasses) as JSON-able values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [as_json(v) for v in (sorted(value) if isinstance(value, (set, frozenset))
                                     else value)]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def text(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{key}' must be non-empty text", code=f"bad_{key}")
    return value.strip()


def flag(name: str) -> bool:
    return request.args.get(name, "false").lower() in ("1", "true", "yes")


@bp.get("/lists")
def all_lists() -> Any:
    return jsonify(as_json(lists().all_lists(who())))


@bp.post("/lists")
def create_list() -> Any:
    data = json_object()
    info = lists().create_list(who(), text(data, "name") or "", expected_count(data))
    return jsonify(as_json(info)), 201


@bp.get("/lists/<name>")
def show_list(name: str) -> Any:
    return jsonify(as_json(lists().members(who(), name)))


@bp.post("/lists/<name>/members")
def add_member(name: str) -> Any:
    data = json_object()
    service, me = lists(), who()
    if "exchange" in data:
        member = service.add_exchange(me, name, text(data, "exchange") or "")
    elif "list" in data:
        member = service.add_sublist(me, name, text(data, "list") or "")
    else:
        attributes = data.get("attributes")
        if attributes is not None and not (isinstance(attributes, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())):
            raise BadRequest("'attributes' must map text to text", code="bad_attributes")
        member = service.add_contact(me, name, text(data, "email") or "",
                                     text(data, "name", required=False), attributes)
    return jsonify(as_json(member)), 201


@bp.delete("/lists/<name>/members/<path:member>")
def remove_member(name: str, member: str) -> Any:
    return jsonify(as_json(lists().remove(who(), name, member)))


@bp.post("/lists/<name>/import")
@rate_limited("import")
def import_csv(name: str) -> Any:
    report = lists().import_csv(who(), name, request.get_data(),
                                skip_invalid=flag("skip_invalid"))
    return jsonify(as_json(report))


@bp.get("/lists/<name>/export")
def export_csv(name: str) -> Any:
    data = lists().export_csv(who(), name)
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": attachment(name, ".csv")})


_NOT_IN_A_FILE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\ud800-\udfff]")


def attachment(name: str, extension: str) -> str:
    """Content-Disposition for a download of NAME+extension (RFC 6266): an ASCII `filename`
    without quotes, line breaks or path separators for old clients, and the name percent-encoded
    in `filename*` (RFC 5987). A name is never written raw: a header that is not latin-1 makes
    the server drop the answer, and a quote or CR/LF would change the header's meaning."""
    stem = _NOT_IN_A_FILE_NAME.sub("_", name).lstrip(". ") or "list"
    fallback = secure_filename(stem) or "list"
    return (f'attachment; filename="{fallback}{extension}"; '
            f"filename*=UTF-8''{quote(stem + extension, safe='')}")


@bp.get("/lists/<name>/history")
def history(name: str) -> Any:
    return jsonify(as_json(lists().history(who(), name)))


@bp.post("/lists/<name>/snapshot")
@rate_limited("snapshot")
def snapshot_exchange(name: str) -> Any:
    """Copy an Exchange list's people into this Rollcall list: {"exchange": "dl@..."}."""
    # Counted as the caller: a contact group's name finds the caller's own, nobody else's.
    result = lists().snapshot_exchange(who(), name, text(json_object(), "exchange") or "",
                                       mailbox=acting_mailbox(),
                                       skip_invalid=flag("skip_invalid"))
    return jsonify(as_json(result))


@bp.get("/lists/<name>/shares")
def shares(name: str) -> Any:
    return jsonify(as_json(lists().shares(who(), name)))


def share_target(data: dict[str, Any]) -> tuple[str, str]:
    """("person", mailbox) or ("group", id) from exactly one of the two keys."""
    given = [kind for kind in ("person", "group") if data.get(kind) is not None]
    if len(given) != 1:
        raise BadRequest("Name exactly one of 'person' (a mailbox) or 'group' (a group id)",
                         code="bad_share")
    return given[0], text(data, given[0]) or ""


@bp.post("/lists/<name>/shares")
def share(name: str) -> Any:
    """{"person": "alex@..."} or {"group": "<group id>"}, with "role": viewer (default)/editor."""
    data = json_object()
    kind, target = share_target(data)
    role = data.get("role", "viewer")
    if role not in ("viewer", "editor"):
        raise BadRequest("'role' is 'viewer' or 'editor'", code="bad_share")
    return jsonify(as_json(lists().share(who(), name, kind, target, role)))


@bp.delete("/lists/<name>/shares")
def unshare(name: str) -> Any:
    """?person=alex@... or ?group=<group id>."""
    kind, target = share_target(dict(request.args))
    return jsonify(as_json(lists().unshare(who(), name, kind, target)))


@bp.put("/lists/<name>/owner")
def hand_over(name: str) -> Any:
    """{"owner": "mailbox"}: the owner hands the list over, or an administrator assigns it."""
    owner = text(json_object(), "owner") or ""
    return jsonify(as_json(lists().hand_over(who(), name, owner)))


@bp.delete("/contacts/<email>")
def delete_contact(email: str) -> Any:
    list_name = request.args.get("list")
    if list_name is None and not flag("all"):
        raise BadRequest("Say where to delete from: ?list=NAME or ?all=true", code="bad_scope")
    event = lists().delete_contact(who(), email, all_lists=list_name is None,
                                   list_name=list_name, purge_tracking=flag("purge_tracking"))
    return jsonify(as_json(event))


@bp.post("/contacts/<email>/restore")
def restore_contact(email: str) -> Any:
    return jsonify(as_json(lists().restore_contact(who(), email)))


@bp.post("/contacts/<email>/opt-out")
def opt_out(email: str) -> Any:
    value = json_object().get("opted_out")
    if not isinstance(value, bool):
        raise BadRequest("'opted_out' must be true or false", code="bad_opted_out")
    return jsonify(as_json(lists().set_opt_out(who(), email, value)))


@bp.get("/audit")
def audit() -> Any:
    events = lists().audit(who(), email=request.args.get("email"),
                           list_name=request.args.get("list"))
    return jsonify(as_json(events))
