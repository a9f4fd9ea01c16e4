"""Rules about single entries that the engine and the report must apply identically."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from .model import Entry, MemberStatus


class Verdict(StrEnum):
    """What one non-list entry contributes to a count."""

    OK = "ok"
    DELETED = "deleted"  # counted at its stored address, but the contact behind it is gone
    INVALID = "invalid"  # no usable address: never delivered
    NO_SMTP = "no_smtp"  # an X.500 address nobody owns: never delivered
    DN_PENDING = "dn_pending"  # an X.500 address not looked up (error or deadline): unknown
    OPTED_OUT = "opted_out"  # unsubscribed from Rollcall lists: never delivered
    REMOVED = "removed"  # deleted from a Rollcall list: never delivered


def expandable(entry: Entry) -> bool:
    """True when the entry is a list the engine can ask the directory to expand."""
    # Without an ItemId or an address the directory has nothing to expand by; Unrecognized
    # members carry invalid data, so asking about them would only produce an error.
    return (
        entry.is_list
        and entry.status not in _EXCLUDED
        and bool(entry.item_id or entry.address)
    )


# Members never delivered to, whatever their address says.
_EXCLUDED = frozenset({MemberStatus.UNRECOGNIZED, MemberStatus.OPTED_OUT, MemberStatus.REMOVED})
# Whitespace (Unicode's, line breaks included) and control characters: no mail system delivers
# to an SMTP address holding one, and a line break in it could smuggle a header into a message.
_NOT_SMTP = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def usable_smtp(address: str) -> bool:
    """True unless the (stripped) SMTP address holds whitespace or a control character."""
    return _NOT_SMTP.search(address) is None


def is_legacy_dn(entry: Entry) -> bool:
    """True when the entry's address is an X.500 legacy DN that must be mapped to SMTP."""
    return entry.routing_type.upper() == "EX" and bool(entry.address)


def dn_key(legacy_dn: str) -> str:
    """The key under which a legacy DN's SMTP address is stored; X.500 DNs ignore case."""
    return legacy_dn.strip().lower()


def needs_smtp_lookup(entry: Entry) -> bool:
    """True when counting this entry needs port.smtp_for_legacy_dn first."""
    return not expandable(entry) and entry.status not in _EXCLUDED and is_legacy_dn(entry)


def label(entry: Entry) -> str:
    """How a sender would recognise an entry in a message or a path."""
    return entry.name or entry.address or entry.item_id or "(unnamed)"


def classify(entry: Entry, smtp_by_dn: Mapping[str, str | None]) -> tuple[str | None, Verdict]:
    """The normalised delivery address of a non-list entry (None if none) and its verdict."""
    if entry.status is MemberStatus.REMOVED:
        return None, Verdict.REMOVED
    if entry.status is MemberStatus.OPTED_OUT:
        return None, Verdict.OPTED_OUT
    if entry.status is MemberStatus.UNRECOGNIZED or not (entry.address or "").strip():
        return None, Verdict.INVALID
    address = (entry.address or "").strip()
    if is_legacy_dn(entry):
        key = dn_key(address)
        if key not in smtp_by_dn:
            return None, Verdict.DN_PENDING
        smtp = smtp_by_dn[key]
        if not smtp:
            return None, Verdict.NO_SMTP
        address = smtp
    # Exchange compares SMTP addresses without regard to case; so must the count.
    address = address.strip().lower()
    if entry.routing_type.upper() in ("SMTP", "EX") and not usable_smtp(address):
        return None, Verdict.INVALID
    if entry.status is MemberStatus.DEMOTED:
        return address, Verdict.DELETED
    return address, Verdict.OK


def domain_of(address: str) -> str:
    """The domain part of an SMTP address, lower-cased ('' when there is none)."""
    return address.rpartition("@")[2].lower() if "@" in address else ""


def clean_domains(domains: Iterable[str]) -> tuple[str, ...]:
    """Domains as `is_internal` compares them: lower case, no '@'; cleaned once per count."""
    return tuple(d.strip().lower().lstrip("@") for d in domains if d.strip())


def internal_domains(configured: Iterable[str], *mailboxes: str | None) -> tuple[str, ...]:
    """The organisation's domains: the configured ones, else the domains of the mailboxes
    Rollcall acts as (the sender, the service account). With nothing configured an address in
    the sender's own domain is still inside the organisation: unresolved there means nobody has
    it, not a one-off outside that Rollcall cannot check."""
    domains = clean_domains(configured)
    if domains:
        return domains
    found = (domain_of(m) for m in mailboxes if m and "@" in m)
    return tuple(dict.fromkeys(d for d in found if d))


def is_internal(address: str, domains: tuple[str, ...]) -> bool:
    """True when the address's domain is one of `domains` (from `clean_domains`) or a
    subdomain of one."""
    return _inside(domain_of(address), domains)


def _inside(domain: str, domains: tuple[str, ...]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in domains)


def external_addresses(addresses: Iterable[str], domains: tuple[str, ...]) -> list[str]:
    """The addresses not `is_internal`, in their order; each domain judged once (a count's
    people share a few domains)."""
    inside: dict[str, bool] = {}
    out = []
    for address in addresses:
        domain = domain_of(address)
        known = inside.get(domain)
        if known is None:
            known = inside[domain] = _inside(domain, domains)
        if not known:
            out.append(address)
    return out
