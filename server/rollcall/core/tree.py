"""The list tree: breadth-first placement of each distinct list, repeats, cycles, reach sets."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .entries import expandable, label
from .model import DirectoryError, Entry, Expansion


@dataclass(frozen=True, slots=True)
class Outcome:
    """What fetching one list gave: its expansion or the error; a missing outcome = not reached."""

    expansion: Expansion | None = None
    error: DirectoryError | None = None
    cached: bool = False


@dataclass(eq=False, slots=True)
class Node:
    """One occurrence of a list in the tree; only first occurrences have children."""

    entry: Entry
    depth: int
    path: tuple[str, ...]  # labels from the top-level entry down to this list
    keys: tuple[str, ...]  # list keys along the same path, for spotting cycles
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    outcome: Outcome | None = None
    first: Node | None = None  # set on repeats and cycles: the occurrence that was expanded
    is_cycle: bool = False

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def status(self) -> str:
        """expanded | truncated | failed | cycle | cached, as the report contract spells them."""
        if self.is_cycle:
            return "cycle"
        if self.first is not None:
            return self.first.status
        outcome = self.outcome
        if outcome is None or outcome.expansion is None:
            return "failed"  # an error, or not reached before the deadline
        if not outcome.expansion.complete:
            # Truncation matters more to the sender than where the answer came from.
            return "truncated"
        return "cached" if outcome.cached else "expanded"


@dataclass(slots=True)
class Tree:
    roots: list[Node]
    placed: dict[str, Node]  # list key -> its first (shallowest) occurrence, in BFS order
    all_nodes: list[Node]  # every node in BFS order, repeats and cycles included


def walk(tops: Sequence[Entry], outcomes: Mapping[str, Outcome]) -> Tree:
    """Place every list reachable from the top-level lists, breadth-first in recipient order."""
    roots = [Node(entry, 1, (label(entry),), (entry.key,)) for entry in tops]
    queue: deque[Node] = deque(roots)
    placed: dict[str, Node] = {}
    all_nodes: list[Node] = []
    while queue:
        node = queue.popleft()
        all_nodes.append(node)
        if node.key in node.keys[:-1]:
            # The list contains one of its own ancestors: following it would never end, and
            # its members are already counted at the ancestor.
            node.is_cycle = True
            node.first = placed[node.key]
            continue
        if node.key in placed:
            # Breadth-first order means the earlier occurrence is at least as shallow.
            node.first = placed[node.key]
            continue
        placed[node.key] = node
        node.outcome = outcomes.get(node.key)
        for member in members_of(node.outcome):
            if expandable(member):
                child = Node(
                    member,
                    node.depth + 1,
                    node.path + (label(member),),
                    node.keys + (member.key,),
                    parent=node,
                )
                node.children.append(child)
                queue.append(child)
    return Tree(roots, placed, all_nodes)


def members_of(outcome: Outcome | None) -> tuple[Entry, ...]:
    """The members an outcome holds (none when the list failed or was not reached)."""
    if outcome is None or outcome.expansion is None:
        return ()
    return outcome.expansion.members


def reach(
    own: Mapping[str, set[str]], edges: Mapping[str, list[str]]
) -> tuple[dict[str, frozenset[str]], list[list[str]]]:
    """Every address under each list key (nested lists included) and the loops among lists."""
    # Tarjan's strongly connected components, iteratively (nesting can be deep): every list in
    # a cycle reaches the same people, and components come out after everything they reach.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    component_of: dict[str, int] = {}
    reached: list[frozenset[str]] = []

    def targets(key: str) -> Iterator[str]:
        return (k for k in edges.get(key, ()) if k in own)

    for start in own:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work: list[tuple[str, Iterator[str]]] = [(start, targets(start))]
        while work:
            key, pending = work[-1]
            for target in pending:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, targets(target)))
                    break
                if target in on_stack:
                    low[key] = min(low[key], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[key])
                if low[key] == index[key]:
                    _close_component(key, stack, on_stack, own, edges, component_of, reached)
    groups: dict[int, list[str]] = {}
    for key in own:  # `own` is in BFS order, so each loop lists its shallowest list first
        groups.setdefault(component_of[key], []).append(key)
    loops = [
        keys for keys in groups.values()
        if len(keys) > 1 or keys[0] in edges.get(keys[0], ())
    ]
    return {key: reached[component_of[key]] for key in own}, loops


def loop_through(start: str, keys: Iterable[str], edges: Mapping[str, list[str]]) -> list[str]:
    """A shortest path start -> ... -> start inside one strongly connected set of lists."""
    inside = set(keys)
    came_from: dict[str, str] = {}
    queue: deque[str] = deque([start])
    while queue:
        key = queue.popleft()
        for target in edges.get(key, ()):
            if target == start:
                path = [key]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target in inside and target not in came_from:
                came_from[target] = key
                queue.append(target)
    return [start, start]  # not reached for a real loop; keeps the finding well-formed


def _close_component(
    root: str,
    stack: list[str],
    on_stack: set[str],
    own: Mapping[str, set[str]],
    edges: Mapping[str, list[str]],
    component_of: dict[str, int],
    reached: list[frozenset[str]],
) -> None:
    members: list[str] = []
    while True:
        key = stack.pop()
        on_stack.discard(key)
        members.append(key)
        if key == root:
            break
    number = len(reached)
    addresses: set[str] = set()
    for key in members:
        component_of[key] = number
        addresses |= own[key]
    for target in _outside(members, edges, own):
        addresses |= reached[component_of[target]]
    reached.append(frozenset(addresses))


def _outside(members: Iterable[str], edges: Mapping[str, list[str]], own: Mapping) -> set[str]:
    inside = set(members)
    return {t for key in inside for t in edges.get(key, ()) if t in own and t not in inside}
