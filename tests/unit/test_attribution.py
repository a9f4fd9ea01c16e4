"""Which entries bring which people: the contributions in a report, against a plain set
computation written here; the "why" of a difference names them; drift is grouped by list."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from rollcall.core.attribution import TYPED, Contribution, drift_groups, explain
from rollcall.core.drift import drift

from .fakes import FakeDirectory, dl, person
from .helpers import count, the


def _people(*numbers: int) -> list:
    return [person(f"p{i}@contoso.com") for i in numbers]


def test_each_entry_says_how_many_only_it_brings():
    staff, lead = dl("staff@contoso.com", "All Staff"), dl("lead@contoso.com", "Leadership")
    directory = FakeDirectory({staff: _people(*range(10)), lead: _people(8, 9, 10, 11)},
                              people=_people(20))
    report = count(directory, staff, lead, person("p20@contoso.com"))
    parts = {c["address"]: c for c in report["contributions"]}
    staff_part = parts["staff@contoso.com"]
    assert (staff_part["people"], staff_part["only"], staff_part["shared"]) == (10, 8, 2)
    assert (parts["lead@contoso.com"]["people"], parts["lead@contoso.com"]["only"]) == (4, 2)
    typed = parts["p20@contoso.com"]
    assert (typed["kind"], typed["people"], typed["only"], typed["path"]) == ("entry", 1, 1, [])
    assert report["total"] == 13


def test_the_why_of_a_difference_names_the_lists_that_make_it():
    staff, lead = dl("staff@contoso.com", "All Staff"), dl("lead@contoso.com", "Leadership")
    directory = FakeDirectory({staff: _people(*range(10)), lead: _people(8, 9, 10, 11, 12, 13)})
    mismatch = the(count(directory, staff, lead, expected=10), "count_mismatch")
    assert "Leadership brings 6 people, 4 of them in no other entry" in mismatch["message"]
    # Duplicates lower a count: they never explain one that is higher than expected.
    assert "duplicate" not in mismatch["message"]


def test_a_single_list_is_explained_by_what_it_holds():
    """A Rollcall list of five contacts and a nested list of 47: the nested list makes the gap."""
    leadership = dl("leadership@contoso.com", "Leadership Team")
    mine = dl("mine@contoso.com", "My List")
    directory = FakeDirectory({mine: [*_people(*range(5)), leadership],
                               leadership: _people(*range(100, 147))})
    report = count(directory, mine, expected=5)
    kinds = {c["name"]: (c["kind"], c["people"]) for c in report["contributions"]}
    assert kinds == {"My List": ("direct", 5), "Leadership Team": ("list", 47)}
    message = the(report, "count_mismatch")["message"]
    assert message.index("Leadership Team brings 47 people") < message.index("5 people listed")


def test_fewer_than_expected_is_explained_by_what_was_taken_out():
    staff = dl("staff@contoso.com", "All Staff")
    directory = FakeDirectory({staff: [*_people(1, 2, 3), *_people(1, 2)]})
    message = the(count(directory, staff, "Nobody Here", expected=6), "count_mismatch")["message"]
    assert "2 duplicate entries counted once" in message
    assert "1 entry that cannot be delivered" in message


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 15), max_size=8), min_size=1, max_size=5))
def test_contributions_match_a_plain_set_computation(memberships):
    lists = [dl(f"l{j}@contoso.com", f"L{j}") for j in range(len(memberships))]
    directory = FakeDirectory({lst: _people(*m) for lst, m in zip(lists, memberships,
                                                                  strict=True)})
    report = count(directory, *lists)
    sets = [{f"p{i}@contoso.com" for i in m} for m in memberships]
    everyone = set().union(*sets)
    assert report["total"] == len(everyone)
    if len(lists) == 1:
        return  # one list: explained by its own members, checked above
    for j, part in enumerate(report["contributions"]):
        others = set().union(*(s for k, s in enumerate(sets) if k != j))
        assert part["people"] == len(sets[j])
        assert part["only"] == len(sets[j] - others)
        assert part["shared"] == len(sets[j] & others)


def test_explain_says_nothing_with_one_part_or_no_difference():
    one = [Contribution("All Staff", None, ("All Staff",), "entry", 10, 10)]
    assert explain(one, 5) == ""
    two = [*one, Contribution("Sales", None, ("Sales",), "entry", 3, 1)]
    assert explain(two, 0) == ""
    assert explain(two, 1).startswith("All Staff brings 10 people")


def test_drift_is_grouped_by_the_list_people_came_or_went_through():
    before = {"a@x.com": "All Staff > Sales", "b@x.com": "All Staff > Sales",
              "c@x.com": "All Staff > Legal", "d@x.com": TYPED}
    now = {"a@x.com": "All Staff > Sales", "e@x.com": "All Staff > Legal"}
    moved = drift(datetime(2026, 11, 20, tzinfo=UTC), 4, set(before), set(now), now, before)
    groups = {g.path: (g.joined, g.left) for g in moved.groups}
    assert groups == {"All Staff > Sales": (0, 1), "All Staff > Legal": (1, 1), TYPED: (0, 1)}
    assert moved.groups[0].path == "All Staff > Legal"  # the biggest movement first


def test_many_drift_groups_end_in_elsewhere():
    left = [f"p{i}@x.com" for i in range(40)]
    groups = drift_groups([], left, {}, {a: f"List {i}" for i, a in enumerate(left)})
    assert len(groups) == 20 and groups[-1].path == "elsewhere" and groups[-1].left == 21
    assert sum(g.left for g in groups) == 40
