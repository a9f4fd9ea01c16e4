"""Rollcall's own small types: what directory adapters return and the engine walks.

Adapters (Exchange over EWS, Graph, Rollcall's lists) translate their replies into these; nothing
here knows where an entry came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .report_types import ExpectedSource


class Kind(StrEnum):
    """What an entry is; list kinds are expanded, the others are recipients."""

    MAILBOX = "mailbox"
    CONTACT = "contact"  # a mail contact (external address) or a Contacts-folder contact
    PUBLIC_FOLDER = "public_folder"
    ONE_OFF = "one_off"  # an address typed in or stored in a contact group, no object behind it
    PUBLIC_DL = "public_dl"
    DYNAMIC_DL = "dynamic_dl"
    GROUP = "group"  # a Microsoft 365 group (GroupMailbox)
    CONTACT_GROUP = "contact_group"  # a private DL in a mailbox's Contacts folder
    ROLLCALL_LIST = "rollcall_list"  # a sender's own list kept by Rollcall ("list:NAME")
    UNKNOWN = "unknown"


LIST_KINDS = frozenset(
    {Kind.PUBLIC_DL, Kind.DYNAMIC_DL, Kind.GROUP, Kind.CONTACT_GROUP, Kind.ROLLCALL_LIST}
)


class MemberStatus(StrEnum):
    """A contact-group member's state, as Exchange's MemberStatusType says it."""

    NORMAL = "Normal"
    DEMOTED = "Demoted"  # the contact or object behind the member is gone; stored address kept
    UNRECOGNIZED = "Unrecognized"  # invalid member data: no usable address
    # Rollcall lists' own states (not Exchange's): excluded from every count, and explained.
    OPTED_OUT = "OptedOut"  # the contact unsubscribed
    REMOVED = "Removed"  # deleted from this list or from all lists; see Entry.removal


@dataclass(frozen=True, slots=True)
class Removal:
    """Who took a member out of a Rollcall list, when, and from which lists."""

    by: str
    at: str  # ISO 8601, UTC
    lists: tuple[str, ...]
    all_lists: bool
    tracking: str = "kept"  # "purged": the contact's personal data was erased


@dataclass(frozen=True, slots=True)
class Entry:
    """One recipient or list as a directory knows it."""

    name: str
    address: str | None
    kind: Kind
    routing_type: str = "SMTP"  # "EX" means `address` is an X.500 legacy DN
    item_id: str | None = None  # contact groups (and Contacts items) are addressed by ItemId
    status: MemberStatus = MemberStatus.NORMAL
    removal: Removal | None = None  # with status REMOVED

    @property
    def is_list(self) -> bool:
        return self.kind in LIST_KINDS

    @property
    def key(self) -> str:
        """Identity of a list for de-duplicating expansions: its ItemId or lower-cased address."""
        if self.item_id:
            return f"item:{self.item_id}"
        return f"addr:{(self.address or '').lower()}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving one top-level recipient gave: an entry, or why there is none."""

    query: str
    entry: Entry | None
    problem: str | None = None  # "unresolved" | "ambiguous" | "failed"
    candidates: tuple[Entry, ...] = ()


@dataclass(frozen=True, slots=True)
class Expansion:
    """One level of a list's members; `complete` is false when the directory cut the answer."""

    members: tuple[Entry, ...]
    complete: bool = True
    total_in_view: int | None = None
    cacheable: bool = True  # False for local lists that are cheap to read and change often
    # Where the directory could not list the members itself (Graph and a dynamic list): in
    # words, where they came from or why they are missing. With `complete` false the count is
    # incomplete and says so; never silently low.
    note: str | None = None
    # The directory's own count of the people this list reaches (MailTips' totalMemberCount,
    # nested lists included): a count reaching fewer through a fully read list is incomplete.
    estimate: int | None = None


class DirectoryError(Exception):
    """A directory could not answer; `code` is a stable reason, `back_off` seconds if it asked.

    `message` is plain words a sender can read; `detail` the protocol's own short word for it
    (an EWS response code, an HTTP status) for support; `cause` the original exception, for
    the server's log only: people never see an exception chain.
    """

    def __init__(self, code: str, message: str, back_off: float | None = None, *,
                 detail: str | None = None, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.back_off = back_off
        self.detail = detail
        self.cause = cause


class NotFound(DirectoryError):
    """The directory does not know this list or address."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__("not_found", message, detail=detail)


class Throttled(DirectoryError):
    """The directory asked us to back off for longer than the count could wait."""

    def __init__(self, message: str, back_off: float | None = None, *,
                 detail: str | None = None, cause: BaseException | None = None) -> None:
        super().__init__("throttled", message, back_off, detail=detail, cause=cause)


MAX_EXPECTED = 10_000_000  # the largest expected count anyone may give (API, lists, CLI)
LIST_PREFIX = "list:"  # a Rollcall list typed into To/Cc/Bcc: list:NAME


def resolved_by_name(name: str, address: str | None) -> bool:
    """Whether a directory resolves this entry by its name, as the acting mailbox sees it.

    The rule of the Directory port, which every adapter follows: an entry with an SMTP address
    (an `@`), an X.500 legacy DN (a leading `/`) or a Rollcall list (`list:NAME`) means the same
    for every sender; anything else is looked up by name, the sender's own contacts and contact
    groups included, so its meaning depends on who sends.
    """
    text = (address or "").strip()
    if "@" in text or text.startswith("/"):
        return False
    return not (text or name).strip().lower().startswith(LIST_PREFIX)


class Directory(Protocol):
    """The port every directory adapter implements; calls may run on several threads at once.

    Adapters return these small types, never their protocol's objects, and follow
    `resolved_by_name`: what is found by name is found as the acting mailbox sees it.
    """

    def resolve(self, name: str, address: str | None) -> Resolution:
        """Resolve one recipient as Outlook handed it over (name, maybe an address)."""
        ...

    def expand(self, entry: Entry) -> Expansion:
        """One level of a list's members; raises DirectoryError (NotFound, Throttled)."""
        ...

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        """The primary SMTP address behind an X.500 legacy DN, or None if nobody has it."""
        ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """A To/Cc/Bcc entry as Outlook hands it over."""

    name: str
    address: str | None = None


@dataclass(slots=True)
class CountRequest:
    recipients: list[Recipient]
    expected: int | None = None
    expected_source: ExpectedSource = ExpectedSource.SENDER  # where `expected` came from
    mailbox: str | None = None
    refresh: bool = False
