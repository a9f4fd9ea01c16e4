"""Reading EWS answers with lxml into Rollcall's entries: no I/O, no exchangelib objects."""

from __future__ import annotations

from lxml import etree

from rollcall.core.model import Entry, Expansion, Kind, MemberStatus

from .errors import response_error

M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
M = f"{{{M_NS}}}"
T = f"{{{T_NS}}}"

# EWS MailboxType -> Kind. Dynamic lists come back as PublicDL: EWS does not tell them apart.
KINDS = {
    "Mailbox": Kind.MAILBOX,
    "PublicDL": Kind.PUBLIC_DL,
    "PrivateDL": Kind.CONTACT_GROUP,
    "GroupMailbox": Kind.GROUP,
    "Contact": Kind.CONTACT,
    "ImplicitContact": Kind.CONTACT,
    "PublicFolder": Kind.PUBLIC_FOLDER,
    "OneOff": Kind.ONE_OFF,
    "Unknown": Kind.UNKNOWN,
}

def entry_from_fields(name: str | None, address: str | None, routing: str | None,
                      mailbox_type: str | None, item_id: str | None,
                      status: str | None = None) -> Entry:
    """An Entry from the fields of a `t:Mailbox` (EmailAddressType)."""
    routing = (routing or "SMTP").upper()
    kind = KINDS.get(mailbox_type or "", Kind.ONE_OFF if address else Kind.UNKNOWN)
    if routing == "MAPIPDL":  # a contact group referenced by ItemId
        kind = Kind.CONTACT_GROUP
    return Entry(
        name=name or address or "",
        address=address or None,
        kind=kind,
        routing_type="EX" if routing == "EX" else "SMTP",
        item_id=item_id,
        status=MemberStatus(status) if status and status in MemberStatus._value2member_map_
        else MemberStatus.NORMAL,
    )


def mailbox_entry(elem: etree._Element, status: str | None = None) -> Entry:
    """An Entry from a `t:Mailbox` element."""
    item = elem.find(f"{T}ItemId")
    return entry_from_fields(
        elem.findtext(f"{T}Name"),
        elem.findtext(f"{T}EmailAddress"),
        elem.findtext(f"{T}RoutingType"),
        elem.findtext(f"{T}MailboxType"),
        item.get("Id") if item is not None else None,
        status,
    )


_NAME, _EMAIL, _ROUTING, _TYPE, _ITEM = (
    f"{T}Name", f"{T}EmailAddress", f"{T}RoutingType", f"{T}MailboxType", f"{T}ItemId")


def _expansion_member(elem: etree._Element) -> Entry:
    """mailbox_entry's fast path for ExpandDL members: one pass over the children.

    A 100,000-person organisation is some 200,000 member entries; four `findtext` calls each
    cost more than the XML parse itself (bench/).
    """
    name = address = routing = mailbox_type = item_id = None
    for child in elem:
        tag = child.tag
        if tag == _EMAIL:
            address = child.text
        elif tag == _NAME:
            name = child.text
        elif tag == _TYPE:
            mailbox_type = child.text
        elif tag == _ROUTING:
            routing = child.text
        elif tag == _ITEM:
            item_id = child.get("Id")
    if routing is None or routing == "SMTP":
        kind = KINDS.get(mailbox_type or "")
        if kind is not None and item_id is None and address:
            return Entry(name or address, address, kind)
    return entry_from_fields(name, address, routing, mailbox_type, item_id)


def read_expansion(message: etree._Element, entry: Entry) -> Expansion:
    """An `ExpandDLResponseMessage` as an Expansion, truncation included; errors raised as ours."""
    code = message.findtext(f"{M}ResponseCode")
    if code != "NoError":
        raise response_error(code, f"the list {entry.name or entry.address}")
    expansion = message.find(f"{M}DLExpansion")
    if expansion is None:  # some servers answer an unknown list with an empty Success
        return Expansion((), complete=True, total_in_view=0)
    members = tuple(_expansion_member(m) for m in expansion.iterfind(f"{T}Mailbox"))
    last = expansion.get("IncludesLastItemInRange", "true").lower() in ("true", "1")
    total = expansion.get("TotalItemsInView")
    return Expansion(members, complete=last, total_in_view=int(total) if total else None)


_LISTS = {Kind.PUBLIC_DL, Kind.GROUP}


def read_recipient_check(message: etree._Element, address: str, name: str) -> Entry | None:
    """A GetMailTips answer about one typed SMTP address that no address list shows: an Entry
    when Exchange says it delivers there (a recipient hidden from address lists), None when it
    says the recipient is invalid or does not say. Errors are raised as ours."""
    code = message.findtext(f"{M}ResponseCode")
    if code != "NoError":
        raise response_error(code, f"the address {address}")
    tips = message.find(f"{M}MailTips")
    invalid = None if tips is None else tips.findtext(f"{T}InvalidRecipient")
    if tips is None or (invalid or "").strip().lower() not in ("false", "0"):
        return None
    kind = KINDS.get(tips.findtext(f"{T}RecipientAddress/{T}MailboxType") or "", Kind.MAILBOX)
    pending = (tips.findtext(f"{T}PendingMailTips") or "").split()
    if kind in _LISTS or tips.find(f"{T}TotalMemberCount") is not None or (
            "TotalMemberCount" in pending):
        # A hidden list: counted as one person it would be a number that is not a count. As a
        # list it is expanded, and Exchange's refusal to expand it says the count is incomplete.
        kind = kind if kind in _LISTS else Kind.PUBLIC_DL
    elif kind not in (Kind.MAILBOX, Kind.CONTACT, Kind.PUBLIC_FOLDER):
        kind = Kind.MAILBOX
    return Entry(name.strip() or address, address, kind)
