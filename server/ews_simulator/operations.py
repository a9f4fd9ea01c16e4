"""The directory operations: ConvertId, ResolveNames, ExpandDL, GetMailTips.

Each handler takes the request's operation element and answers the inner XML of `s:Body`, in the
shapes Exchange 2016/2019 uses (see Microsoft's "EWS reference" pages named after each class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from . import soap
from .mail_store import MailStore
from .org import (
    CONTACT,
    ContactGroup,
    DirectoryObject,
    Mailbox,
    Organisation,
    parse_item_id,
)
from .search import NameIndex
from .soap import M_NS, T_NS, ResponseError, SoapFault

M = f"{{{M_NS}}}"
T = f"{{{T_NS}}}"
MAX_CANDIDATES = 100


@dataclass(slots=True)
class Call:
    """One request as an operation sees it: the organisation and who acts."""

    org: Organisation
    index: NameIndex
    metrics: GroupMetrics
    acting: Mailbox
    element: etree._Element
    mail: MailStore  # every mailbox's mail folders and messages


Handler = Callable[[Call], str]


def directory_mailbox(tag: str, obj: DirectoryObject) -> str:
    return soap.email_address(tag, obj.name, obj.address, "SMTP", obj.kind)


def convert_id(call: Call) -> str:
    """ConvertId: used by clients as a version probe; ids it did not make are malformed."""
    messages = []
    for alt in call.element.iter(f"{T}AlternateId"):
        fmt = call.element.get("DestinationFormat", "EwsId")
        value = alt.get("Id", "")
        if parse_item_id(value) is None:
            err = ResponseError("ErrorInvalidIdMalformed", "Id is malformed.")
            messages.append(soap.error("ConvertId", err))
            continue
        inner = (
            f'<m:AlternateId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="t:AlternateIdType" Format="{fmt}" Id={soap.attr(value)} '
            f"Mailbox={soap.attr(alt.get('Mailbox', ''))}/>"
        )
        messages.append(soap.success("ConvertId", inner))
    return soap.response("ConvertId", messages)


def resolve_names(call: Call) -> str:
    """ResolveNames: one entry, directory then the caller's Contacts, at most 100 candidates."""
    entries = call.element.findall(f"{M}UnresolvedEntry")
    if len(entries) != 1:
        raise SoapFault(
            "ErrorSchemaValidation",
            "The request failed schema validation: ResolveNames takes exactly one UnresolvedEntry.",
        )
    query = (entries[0].text or "").strip()
    full = call.element.get("ReturnFullContactData", "false").lower() in ("true", "1")
    scope = call.element.get("SearchScope", "ActiveDirectoryContacts")
    hits: list[str] = []
    more = False
    if scope != "Contacts":
        found, more = _directory_hits(call, query)
        hits.extend(_resolution(o, full) for o in found)
    if scope != "ActiveDirectory":
        hits.extend(_contact_hits(call.acting, query))
    if scope.startswith("Contacts") and scope != "Contacts":
        hits.reverse()
    if len(hits) > MAX_CANDIDATES:
        hits, more = hits[:MAX_CANDIDATES], True
    if not hits:
        err = ResponseError("ErrorNameResolutionNoResults", "No results were found.")
        return soap.response("ResolveNames", [soap.error("ResolveNames", err)])
    paging = (
        f' IndexedPagingOffset="{len(hits)}" TotalItemsInView="{len(hits)}"'
        f' IncludesLastItemInRange="{"false" if more else "true"}"'
    )
    inner = f"<m:ResolutionSet{paging}>{''.join(hits)}</m:ResolutionSet>"
    if len(hits) == 1:
        return soap.response("ResolveNames", [soap.success("ResolveNames", inner)])
    err = ResponseError("ErrorNameResolutionMultipleResults", "Multiple results were found.")
    return soap.response("ResolveNames", [soap.error("ResolveNames", err, "Warning", inner)])


def _directory_hits(call: Call, query: str) -> tuple[list[DirectoryObject], bool]:
    q = query[5:] if query.lower().startswith("smtp:") else query
    if q.startswith("/"):  # an X.500 legacy DN
        obj = call.org.find_dn(q)
        return ([obj] if obj and not obj.hidden else []), False
    if "@" in q:
        obj = call.org.find(q)
        return ([obj] if obj and not obj.hidden else []), False
    return call.index.prefix(q, MAX_CANDIDATES)


def _contact_hits(mbx: Mailbox, query: str) -> list[str]:
    q = query[5:] if query.lower().startswith("smtp:") else query
    q = q.lower()
    out = []
    for c in mbx.contacts.values():
        if c.address.lower() == q or _name_matches(c.name, q):
            mailbox = soap.email_address("Mailbox", c.name, c.address, "SMTP", CONTACT, c.item_id)
            out.append(f"<t:Resolution>{mailbox}</t:Resolution>")
    for g in mbx.groups.values():
        if _name_matches(g.name, q):
            out.append(f"<t:Resolution>{_private_dl('Mailbox', g)}</t:Resolution>")
    return out


