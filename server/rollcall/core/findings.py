"""Findings: one plain-language explanation per problem, aggregated per list, never per member."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import LIST_PREFIX, DirectoryError, Entry, Resolution
from .report_types import ExpectedSource, Finding, FindingCode, Severity

INFO, WARNING, ERROR = Severity.INFO, Severity.WARNING, Severity.ERROR
_SHOWN = 3  # names quoted in a message before "and N more"; the full list is in `addresses`


def finding(
    code: str,
    severity: Severity,
    message: str,
    addresses: Sequence[str] = (),
    path: Sequence[str] = (),
    **extra: Any,
) -> Finding:
    """A Finding; `extra` sets its optional facts (Finding's fields)."""
    for name in ("loop", "removals"):  # frozen: sequences are kept as tuples
        if name in extra:
            extra[name] = tuple(extra[name])
    if "source" in extra:
        extra["source"] = ExpectedSource(extra["source"])
    return Finding(FindingCode(code), severity, message, tuple(addresses), tuple(path), **extra)


def some(items: Sequence[str]) -> str:
    """'a, b and c' / 'a, b, c and 4 more': enough to recognise, short enough to read."""
    items = list(items)
    if len(items) <= _SHOWN + 1:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return ", ".join(items[:_SHOWN]) + f" and {len(items) - _SHOWN} more"


_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def isolated(text: str) -> str:
    """Text someone typed, fenced (U+2068 .. U+2069) when it carries direction controls, so a
    right-to-left override in a name cannot turn the rest of the sentence around."""
    return f"\u2068{text}\u2069" if _BIDI_CONTROLS.intersection(text) else text


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def unresolved_top(query: str) -> Finding:
    query = isolated(query)
    if query.strip().lower().startswith(LIST_PREFIX):
        name = query.strip()[len(LIST_PREFIX):].strip()
        text = (f'There is no Rollcall list named "{name}"; it is not counted. Check the name '
                "under Rollcall lists.")
    else:
        text = (f'Nobody in the directory matches "{query}"; it is not counted and will not be '
                "delivered. Check the spelling or type the full address.")
    # An error, not a warning: the message will not reach whoever the sender meant.
    return finding("unresolved", ERROR, text, [], [query],
                   top=True)  # typed into To/Cc/Bcc: the sender can fix it


def ambiguous_top(query: str, resolution: Resolution) -> Finding:
    query = isolated(query)
    names = [isolated(c.name or c.address or "?") for c in resolution.candidates]
    matches = f" ({some(names)})" if names else ""
    return finding(
        "ambiguous", ERROR,
        f'"{query}" matches more than one person or list{matches}; pick one in Outlook so '
        "the message goes to the right place. It is not counted until you do.",
        [c.address for c in resolution.candidates if c.address], [query], top=True,
    )


def not_looked_up(query: str, error: DirectoryError | None) -> Finding:
    query = isolated(query)
    why = f"could not be looked up: {reason(error)}" if error else (
        "was not looked up before the time limit"
    )
    return finding(
        "expansion_failed", ERROR,
        f'"{query}" {why}. It is not counted, so the count is incomplete.',
        [], [query], throttled=bool(error and error.code == "throttled"),
        retry_after=_retry_after(error), detail=error.detail if error else None,
    )


def no_smtp(where: str, dns: Sequence[str], path: Sequence[str]) -> Finding:
    n = len(dns)
    return finding(
        "unresolved", WARNING,
        f"{where} contains {plural(n, 'member')} with an old Exchange address that no mailbox "
        f"has any more; {'it is' if n == 1 else 'they are'} not counted and will not receive it.",
        dns, path,
    )


def dn_pending(where: str, dns: Sequence[str], path: Sequence[str]) -> Finding:
    n = len(dns)
    return finding(
        "unresolved", ERROR,
        f"{where} contains {plural(n, 'member')} with an Exchange address that could not be "
        "looked up; they are not counted, so the count is incomplete.",
        dns, path,
    )


def deleted_contact(where: str, addresses: Sequence[str], path: Sequence[str]) -> Finding:
    n = len(addresses)
    subject = "a contact whose contact card was" if n == 1 else f"{n} contacts whose cards were"
    pronoun = "it is" if n == 1 else "they are"
    noun = "address" if n == 1 else "addresses"
    return finding(
        "deleted_contact", WARNING,
        f"{where} contains {subject} deleted; {pronoun} still counted at the stored {noun} "
        f"{some(addresses)}.",
        addresses, path,
    )


def removed_contacts(where: str, removed: Sequence[Entry], path: Sequence[str]) -> Finding:
    """Members taken out of a Rollcall list: not counted, and who did it, when, where."""
    details: list[dict[str, Any]] = []
    for e in removed:
        r = e.removal
        who = e.address or "a contact (details purged)"
        if r is None:
            details.append({"address": e.address, "name": e.name})
            continue
        scope = "all lists" if r.all_lists else ", ".join(r.lists) or where
        details.append({"address": e.address, "name": e.name, "by": r.by, "at": r.at,
                        "lists": list(r.lists), "all_lists": r.all_lists,
                        "tracking": r.tracking})
        details[-1]["text"] = f"{who} was deleted from {scope} by {r.by} on {r.at[:10]}"
    texts = [str(d.get("text") or d["address"] or "?") for d in details]
    n = len(removed)
    return finding(
        "deleted_contact", WARNING,
        f"{where} has {plural(n, 'member')} deleted and no longer counted: {some(texts)}.",
        [e.address for e in removed if e.address], path, counted=False, removals=details,
    )


def opted_out(where: str, addresses: Sequence[str], path: Sequence[str]) -> Finding:
    n = len(addresses)
    return finding(
        "opted_out", INFO,
        f"{where}: {plural(n, 'contact')} unsubscribed ({some(addresses)}) and "
        f"{'is' if n == 1 else 'are'} left out of every count.",
        addresses, path,
    )


def bounced(addresses: Sequence[str]) -> Finding:
    """People counted whose address bounced for good after an earlier tracked send."""
    n = len(addresses)
    return finding(
        "bounced", WARNING,
        f"{plural(n, 'recipient')} bounced last time ({some(addresses)}): "
        f"{'the address does' if n == 1 else 'their addresses do'} not exist, so a tracked "
        "send leaves "
        f"{'it' if n == 1 else 'them'} out. Correct or remove {'it' if n == 1 else 'them'} "
        "where the list is kept.",
        addresses,
    )


def invalid_member(where: str, names: Sequence[str], addresses: Sequence[str],
                   path: Sequence[str]) -> Finding:
    n = len(names)
    return finding(
        "invalid_member", WARNING,
        f"{where} contains {plural(n, 'member')} with no usable address: {some(names)}. "
        f"{'It is' if n == 1 else 'They are'} not counted and will not receive it.",
        addresses, path,
    )


def cycle(loop: Sequence[str], addresses: Sequence[str], path: Sequence[str]) -> Finding:
    if len(loop) == 2:
        text = f"{loop[0]} contains itself"
    else:
        shown = list(loop)
        if len(shown) > 6:  # a long loop still reads as one: its start, how many, its end
            shown = [*shown[:3], f"{len(shown) - 5} more", *shown[-2:]]
        text = "These lists contain each other in a loop: " + " → ".join(shown)
    return finding(
        "cycle", INFO,
        f"{text}. Everyone in the loop is still counted once, but the list owners may want to "
        "fix it.",
        addresses, path, loop=list(loop),
    )


def too_deep(root: str, names: Sequence[str], addresses: Sequence[str], deepest: int,
             limit: int, path: Sequence[str]) -> Finding:
    return finding(
        "nested_too_deep", INFO,
        f"{root} nests lists {deepest} levels deep, more than {limit} ({some(names)}). Their "
        "members are still counted, but lists this deep are easy to get wrong.",
        addresses, path, depth=deepest, limit=limit,
    )


def truncated(where: str, shown: int, total: int | None, address: str,
              path: Sequence[str]) -> Finding:
    of = f"only {shown} of its {total} members" if total else f"only part of its members ({shown})"
    return finding(
        "truncated", ERROR,
        f"The directory returned {of} for {where}; the rest are not counted, so the count is "
        "incomplete.",
        [address] if address else [], path,
    )


def not_listed(where: str, shown: int, estimate: int | None, note: str, address: str,
               path: Sequence[str]) -> Finding:
    """Members the directory could not list, with its own estimate: the count is incomplete."""
    about = f" Exchange counts about {estimate:,} there." if estimate is not None and \
        f"{estimate:,}" not in note else ""
    listed = f" {shown:,} of them are counted; the rest are not." if shown else ""
    return finding(
        "not_listed", ERROR,
        f"{note}{about}{listed} The count is incomplete.",
        [address] if address else [], path, **({"count": estimate} if estimate is not None
                                              else {}),
    )


def limited_view(where: str, note: str, address: str, path: Sequence[str]) -> Finding:
    """Members counted, with what the directory could not say about them (a dynamic list's
    stored membership, contacts it could not read): said, the count still complete."""
    return finding("limited_view", INFO, note, [address] if address else [], path)


def reason(error: DirectoryError) -> str:
    """Why a directory call failed, in words a sender understands; the protocol's own word for
    it (an EWS response code, an HTTP status) in brackets, for whoever they ask for help."""
    detail = f" ({error.detail})" if error.detail else ""
    if error.code == "throttled":
        # True whether the wait it named was longer than the count had or it kept refusing.
        wait = f" (its last answer: wait {error.back_off:g} s)" if error.back_off else ""
        return f"Exchange is busy and kept asking Rollcall to wait{wait}{detail}"
    if error.code == "not_found":
        return "the directory does not know it (any more)"
    if error.code == "unreachable":
        return f"Exchange could not be reached{detail}"
    if error.code == "deadline":
        return "Exchange did not answer before the time limit"
    return f"{error.message}{detail}"


def expansion_failed(where: str, error: DirectoryError, address: str,
                     path: Sequence[str]) -> Finding:
    return finding(
        "expansion_failed", ERROR,
        f"{where} could not be expanded: {reason(error)}. Its members are not counted, so the "
        "count is incomplete.",
        [address] if address else [], path, throttled=error.code == "throttled",
        retry_after=_retry_after(error), detail=error.detail,
    )


def _retry_after(error: DirectoryError | None) -> float | None:
    """Seconds Exchange asked Rollcall to wait, when it was throttling."""
    if error is None or error.code != "throttled" or not error.back_off:
        return None
    return round(error.back_off, 1)


def not_reached(where: str | None, names: Sequence[str], addresses: Sequence[str],
                path: Sequence[str]) -> Finding:
    n = len(names)
    subject = f"{plural(n, 'list')} inside {where}" if where else some(names)
    return finding(
        "expansion_failed", ERROR,
        f"{subject} could not be expanded before the time limit"
        f"{' (' + some(names) + ')' if where else ''}; {'its' if n == 1 else 'their'} members "
        "are not counted, so the count is incomplete.",
        addresses, path, throttled=False,
    )


def external(addresses: Sequence[str], total: int, complete: bool = True) -> Finding:
    n = len(addresses)
    domains = sorted({a.rpartition("@")[2] for a in addresses})
    # An incomplete count is a lower bound, and so is what it found outside.
    of = f"the {plural(total, 'recipient')}" if complete else (
        f"at least {plural(total, 'recipient')} counted so far")
    return finding(
        "external", INFO,
        f"{'At least ' if not complete else ''}{n} of {of} {'is' if n == 1 else 'are'} outside "
        f"your organisation ({some(domains)}).",
        addresses, [], count=n,
    )


def count_mismatch(expected: int, total: int, breakdown: dict[str, int],
                   complete: bool, source: str = "sender", explanation: str = "") -> Finding:
    """The count differs from what was expected; `explanation` names the entries (or nested
    lists) the people come from (core/attribution.py), which is what explains a difference."""
    difference = total - expected
    direction = "fewer" if difference < 0 else "more"
    if source == "previous_count":
        # Duplicates and the like are not why a number moved since last time; who joined and
        # who left is, and the service adds that (drift) to this finding.
        message = (f"Last time these recipients came to {people(expected)}; now {total} "
                   f"({abs(difference)} {direction}).")
        if not complete:
            message += " The count is incomplete, so the real number may be higher."
        return finding("count_mismatch", WARNING, message, [], [], breakdown=breakdown,
                       difference=difference, source=source)
    # Only causes that move the number the way it moved explain it: removed duplicates lower
    # a count and never explain a higher one.
    if difference < 0:
        causes = [
            (breakdown["duplicates"], "duplicate entry", "duplicate entries", "counted once"),
            (breakdown["undeliverable"], "entry", "entries", "that cannot be delivered"),
            (breakdown.get("not_looked_up", 0), "entry", "entries",
             "not looked up (Exchange did not answer)"),
            (breakdown.get("removed_from_lists", 0), "contact", None,
             "deleted from Rollcall lists"),
            (breakdown.get("opted_out", 0), "contact", None, "unsubscribed"),
            (breakdown["incomplete_lists"], "list", None, "not fully expanded"),
        ]
    else:
        causes = [(breakdown["deleted_contacts"], "deleted contact", None, "still counted")]
    said = [f"{plural(n, one, many)} {how}" for n, one, many, how in causes if n]
    whose = "This list is expected to reach" if source == "list" else "You expected"
    least = "" if complete else "at least "
    message = (f"{whose} {expected}; {least}"
               f"{plural(total, 'unique person', 'unique people')} will receive it "
               f"({'at least ' if not complete and difference > 0 else ''}"
               f"{abs(difference)} {direction}).")
    if explanation:
        message += f" Where they come from: {explanation}."
    if said:
        message += " Also: " + "; ".join(said) + "."
    if not complete:
        message += " The count is incomplete, so the real number may be higher."
    return finding("count_mismatch", WARNING, message, [], [], breakdown=breakdown,
                   difference=difference, source=source)


def people(n: int) -> str:
    return plural(n, "person", "people")
