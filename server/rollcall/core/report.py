"""The count report: a pure, deterministic function of what the engine fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import findings as f
from .attribution import Part, contributions, explain, path_text
from .entries import Verdict, classify, clean_domains, expandable, external_addresses, label
from .model import LIST_KINDS, CountRequest, DirectoryError, Entry, MemberStatus, Resolution
from .report_types import CountReport, NodeStatus, TreeNode
from .tree import Node, Outcome, Tree, loop_through, members_of, reach, walk

TOP = "The To/Cc/Bcc line"
NORMAL = MemberStatus.NORMAL  # how findings name the message's own recipient lines


@dataclass(slots=True)
class _Tally:
    """Running counts; `entries == total + duplicates + undeliverable + not_looked_up` holds
    after every add."""

    seen: dict[str, str] = field(default_factory=dict)  # address -> the path that first held it
    entries: int = 0
    duplicates: int = 0
    undeliverable: int = 0
    not_looked_up: int = 0  # entries typed in whose lookup failed or ran out of time: unknown
    deleted: int = 0
    removed: int = 0
    opted_out: int = 0
    incomplete_lists: int = 0
    complete: bool = True
    not_found: int = 0  # entries typed into To/Cc/Bcc that nobody could be found for

    @property
    def total(self) -> int:
        return len(self.seen)

    def add(self, address: str | None, holder: str = "") -> None:
        self.entries += 1
        if address is None:
            self.undeliverable += 1
        elif address in self.seen:
            self.duplicates += 1
        else:
            self.seen[address] = holder

    def add_unknown(self) -> None:
        """An entry typed in that could not be looked up: nobody knows whom it reaches."""
        self.entries += 1
        self.not_looked_up += 1


def build_report(
    request: CountRequest,
    resolutions: Sequence[Resolution | DirectoryError | None],
    outcomes: Mapping[str, Outcome],
    smtp_by_dn: Mapping[str, str | None],
    *,
    max_nesting: int = 3,
    internal_domains: Sequence[str] = (),
    requests: int = 0,
    elapsed_ms: int = 0,
) -> CountReport:
    """The report; `resolutions[i]` is None (or missing) when not resolved in time.

    `outcomes` maps list keys to what expanding them gave (a missing key: not reached in time),
    `smtp_by_dn` maps `entries.dn_key(legacy DN)` to its SMTP address (None: nobody has it).
    """
    tally = _Tally()
    found: list[f.Finding] = []
    typed: dict[int, set[str]] = {}  # top-level individuals: recipient index -> their address
    tops = _top_level(request, resolutions, smtp_by_dn, tally, found, typed)
    tree = walk(tops, outcomes)
    own, edges, pending = _count_lists(tree, smtp_by_dn, tally, found)
    reached, loops = reach(own, edges)
    found += _fewer_than_exchange_counts(tree, reached, tally)
    parts = contributions(_parts(request, resolutions, typed, tree, own, reached))
    found += _cycles(tree, loops, edges)
    found += _too_deep(tree, max_nesting)
    found += _not_reached(pending)

    total = tally.total
    domains = clean_domains(internal_domains)
    if domains:
        outside = external_addresses(tally.seen, domains)
        if outside:
            found.append(f.external(sorted(outside), total, tally.complete))
    else:
        outside = []
    expected = request.expected
    difference = None if expected is None else total - expected
    if expected is not None and difference:
        breakdown = {
            "duplicates": tally.duplicates,
            "undeliverable": tally.undeliverable,
            "not_looked_up": tally.not_looked_up,
            "deleted_contacts": tally.deleted,
            "removed_from_lists": tally.removed,
            "opted_out": tally.opted_out,
            "incomplete_lists": tally.incomplete_lists,
            "external": len(outside),
        }
        found.append(f.count_mismatch(expected, total, breakdown, tally.complete,
                                      request.expected_source,
                                      explain(parts, total - expected)))

    return CountReport(
        total=total,
        complete=tally.complete,
        expected=expected,
        difference=difference,
        entries=tally.entries,
        duplicates=tally.duplicates,
        undeliverable=tally.undeliverable,
        not_looked_up=tally.not_looked_up,
        lists=len(tree.placed),
        max_depth=max((node.depth for node in tree.placed.values()), default=0),
        requests=requests,
        elapsed_ms=elapsed_ms,
        pending=tuple(node.entry.address or label(node.entry) for node in pending),
        tree=_tree_nodes(tree, reached),
        findings=tuple(found),
        expected_source=None if expected is None else request.expected_source,
        not_found=tally.not_found,
        contributions=parts,
        recipients=tuple(sorted(tally.seen)),  # for drift and snapshots; never in the JSON
        holders=tally.seen,
    )


def _parts(
    request: CountRequest,
    resolutions: Sequence[Resolution | DirectoryError | None],
    typed: Mapping[int, set[str]],
    tree: Tree,
    own: Mapping[str, set[str]],
    reached: Mapping[str, frozenset[str]],
) -> list[Part]:
    """What the count is made of: each resolved entry typed in, in order; when that is a single
    list, the lists nested in it and the people listed in it directly instead."""
    roots = iter(tree.roots)  # one per top-level list, in recipient order
    parts: list[Part] = []
    for i, recipient in enumerate(request.recipients):
        result = resolutions[i] if i < len(resolutions) else None
        if not isinstance(result, Resolution) or result.entry is None:
            continue
        entry = result.entry
        if i in typed:
            parts.append(Part(_query(recipient.name, recipient.address), entry.address, (),
                              "entry", frozenset(typed[i])))
        elif expandable(entry):
            node = next(roots)
            parts.append(Part(label(entry), entry.address, node.path, "entry",
                              reached.get(node.key, frozenset()), _expanded(node)))
    if len(parts) == 1 and tree.roots and parts[0].path == tree.roots[0].path:
        root = tree.roots[0]
        inner: list[Part] = []
        direct = own.get(root.key, set())
        if direct:
            inner.append(Part(label(root.entry), root.entry.address, root.path, "direct",
                              frozenset(direct), _complete(root)))
        keys: set[str] = set()
        for child in root.children:
            if child.key in keys or child.key == root.key:
                continue
            keys.add(child.key)
            inner.append(Part(label(child.entry), child.entry.address, child.path, "list",
                              reached.get(child.key, frozenset()), _expanded(child)))
        if len(inner) > 1:
            return inner
    return parts


def _complete(node: Node) -> bool:
    """Whether this one list was read in full."""
    origin = node.first or node
    outcome = origin.outcome
    return bool(outcome and outcome.expansion and outcome.expansion.complete)


def _fewer_than_exchange_counts(tree: Tree, reached: Mapping[str, frozenset[str]],
                                tally: _Tally) -> list[f.Finding]:
    """Lists read in full whose directory counts more people than they reach: Graph cannot
    list what only Exchange sees (a dynamic list or public folder inside), so the count says it
    is incomplete rather than being silently low."""
    result: list[f.Finding] = []
    for key, node in tree.placed.items():
        outcome = node.outcome
        expansion = outcome.expansion if outcome is not None else None
        if expansion is None or expansion.estimate is None or not expansion.complete:
            continue
        people = len(reached.get(key, frozenset()))
        if expansion.estimate <= people or not _expanded(node):
            continue
        where = label(node.entry)
        result.append(f.not_listed(
            where, people, expansion.estimate,
            f"Exchange counts {expansion.estimate:,} people in {where}; Rollcall could list "
            f"{people:,}. The others are recipients only Exchange sees (a dynamic list or a "
            "public folder inside it), or Exchange's count, which it computes from time to "
            "time, is out of date.", node.entry.address or "", node.path))
        tally.complete = False
        tally.incomplete_lists += 1
    return result


def _expanded(node: Node) -> bool:
    """Whether this list and every list inside it were read in full."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        here = stack.pop()
        origin = here.first or here
        if origin.key in seen:
            continue
        seen.add(origin.key)
        if not _complete(origin):
            return False
        stack.extend(origin.children)
    return True


