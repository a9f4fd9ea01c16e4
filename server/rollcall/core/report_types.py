"""The count report's types: what the pane, the send check, the command line and outside checks
read. Written once here; `to_json()` is the one place their JSON is spelt, and the OpenAPI
schema (api/openapi_schemas.py) is tested field by field against these classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from .attribution import Contribution, DriftGroup


class FindingCode(StrEnum):
    """What a finding is about; the pane and the policy switch on it."""

    UNRESOLVED = "unresolved"
    AMBIGUOUS = "ambiguous"
    DELETED_CONTACT = "deleted_contact"
    INVALID_MEMBER = "invalid_member"
    OPTED_OUT = "opted_out"
    CYCLE = "cycle"
    NESTED_TOO_DEEP = "nested_too_deep"
    TRUNCATED = "truncated"
    NOT_LISTED = "not_listed"  # members the directory cannot list (Graph: dynamic lists)
    LIMITED_VIEW = "limited_view"  # counted, with what the directory could not say about them
    EXPANSION_FAILED = "expansion_failed"
    EXTERNAL = "external"
    COUNT_MISMATCH = "count_mismatch"
    BOUNCED = "bounced"  # counted, but a hard bounce put them on the suppression list
    # The send check's own, from the policy rather than the count:
    PER_MESSAGE_LIMIT = "per_message_limit"
    PER_HOUR_LIMIT = "per_hour_limit"
    LARGE_AUDIENCE = "large_audience"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class NodeStatus(StrEnum):
    """How far one list in the tree was expanded."""

    EXPANDED = "expanded"
    TRUNCATED = "truncated"  # the directory cut its answer
    FAILED = "failed"  # the directory refused or did not answer in time
    CYCLE = "cycle"  # it contains a list on its own path; not expanded again
    CACHED = "cached"


class ExpectedSource(StrEnum):
    """Where `expected` came from."""

    SENDER = "sender"  # typed by the sender
    LIST = "list"  # the Rollcall list's owner's number
    PREVIOUS_COUNT = "previous_count"  # the last complete count of the same entries


@dataclass(frozen=True, slots=True)
class Finding:
    """One plain-language explanation, aggregated per list; optional facts are None when they
    do not apply to its code, and are left out of its JSON then."""

    code: FindingCode
    severity: Severity
    message: str
    addresses: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    top: bool | None = None  # an entry typed into To/Cc/Bcc: the sender can fix it
    throttled: bool | None = None  # expansion_failed: the directory asked Rollcall to slow down
    retry_after: float | None = None  # expansion_failed, throttled: seconds it asked to wait
    detail: str | None = None  # expansion_failed: the protocol's word (HTTP 503, ErrorServerBusy)
    counted: bool | None = None  # deleted_contact: False when members were taken out of lists
    removals: tuple[Mapping[str, Any], ...] | None = None  # who deleted whom, when, where
    loop: tuple[str, ...] | None = None  # cycle: the lists in order, the first again at the end
    depth: int | None = None  # nested_too_deep
    limit: int | None = None  # nested_too_deep and the send check's limits
    count: int | None = None  # external, the send check's limits, not_listed: how many people
    sent: int | None = None  # per_hour_limit: people already reached in the hour
    breakdown: Mapping[str, int] | None = None  # count_mismatch: what the entries came to
    difference: int | None = None  # count_mismatch: total - expected
    source: ExpectedSource | None = None  # count_mismatch: where `expected` came from
    rule: str | None = None  # the send check: which rule fired on it
    action: str | None = None  # the send check: what that rule does (block, warn)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "severity": self.severity.value,
                               "message": self.message, "addresses": list(self.addresses),
                               "path": list(self.path)}
        for name in _OPTIONAL_FINDING_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = _plain(value)
        return out


_OPTIONAL_FINDING_FIELDS = tuple(f.name for f in fields(Finding))[5:]


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One list where it sits in the tree; a list met again is a repeat of its first place."""

    address: str | None
    name: str
    kind: str
    depth: int
    direct_members: int
    unique_members: int
    status: NodeStatus
    cached: bool
    children: tuple[TreeNode, ...] = ()
    repeat_of: tuple[str, ...] | None = None  # the path to where it was first expanded
    deeper: int | None = None  # lists nested below it, left out of the tree (too deep to show)
    # Exchange's own count of a list Rollcall could not list in full (a dynamic list over
    # Graph): said beside what was listed, never added to it.
    estimate: int | None = None

    def to_json(self) -> dict[str, Any]:
        """As nested objects, built without recursion: lists may nest hundreds deep."""
        built: dict[int, dict[str, Any]] = {}
        for node in reversed(self._preorder()):
            item: dict[str, Any] = {
                "address": node.address, "name": node.name, "kind": node.kind,
                "depth": node.depth, "direct_members": node.direct_members,
                "unique_members": node.unique_members, "status": node.status.value,
                "cached": node.cached,
                "children": [built.pop(id(child)) for child in node.children],
            }
            if node.repeat_of is not None:
                item["repeat_of"] = list(node.repeat_of)
            if node.deeper is not None:
                item["deeper"] = node.deeper
            if node.estimate is not None:
                item["estimate"] = node.estimate
            built[id(node)] = item
        return built[id(self)]

    def _preorder(self) -> list[TreeNode]:
        order: list[TreeNode] = []
        stack = [self]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(reversed(node.children))
        return order


