"""Reading Graph's JSON into Rollcall's entries: no I/O, no O365 objects.

Graph types every directory object with `@odata.type`; a group's kind is in `groupTypes`,
`mailEnabled` and `securityEnabled` (groups-overview). Anything without mail cannot receive a
message sent to a list, so it becomes an entry without an address: the report's invalid member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollcall.core.model import Entry, Kind, MemberStatus

USER = "#microsoft.graph.user"
GROUP = "#microsoft.graph.group"
ORG_CONTACT = "#microsoft.graph.orgContact"

# What directory queries ask for ($select): enough to classify and count, nothing more. A
# typed collection refuses another type's properties; members (directoryObjects) take all.
USER_FIELDS = "id,displayName,mail,userType"
GROUP_FIELDS = "id,displayName,mail,groupTypes,mailEnabled,securityEnabled,visibility"
CONTACT_FIELDS = "id,displayName,mail"
SELECT = "id,displayName,mail,userType,groupTypes,mailEnabled,securityEnabled,visibility"


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """The Kind of a directory object as Graph types it."""
    odata = obj.get("@odata.type")
    if odata == USER:
        return Kind.CONTACT if obj.get("userType") == "Guest" else Kind.MAILBOX
    if odata == ORG_CONTACT:
        return Kind.CONTACT
    if odata == GROUP:
        if not obj.get("mailEnabled"):
            return Kind.UNKNOWN  # a security group without mail: Exchange delivers nothing
        return Kind.GROUP if "Unified" in (obj.get("groupTypes") or ()) else Kind.PUBLIC_DL
    return Kind.UNKNOWN  # devices, service principals: no mailbox behind them


def entry_of(obj: Mapping[str, Any], odata_type: str | None = None) -> Entry:
    """An Entry for one directory object; `odata_type` where the collection implies it."""
    if odata_type and "@odata.type" not in obj:
        obj = {**obj, "@odata.type": odata_type}
    kind = kind_of(obj)
    mail = (obj.get("mail") or "").strip() or None
    name = obj.get("displayName") or mail or ""
    if kind is Kind.UNKNOWN or mail is None:
        return Entry(name or "(no name)", None, Kind.UNKNOWN)
    return Entry(name, mail, kind)


def is_limited(obj: Mapping[str, Any]) -> bool:
    """Graph's "limited information": a member the caller may not read beyond its type and id
    (a permission is missing), not a member without mail."""
    return obj.get("@odata.type") in (USER, ORG_CONTACT) and not obj.get("displayName") \
        and not obj.get("mail")


def hidden_membership(obj: Mapping[str, Any]) -> bool:
    """A Microsoft 365 group whose members only its owners (or Member.Read.Hidden) may see."""
    return str(obj.get("visibility") or "").lower() == "hiddenmembership"


def contact_group_member(item: Mapping[str, Any], contact_ids: frozenset[str] | None) -> Entry:
    """One member of a sender's contact group (beta distributionListMember) as an Entry.

    A member pointing at a contact that is no longer in the sender's contacts was deleted (EWS
    calls it Demoted): still flagged. `contact_ids` None: the contacts could not be read, so
    nothing is flagged (and the caller says Graph could not tell).
    """
    email = item.get("emailAddress") or {}
    address = (email.get("address") or "").strip() or None
    name = email.get("name") or address or ""
    kind_word = str(item.get("recipientType") or "").lower()
    if kind_word == "privatedl":
        return Entry(name, None, Kind.CONTACT_GROUP,
                     item_id=str(item.get("distributionListId") or "") or None)
    if address is None:
        return Entry(name or "(no name)", None, Kind.UNKNOWN, status=MemberStatus.UNRECOGNIZED)
    status = MemberStatus.NORMAL
    contact = item.get("contactId")
    if kind_word == "contact" and contact and contact_ids is not None \
            and str(contact) not in contact_ids:
        status = MemberStatus.DEMOTED
    kind = {"mailbox": Kind.MAILBOX, "contact": Kind.CONTACT}.get(kind_word, Kind.ONE_OFF)
    return Entry(name, address, kind, status=status)


# Exchange's RecipientType (the admin API) -> Kind, for members Graph cannot see.
EXCHANGE_KINDS = {
    "UserMailbox": Kind.MAILBOX, "MailUser": Kind.CONTACT, "MailContact": Kind.CONTACT,
    "MailUniversalDistributionGroup": Kind.PUBLIC_DL,
    "MailUniversalSecurityGroup": Kind.PUBLIC_DL, "MailNonUniversalGroup": Kind.PUBLIC_DL,
    "DynamicDistributionGroup": Kind.DYNAMIC_DL, "PublicFolder": Kind.PUBLIC_FOLDER,
    "GroupMailbox": Kind.GROUP,
}


def exchange_member(item: Mapping[str, Any]) -> Entry:
    """One recipient as the Exchange admin API lists it (Get-*GroupMember)."""
    address = (item.get("PrimarySmtpAddress") or "").strip() or None
    name = item.get("DisplayName") or item.get("Name") or address or ""
    kind = EXCHANGE_KINDS.get(str(item.get("RecipientType") or ""), Kind.MAILBOX)
    return Entry(name, address, kind if address else Kind.UNKNOWN)