def _query(name: str, address: str | None) -> str:
    """An entry as the sender typed it: 'Name <address>' when both say something."""
    name, address = (name or "").strip(), (address or "").strip()
    if name and address and name.lower() != address.lower():
        return f"{name} <{address}>"
    return name or address or "(empty)"


def _top_level(
    request: CountRequest,
    resolutions: Sequence[Resolution | DirectoryError | None],
    smtp_by_dn: Mapping[str, str | None],
    tally: _Tally,
    found: list[f.Finding],
    typed: dict[int, set[str]],
) -> list[Entry]:
    """Count the top-level recipients that are not lists; return the lists, in order."""
    tops: list[Entry] = []
    for i, recipient in enumerate(request.recipients):
        result = resolutions[i] if i < len(resolutions) else None
        query = _query(recipient.name, recipient.address)
        if isinstance(result, Resolution) and result.entry is not None:
            if expandable(result.entry):
                tops.append(result.entry)
            else:
                typed[i] = _count_members([result.entry], TOP, [query], smtp_by_dn, tally, found,
                                          holder=path_text(()))
            continue
        # Nobody to deliver to (yet): still an entry, so the entries identity keeps holding.
        if isinstance(result, Resolution) and result.problem == "ambiguous":
            tally.add(None)
            tally.not_found += 1
            found.append(f.ambiguous_top(query, result))
        elif isinstance(result, Resolution) and result.problem != "failed":
            tally.add(None)
            tally.not_found += 1
            found.append(f.unresolved_top(query))
        else:
            # A directory error or the deadline: we cannot say the entry is undeliverable.
            tally.add_unknown()
            tally.complete = False
            error = result if isinstance(result, DirectoryError) else None
            if isinstance(result, Resolution):
                error = DirectoryError("failed", "the lookup failed")
            # The path names the entry as Outlook shows it; the message quotes all of it.
            step = (recipient.name or recipient.address or query).strip()
            found.append(replace(f.not_looked_up(query, error), path=(step,)))
    return tops


