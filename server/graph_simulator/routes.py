"""Graph's directory routes under /v1.0 and /beta: users, groups, orgContacts, group members and
transitive members (with casts and /$count), `/me`; mailbox routes are handed on.

Permission rules follow Graph's documentation: reading a collection needs its type's
permission (403 Authorization_RequestDenied); members need GroupMember.Read.All, and
Member.Read.Hidden for hidden-membership groups; a member whose type the caller may not read
comes back with only `@odata.type` and `id` (other properties null), "limited information".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import contact_groups, mailtips
from .directory import GROUP, ORG_CONTACT, PROPERTIES, TYPES, USER, Directory, Entity
from .exchange import Exchange
from .query import Query, eventual, page, unsupported
from .tokens import Caller
from .wire import (
    TEXT,
    GraphError,
    Request,
    Response,
    bad_segment,
    denied,
    json_response,
    not_found,
)

VERSIONS = ("v1.0", "beta")
READ_USERS = ("User.Read.All", "User.ReadBasic.All", "Directory.Read.All")
READ_GROUPS = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
READ_CONTACTS = ("OrgContact.Read.All", "Directory.Read.All")
HIDDEN = "Member.Read.Hidden"
COSTS = {"users": 2, "members": 3, "transitiveMembers": 5}  # resource units per request
ALL_PROPERTIES = tuple(dict.fromkeys(p for t in TYPES for p in PROPERTIES[t]))


@dataclass(slots=True)
class Context:
    """One Graph request as a route sees it."""

    directory: Directory
    exchange: Exchange
    request: Request
    caller: Caller
    base_url: str
    version: str
    path: list[str]  # the segments after the version

    def need(self, *any_of: str) -> None:
        if not self.caller.may(*any_of):
            raise denied()

    def context(self, fragment: str) -> str:
        return f"{self.base_url}/{self.version}/$metadata#{fragment}"


def kind_of(path: Sequence[str]) -> str:
    """What a request asks for, as the counters name it."""
    first = path[0] if path else ""
    if first == "$batch":
        return "batch"
    if first in ("users", "me"):
        rest = list(path[1:] if first == "me" else path[2:])
        sub = rest[0] if rest else ""
        return {"contacts": "personalContacts", "distributionLists": "distributionLists",
                "getMailTips": "mailTips"}.get(sub, "users")
    if first == "groups":
        return path[2] if len(path) > 2 and path[2] in COSTS else "groups"
    return "contacts" if first == "contacts" else "other"


def resource_units(kind: str, request: Request) -> int:
    """x-ms-resource-unit: Graph's identity throttling cost, one less with $select."""
    return max(1, COSTS.get(kind, 1) - (1 if request.param("select") else 0))


def route(ctx: Context) -> Response:
    """Answer one Graph request; raises GraphError."""
    path, method = ctx.path, ctx.request.method
    if not path:
        raise bad_segment(ctx.version)
    if path[0] == "me":
        if ctx.caller.app or ctx.caller.user is None:
            raise GraphError(400, "BadRequest",
                             "/me request is only valid with delegated authentication flow.")
        me = ctx.directory.user(ctx.caller.user)
        if me is None:
            raise not_found(ctx.caller.user)
        return _user_routes(ctx, me, path[1:], method)
    if path[0] == "users":
        if len(path) == 1 or path[1] == "$count":
            return _collection(ctx, ctx.directory.users, USER, READ_USERS, "users")
        user = ctx.directory.user(path[1])
        if user is None:
            raise not_found(path[1])
        return _user_routes(ctx, user, path[2:], method)
    if path[0] == "groups":
        if len(path) == 1 or path[1] == "$count":
            return _collection(ctx, ctx.directory.groups, GROUP, READ_GROUPS, "groups")
        _get(method)
        ctx.need(*READ_GROUPS)
        group = ctx.directory.get(path[1], GROUP)
        if group is None:
            raise not_found(path[1])
        if len(path) == 2:
            return _one(ctx, group)
        if path[2] in ("members", "transitiveMembers"):
            return _members(ctx, group, path[2] == "transitiveMembers", path[3:])
        raise bad_segment(path[2])
    if path[0] == "contacts":
        if len(path) == 1 or path[1] == "$count":
            return _collection(ctx, ctx.directory.contacts, ORG_CONTACT, READ_CONTACTS,
                               "contacts")
        _get(method)
        ctx.need(*READ_CONTACTS)
        contact = ctx.directory.get(path[1], ORG_CONTACT)
        if contact is None:
            raise not_found(path[1])
        if len(path) > 2:
            raise bad_segment(path[2])
        return _one(ctx, contact)
    raise bad_segment(path[0])


