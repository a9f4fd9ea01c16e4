"""The mailbox operations: GetFolder, FindItem, GetItem over the caller's Contacts folder."""

from __future__ import annotations

from lxml import etree

from . import soap
from .operations import Call, M, T, find_group, group_member_mailbox
from .org import Contact, ContactGroup, Mailbox, item_id, parse_item_id
from .soap import ResponseError, SoapFault

# Distinguished folders the simulator keeps: (id, display name, element, FolderClass, parent).
_FOLDERS = {
    "root": ("Top of Information Store", "Folder", None, None),
    "msgfolderroot": ("Top of Information Store", "Folder", "IPF.Note", "root"),
    "contacts": ("Contacts", "ContactsFolder", "IPF.Contact", "msgfolderroot"),
}
_DENIED = ResponseError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def _folder_ref(call: Call, ref: etree._Element) -> str:
    """The caller's folder that `ref` points at, by distinguished name; else ResponseError."""
    if ref.tag == f"{T}DistinguishedFolderId":
        owner = ref.findtext(f"{T}Mailbox/{T}EmailAddress")
        if owner and owner.strip().lower() != call.acting.address.lower():
            obj = call.org.find(owner.strip())
            if obj is None:
                raise ResponseError("ErrorNonExistentMailbox", f"No mailbox with address {owner}.")
            raise _DENIED
        name = ref.get("Id", "")
    else:
        parsed = parse_item_id(ref.get("Id", ""))
        if parsed is None:
            raise ResponseError("ErrorInvalidIdMalformed", "Id is malformed.")
        owner, local = parsed
        if owner != call.acting.address.lower():
            raise _DENIED
        name = local.removeprefix("folder:")
    if name not in _FOLDERS:
        raise ResponseError(
            "ErrorFolderNotFound", "The specified folder could not be found in the store."
        )
    return name


def _folder_id(mbx: Mailbox, name: str, tag: str = "FolderId") -> str:
    return f'<t:{tag} Id="{item_id(mbx.address, "folder:" + name)}" ChangeKey="{soap.CHANGE_KEY}"/>'


def get_folder(call: Call) -> str:
    """GetFolder: the root, message root and Contacts folders of the acting mailbox."""
    ids = call.element.find(f"{M}FolderIds")
    messages = []
    for ref in [] if ids is None else list(ids):
        try:
            name = _folder_ref(call, ref)
        except ResponseError as err:
            messages.append(soap.error("GetFolder", err))
            continue
        display, element, klass, parent = _FOLDERS[name]
        mbx = call.acting
        parts = [_folder_id(mbx, name)]
        if parent:
            parts.append(_folder_id(mbx, parent, "ParentFolderId"))
        if klass:
            parts.append(f"<t:FolderClass>{klass}</t:FolderClass>")
        count = len(mbx.contacts) + len(mbx.groups) if name == "contacts" else 0
        parts.append(
            f"<t:DisplayName>{display}</t:DisplayName><t:TotalCount>{count}</t:TotalCount>"
        )
        parts.append("<t:ChildFolderCount>0</t:ChildFolderCount>")
        folder = f"<t:{element}>{''.join(parts)}</t:{element}>"
        messages.append(soap.success("GetFolder", f"<m:Folders>{folder}</m:Folders>"))
    return soap.response("GetFolder", messages)


def find_item(call: Call) -> str:
    """FindItem: the Contacts folder's items, paged with Offset/MaxEntriesReturned."""
    try:
        parents = call.element.find(f"{M}ParentFolderIds")
        refs = [] if parents is None else list(parents)
        if len(refs) != 1:
            raise SoapFault("ErrorInvalidRequest", "FindItem needs exactly one parent folder here.")
        folder = _folder_ref(call, refs[0])
        items = _folder_items(call.acting) if folder == "contacts" else []
        items = [i for i in items if _matches(call.element.find(f"{M}Restriction"), i)]
    except ResponseError as err:
        return soap.response("FindItem", [soap.error("FindItem", err)])
    view = call.element.find(f"{M}IndexedPageItemView")
    offset, limit = 0, len(items)
    if view is not None:
        offset = int(view.get("Offset", "0"))
        if view.get("BasePoint", "Beginning") == "End":
            offset = max(0, len(items) - offset - int(view.get("MaxEntriesReturned", len(items))))
        limit = int(view.get("MaxEntriesReturned", len(items)))
    page = items[offset : offset + limit]
    end = offset + len(page)
    body = "".join(_item_xml(call, i, members=False) for i in page)
    root = (
        f'<m:RootFolder IndexedPagingOffset="{end}" TotalItemsInView="{len(items)}" '
        f'IncludesLastItemInRange="{"true" if end >= len(items) else "false"}">'
        f"<t:Items>{body}</t:Items></m:RootFolder>"
    )
    return soap.response("FindItem", [soap.success("FindItem", root)])


