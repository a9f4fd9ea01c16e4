"""The send-check policy: a count report, the rules and the sender's last hour give a verdict.

Pure like the rest of core/: the caller reads the clock and the database and passes the sender's
recent sends in as `HourlyUsage`. Each rule is `block`, `warn` or `off`; the verdict is the most
severe action any rule that fired asks for, with one sentence per rule telling the sender why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .findings import ERROR, WARNING, finding, plural, some
from .model import LIST_PREFIX
from .report_types import CountReport, ExpectedSource, Finding, FindingCode

ALLOW, WARN, BLOCK, OFF = "allow", "warn", "block", "off"
_RANK = {ALLOW: 0, WARN: 1, BLOCK: 2}
MAX_MESSAGE = 500  # Outlook's limit for a Smart Alerts errorMessage

# Every rule, in the order its sentence appears within one action.
RULES = ("unresolved", "per_message", "per_hour", "mismatch", "incomplete", "deleted", "cycle",
         "external", "large_audience", "invalid_members", "too_deep")
_CLOSING = {
    BLOCK: "Change the recipients and send again, or ask your IT team if it must go as it is.",
    WARN: "Send anyway if this is what you meant; if not, don't send and check the recipients "
          "with Get Recipient Count.",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """What each rule does (block, warn or off) and the numbers the rules compare against: the
    configuration's `policy` section (ROLLCALL_POLICY_*). README.md explains each default."""

    unresolved: str = BLOCK
    per_message: str = BLOCK
    per_hour: str = BLOCK
    mismatch: str = WARN
    incomplete: str = WARN
    deleted: str = WARN
    cycle: str = WARN
    external: str = WARN
    large_audience: str = WARN
    invalid_members: str = OFF
    too_deep: str = OFF
    mismatch_percent: float = 5.0  # a difference within this share of the expected count is fine
    mismatch_absolute: int = 0  # ... or within this many people, whichever is larger
    external_max: int = 10
    per_message_max: int = 1000
    per_hour_max: int = 3000
    large_audience_max: int = 25  # Exchange's MailTips large-audience threshold
    deadline_s: float = 2.5  # the send check's count answers by then (the add-in waits 3.5 s)

    def action(self, rule: str) -> str:
        action: str = getattr(self, rule)
        return action

    @property
    def actions(self) -> Mapping[str, str]:
        """Each rule's action, in RULES order."""
        return {rule: self.action(rule) for rule in RULES}


DEFAULT_ACTIONS: Mapping[str, str] = Policy().actions


@dataclass(frozen=True, slots=True)
class HourlyUsage:
    """People the sender reached in the window before this message, and when they drop out."""

    recipients: int = 0
    leaving: tuple[tuple[float, int], ...] = ()  # (seconds until it leaves, people), soonest first


