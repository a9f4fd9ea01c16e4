"""What a count says about lists, people and the problems inside them (no timing involved)."""

from __future__ import annotations

import json

from rollcall.core.model import DirectoryError, Kind, MemberStatus
from rollcall.counting import Settings

from .fakes import FakeDirectory, contact, contact_group, dl, ex, person
from .helpers import assert_identity, codes, count, node, the

ANN, BOB, CAT, DAN = (person(f"{n}@x.com") for n in ("ann", "bob", "cat", "dan"))


def test_each_person_is_counted_once_across_lists_and_addresses_ignore_case() -> None:
    sales, eng = dl("sales@x.com", "Sales"), dl("eng@x.com", "Engineering")
    directory = FakeDirectory({
        sales: [ANN, BOB, person("ANN@X.COM", "Ann again")],
        eng: [person("Bob@x.com"), CAT],
    }, people=[DAN])
    report = count(directory, sales, eng, DAN)
    assert report["total"] == 4  # ann, bob, cat, dan
    assert report["entries"] == 6
    assert report["duplicates"] == 2
    assert report["undeliverable"] == 0
    assert report["complete"] is True
    assert report["lists"] == 2
    assert report["max_depth"] == 1
    assert node(report, "Sales")["unique_members"] == 2
    assert node(report, "Sales")["direct_members"] == 3
    assert node(report, "Engineering")["status"] == "expanded"
    assert report["findings"] == []
    assert report["expected"] is None and report["difference"] is None
    json.dumps(report)  # the report is a JSON contract


def test_contact_groups_nest_in_public_lists_and_public_lists_in_contact_groups() -> None:
    friends = contact_group("AAMk-friends", "Friends")
    team = dl("team@x.com", "Team")
    ops = dl("ops@x.com", "Ops", Kind.DYNAMIC_DL)
    outer = dl("outer@x.com", "Outer")
    directory = FakeDirectory({
        outer: [ANN, friends],  # a public list holding a contact group
        friends: [contact("pal@y.org"), team],  # a contact group holding a public list
        team: [BOB, ops],
        ops: [CAT, ANN],
    })
    report = count(directory, outer)
    assert report["total"] == 4
    assert report["max_depth"] == 4
    assert_identity(report)
    assert node(report, "Outer", "Friends")["kind"] == "contact_group"
    assert node(report, "Outer", "Friends", "Team", "Ops")["depth"] == 4
    assert node(report, "Outer")["unique_members"] == 4
    assert node(report, "Outer", "Friends", "Team")["unique_members"] == 3
    assert directory.expand_calls() == {k.key: 1 for k in (outer, friends, team, ops)}


def test_a_list_reached_by_three_paths_is_expanded_once_and_placed_at_its_shallowest() -> None:
    shared = dl("shared@x.com", "Shared")
    r1, r2, mid = dl("r1@x.com", "R1"), dl("r2@x.com", "R2"), dl("mid@x.com", "Mid")
    directory = FakeDirectory({
        r1: [mid], mid: [shared], r2: [shared, ANN], shared: [BOB, CAT],
    })
    report = count(directory, r1, r2, shared)
    assert directory.expand_calls()[shared.key] == 1
    assert report["total"] == 3
    assert report["entries"] == 3  # Shared's two members counted once, plus Ann
    # Shared is a top-level entry, so its first (shallowest) occurrence is the third root.
    assert node(report, "Shared")["depth"] == 1
    assert node(report, "Shared")["status"] == "expanded"
    repeat = node(report, "R2", "Shared")
    assert repeat["repeat_of"] == ["Shared"]
    assert repeat["children"] == [] and repeat["unique_members"] == 2
    assert node(report, "R1", "Mid", "Shared")["repeat_of"] == ["Shared"]
    assert node(report, "R1")["unique_members"] == 2


def test_two_lists_holding_each_other_are_a_cycle_expanded_once_each() -> None:
    a, b = dl("a@x.com", "A"), dl("b@x.com", "B")
    directory = FakeDirectory({a: [ANN, b], b: [BOB, a]})
    report = count(directory, a)
    assert report["total"] == 2
    assert directory.expand_calls() == {a.key: 1, b.key: 1}
    loop = node(report, "A", "B", "A")
    assert loop["status"] == "cycle" and loop["children"] == []
    finding = the(report, "cycle")
    assert finding["path"] == ["A", "B", "A"]
    assert finding["loop"] == ["A", "B", "A"]
    assert set(finding["addresses"]) == {"a@x.com", "b@x.com"}
    assert report["complete"] is True
    assert node(report, "A")["unique_members"] == node(report, "A", "B")["unique_members"] == 2