def _name_matches(name: str, q: str) -> bool:
    name = name.lower()
    return bool(q) and (name.startswith(q) or any(w.startswith(q) for w in name.split()))


def _private_dl(tag: str, group: ContactGroup) -> str:
    return soap.email_address(tag, group.name, None, "MAPIPDL", "PrivateDL", group.item_id)


def _resolution(obj: DirectoryObject, full: bool) -> str:
    contact = ""
    if full:
        attrs = obj.attributes
        parts = [f"<t:DisplayName>{soap.text(obj.name)}</t:DisplayName>"]
        parts.append(
            f'<t:EmailAddresses><t:Entry Key="EmailAddress1">SMTP:{soap.text(obj.address)}'
            "</t:Entry></t:EmailAddresses>"
        )
        parts.append("<t:ContactSource>ActiveDirectory</t:ContactSource>")
        for key, tag in (
            ("department", "Department"),
            ("title", "JobTitle"),
            ("office", "OfficeLocation"),
        ):
            if key in attrs:
                parts.append(f"<t:{tag}>{soap.text(attrs[key])}</t:{tag}>")
        contact = f"<t:Contact>{''.join(parts)}</t:Contact>"
    return f"<t:Resolution>{directory_mailbox('Mailbox', obj)}{contact}</t:Resolution>"


def expand_dl(call: Call) -> str:
    """ExpandDL: one level of a public list (address or legacy DN) or a contact group (ItemId)."""
    target = call.element.find(f"{M}Mailbox")
    if target is None:
        raise SoapFault(
            "ErrorSchemaValidation", "The request failed schema validation: no Mailbox."
        )
    item = target.find(f"{T}ItemId")
    try:
        if item is not None:
            group = find_group(call.acting, item.get("Id", ""))
            shown = [
                group_member_mailbox(call, group, i, True) for i in range(len(group.members))
            ]
            shown = [m for m in shown if m]
            body = _expansion(shown, len(shown), True)
        else:
            dl = _public_dl(call, target)
            objects = call.org.direct_members(dl)
            limit = dl.truncate if dl.truncate is not None else len(objects)
            shown = [directory_mailbox("Mailbox", o) for o in objects[:limit]]
            body = _expansion(shown, len(objects), limit >= len(objects))
    except ResponseError as err:
        return soap.response("ExpandDL", [soap.error("ExpandDL", err)])
    return soap.response("ExpandDL", [soap.success("ExpandDL", body)])


def _expansion(members: list[str], total: int, last: bool) -> str:
    return (
        f'<m:DLExpansion TotalItemsInView="{total}" '
        f'IncludesLastItemInRange="{"true" if last else "false"}">'
        f"{''.join(members)}</m:DLExpansion>"
    )


def _public_dl(call: Call, target: etree._Element) -> DirectoryObject:
    address = (target.findtext(f"{T}EmailAddress") or "").strip()
    routing = (target.findtext(f"{T}RoutingType") or "SMTP").strip().upper()
    obj = call.org.find_dn(address) if routing == "EX" else call.org.find(address)
    if obj is None or not obj.is_list or obj.hidden:
        raise ResponseError("ErrorNameResolutionNoResults", "No results were found.")
    return obj