@dataclass(frozen=True, slots=True)
class SendVerdict:
    """What the send check answers: allow, warn or block, why, and the findings behind it."""

    action: str
    message: str
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "message": self.message,
                "findings": [f.to_json() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class _Hit:
    sentence: str
    findings: tuple[Finding, ...]


def evaluate(report: CountReport, policy: Policy,
             usage: HourlyUsage | None = None) -> SendVerdict:
    """The verdict for one message's count report; `usage` None leaves the hourly rule out."""
    hits: list[tuple[str, str, _Hit]] = []
    for rule in RULES:
        action = policy.action(rule)
        if action == OFF:
            continue
        hit = _CHECKS[rule](report, policy, usage)
        if hit is not None:
            hits.append((rule, action, hit))
    if any(rule == "per_message" for rule, _, _ in hits):
        # The same fact twice: a message over the limit is a large audience too.
        hits = [h for h in hits if h[0] != "large_audience"]
    action = max((a for _, a, _ in hits), key=_RANK.__getitem__, default=ALLOW)
    found = tuple(replace(f, rule=rule, action=a) for rule, a, hit in hits for f in hit.findings)
    if action == ALLOW:
        return SendVerdict(ALLOW, f"{_people(report.total)} will receive it.", found)
    ordered = sorted(hits, key=lambda h: -_RANK[h[1]])  # stable: rule order within an action
    return SendVerdict(action, _message([h.sentence for _, _, h in ordered], action), found)


def _message(sentences: list[str], action: str) -> str:
    """The sentences that fit in Outlook's 500 characters, a count of the rest, what to do."""
    closing = _CLOSING[action]
    budget = MAX_MESSAGE - len(closing) - 1
    shown: list[str] = []
    for i, sentence in enumerate(sentences):
        rest = len(sentences) - i - 1
        tail = [f"{plural(rest, 'more problem')}: see Get Recipient Count."] if rest else []
        if i == 0:
            # The first reason is always said, shortened if a typed name makes it too long.
            room = budget - len(" ".join(tail)) - 1
            sentence = sentence if len(sentence) <= room else sentence[:room - 1] + "…"
        elif len(" ".join([*shown, sentence, *tail])) > budget:
            shown.append(f"{plural(rest + 1, 'more problem')}: see Get Recipient Count.")
            break
        shown.append(sentence)
    return " ".join([*shown, closing])


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _named(report: CountReport) -> str:
    """'Newsletter' when one list is the whole audience, else 'This message'."""
    tree = report.tree
    if len(tree) == 1 and tree[0].unique_members == report.total:
        return tree[0].name or tree[0].address or "This message"
    return "This message"


def _where(f: Finding) -> str:
    return str(f.path[-1]) if f.path else "a list"


def _unresolved(report: CountReport, policy: Policy,
                usage: HourlyUsage | None) -> _Hit | None:
    found = [f for f in report.of(FindingCode.UNRESOLVED, FindingCode.AMBIGUOUS) if f.top]
    if not found:
        return None
    nobody = [f'"{_where(f)}"' for f in found if f.code is FindingCode.UNRESOLVED
              and not _where(f).lower().startswith(LIST_PREFIX)]
    no_list = [f'"{_where(f)[len(LIST_PREFIX):].strip()}"' for f in found
               if f.code is FindingCode.UNRESOLVED and _where(f).lower().startswith(LIST_PREFIX)]
    several = [f'"{_where(f)}"' for f in found if f.code is FindingCode.AMBIGUOUS]
    parts = []
    if nobody:
        parts.append(f"Nobody in the directory matches {some(nobody)}")
    if no_list:
        parts.append(f"There is no Rollcall list named {some(no_list)}")
    if several:
        verb = "matches" if len(several) == 1 else "each match"
        parts.append(f"{some(several)} {verb} more than one person")
    them = "it" if len(found) == 1 else "them"
    return _Hit("; ".join(parts) + f": correct or remove {them}.", tuple(found))


def _per_message(report: CountReport, policy: Policy,
                 usage: HourlyUsage | None) -> _Hit | None:
    total, limit = report.total, policy.per_message_max
    if total <= limit:
        return None
    text = f"It goes to {_people(total)}, more than the {limit:,} allowed in one message."
    return _Hit(text, (finding("per_message_limit", ERROR, text, count=total, limit=limit),))


def _per_hour(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    if usage is None:
        return None
    total, used, limit = report.total, usage.recipients, policy.per_hour_max
    if used + total <= limit:
        return None
    if total > limit:
        text = f"It goes to {_people(total)}, more than the {limit:,} you may send to in an hour."
    else:
        excess, freed, wait_s = used + total - limit, 0, 3600.0
        for seconds, recipients in usage.leaving:
            freed += recipients
            if freed >= excess:
                wait_s = seconds
                break
        minutes = max(1, math.ceil(wait_s / 60))
        text = (f"You sent to {_people(used)} in the last hour; {total:,} more would pass your "
                f"limit of {limit:,} an hour. Wait {plural(minutes, 'minute')} or split it.")
    return _Hit(text, (finding("per_hour_limit", ERROR, text, count=total, sent=used,
                               limit=limit),))


def _mismatch(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    found = report.of(FindingCode.COUNT_MISMATCH)
    expected, difference = report.expected, report.difference
    if not found or expected is None or not difference:
        return None
    if not report.complete and difference < 0:
        return None  # fewer only because lists were not reached: the incomplete rule says so
    tolerance = max(policy.mismatch_absolute, expected * policy.mismatch_percent / 100)
    if abs(difference) <= tolerance:
        return None
    gap = f"{abs(difference):,} {'fewer' if difference < 0 else 'more'}"
    total = report.total
    if report.expected_source is ExpectedSource.PREVIOUS_COUNT:
        text = f"{_named(report)} reaches {_people(total)}; last time {expected:,} ({gap})."
    else:
        text = f"You expected {expected:,}; it reaches {_people(total)} ({gap})."
    return _Hit(text, tuple(found))


def _incomplete(report: CountReport, policy: Policy,
                usage: HourlyUsage | None) -> _Hit | None:
    if report.complete:
        return None
    # Entries typed in that nobody has are the unresolved rule's; these are what was not read.
    found = [f for f in report.of(FindingCode.TRUNCATED, FindingCode.NOT_LISTED,
                                  FindingCode.EXPANSION_FAILED, FindingCode.UNRESOLVED)
             if f.severity == ERROR and not f.top]
    lists = sorted({_where(f) for f in found})
    which = f" ({some(lists)})" if lists else ""
    if not report.has_count:
        busy = any(f.throttled for f in found)
        why = "Exchange is busy" if busy else "Exchange could not be reached"
        text = (f"Rollcall could not check the recipients{which}: {why}, so it cannot say who "
                "will receive it.")
    else:
        text = (f"Rollcall could not expand every list{which}, so it may reach more than "
                f"{_people(report.total)}.")
    return _Hit(text, tuple(found))


def _deleted(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    # Members deleted from Rollcall lists (counted=False) get nothing: only still-mailed
    # addresses of deleted contact cards are a risk.
    found = [f for f in report.of(FindingCode.DELETED_CONTACT) if f.counted is not False]
    addresses = sorted({a for f in found for a in f.addresses})
    if not found:
        return None
    n = len(addresses)
    who = "is a contact" if n == 1 else "are contacts"
    text = (f"{plural(n, 'recipient')} ({some(addresses)}) {who} whose card was deleted; "
            f"{'it' if n == 1 else 'they'} will still get it.")
    return _Hit(text, tuple(found))


def _cycle(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    found = report.of(FindingCode.CYCLE)
    if not found:
        return None
    loop = found[0].loop or found[0].path
    more = f" (and {plural(len(found) - 1, 'more loop')})" if len(found) > 1 else ""
    text = (f"Lists contain each other in a loop: {' → '.join(map(str, loop))}{more}; check it "
            "reaches only whom you mean.")
    return _Hit(text, tuple(found))


def _external(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    found = [f for f in report.of(FindingCode.EXTERNAL) if (f.count or 0) > policy.external_max]
    if not found:
        return None
    addresses = found[0].addresses
    domains = sorted({a.rpartition("@")[2] for a in addresses})
    n = found[0].count or 0
    text = (f"{plural(n, 'recipient')} {'is' if n == 1 else 'are'} outside your organisation "
            f"({some(domains)}).")
    return _Hit(text, tuple(found))


def _large_audience(report: CountReport, policy: Policy,
                    usage: HourlyUsage | None) -> _Hit | None:
    total, limit = report.total, policy.large_audience_max
    if total <= limit:
        return None
    text = (f"It goes to {'' if report.complete else 'at least '}{_people(total)}, a large "
            f"audience (more than {limit:,}).")
    return _Hit(text, (finding("large_audience", WARNING, text, count=total, limit=limit),))


def _invalid_members(report: CountReport, policy: Policy,
                     usage: HourlyUsage | None) -> _Hit | None:
    found = [f for f in report.of(FindingCode.INVALID_MEMBER, FindingCode.UNRESOLVED)
             if not f.top and f.severity == WARNING]
    if not found:
        return None
    lists = sorted({_where(f) for f in found})
    text = f"Some members of {some(lists)} have no usable address and will not get it."
    return _Hit(text, tuple(found))


def _too_deep(report: CountReport, policy: Policy, usage: HourlyUsage | None) -> _Hit | None:
    found = report.of(FindingCode.NESTED_TOO_DEEP)
    if not found:
        return None
    f = found[0]
    root = f.path[0] if f.path else "A list"
    return _Hit(f"{root} nests lists {f.depth} levels deep.", tuple(found))


_Check = Callable[[CountReport, Policy, HourlyUsage | None], _Hit | None]
_CHECKS: dict[str, _Check] = {
    "unresolved": _unresolved, "per_message": _per_message, "per_hour": _per_hour,
    "mismatch": _mismatch, "incomplete": _incomplete, "deleted": _deleted, "cycle": _cycle,
    "external": _external, "large_audience": _large_audience,
    "invalid_members": _invalid_members, "too_deep": _too_deep,
}