def _count_members(
    members: Sequence[Entry],
    where: str,
    path: Sequence[str],
    smtp_by_dn: Mapping[str, str | None],
    tally: _Tally,
    found: list[f.Finding],
    holder: str | None = None,
) -> set[str]:
    """Count the non-list members of one holder; return its deliverable addresses.

    `holder` is the path kept for drift ("All Staff > Sales"): who came through where."""
    held = path_text(path) if holder is None else holder
    own: set[str] = set()
    deleted: list[str] = []
    invalid: list[Entry] = []
    no_smtp: list[str] = []
    dn_pending: list[str] = []
    removed: list[Entry] = []
    opted: list[str] = []
    seen = tally.seen
    for member in members:
        if member.kind in LIST_KINDS and expandable(member):
            continue  # lists are nodes, not entries
        if member.status is NORMAL and member.routing_type == "SMTP" and member.address:
            # The common case inlined (classify + _Tally.add): 200,000 members in a big
            # organisation make the call overhead most of a warm count (bench/).
            normal = member.address.strip().lower()
            if normal and normal.isprintable() and " " not in normal:  # else classify() decides
                tally.entries += 1
                if normal in seen:
                    tally.duplicates += 1
                else:
                    seen[normal] = held
                own.add(normal)
                continue
        address, verdict = classify(member, smtp_by_dn)
        tally.add(address, held)
        if address is not None:
            own.add(address)
        if verdict is Verdict.OK:
            continue
        if verdict is Verdict.DELETED:
            tally.deleted += 1
            deleted.append(address or "")
        elif verdict is Verdict.INVALID:
            invalid.append(member)
        elif verdict is Verdict.NO_SMTP:
            no_smtp.append(member.address or "")
        elif verdict is Verdict.DN_PENDING:
            dn_pending.append(member.address or "")
        elif verdict is Verdict.REMOVED:
            removed.append(member)
        elif verdict is Verdict.OPTED_OUT:
            opted.append(member.address or member.name)
    tally.removed += len(removed)
    tally.opted_out += len(opted)
    if removed:
        found.append(f.removed_contacts(where, removed, path))
    if opted:
        found.append(f.opted_out(where, opted, path))
    if deleted:
        found.append(f.deleted_contact(where, deleted, path))
    if invalid:
        names = [m.name or m.address or "(no name)" for m in invalid]
        found.append(f.invalid_member(where, names, [m.address for m in invalid if m.address],
                                      path))
    if no_smtp:
        found.append(f.no_smtp(where, no_smtp, path))
    if dn_pending:
        tally.complete = False
        found.append(f.dn_pending(where, dn_pending, path))
    return own


def _count_lists(
    tree: Tree, smtp_by_dn: Mapping[str, str | None], tally: _Tally, found: list[f.Finding]
) -> tuple[dict[str, set[str]], dict[str, list[str]], list[Node]]:
    """Count each distinct list's members once; return own addresses, edges, unreached lists."""
    own: dict[str, set[str]] = {}
    edges: dict[str, list[str]] = {}
    pending: list[Node] = []
    for key, node in tree.placed.items():
        edges[key] = [child.key for child in node.children]
        outcome = node.outcome
        where, address = label(node.entry), node.entry.address or ""
        own[key] = _count_members(members_of(outcome), where, node.path, smtp_by_dn, tally, found)
        if outcome is None:
            pending.append(node)
        elif outcome.expansion is None:
            error = outcome.error or DirectoryError("failed", "no answer")
            found.append(f.expansion_failed(where, error, address, node.path))
        elif not outcome.expansion.complete:
            expansion = outcome.expansion
            if expansion.note:
                found.append(f.not_listed(where, len(expansion.members), expansion.estimate,
                                          expansion.note, address, node.path))
            else:
                found.append(f.truncated(where, len(expansion.members),
                                         expansion.total_in_view, address, node.path))
        else:
            if outcome.expansion.note:
                found.append(f.limited_view(where, outcome.expansion.note, address, node.path))
            continue
        tally.complete = False
        tally.incomplete_lists += 1
    return own, edges, pending