def test_a_list_containing_itself_is_a_cycle() -> None:
    a = dl("a@x.com", "A")
    directory = FakeDirectory({a: [ANN, a]})
    report = count(directory, a)
    assert report["total"] == 1 and report["entries"] == 1
    assert "A contains itself" in the(report, "cycle")["message"]
    assert node(report, "A", "A")["status"] == "cycle"


def test_a_loop_met_only_through_repeats_is_still_reported() -> None:
    root, a, b = dl("r@x.com", "R"), dl("a@x.com", "A"), dl("b@x.com", "B")
    directory = FakeDirectory({root: [a, b], a: [ANN, b], b: [BOB, a]})
    report = count(directory, root)
    assert node(report, "R", "A", "B")["repeat_of"] == ["R", "B"]
    assert the(report, "cycle")["loop"] == ["A", "B", "A"]
    assert report["total"] == 2


def test_lists_nested_deeper_than_the_limit_are_counted_and_flagged() -> None:
    chain = [dl(f"l{i}@x.com", f"L{i}") for i in range(1, 6)]
    lists = {chain[i]: [person(f"p{i}@x.com"), chain[i + 1]] for i in range(4)}
    lists[chain[4]] = [person("p4@x.com")]
    report = count(FakeDirectory(lists), chain[0], settings=Settings(max_nesting=3))
    assert report["total"] == 5
    assert report["max_depth"] == 5
    finding = the(report, "nested_too_deep")
    assert finding["addresses"] == ["l4@x.com", "l5@x.com"]
    assert finding["depth"] == 5 and finding["path"] == ["L1", "L2", "L3", "L4", "L5"]
    assert report["complete"] is True


def test_a_truncated_list_makes_the_count_incomplete() -> None:
    big = dl("big@x.com", "Big")
    members = [person(f"p{i}@x.com") for i in range(10)]
    directory = FakeDirectory({big: members}, truncated={big: 10})
    report = count(directory, big)
    assert report["total"] == 5
    assert report["complete"] is False
    assert node(report, "Big")["status"] == "truncated"
    assert "only 5 of its 10 members" in the(report, "truncated")["message"]


def test_unknown_and_ambiguous_recipients_are_undeliverable() -> None:
    directory = FakeDirectory(
        people=[ANN], ambiguous={"Chris": [person("chris.a@x.com"), person("chris.b@x.com")]}
    )
    report = count(directory, "Nobody Atall", "Chris", ANN)
    assert report["total"] == 1
    assert report["undeliverable"] == 2
    assert_identity(report)
    assert the(report, "unresolved")["path"] == ["Nobody Atall"]
    ambiguous = the(report, "ambiguous")
    assert ambiguous["addresses"] == ["chris.a@x.com", "chris.b@x.com"]
    assert "pick one" in ambiguous["message"]
    assert report["complete"] is True


def test_x500_members_are_mapped_once_and_deduplicated_against_smtp_members() -> None:
    dn = "/o=X/ou=Exchange Administrative Group/cn=Recipients/cn=ann"
    gone = "/o=X/ou=Exchange Administrative Group/cn=Recipients/cn=gone"
    a, b = dl("a@x.com", "A"), dl("b@x.com", "B")
    directory = FakeDirectory(
        {a: [ex(dn), ex(gone, "Gone"), BOB], b: [ANN, ex(dn.upper())]},
        legacy={dn: "Ann@X.com", gone: None},
    )
    report = count(directory, a, b)
    assert report["total"] == 2  # ann (three times) and bob
    assert report["duplicates"] == 2 and report["undeliverable"] == 1
    assert_identity(report)
    smtp_calls = {t: n for (op, t), n in directory.calls.items() if op == "smtp"}
    assert smtp_calls == {dn: 1, gone: 1}  # the upper-case DN is the same DN
    unresolved = the(report, "unresolved")
    assert unresolved["addresses"] == [gone] and unresolved["path"] == ["A"]
    assert report["requests"] == 2 + 2 + 2  # resolves, expands, DN lookups
    assert report["complete"] is True


