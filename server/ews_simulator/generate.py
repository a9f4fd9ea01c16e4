"""Generate a large synthetic organisation for the simulator.

``python -m ews_simulator.generate --people N --lists M --depth D --overlap K --seed S > org.json``

``generate(people, lists, depth, overlap, seed, cycles=0, domain="example.com")`` returns a document
in the format ``org.load`` reads:

- ``people`` mailboxes, ``first.last[N]@DOMAIN``, all with the password ``Passw0rd!`` and the
  attributes department, division, office and title.
- ``lists`` public DLs in a tree under the root list ``all@DOMAIN`` (counted in ``lists``). The
  root is at depth 1, its member lists at depth 2, and so on; the longest nesting chain is exactly
  ``depth`` lists deep (root included). With ``depth`` 1 there is no nesting: the root holds
  everybody directly and the other lists are stand-alone top-level lists. Deeper levels hold more
  lists (about three times as many per level); a list that no deeper list chose as its parent is
  a leaf, whatever its depth. DL addresses are ``dl-<depth>-<n>@DOMAIN``.
- Every person is a direct member of at least one leaf list (their "home"), so ``all@`` reaches
  everybody. Each leaf gets at least one person while there are people to spare.
- ``overlap`` K (a number >= 1): people are direct members of K lists on average. The total number
  of direct memberships is ``round(K * people)``; each person gets floor(K) or ceil(K) distinct
  lists: their home leaf plus lists drawn uniformly from all lists but the root (with ``depth`` 1,
  the root is everybody's home and the extra lists are the others).
- ``cycles`` N (default 0): N distinct back-edges, each adding one of a list's own ancestors to
  its members (an ancestor other than the root while such pairs last). Each one closes a nesting
  cycle. Back-edges change neither the longest cycle-free chain from ``all@`` (every way down to a
  list passes through all its ancestors, so following a back-edge revisits one) nor any list's
  shortest distance from it: ``depth`` stays exact however the nesting is walked. A list keeps
  being a "leaf" (it holds no deeper list) when a back-edge gives it an ancestor as a member.

The same arguments and seed give byte-identical output (``random.Random(seed)``); no set or hash
order is involved.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

from ews_simulator.demo import DEMO_PASSWORD, FIRST_NAMES, LAST_NAMES, OFFICES

_DEPARTMENTS = (
    ("Engineering", "Platform"),
    ("Engineering", "Product Engineering"),
    ("Engineering", "Data"),
    ("Engineering", "Security"),
    ("Sales & Marketing", "Sales"),
    ("Sales & Marketing", "Marketing"),
    ("Sales & Marketing", "Customer Success"),
    ("Operations", "Finance"),
    ("Operations", "Human Resources"),
    ("Operations", "IT"),
    ("Operations", "Legal"),
    ("Corporate", "Communications"),
)
_TITLES = (
    "Engineer",
    "Senior Engineer",
    "Analyst",
    "Specialist",
    "Manager",
    "Director",
    "Coordinator",
    "Consultant",
)
_GROWTH = 3.0  # lists per level grow about this much from one level to the next


class GenerateError(ValueError):
    """A bad argument; ``argument`` names it (people, lists, depth, overlap, cycles)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def generate(
    people: int,
    lists: int,
    depth: int,
    overlap: float,
    seed: int,
    *,
    cycles: int = 0,
    domain: str = "example.com",
) -> dict[str, Any]:
    """A synthetic organisation; see the module docstring for the exact shape."""
    _check(people, lists, depth, overlap, cycles)
    rng = random.Random(seed)

    # Lists: level sizes, then a parent for every non-root list.
    sizes = _level_sizes(lists, depth)
    level_of: list[int] = []
    for level, n in enumerate(sizes, start=1):
        level_of.extend([level] * n)
    start = [0]
    for n in sizes:
        start.append(start[-1] + n)
    parent: list[int] = [-1] * lists
    children: list[list[int]] = [[] for _ in range(lists)]
    if depth == 1:
        pass  # every list is top-level
    else:
        for i in range(1, lists):
            lv = level_of[i]
            p = rng.randrange(start[lv - 2], start[lv - 1])
            parent[i] = p
            children[p].append(i)
    addresses = ["all@" + domain] + [
        f"dl-{level_of[i]}-{i - start[level_of[i] - 1] + 1:05d}@{domain}" for i in range(1, lists)
    ]
    names = ["All"] + [
        f"Level {level_of[i]} list {i - start[level_of[i] - 1] + 1}" for i in range(1, lists)
    ]
    leaves = [i for i in range(lists) if not children[i]] if depth > 1 else [0]
    extra_pool = list(range(1, lists))  # lists a person may join besides the home leaf

    # People and their memberships.
    people_members: list[list[str]] = [[] for _ in range(lists)]
    total = round(overlap * people)
    base, more = divmod(total, people) if people else (0, 0)
    plus_one = set(rng.sample(range(people), more)) if more else set()
    homes = list(range(len(leaves)))
    rng.shuffle(homes)
    counts: dict[str, int] = {}
    mailboxes: list[dict[str, Any]] = []
    n_leaves, n_pool = len(leaves), len(extra_pool)
    choice, randrange = rng.choice, rng.randrange
    for p in range(people):
        first, last = choice(FIRST_NAMES), choice(LAST_NAMES)
        local = f"{_slug(first)}.{_slug(last)}"
        n = counts.get(local, 0) + 1
        counts[local] = n
        address = f"{local}{n if n > 1 else ''}@{domain}"
        division, department = choice(_DEPARTMENTS)
        mailboxes.append(
            {
                "address": address,
                "name": f"{first} {last}",
                "password": DEMO_PASSWORD,
                "attributes": {
                    "department": department,
                    "division": division,
                    "office": choice(OFFICES),
                    "title": choice(_TITLES),
                },
            }
        )
        home = leaves[homes[p]] if p < n_leaves else leaves[randrange(n_leaves)]
        people_members[home].append(address)
        k = base + (1 if p in plus_one else 0)
        if k > 1:
            mine = [home]
            while len(mine) < k:
                if k - 1 > n_pool // 2:  # dense: draw from what is left
                    rest = [x for x in extra_pool if x not in mine]
                    mine.extend(rng.sample(rest, k - len(mine)))
                    break
                x = extra_pool[randrange(n_pool)]
                if x not in mine:
                    mine.append(x)
            for x in mine[1:]:
                people_members[x].append(address)

    # Back-edges: a list gets one of its ancestors as a member.
    back: list[list[int]] = [[] for _ in range(lists)]
    if cycles:
        inner: list[tuple[int, int]] = []
        to_root: list[tuple[int, int]] = []
        for i in range(1, lists):
            a = parent[i]
            while a != -1:
                (to_root if a == 0 else inner).append((i, a))
                a = parent[a]
        picked = rng.sample(inner, min(cycles, len(inner)))
        if cycles > len(inner):
            picked += rng.sample(to_root, cycles - len(inner))
        for i, a in sorted(picked):
            back[i].append(a)

    dls = [
        {
            "address": addresses[i],
            "name": names[i],
            "members": people_members[i]
            + [addresses[c] for c in children[i]]
            + [addresses[a] for a in back[i]],
        }
        for i in range(lists)
    ]
    return {
        "name": f"Generated {domain}",
        "domain": domain,
        "server": {"build": "15.1.2507.6", "version": "Exchange2016"},
        "mailboxes": mailboxes,
        "lists": dls,
    }


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalpha() or c == "-")


