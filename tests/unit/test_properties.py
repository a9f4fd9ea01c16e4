"""Random organisations: the count must match a plain traversal written here, independently."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollcall.core.model import Entry, MemberStatus
from rollcall.counting import Settings

from .fakes import FakeDirectory, contact, contact_group, dl, ex, person
from .helpers import assert_identity, count

# A member spec: ("person", i, upper?) | ("deleted", i) | ("broken",) | ("ex", i) | ("ex_gone",)
# | ("list", j). Lists are nested freely, so cycles and self-loops come up often.
Spec = tuple


@dataclass
class Org:
    lists: list[Entry]
    members: dict[int, list[Spec]]
    tops: list[Spec]
    concurrency: int


def dn(i: int) -> str:
    return f"/o=Org/ou=Exchange Administrative Group/cn=Recipients/cn=p{i}"


@st.composite
def organisations(draw: st.DrawFn) -> Org:
    people = draw(st.integers(1, 6))
    n_lists = draw(st.integers(1, 6))
    lists = [
        contact_group(f"AAMk{j}", f"G{j}") if draw(st.booleans()) else dl(f"l{j}@x.com", f"L{j}")
        for j in range(n_lists)
    ]
    pick_person = st.integers(0, people - 1)
    member = st.one_of(
        st.tuples(st.just("person"), pick_person, st.booleans()),
        st.tuples(st.just("deleted"), pick_person),
        st.tuples(st.just("broken")),
        st.tuples(st.just("ex"), pick_person),
        st.tuples(st.just("ex_gone")),
        st.tuples(st.just("list"), st.integers(0, n_lists - 1)),
    )
    members = {j: draw(st.lists(member, max_size=6)) for j in range(n_lists)}
    top = st.one_of(
        st.tuples(st.just("list"), st.integers(0, n_lists - 1)),
        st.tuples(st.just("person"), pick_person, st.booleans()),
        st.tuples(st.just("unknown")),
    )
    return Org(lists, members, draw(st.lists(top, min_size=1, max_size=5)),
               draw(st.integers(1, 4)))


def entry_for(spec: Spec, org: Org) -> Entry:
    kind = spec[0]
    if kind == "person":
        address = f"p{spec[1]}@x.com"
        return person(address.upper() if spec[2] else address, f"P{spec[1]}")
    if kind == "deleted":
        return contact(f"p{spec[1]}@x.com", f"Old P{spec[1]}", MemberStatus.DEMOTED)
    if kind == "broken":
        return contact(None, "Broken", MemberStatus.UNRECOGNIZED)
    if kind == "ex":
        return ex(dn(spec[1]), f"P{spec[1]} (EX)")
    if kind == "ex_gone":
        return ex(dn(99), "Left the company")
    return org.lists[spec[1]]


def expected_counts(org: Org) -> tuple[set[str], int, set[int]]:
    """Deliverable addresses, non-list entries, and the lists reachable: a plain DFS."""
    addresses: set[str] = set()
    entries = 0
    visited: set[int] = set()

    def visit(spec: Spec) -> None:
        nonlocal entries
        if spec[0] == "list":
            if spec[1] not in visited:
                visited.add(spec[1])
                for member in org.members[spec[1]]:
                    visit(member)
            return
        entries += 1
        if spec[0] in ("person", "deleted", "ex"):
            addresses.add(f"p{spec[1]}@x.com")

    for top in org.tops:
        if top[0] == "unknown":
            entries += 1
        else:
            visit(top)
    return addresses, entries, visited


def reach_of(org: Org, j: int) -> set[str]:
    found, _, _ = expected_counts(Org(org.lists, org.members, [("list", j)], 1))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_the_total_matches_an_independent_traversal(org: Org) -> None:
    graph = {
        org.lists[j]: [entry_for(spec, org) for spec in specs] for j, specs in org.members.items()
    }
    legacy: dict[str, str | None] = {dn(i): f"P{i}@X.com" for i in range(6)}
    legacy[dn(99)] = None
    directory = FakeDirectory(graph, people=[person(f"p{i}@x.com", f"P{i}") for i in range(6)],
                              legacy=legacy)
    recipients = [
        "Unknown Person" if spec[0] == "unknown" else entry_for(spec, org) for spec in org.tops
    ]
    report = count(directory, *recipients,
                   settings=Settings(concurrency=org.concurrency, deadline_s=10.0))

    addresses, entries, visited = expected_counts(org)
    assert report["total"] == len(addresses)
    assert report["entries"] == entries
    assert_identity(report)
    assert report["complete"] is True
    assert report["lists"] == len(visited)
    assert directory.expand_calls() == {org.lists[j].key: 1 for j in visited}
    for root, spec in zip(report["tree"], [t for t in org.tops if t[0] == "list"], strict=True):
        assert root["unique_members"] == len(reach_of(org, spec[1]))