def _folder_items(mbx: Mailbox) -> list[Contact | ContactGroup]:
    items: list[Contact | ContactGroup] = [*mbx.contacts.values(), *mbx.groups.values()]
    return sorted(items, key=lambda i: i.name.lower())


def _item_class(item: Contact | ContactGroup) -> str:
    return "IPM.DistList" if isinstance(item, ContactGroup) else "IPM.Contact"


def _matches(restriction: etree._Element | None, item: Contact | ContactGroup) -> bool:
    """Restrictions on item:ItemClass, the one filter contact-group listing needs."""
    if restriction is None or len(restriction) == 0:
        return True
    expr = restriction[0]
    op = etree.QName(expr).localname
    field = expr.find(f"{T}FieldURI")
    constant = expr.find(f"{T}FieldURIOrConstant/{T}Constant")
    if (
        op not in ("IsEqualTo", "IsNotEqualTo")
        or field is None
        or constant is None
        or field.get("FieldURI") != "item:ItemClass"
    ):
        raise ResponseError(
            "ErrorUnsupportedPathForQuery",
            "The property path is not supported for this restriction (only item:ItemClass).",
        )
    equal = _item_class(item) == constant.get("Value")
    return equal if op == "IsEqualTo" else not equal


def get_item(call: Call) -> str:
    """GetItem: contacts and contact groups, with Members and each member's Status when asked."""
    shape = call.element.find(f"{M}ItemShape")
    members = shape is not None and (
        shape.findtext(f"{T}BaseShape") == "AllProperties"
        or any(f.get("FieldURI") == "distributionlist:Members" for f in shape.iter(f"{T}FieldURI"))
    )
    ids = call.element.find(f"{M}ItemIds")
    messages = []
    for ref in [] if ids is None else list(ids):
        try:
            item = _find_item(call.acting, ref.get("Id", ""))
        except ResponseError as err:
            messages.append(soap.error("GetItem", err))
            continue
        xml = _item_xml(call, item, members)
        messages.append(soap.success("GetItem", f"<m:Items>{xml}</m:Items>"))
    return soap.response("GetItem", messages)


def _find_item(mbx: Mailbox, value: str) -> Contact | ContactGroup:
    parsed = parse_item_id(value)
    if parsed is not None and parsed[0] == mbx.address.lower() and parsed[1] in mbx.contacts:
        return mbx.contacts[parsed[1]]
    return find_group(mbx, value)


def _item_xml(call: Call, item: Contact | ContactGroup, members: bool) -> str:
    mbx = call.acting
    head = (
        f'<t:ItemId Id="{item.item_id}" ChangeKey="{soap.CHANGE_KEY}"/>'
        f"{_folder_id(mbx, 'contacts', 'ParentFolderId')}"
        f"<t:ItemClass>{_item_class(item)}</t:ItemClass>"
        f"<t:Subject>{soap.text(item.name)}</t:Subject>"
    )
    name = f"<t:DisplayName>{soap.text(item.name)}</t:DisplayName>"
    if isinstance(item, Contact):
        emails = (
            f'<t:EmailAddresses><t:Entry Key="EmailAddress1">{soap.text(item.address)}'
            "</t:Entry></t:EmailAddresses>"
        )
        file_as = f"<t:FileAs>{soap.text(item.name)}</t:FileAs>"
        return f"<t:Contact>{head}{file_as}{name}{emails}</t:Contact>"
    body = f"<t:DistributionList>{head}{name}<t:FileAs>{soap.text(item.name)}</t:FileAs>"
    if members:
        rows = []
        for i, m in enumerate(item.members):
            mailbox = group_member_mailbox(call, item, i, False)
            rows.append(f'<t:Member Key="{i}">{mailbox}<t:Status>{m.status}</t:Status></t:Member>')
        body += f"<t:Members>{''.join(rows)}</t:Members>"
    return body + "</t:DistributionList>"
