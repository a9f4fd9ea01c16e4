"""The folder operations: GetFolder, FindFolder, CreateFolder over the acting mailbox's folders.

https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder-operation
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createfolder-operation
"""

from __future__ import annotations

from typing import TypeVar

from lxml import etree

from . import soap
from .mail_store import MailFolder, MailStoreError
from .operations import Call, M, T, comparison
from .org import Mailbox, item_id, parse_item_id
from .soap import ResponseError, SoapFault

X = TypeVar("X")
DENIED = ResponseError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def folder_ref(call: Call, ref: etree._Element) -> MailFolder:
    """The acting mailbox's folder a DistinguishedFolderId or FolderId points at; another
    mailbox's folders are denied, as Exchange denies them without a delegate's rights."""
    if ref.tag == f"{T}DistinguishedFolderId":
        owner = ref.findtext(f"{T}Mailbox/{T}EmailAddress")
        if owner and owner.strip().lower() != call.acting.address.lower():
            if call.org.find(owner.strip()) is None:
                raise ResponseError("ErrorNonExistentMailbox", f"No mailbox with address {owner}.")
            raise DENIED
        local = ref.get("Id", "")
    else:
        parsed = parse_item_id(ref.get("Id", ""))
        if parsed is None or not parsed[1].startswith("folder:"):
            raise ResponseError("ErrorInvalidIdMalformed", "Id is malformed.")
        if parsed[0] != call.acting.address.lower():
            raise DENIED
        local = parsed[1].removeprefix("folder:")
    try:
        return call.mail.folder(call.acting.address.lower(), local)
    except MailStoreError as e:
        raise ResponseError(e.code, e.message) from None


def folder_id(mbx: Mailbox, local: str, tag: str = "FolderId") -> str:
    ews_id = item_id(mbx.address, "folder:" + local)
    return f'<t:{tag} Id="{ews_id}" ChangeKey="{soap.CHANGE_KEY}"/>'


def folder_xml(call: Call, folder: MailFolder) -> str:
    """A folder with the properties exchangelib asks for, in types.xsd's order."""
    mbx = call.acting
    messages, kids = call.mail.count(mbx.address.lower(), folder.local)
    if folder.local == "contacts":
        messages = len(mbx.contacts) + len(mbx.groups)
    element = "ContactsFolder" if folder.klass == "IPF.Contact" else "Folder"
    parts = [folder_id(mbx, folder.local)]
    if folder.parent:
        parts.append(folder_id(mbx, folder.parent, "ParentFolderId"))
    if folder.klass:
        parts.append(f"<t:FolderClass>{soap.text(folder.klass)}</t:FolderClass>")
    parts.append(f"<t:DisplayName>{soap.text(folder.name)}</t:DisplayName>"
                 f"<t:TotalCount>{messages}</t:TotalCount>"
                 f"<t:ChildFolderCount>{kids}</t:ChildFolderCount>")
    if folder.distinguished:
        parts.append(f"<t:DistinguishedFolderId>{folder.local}</t:DistinguishedFolderId>")
    if element == "Folder":  # nobody reads mail here: everything is unread
        parts.append(f"<t:UnreadCount>{messages}</t:UnreadCount>")
    return f"<t:{element}>{''.join(parts)}</t:{element}>"


def get_folder(call: Call) -> str:
    """GetFolder: distinguished folders by name, any folder by FolderId."""
    ids = call.element.find(f"{M}FolderIds")
    messages = []
    for ref in [] if ids is None else list(ids):
        try:
            folder = folder_ref(call, ref)
        except ResponseError as err:
            messages.append(soap.error("GetFolder", err))
            continue
        inner = f"<m:Folders>{folder_xml(call, folder)}</m:Folders>"
        messages.append(soap.success("GetFolder", inner))
    return soap.response("GetFolder", messages)


def find_folder(call: Call) -> str:
    """FindFolder: a folder's children (Shallow) or all its descendants (Deep), restricted by
    DisplayName or FolderClass, paged with IndexedPageFolderView."""
    deep = call.element.get("Traversal", "Shallow") == "Deep"
    parents = call.element.find(f"{M}ParentFolderIds")
    messages = []
    for ref in [] if parents is None else list(parents):
        try:
            parent = folder_ref(call, ref)
            found = call.mail.children(call.acting.address.lower(), parent.local, deep)
            found = [f for f in found if _matches(call.element.find(f"{M}Restriction"), f)]
        except ResponseError as err:
            messages.append(soap.error("FindFolder", err))
            continue
        page, attrs = paged(call.element.find(f"{M}IndexedPageFolderView"), found)
        body = "".join(folder_xml(call, f) for f in page)
        root = f"<m:RootFolder {attrs}><t:Folders>{body}</t:Folders></m:RootFolder>"
        messages.append(soap.success("FindFolder", root))
    return soap.response("FindFolder", messages)


def paged(view: etree._Element | None, found: list[X]) -> tuple[list[X], str]:
    """One page of an IndexedPage*View, and the paging attributes of the answer."""
    offset, limit = 0, len(found)
    if view is not None:
        limit = int(view.get("MaxEntriesReturned", len(found)))
        offset = int(view.get("Offset", "0"))
        if view.get("BasePoint", "Beginning") == "End":
            offset = max(0, len(found) - offset - limit)
    page = found[offset : offset + limit]
    end = offset + len(page)
    last = "true" if end >= len(found) else "false"
    return page, (f'IndexedPagingOffset="{end}" TotalItemsInView="{len(found)}" '
                  f'IncludesLastItemInRange="{last}"')


_FOLDER_FIELDS = {"folder:DisplayName": "name", "folder:FolderClass": "klass"}


def _matches(restriction: etree._Element | None, folder: MailFolder) -> bool:
    """IsEqualTo / IsNotEqualTo on DisplayName or FolderClass, case-insensitively as Exchange
    compares folder names."""
    if restriction is None or len(restriction) == 0:
        return True
    wanted, uri, value = comparison(restriction, _FOLDER_FIELDS,
                                    "folder:DisplayName and folder:FolderClass")
    mine = getattr(folder, _FOLDER_FIELDS[uri]) or ""
    return (mine.lower() == value.lower()) == wanted


def create_folder(call: Call) -> str:
    """CreateFolder: folders under one parent, each with a DisplayName unique there."""
    ref = call.element.find(f"{M}ParentFolderId")
    folders = call.element.find(f"{M}Folders")
    if ref is None or len(ref) != 1 or folders is None:
        raise SoapFault("ErrorSchemaValidation", "CreateFolder needs ParentFolderId and Folders.")
    messages = []
    for new in list(folders):
        try:
            parent = folder_ref(call, ref[0])
            name = (new.findtext(f"{T}DisplayName") or "").strip()
            if not name:
                raise ResponseError("ErrorInvalidFolderName", "A folder needs a display name.")
            klass = new.findtext(f"{T}FolderClass")
            try:
                made = call.mail.create_folder(call.acting.address.lower(), parent.local, name,
                                               klass)
            except MailStoreError as e:
                raise ResponseError(e.code, e.message) from None
        except ResponseError as err:
            messages.append(soap.error("CreateFolder", err))
            continue
        tag = "ContactsFolder" if made.klass == "IPF.Contact" else "Folder"
        inner = f"<m:Folders><t:{tag}>{folder_id(call.acting, made.local)}</t:{tag}></m:Folders>"
        messages.append(soap.success("CreateFolder", inner))
    return soap.response("CreateFolder", messages)