def _cycles(tree: Tree, loops: list[list[str]], edges: dict[str, list[str]]) -> list[f.Finding]:
    """One finding per cycle met on a path, then one per loop no path ran into."""
    result: list[f.Finding] = []
    reported: set[str] = set()
    for node in tree.all_nodes:
        if not node.is_cycle:
            continue
        start = node.keys.index(node.key)
        ring = node.path[start:]
        lists = [tree.placed[k].entry for k in node.keys[start:-1]]
        result.append(f.cycle(ring, [e.address for e in lists if e.address], node.path))
        reported.update(node.keys[start:])
    for keys in loops:
        # Breadth-first placement can step into a loop only through repeats (A and B both children
        # of R, each holding the other): no path cycles, yet the lists still contain each other.
        if reported.intersection(keys):
            continue
        ring_keys = loop_through(keys[0], keys, edges)
        lists = [tree.placed[k].entry for k in ring_keys[:-1]]
        names = [label(e) for e in lists] + [label(lists[0])]
        path = tree.placed[keys[0]].path
        result.append(f.cycle(names, [e.address for e in lists if e.address], path))
    return result


def _too_deep(tree: Tree, limit: int) -> list[f.Finding]:
    """One finding per top-level list whose nesting goes past the limit."""
    by_root: dict[int, list[Node]] = {}
    roots: dict[int, Node] = {}
    for node in tree.placed.values():
        if node.depth > limit:
            root = node
            while root.parent is not None:
                root = root.parent
            by_root.setdefault(id(root), []).append(node)
            roots[id(root)] = root
    result = []
    for root_id, nodes in by_root.items():
        deepest = max(nodes, key=lambda n: n.depth)
        result.append(f.too_deep(
            label(roots[root_id].entry), [label(n.entry) for n in nodes],
            [n.entry.address for n in nodes if n.entry.address], deepest.depth, limit,
            deepest.path,
        ))
    return result


def _not_reached(pending: list[Node]) -> list[f.Finding]:
    """Lists not expanded before the deadline, one finding per list that holds them."""
    groups: dict[int, tuple[Node | None, list[Node]]] = {}
    for node in pending:
        # Top-level lists are their own group: each is something the sender typed.
        group = id(node.parent) if node.parent is not None else id(node)
        groups.setdefault(group, (node.parent, []))[1].append(node)
    result = []
    for parent, nodes in groups.values():
        names = [label(n.entry) for n in nodes]
        addresses = [n.entry.address for n in nodes if n.entry.address]
        where = label(parent.entry) if parent is not None else None
        path = parent.path if parent is not None else nodes[0].path
        result.append(f.not_reached(where, names, addresses, path))
    return result


def _estimate_beyond(node: Node, listed: int) -> int | None:
    """Exchange's count of the list when it is more than Rollcall could list, else None."""
    expansion = node.outcome.expansion if node.outcome is not None else None
    if expansion is None or expansion.estimate is None or expansion.estimate <= listed:
        return None
    return expansion.estimate


TREE_DEPTH_SHOWN = 100  # deeper lists are counted, and summed in their ancestor's `deeper`


def _tree_nodes(tree: Tree, reached: Mapping[str, frozenset[str]]) -> tuple[TreeNode, ...]:
    """The tree as TreeNodes; built bottom-up so very deep nesting needs no recursion.

    Lists nested deeper than TREE_DEPTH_SHOWN are left out of the tree (JSON encoders recurse,
    and nobody reads a tree 500 deep) and counted in `deeper` on the last node shown."""
    built: dict[int, TreeNode] = {}
    hidden: dict[int, int] = {}  # id(node at the last shown depth) -> lists below it
    for node in reversed(tree.all_nodes):
        if node.depth > TREE_DEPTH_SHOWN:
            edge = node
            while edge.depth > TREE_DEPTH_SHOWN and edge.parent is not None:
                edge = edge.parent
            hidden[id(edge)] = hidden.get(id(edge), 0) + 1
            continue
        origin = node.first or node
        unique = len(reached.get(node.key, ()))
        built[id(node)] = TreeNode(
            address=node.entry.address,
            name=node.entry.name,
            kind=node.entry.kind.value,
            depth=node.depth,
            direct_members=len(members_of(origin.outcome)),
            unique_members=unique,
            status=NodeStatus(node.status),
            cached=bool(origin.outcome and origin.outcome.cached),
            children=tuple(built.pop(id(child)) for child in node.children
                           if id(child) in built),
            repeat_of=None if node.first is None else tuple(node.first.path),
            deeper=hidden.get(id(node)),
            estimate=_estimate_beyond(origin, unique),
        )
    return tuple(built[id(root)] for root in tree.roots)
