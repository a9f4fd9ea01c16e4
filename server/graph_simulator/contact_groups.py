"""A mailbox's own Contacts over Graph: personal contacts, contact groups
(`/users/{id}/distributionLists`) and, on beta only, a contact group's members.

Outlook's collections page at 10 by default (up to $top=1000). Members are reported by what they
point at: a contact (`contactId`), a directory object (`mailbox`, legacy-DN members by their
SMTP address), a nested contact group (`privateDL`), or a bare address (`oneOff`). A member
whose contact was deleted (Demoted) still names a contactId, one no contact has.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ews_simulator.org import ContactGroup, GroupMember, Mailbox

from .directory import Entity
from .query import Query, page
from .wire import GraphError, Response, bad_segment, json_response

if TYPE_CHECKING:
    from .routes import Context

DEFAULT_TOP, MAX_TOP = 10, 1000
CONTACT_PROPERTIES = ("id", "displayName", "emailAddresses")
LIST_PROPERTIES = ("id", "displayName")
MEMBER_PROPERTIES = ("recipientType", "emailAddress", "contactId", "distributionListId")


def outlook_id(kind: str, mailbox: str, local: str) -> str:
    """An opaque, URL-safe id for an item of a mailbox (`kind` keeps contacts and groups apart)."""
    return base64.urlsafe_b64encode(f"{kind}:{mailbox.lower()}:{local}".encode()).decode()


def _local(kind: str, mbx: Mailbox, value: str) -> str | None:
    try:
        text = base64.urlsafe_b64decode(value.encode()).decode()
    except ValueError:
        return None
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[0] != kind or parts[1] != mbx.address.lower():
        return None
    return parts[2]


def route(ctx: Context, user: Entity, rest: list[str]) -> Response:
    """`rest` starts with "contacts" or "distributionLists"; raises GraphError."""
    obj = user.obj
    mbx = ctx.directory.org.mailboxes.get(obj.address.lower()) if obj is not None else None
    if mbx is None:
        raise GraphError(404, "MailboxNotEnabledForRESTAPI",
                         "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    caller = ctx.caller
    if not caller.app and (caller.user or "").lower() != mbx.address.lower():
        raise GraphError(403, "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again.")
    ctx.need("Contacts.Read", "Contacts.ReadWrite")
    if rest[0] == "contacts":
        return _contacts(ctx, mbx, rest[1:])
    if len(rest) == 1:
        q = Query.parse(ctx.request, LIST_PROPERTIES, "distributionList", DEFAULT_TOP, MAX_TOP)
        items = list(mbx.groups.items())
        return json_response(page(items, q, ctx.request, ctx.base_url,
                                  lambda kv: _list_view(mbx, kv[0], kv[1], q.select)))
    local = _local("RCDL", mbx, rest[1])
    group = mbx.groups.get(local) if local is not None else None
    if group is None or local is None:
        raise _item_not_found()
    if len(rest) == 2:
        q = Query.parse(ctx.request, LIST_PROPERTIES, "distributionList")
        return json_response(_list_view(mbx, local, group, q.select))
    if rest[2] != "members" or len(rest) > 3 or ctx.version != "beta":
        raise bad_segment(rest[2])
    q = Query.parse(ctx.request, MEMBER_PROPERTIES, "distributionListMember", DEFAULT_TOP,
                    MAX_TOP)
    members = list(enumerate(group.members))
    return json_response(page(members, q, ctx.request, ctx.base_url,
                              lambda im: _select(_member(ctx, mbx, local, *im), q.select)))


def _item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _select(item: dict[str, Any], select: list[str] | None, keep: str = "") -> dict[str, Any]:
    if select is None:
        return item
    return {k: v for k, v in item.items() if k in select or k == keep}


def _contacts(ctx: Context, mbx: Mailbox, rest: list[str]) -> Response:
    def view(local: str) -> dict[str, Any]:
        c = mbx.contacts[local]
        item = {"id": outlook_id("RC", mbx.address, local), "displayName": c.name,
                "emailAddresses": [{"name": c.name, "address": c.address}]}
        return _select(item, q.select, keep="id")  # Outlook always sends the id

    if not rest:
        q = Query.parse(ctx.request, CONTACT_PROPERTIES, "contact", DEFAULT_TOP, MAX_TOP)
        return json_response(page(list(mbx.contacts), q, ctx.request, ctx.base_url, view))
    local = _local("RC", mbx, rest[0])
    if local is None or local not in mbx.contacts:
        raise _item_not_found()
    if len(rest) > 1:
        raise bad_segment(rest[1])
    q = Query.parse(ctx.request, CONTACT_PROPERTIES, "contact")
    return json_response(view(local))


def _list_view(mbx: Mailbox, local: str, group: ContactGroup,
               select: list[str] | None) -> dict[str, Any]:
    item = {"id": outlook_id("RCDL", mbx.address, local), "displayName": group.name}
    return _select(item, select, keep="id")


def _member(ctx: Context, mbx: Mailbox, group_local: str, i: int,
            m: GroupMember) -> dict[str, Any]:
    """One contact-group member as beta's distributionListMember."""
    org = ctx.directory.org

    def entry(kind: str, name: str, address: str | None, **more: str) -> dict[str, Any]:
        return {"recipientType": kind, "emailAddress": {"name": name, "address": address},
                **more}

    if m.status == "Unrecognized":
        return entry("oneOff", m.name, None)
    if m.group_id is not None:
        return entry("privateDL", mbx.groups[m.group_id].name, None,
                     distributionListId=outlook_id("RCDL", mbx.address, m.group_id))
    if m.status == "Demoted":  # the contact is gone: its id no longer finds anything
        gone = outlook_id("RC", mbx.address, f"~deleted:{group_local}:{i}")
        return entry("contact", m.name, m.address, contactId=gone)
    if m.contact_id is not None:
        c = mbx.contacts[m.contact_id]
        return entry("contact", c.name, c.address,
                     contactId=outlook_id("RC", mbx.address, m.contact_id))
    obj = org.find_dn(m.address or "") if m.routing == "EX" else org.find(m.address or "")
    if obj is not None:
        return entry("mailbox", obj.name, obj.address)
    if m.routing == "EX":  # an X.500 DN nobody has any more: no SMTP address to give
        return entry("oneOff", m.name, None)
    return entry("oneOff", m.name, m.address)