def _level_sizes(lists: int, depth: int) -> list[int]:
    """How many lists at each depth: one root, at least one per level, more deeper down."""
    if depth == 1:
        return [lists]
    sizes = [1] + [1] * (depth - 1)
    spare = lists - depth
    weights = [_GROWTH ** min(i, 60) for i in range(depth - 1)]
    total = sum(weights)
    given = 0
    for i, w in enumerate(weights):
        extra = int(spare * w / total)
        sizes[i + 1] += extra
        given += extra
    sizes[-1] += spare - given
    return sizes


def _check(people: int, lists: int, depth: int, overlap: float, cycles: int) -> None:
    if people < 1:
        raise GenerateError("people", f"people must be at least 1, got {people}")
    if depth < 1:
        raise GenerateError("depth", f"depth must be at least 1, got {depth}")
    if lists < depth:
        raise GenerateError(
            "lists",
            f"lists ({lists}) must be at least depth ({depth}): "
            "the longest chain needs one list per level",
        )
    if not overlap >= 1:  # also refuses NaN
        raise GenerateError(
            "overlap", f"overlap must be at least 1 (everyone is in a list), got {overlap}"
        )
    most = lists if depth == 1 else lists - 1  # the root is nobody's extra list when nesting
    if overlap > most:
        raise GenerateError(
            "overlap",
            f"overlap {overlap} is more than the {most} list(s) a "
            f"person can be in with lists={lists} and depth={depth}",
        )
    if cycles < 0:
        raise GenerateError("cycles", f"cycles must be 0 or more, got {cycles}")
    if cycles and depth < 2:
        raise GenerateError("cycles", "cycles need nesting: use depth 2 or more")
    if cycles:
        # A list at depth d has d-1 ancestors: that bounds the distinct back-edges.
        possible = sum((lv - 1) * n for lv, n in enumerate(_level_sizes(lists, depth), start=1))
        if cycles > possible:
            raise GenerateError(
                "cycles", f"cycles {cycles} is more than the {possible} possible back-edges"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ews_simulator.generate",
        description="Write a synthetic organisation (JSON, for the EWS simulator) to stdout.",
    )
    parser.add_argument("--people", type=int, required=True, help="number of mailboxes")
    parser.add_argument(
        "--lists",
        type=int,
        required=True,
        help="number of public DLs, including the root all@DOMAIN",
    )
    parser.add_argument(
        "--depth",
        type=int,
        required=True,
        help="longest nesting chain, in lists (the root is depth 1)",
    )
    parser.add_argument(
        "--overlap",
        type=float,
        default=1.0,
        help="average number of lists each person is directly in (>= 1)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=0,
        help="number of nesting cycles (back-edges to an ancestor list)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same output)")
    parser.add_argument("--domain", default="example.com", help="mail domain")
    args = parser.parse_args(argv)
    try:
        doc = generate(
            args.people,
            args.lists,
            args.depth,
            args.overlap,
            args.seed,
            cycles=args.cycles,
            domain=args.domain,
        )
    except GenerateError as e:
        parser.error(f"argument --{e.argument}: {e}")
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
