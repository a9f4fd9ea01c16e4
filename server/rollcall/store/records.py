"""The frozen dataclasses the store returns; callers never see ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MemberKind = Literal["contact", "exchange", "list"]
Tracking = Literal["kept", "purged"]


@dataclass(frozen=True)
class ListInfo:
    """A Rollcall list; senders put `address` ("list:NAME") in To/Cc/Bcc."""

    name: str
    address: str
    owner: str
    expected: int | None
    created_at: datetime


@dataclass(frozen=True)
class ShareInfo:
    """A list shared with a person (`principal` a mailbox) or a group (a token group id)."""

    principal: str
    kind: Literal["person", "group"]
    role: Literal["viewer", "editor"]
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class MemberInfo:
    """An active member: a contact (email), an Exchange address, or a child list ("list:NAME")."""

    kind: MemberKind
    address: str | None
    name: str
    opted_out: bool
    added_at: datetime
    added_by: str


@dataclass(frozen=True)
class RemovalInfo:
    """A membership of one list ended by a remove or delete and not restored since."""

    address: str | None  # None when the contact's tracking was purged
    name: str
    removed_at: datetime
    removed_by: str
    lists: tuple[str, ...]  # every list the same delete took it out of
    all_lists: bool
    tracking: Tracking
    kind: MemberKind = "contact"


@dataclass(frozen=True)
class ListMembers:
    """A list with its active members and the removals that explain a drop in its count."""

    list: ListInfo
    active: tuple[MemberInfo, ...]
    removed: tuple[RemovalInfo, ...]


@dataclass(frozen=True)
class AuditInfo:
    """One audited change: who, when, what, which lists, and whether tracking was purged."""

    id: int
    at: datetime
    actor: str
    action: str
    email: str | None  # None when the contact's tracking was purged (or no contact involved)
    pseudonym: str | None  # "purged-contact-<id>" for a purged contact, else None
    lists: tuple[str, ...]
    all_lists: bool
    tracking: Tracking
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineProblem:
    """Why one CSV line was rejected or skipped (line 1 is the header)."""

    line: int
    email: str
    code: str
    message: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did; `problems` lists every bad line, `skipped` those left out."""

    list_name: str
    added: int
    updated: int
    unchanged: int
    skipped: tuple[LineProblem, ...]
    problems: tuple[LineProblem, ...]


@dataclass(frozen=True)
class SnapshotInfo:
    """One stored count: `size` addresses kept, `stored_bytes` after compression."""

    id: int
    key: str
    at: datetime
    total: int
    size: int
    stored_bytes: int


@dataclass(frozen=True)
class Snapshot(SnapshotInfo):
    """A stored count with its address set."""

    addresses: frozenset[str] = frozenset()
    holders: Mapping[str, str] = field(default_factory=dict)  # address -> its list path
