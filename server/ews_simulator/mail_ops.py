"""The item operations: FindItem, GetItem, MoveItem over messages and the Contacts folder's items.

https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem-operation
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation-email-message
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/moveitem-operation

Like Exchange, FindItem never returns MimeContent (GetItem does), and without a SortOrder a
mail folder lists its newest messages first.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from . import soap
from .folder_ops import DENIED, folder_id, folder_ref, paged
from .mail_store import MailStoreError, StoredMessage
from .mailbox_ops import contact_items, contact_xml, find_contact_item, matches, wants_members
from .operations import Call, M, T
from .org import Mailbox, item_id, parse_item_id
from .soap import ResponseError, SoapFault


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # Exchange answers whole seconds, in UTC


def _recipient(tag: str, who: tuple[str, str]) -> str:
    return soap.email_address(tag, who[0], who[1], "SMTP", "OneOff")


Field = Callable[[Mailbox, StoredMessage], str]

# The message properties the simulator keeps, in types.xsd's order (ItemType, then MessageType).
FIELDS: dict[str, Field] = {
    "item:MimeContent": lambda _, m: (
        f'<t:MimeContent CharacterSet="UTF-8">{base64.b64encode(m.raw).decode()}</t:MimeContent>'
    ),
    "item:ItemId": lambda mbx, m: (
        f'<t:ItemId Id="{item_id(mbx.address, m.local)}" ChangeKey="{soap.CHANGE_KEY}"/>'
    ),
    "item:ParentFolderId": lambda mbx, m: folder_id(mbx, m.folder, "ParentFolderId"),
    "item:ItemClass": lambda _, m: f"<t:ItemClass>{m.item_class}</t:ItemClass>",
    "item:Subject": lambda _, m: (
        f"<t:Subject>{soap.text(m.subject)}</t:Subject>" if m.subject is not None else ""
    ),
    "item:DateTimeReceived": lambda _, m: (
        f"<t:DateTimeReceived>{_when(m.received)}</t:DateTimeReceived>"
    ),
    "item:Size": lambda _, m: f"<t:Size>{len(m.raw)}</t:Size>",
    "item:DateTimeSent": lambda _, m: (
        f"<t:DateTimeSent>{_when(m.sent)}</t:DateTimeSent>" if m.sent else ""
    ),
    "item:DateTimeCreated": lambda _, m: (
        f"<t:DateTimeCreated>{_when(m.received)}</t:DateTimeCreated>"
    ),
    "message:Sender": lambda _, m: (
        f"<t:Sender>{_recipient('Mailbox', m.sender)}</t:Sender>" if m.sender else ""
    ),
    "message:ToRecipients": lambda _, m: (
        f"<t:ToRecipients>{''.join(_recipient('Mailbox', r) for r in m.to)}</t:ToRecipients>"
        if m.to else ""
    ),
    "message:From": lambda _, m: (
        f"<t:From>{_recipient('Mailbox', m.sender)}</t:From>" if m.sender else ""
    ),
    "message:InternetMessageId": lambda _, m: (
        f"<t:InternetMessageId>{soap.text(m.message_id)}</t:InternetMessageId>"
        if m.message_id else ""
    ),
    "message:IsRead": lambda _, m: "<t:IsRead>false</t:IsRead>",
}
_DEFAULT = {"item:ItemId", "item:ParentFolderId", "item:ItemClass", "item:Subject",
            "item:DateTimeReceived", "item:Size", "item:DateTimeSent", "message:Sender",
            "message:ToRecipients", "message:From", "message:IsRead"}
_SHAPES = {"IdOnly": {"item:ItemId"}, "Default": _DEFAULT,
           "AllProperties": set(FIELDS) - {"item:MimeContent"}}
_SORT_KEYS: dict[str, Callable[[StoredMessage], object]] = {
    "item:DateTimeReceived": lambda m: m.received,
    "item:DateTimeSent": lambda m: m.sent or m.received,
    "item:Subject": lambda m: (m.subject or "").lower(),
    "item:Size": lambda m: len(m.raw),
}


def _fields(shape: etree._Element | None, find: bool) -> set[str]:
    """The property paths an ItemShape asks for; FindItem never returns MimeContent."""
    if shape is None:
        return {"item:ItemId"}
    wanted = set(_SHAPES.get(shape.findtext(f"{T}BaseShape") or "IdOnly", {"item:ItemId"}))
    wanted |= {f.get("FieldURI", "") for f in shape.iter(f"{T}FieldURI")}
    if (shape.findtext(f"{T}IncludeMimeContent") or "").strip() in ("true", "1"):
        wanted.add("item:MimeContent")
    if find:
        wanted.discard("item:MimeContent")
    return wanted


def message_xml(mbx: Mailbox, msg: StoredMessage, wanted: set[str]) -> str:
    parts = [render(mbx, msg) for uri, render in FIELDS.items() if uri in wanted]
    return f"<t:Message>{''.join(parts)}</t:Message>"


def find_item(call: Call) -> str:
    """FindItem: one folder's messages (or Contacts items), sorted and paged."""
    try:
        parents = call.element.find(f"{M}ParentFolderIds")
        refs = [] if parents is None else list(parents)
        if len(refs) != 1:
            raise SoapFault("ErrorInvalidRequest", "FindItem needs exactly one parent folder here.")
        folder = folder_ref(call, refs[0])
        restriction = call.element.find(f"{M}Restriction")
        view = call.element.find(f"{M}IndexedPageItemView")
        if folder.local == "contacts":
            contacts = contact_items(call, restriction)
            page, attrs = paged(view, contacts)
            body = "".join(contact_xml(call, i, members=False) for i in page)
        else:
            found = call.mail.messages(call.acting.address.lower(), folder.local)
            found = [m for m in found if matches(restriction, m.item_class)]
            found = _sorted(found, call.element.find(f"{M}SortOrder"))
            messages, attrs = paged(view, found)
            wanted = _fields(call.element.find(f"{M}ItemShape"), find=True)
            body = "".join(message_xml(call.acting, m, wanted) for m in messages)
    except ResponseError as err:
        return soap.response("FindItem", [soap.error("FindItem", err)])
    root = f"<m:RootFolder {attrs}><t:Items>{body}</t:Items></m:RootFolder>"
    return soap.response("FindItem", [soap.success("FindItem", root)])


