"""The Contacts folder's items for FindItem and GetItem: contacts and contact groups.

mail_ops.py answers the operations and hands Contacts items here; folders are folder_ops.py's.
"""

from __future__ import annotations

from lxml import etree

from . import soap
from .folder_ops import folder_id
from .operations import Call, T, comparison, find_group, group_member_mailbox
from .org import Contact, ContactGroup, Mailbox, parse_item_id

ContactItem = Contact | ContactGroup


def contact_items(call: Call, restriction: etree._Element | None) -> list[ContactItem]:
    """The acting mailbox's contacts and groups by name, filtered by the restriction."""
    mbx = call.acting
    items: list[ContactItem] = [*mbx.contacts.values(), *mbx.groups.values()]
    items = [i for i in items if matches(restriction, item_class(i))]
    return sorted(items, key=lambda i: i.name.lower())


def item_class(item: ContactItem) -> str:
    return "IPM.DistList" if isinstance(item, ContactGroup) else "IPM.Contact"


def matches(restriction: etree._Element | None, klass: str) -> bool:
    """Restrictions on item:ItemClass, the one filter contact-group listing needs."""
    if restriction is None or len(restriction) == 0:
        return True
    wanted, _, value = comparison(restriction, ("item:ItemClass",), "item:ItemClass")
    return (klass == value) == wanted


def wants_members(shape: etree._Element | None) -> bool:
    """Whether GetItem asked for contact groups' Members."""
    return shape is not None and (
        shape.findtext(f"{T}BaseShape") == "AllProperties"
        or any(f.get("FieldURI") == "distributionlist:Members" for f in shape.iter(f"{T}FieldURI"))
    )


def find_contact_item(mbx: Mailbox, value: str) -> ContactItem:
    """The acting mailbox's contact or contact group with this ItemId; ResponseError if none."""
    parsed = parse_item_id(value)
    if parsed is not None and parsed[0] == mbx.address.lower() and parsed[1] in mbx.contacts:
        return mbx.contacts[parsed[1]]
    return find_group(mbx, value)


def contact_xml(call: Call, item: ContactItem, members: bool) -> str:
    mbx = call.acting
    head = (
        f'<t:ItemId Id="{item.item_id}" ChangeKey="{soap.CHANGE_KEY}"/>'
        f"{folder_id(mbx, 'contacts', 'ParentFolderId')}"
        f"<t:ItemClass>{item_class(item)}</t:ItemClass>"
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
