"""Rollcall lists, contacts, deletions, restores and count history over REST."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import BadRequest
from ..lists import ListsService
from .auth import acting_mailbox
from .context import services
from .inputs import expected_count, json_object

bp = Blueprint("lists", __name__, url_prefix="/api")


def lists() -> ListsService:
    return services().lists


def actor() -> str:
    """Who makes the change: the signed-in caller, as the token names them."""
    return acting_mailbox()


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
    return jsonify(as_json(lists().all_lists()))


@bp.post("/lists")
def create_list() -> Any:
    data = json_object()
    info = lists().create_list(text(data, "name") or "", actor(), expected_count(data))
    return jsonify(as_json(info)), 201


@bp.get("/lists/<name>")
def show_list(name: str) -> Any:
    return jsonify(as_json(lists().members(name)))


@bp.post("/lists/<name>/members")
def add_member(name: str) -> Any:
    data = json_object()
    service = lists()
    if "exchange" in data:
        member = service.add_exchange(name, text(data, "exchange") or "", actor())
    elif "list" in data:
        member = service.add_sublist(name, text(data, "list") or "", actor())
    else:
        attributes = data.get("attributes")
        if attributes is not None and not (isinstance(attributes, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())):
            raise BadRequest("'attributes' must map text to text", code="bad_attributes")
        member = service.add_contact(name, text(data, "email") or "", actor(),
                                     text(data, "name", required=False), attributes)
    return jsonify(as_json(member)), 201


@bp.delete("/lists/<name>/members/<path:member>")
def remove_member(name: str, member: str) -> Any:
    return jsonify(as_json(lists().remove(name, member, actor())))


@bp.post("/lists/<name>/import")
def import_csv(name: str) -> Any:
    report = lists().import_csv(name, request.get_data(), actor(),
                                skip_invalid=flag("skip_invalid"))
    return jsonify(as_json(report))


@bp.get("/lists/<name>/export")
def export_csv(name: str) -> Any:
    data = lists().export_csv(name)
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/lists/<name>/history")
def history(name: str) -> Any:
    return jsonify(as_json(lists().history(name)))


@bp.post("/lists/<name>/snapshot")
def snapshot_exchange(name: str) -> Any:
    """Copy an Exchange list's people into this Rollcall list: {"exchange": "dl@..."}."""
    # Counted as the caller: a contact group's name finds the caller's own, nobody else's.
    result = lists().snapshot_exchange(name, text(json_object(), "exchange") or "", actor(),
                                       mailbox=acting_mailbox(),
                                       skip_invalid=flag("skip_invalid"))
    return jsonify(as_json(result))


@bp.delete("/contacts/<email>")
def delete_contact(email: str) -> Any:
    list_name = request.args.get("list")
    if list_name is None and not flag("all"):
        raise BadRequest("Say where to delete from: ?list=NAME or ?all=true", code="bad_scope")
    event = lists().delete_contact(email, actor(), all_lists=list_name is None,
                                   list_name=list_name, purge_tracking=flag("purge_tracking"))
    return jsonify(as_json(event))


@bp.post("/contacts/<email>/restore")
def restore_contact(email: str) -> Any:
    return jsonify(as_json(lists().restore_contact(email, actor())))


@bp.post("/contacts/<email>/opt-out")
def opt_out(email: str) -> Any:
    value = json_object().get("opted_out")
    if not isinstance(value, bool):
        raise BadRequest("'opted_out' must be true or false", code="bad_opted_out")
    return jsonify(as_json(lists().set_opt_out(email, value, actor())))


@bp.get("/audit")
def audit() -> Any:
    events = lists().audit(email=request.args.get("email"), list_name=request.args.get("list"))
    return jsonify(as_json(events))