def find_group(mbx: Mailbox, item_id: str) -> ContactGroup:
    """The caller's contact group with this ItemId; raises ResponseError as Exchange answers."""
    parsed = parse_item_id(item_id)
    if parsed is None:
        raise ResponseError("ErrorInvalidIdMalformed", "Id is malformed.")
    owner, local = parsed
    if owner != mbx.address.lower():
        raise ResponseError(
            "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    group = mbx.groups.get(local)
    if group is None:
        raise ResponseError("ErrorItemNotFound", "The specified object was not found in the store.")
    return group


def group_member_mailbox(call: Call, group: ContactGroup, i: int, expanding: bool) -> str:
    """A contact-group member as a `t:Mailbox`; ExpandDL leaves out members with no usable data."""
    m = group.members[i]
    mbx = call.acting
    tag = "Mailbox"
    if m.status == "Unrecognized":
        return "" if expanding else soap.email_address(tag, m.name, m.address, None, "Unknown")
    if m.group_id is not None:
        return _private_dl(tag, mbx.groups[m.group_id])
    if m.status == "Demoted":  # the object behind it is gone: only the stored address remains
        return soap.email_address(tag, m.name, m.address, "SMTP", "OneOff")
    if m.contact_id is not None:
        c = mbx.contacts[m.contact_id]
        return soap.email_address(tag, c.name, c.address, "SMTP", CONTACT, c.item_id)
    if m.routing == "EX":
        known = call.org.find_dn(m.address or "")
        return soap.email_address(tag, m.name, m.address, "EX", known.kind if known else "Mailbox")
    obj = call.org.find(m.address or "")
    if obj is not None:
        return soap.email_address(tag, obj.name, obj.address, "SMTP", obj.kind)
    return soap.email_address(tag, m.name, m.address, "SMTP", "OneOff")


def get_mail_tips(call: Call) -> str:
    """GetMailTips: member counts from the (possibly stale) group metrics, invalid recipients."""
    requested = call.element.findtext(f"{M}MailTipsRequested")
    for needed in ("SendingAs", "Recipients", "MailTipsRequested"):
        if call.element.find(f"{M}{needed}") is None:
            raise SoapFault(
                "ErrorSchemaValidation",
                "The request failed schema validation: The element 'GetMailTips' has invalid "
                f"content. List of possible elements expected: '{needed}'.",
            )
    assert requested is not None
    wanted = set(requested.split())
    recipients = call.element.find(f"{M}Recipients")
    messages = []
    for r in [] if recipients is None else list(recipients):
        address = (r.findtext(f"{T}EmailAddress") or "").strip()
        obj = call.org.find(address)
        messages.append(_mail_tips(call, address, obj, wanted))
    return (
        f'<m:GetMailTipsResponse ResponseClass="Success" xmlns:m="{M_NS}" xmlns:t="{T_NS}">'
        f"<m:ResponseCode>NoError</m:ResponseCode><m:ResponseMessages>{''.join(messages)}"
        "</m:ResponseMessages></m:GetMailTipsResponse>"
    )


def _mail_tips(call: Call, address: str, obj: DirectoryObject | None, wanted: set[str]) -> str:
    name = obj.name if obj else ""
    pending: list[str] = []
    tips = []
    counts = call.metrics.for_list(obj) if obj is not None and obj.is_list else None
    if counts == "pending":
        pending = [t for t in ("TotalMemberCount", "ExternalMemberCount") if t in wanted]
        counts = None
    if isinstance(counts, tuple):
        if "TotalMemberCount" in wanted:
            tips.append(f"<t:TotalMemberCount>{counts[0]}</t:TotalMemberCount>")
        if "ExternalMemberCount" in wanted:
            tips.append(f"<t:ExternalMemberCount>{counts[1]}</t:ExternalMemberCount>")
    if "InvalidRecipient" in wanted:
        tips.append(f"<t:InvalidRecipient>{'false' if obj else 'true'}</t:InvalidRecipient>")
    recipient = soap.email_address(
        "RecipientAddress", name, address or None, "SMTP", obj.kind if obj else "Unknown"
    )
    return (
        '<m:MailTipsResponseMessageType ResponseClass="Success">'
        f"<m:ResponseCode>NoError</m:ResponseCode><m:MailTips>{recipient}"
        f"<t:PendingMailTips>{' '.join(pending)}</t:PendingMailTips>{''.join(tips)}"
        "</m:MailTips></m:MailTipsResponseMessageType>"
    )


class GroupMetrics:
    """Exchange's precomputed member counts: configured (stale) values or a one-time snapshot."""

    def __init__(self, org: Organisation) -> None:
        self._org = org
        self._cache: dict[str, tuple[int, int]] = {}

    def for_list(self, dl: DirectoryObject) -> tuple[int, int] | str:
        """(total, external), or "pending" while Exchange has not computed them."""
        if dl.metrics_pending:
            return "pending"
        if dl.metrics is not None:
            return dl.metrics
        key = dl.address.lower()
        if key not in self._cache:
            self._cache[key] = self._compute(dl)
        return self._cache[key]

    def _compute(self, dl: DirectoryObject) -> tuple[int, int]:
        """Unique recipients reachable through nested lists (nesting counted, loops cut)."""
        seen_lists = {dl.address.lower()}
        people: set[str] = set()
        stack = [dl]
        while stack:
            for m in self._org.direct_members(stack.pop()):
                if m.is_list:
                    if m.address.lower() not in seen_lists:
                        seen_lists.add(m.address.lower())
                        stack.append(m)
                else:
                    people.add(m.address.lower())
        external = sum(1 for a in people if not a.endswith("@" + self._org.domain.lower()))
        return len(people), external


def comparison(restriction: etree._Element, paths: Iterable[str],
               said: str) -> tuple[bool, str, str]:
    """The one IsEqualTo / IsNotEqualTo a restriction holds: (equal wanted, FieldURI, value);
    ErrorUnsupportedPathForQuery (`said` names what is supported) for anything else."""
    expr = restriction[0]
    op = etree.QName(expr).localname
    field = expr.find(f"{T}FieldURI")
    constant = expr.find(f"{T}FieldURIOrConstant/{T}Constant")
    uri = field.get("FieldURI", "") if field is not None else ""
    if op not in ("IsEqualTo", "IsNotEqualTo") or uri not in paths or constant is None:
        raise ResponseError(
            "ErrorUnsupportedPathForQuery",
            f"The property path is not supported for this restriction (only {said}).",
        )
    return op == "IsEqualTo", uri, constant.get("Value") or ""