@dataclass(frozen=True, slots=True)
class Drift:
    """Who joined and who left since the previous complete count of the same entries."""

    previous_at: str  # ISO 8601
    previous_total: int
    joined_count: int
    left_count: int
    joined: tuple[str, ...]  # the first SHOWN of each side; the counts are exact
    left: tuple[str, ...]
    groups: tuple[DriftGroup, ...] = ()  # who joined or left through which list, biggest first

    def to_json(self) -> dict[str, Any]:
        return {"previous_at": self.previous_at, "previous_total": self.previous_total,
                "joined_count": self.joined_count, "left_count": self.left_count,
                "joined": list(self.joined), "left": list(self.left),
                "groups": [g.to_json() for g in self.groups]}


@dataclass(frozen=True, slots=True)
class CountReport:
    """A count: the number, how it adds up (`entries == total + duplicates + undeliverable +
    not_looked_up`), the tree of lists and the findings. README.md's "The report" describes
    each field."""

    total: int
    complete: bool
    expected: int | None
    difference: int | None
    entries: int
    duplicates: int
    undeliverable: int
    lists: int
    max_depth: int
    requests: int  # directory calls (resolve, expand): a $batch of three lookups is one
    elapsed_ms: int
    pending: tuple[str, ...]
    tree: tuple[TreeNode, ...]
    findings: tuple[Finding, ...]
    # Set by the count service; None from the engine alone.
    mailbox: str | None = None
    exchange_version: str | None = None  # the directory server's version, for support reports
    # Microsoft Graph's cost of the count (x-ms-resource-unit summed) and its HTTP requests;
    # None for directories that do not report them (EWS, Rollcall lists).
    resource_units: int | None = None
    http_requests: int | None = None
    expected_source: ExpectedSource | None = None
    drift: Drift | None = None
    not_found: int = 0  # entries typed into To/Cc/Bcc that nobody could be found for
    # Entries typed in that could not be looked up (Exchange failed or the deadline came): not
    # known to be undeliverable, so not counted as such.
    not_looked_up: int = 0
    contributions: tuple[Contribution, ...] = ()  # what brings whom (core/attribution.py)
    # Every unique deliverable address, sorted: for drift and snapshots, never in the JSON.
    recipients: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # Each address's list path ("All Staff > Sales"): for drift by list, never in the JSON.
    holders: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_count(self) -> bool:
        """False when nothing is known: the directory failed before any person was found, so
        there is no number to show, only a state ("Can't reach Exchange"). A directory that
        answered with only an estimate (a list it cannot list) has answered: that is a count
        of nobody yet, incomplete, with its finding."""
        return self.complete or self.total > 0 or any(
            f.code is FindingCode.NOT_LISTED for f in self.findings)

    @property
    def comparable(self) -> bool:
        """Whether this count may be compared with another or remembered as "last time": only
        a complete count in which something resolved says who the entries reach."""
        return self.complete and (self.total > 0 or self.lists > 0)

    def of(self, *codes: FindingCode) -> list[Finding]:
        """The findings with these codes, in order."""
        return [f for f in self.findings if f.code in codes]

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total, "complete": self.complete, "expected": self.expected,
            "difference": self.difference, "entries": self.entries,
            "duplicates": self.duplicates, "undeliverable": self.undeliverable,
            "lists": self.lists, "max_depth": self.max_depth, "requests": self.requests,
            "elapsed_ms": self.elapsed_ms, "pending": list(self.pending),
            "tree": [node.to_json() for node in self.tree],
            "findings": [f.to_json() for f in self.findings],
            "mailbox": self.mailbox, "exchange_version": self.exchange_version,
            "resource_units": self.resource_units, "http_requests": self.http_requests,
            "expected_source": None if self.expected_source is None
            else self.expected_source.value,
            "drift": None if self.drift is None else self.drift.to_json(),
            "not_found": self.not_found, "not_looked_up": self.not_looked_up,
            "contributions": [c.to_json() for c in self.contributions],
        }


_NOT_IN_JSON = frozenset({"recipients", "holders"})
REPORT_FIELDS = tuple(f.name for f in fields(CountReport) if f.name not in _NOT_IN_JSON)


def _plain(value: Any) -> Any:
    """Tuples and mappings inside a finding as JSON lists and objects."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
