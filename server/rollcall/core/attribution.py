"""Where a number comes from: which entries (or lists) bring which people, and through which list
people joined or left. Pure: sets in, small frozen facts out.

A difference from an expected count is explained by contributions, not by the arithmetic of
entries: removed duplicates lower a count and cannot explain a higher one, while "Leadership
Team brings 6 people no other entry reaches" can.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TYPED = "To/Cc/Bcc"  # the group of people typed in directly rather than reached through a list
SEPARATOR = " > "
SHOWN_GROUPS = 20  # drift groups kept in a report; the rest are summed into "elsewhere"


@dataclass(frozen=True, slots=True)
class Part:
    """One thing a count is made of: an entry typed into To/Cc/Bcc, or (when a single list is
    all that was typed) one of that list's nested lists or the people listed in it directly."""

    name: str
    address: str | None
    path: tuple[str, ...]
    kind: str  # "entry" | "list" | "direct"
    people: frozenset[str]
    complete: bool = True  # False when a list in it was not fully expanded: a lower bound


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one part brings: its unique people, how many only it brings, how many it shares."""

    name: str
    address: str | None
    path: tuple[str, ...]
    kind: str
    people: int
    only: int
    complete: bool = True  # False: `people` and `only` are lower bounds

    @property
    def shared(self) -> int:
        return self.people - self.only

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "path": list(self.path),
                "kind": self.kind, "people": self.people, "only": self.only,
                "shared": self.shared, "complete": self.complete}


def contributions(parts: Sequence[Part]) -> tuple[Contribution, ...]:
    """Each part's people, and how many of them no other part reaches, in the parts' order."""
    owners: Counter[str] = Counter()
    for part in parts:
        owners.update(part.people)
    return tuple(
        Contribution(p.name, p.address, p.path, p.kind, len(p.people),
                     sum(1 for a in p.people if owners[a] == 1), p.complete)
        for p in parts
    )


def biggest(found: Sequence[Contribution], n: int = 3) -> list[Contribution]:
    """The parts that matter most to the number: most people only they bring, then most people."""
    ranked = sorted(found, key=lambda c: (-c.only, -c.people))
    return [c for c in ranked if c.people][:n]


def explain(found: Sequence[Contribution], difference: int) -> str:
    """A sentence naming the biggest contributors to a count; '' when nothing to say.

    With one part there is nothing to compare: the count is that part. With several, the parts
    that bring people no other part reaches are what a different count is made of.
    """
    if len(found) < 2 or difference == 0:
        return ""
    said = []
    for c in biggest(found):
        if not c.complete:
            said.append(f"{c.name} brings at least {_people(c.people)} (not fully expanded)")
        elif c.kind == "direct":
            said.append(f"{_people(c.people)} listed directly in {c.name}")
        elif c.only == c.people:
            said.append(f"{c.name} brings {_people(c.people)}")
        elif c.only:
            said.append(f"{c.name} brings {_people(c.people)}, {c.only} of them in no other "
                        "entry")
        else:
            said.append(f"{c.name} brings {_people(c.people)}, all already in other entries")
    return "; ".join(said)


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


@dataclass(frozen=True, slots=True)
class DriftGroup:
    """People who joined or left through one list path since the last count."""

    path: str  # "All Staff > Sales", or TYPED for people typed in directly
    joined: int
    left: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "joined": self.joined, "left": self.left}


def drift_groups(joined: Iterable[str], left: Iterable[str], now: Mapping[str, str],
                 before: Mapping[str, str]) -> tuple[DriftGroup, ...]:
    """Joined people grouped by the list that holds them now, left people by the list that held
    them last time; biggest movement first. Paths unknown (history kept before paths were)
    group as ''."""
    joins: Counter[str] = Counter(now.get(a, "") for a in joined)
    leaves: Counter[str] = Counter(before.get(a, "") for a in left)
    paths = sorted(set(joins) | set(leaves), key=lambda p: (-(joins[p] + leaves[p]), p))
    groups = [DriftGroup(p, joins[p], leaves[p]) for p in paths]
    if len(groups) > SHOWN_GROUPS:
        rest = groups[SHOWN_GROUPS - 1:]
        groups = groups[:SHOWN_GROUPS - 1] + [DriftGroup(
            "elsewhere", sum(g.joined for g in rest), sum(g.left for g in rest))]
    return tuple(groups)


def path_text(path: Sequence[str]) -> str:
    """A list path as one line, safe to keep in a newline-separated history."""
    return SEPARATOR.join(" ".join(step.split()) for step in path) or TYPED