def test_deleted_contacts_are_counted_at_their_stored_address_and_flagged() -> None:
    marketing = contact_group("AAMk-mkt", "Marketing Team")
    directory = FakeDirectory({marketing: [
        contact("ann@x.com", "Ann", MemberStatus.DEMOTED),
        contact("zed@x.com", "Zed", MemberStatus.DEMOTED),
        contact(None, "Broken", MemberStatus.UNRECOGNIZED),
        contact("junk@x.com", "Junk", MemberStatus.UNRECOGNIZED),
        BOB,
    ]})
    report = count(directory, marketing)
    assert report["total"] == 3
    assert report["undeliverable"] == 2
    assert_identity(report)
    deleted = the(report, "deleted_contact")
    assert deleted["severity"] == "warning"
    assert deleted["addresses"] == ["ann@x.com", "zed@x.com"]
    assert deleted["message"].startswith("Marketing Team contains 2 contacts whose cards were")
    invalid = the(report, "invalid_member")
    assert "Broken" in invalid["message"] and invalid["path"] == ["Marketing Team"]


def test_a_single_deleted_contact_reads_naturally() -> None:
    marketing = contact_group("AAMk-mkt", "Marketing Team")
    directory = FakeDirectory({marketing: [contact("ann@x.com", "Ann", MemberStatus.DEMOTED)]})
    message = the(count(directory, marketing), "deleted_contact")["message"]
    assert message == (
        "Marketing Team contains a contact whose contact card was deleted; it is still counted "
        "at the stored address ann@x.com."
    )


def test_external_recipients_are_reported_only_when_internal_domains_are_set() -> None:
    team = dl("team@x.com", "Team")
    directory = FakeDirectory({team: [ANN, person("a@partner.org"), person("b@eu.x.com")]})
    report = count(directory, team, settings=Settings(internal_domains=("x.com",)))
    external = the(report, "external")
    assert external["count"] == 1 and external["addresses"] == ["a@partner.org"]
    assert "external" not in codes(count(directory, team))


def test_expected_count_difference_is_broken_down_by_cause() -> None:
    team, big = dl("team@x.com", "Team"), dl("big@x.com", "Big")
    directory = FakeDirectory(
        {team: [ANN, ANN, contact("old@x.com", "Old", MemberStatus.DEMOTED), big],
         big: [BOB, CAT, DAN, person("eve@x.com")]},
        truncated={big: 4},
    )
    report = count(directory, team, "Ghost", expected=10)
    assert report["total"] == 4  # ann, old, and two of big's four
    assert report["difference"] == -6
    mismatch = the(report, "count_mismatch")
    assert mismatch["breakdown"] == {
        "duplicates": 1, "undeliverable": 1, "deleted_contacts": 1,
        "incomplete_lists": 1, "external": 0, "removed_from_lists": 0, "opted_out": 0,
        "not_looked_up": 0,
    }
    assert "6 fewer" in mismatch["message"] and "incomplete" in mismatch["message"]
    assert "count_mismatch" not in codes(count(directory, team, "Ghost", expected=4))


def test_a_list_the_directory_does_not_know_fails_without_retries() -> None:
    gone = dl("gone@x.com", "Gone")
    directory = FakeDirectory(people=[gone])
    report = count(directory, gone, ANN)
    assert directory.expand_calls() == {gone.key: 1}
    assert report["complete"] is False
    failed = the(report, "expansion_failed")
    assert failed["throttled"] is False and failed["addresses"] == ["gone@x.com"]
    assert node(report, "Gone")["status"] == "failed"


def test_an_adapter_bug_costs_one_list_not_the_count() -> None:
    broken, fine = dl("broken@x.com", "Broken"), dl("fine@x.com", "Fine")
    directory = FakeDirectory({broken: [ANN], fine: [BOB]})
    directory.fail(broken.key, RuntimeError("boom"))  # type: ignore[arg-type]
    report = count(directory, broken, fine)
    assert report["total"] == 1 and report["complete"] is False
    assert node(report, "Broken")["status"] == "failed"


def test_a_directory_error_resolving_a_recipient_makes_the_count_incomplete() -> None:
    directory = FakeDirectory(people=[ANN])
    directory.fail("Ann", DirectoryError("server_error", "ErrorInternalServerError"))
    report = count(directory, "Ann")
    assert report["complete"] is False and report["undeliverable"] == 0
    assert report["not_looked_up"] == 1 and report["entries"] == 1
    assert "ErrorInternalServerError" in the(report, "expansion_failed")["message"]