def _sorted(found: list[StoredMessage], order: etree._Element | None) -> list[StoredMessage]:
    """SortOrder's fields, the first most significant; without one, newest first."""
    if order is None or len(order) == 0:
        return sorted(found, key=lambda m: (m.received, m.seq), reverse=True)
    out = sorted(found, key=lambda m: m.seq)
    for field_order in reversed(list(order)):  # stable sorts, least significant first
        uri = field_order.find(f"{T}FieldURI")
        key = _SORT_KEYS.get(uri.get("FieldURI", "") if uri is not None else "")
        if key is None:
            raise ResponseError("ErrorInvalidPropertyForOperation",
                                "The simulator sorts messages only by received and sent time, "
                                "subject and size.")
        out.sort(key=key, reverse=field_order.get("Order") == "Descending")  # type: ignore[arg-type]
    return out


def get_item(call: Call) -> str:
    """GetItem: messages (MimeContent when asked), contacts and contact groups (Members)."""
    shape = call.element.find(f"{M}ItemShape")
    wanted = _fields(shape, find=False)
    members = wants_members(shape)
    ids = call.element.find(f"{M}ItemIds")
    messages = []
    for ref in [] if ids is None else list(ids):
        value = ref.get("Id", "")
        try:
            msg = _message(call, value)
            if msg is not None:
                xml = message_xml(call.acting, msg, wanted)
            else:
                xml = contact_xml(call, find_contact_item(call.acting, value), members)
        except ResponseError as err:
            messages.append(soap.error("GetItem", err, inner="<m:Items/>"))
            continue
        messages.append(soap.success("GetItem", f"<m:Items>{xml}</m:Items>"))
    return soap.response("GetItem", messages)


def _message(call: Call, value: str) -> StoredMessage | None:
    """The acting mailbox's message with this ItemId; None for ids that are not messages."""
    parsed = parse_item_id(value)
    if parsed is None or not parsed[1].startswith("msg:"):
        return None
    if parsed[0] != call.acting.address.lower():
        raise DENIED
    try:
        return call.mail.message(parsed[0], parsed[1])
    except MailStoreError as e:
        raise ResponseError(e.code, e.message) from None


def move_item(call: Call) -> str:
    """MoveItem: messages into another folder of the same mailbox, each with a new ItemId
    (returned unless ReturnNewItemIds is false)."""
    target = call.element.find(f"{M}ToFolderId")
    ids = call.element.find(f"{M}ItemIds")
    if target is None or len(target) != 1 or ids is None:
        raise SoapFault("ErrorSchemaValidation", "MoveItem needs ToFolderId and ItemIds.")
    give_ids = (call.element.findtext(f"{M}ReturnNewItemIds") or "true").strip() in ("true", "1")
    messages = []
    for ref in list(ids):
        try:
            try:
                folder = folder_ref(call, target[0])
            except ResponseError as err:
                if err.code != "ErrorFolderNotFound":
                    raise
                raise ResponseError("ErrorToFolderNotFound", err.message) from None
            msg = _message(call, ref.get("Id", ""))
            if msg is None:
                raise ResponseError("ErrorMoveCopyFailed",
                                    "The simulator moves messages only.")
            try:
                moved = call.mail.move(call.acting.address.lower(), msg.local, folder.local)
            except MailStoreError as e:
                raise ResponseError(e.code, e.message) from None
        except ResponseError as err:
            messages.append(soap.error("MoveItem", err, inner="<m:Items/>"))
            continue
        new = message_xml(call.acting, moved, {"item:ItemId"}) if give_ids else ""
        messages.append(soap.success("MoveItem", f"<m:Items>{new}</m:Items>"))
    return soap.response("MoveItem", messages)