def _get(method: str, allowed: str = "GET") -> None:
    if method != allowed:
        raise GraphError(405, "Request_BadRequest",
                         "Specified HTTP method is not allowed for the request target.")


def _user_routes(ctx: Context, user: Entity, rest: list[str], method: str) -> Response:
    if not rest:
        _get(method)
        if not (ctx.caller.user and ctx.caller.user.lower() == user.props["userPrincipalName"]
                .lower()):
            ctx.need(*READ_USERS)  # anyone may read themselves (User.Read)
        return _one(ctx, user)
    if rest[0] == "getMailTips":
        _get(method, "POST")
        if len(rest) > 1:
            raise bad_segment(rest[1])
        return mailtips.answer(ctx, user)
    if rest[0] in ("contacts", "distributionLists"):
        _get(method)
        return contact_groups.route(ctx, user, rest)
    raise bad_segment(rest[0])


def _one(ctx: Context, entity: Entity) -> Response:
    q = Query.parse(ctx.request, PROPERTIES[entity.type], entity.type)
    body = {"@odata.context": ctx.context(f"{entity.type}s/$entity"), **entity.view(q.select)}
    return json_response(body)


def count_response(ctx: Context, number: int) -> Response:
    """A `/$count` segment: a bare integer as text/plain, an advanced query only."""
    if not eventual(ctx.request):
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    return Response(200, str(number).encode(), TEXT)


def _collection(ctx: Context, items: list[Entity], type_: str, needs: tuple[str, ...],
                name: str) -> Response:
    _get(ctx.request.method)
    ctx.need(*needs)
    q = Query.parse(ctx.request, PROPERTIES[type_], type_)
    found = [e for e in items if q.match is None or q.match(e.props)]
    if ctx.path[1:] == ["$count"]:
        return count_response(ctx, len(found))
    if len(ctx.path) > 1:
        raise bad_segment(ctx.path[1])
    body = page(found, q, ctx.request, ctx.base_url, lambda e: e.view(q.select),
                ctx.context(name))
    return json_response(body)


def _members(ctx: Context, group: Entity, transitive: bool, rest: list[str]) -> Response:
    caller = ctx.caller
    if group.props["visibility"] == "HiddenMembership" and not caller.may(HIDDEN):
        raise denied()
    cast = None
    if rest and rest[0].startswith("microsoft.graph."):
        cast = rest[0].removeprefix("microsoft.graph.")
        if cast not in TYPES:
            raise bad_segment(rest[0])
        if transitive and cast == GROUP and "Unified" in group.props["groupTypes"]:
            raise unsupported("Unsupported query: a Microsoft 365 group's transitiveMembers "
                              "cannot be cast to microsoft.graph.group.")
        rest = rest[1:]
    if transitive:
        items = ctx.directory.transitive(
            group, lambda g: caller.may(HIDDEN) or g.props["visibility"] != "HiddenMembership")
    else:
        items = ctx.directory.members(group)
    if cast is not None:
        items = [e for e in items if e.type == cast]
    properties = PROPERTIES[cast] if cast else ALL_PROPERTIES
    q = Query.parse(ctx.request, properties, cast or "directoryObject")
    items = [e for e in items if q.match is None or q.match(e.props)]
    if rest == ["$count"]:
        return count_response(ctx, len(items))
    if rest:
        raise bad_segment(rest[0])
    may_users, may_contacts = caller.may(*READ_USERS), caller.may(*READ_CONTACTS)

    def render(e: Entity) -> dict[str, object]:
        limited = (e.type == USER and not may_users) or (e.type == ORG_CONTACT
                                                         and not may_contacts)
        return e.view(q.select, limited=limited, annotate=True)

    fragment = f"{cast}s" if cast else "directoryObjects"
    return json_response(page(items, q, ctx.request, ctx.base_url, render,
                              ctx.context(fragment)))
