"""The demo organisation and the synthetic generator: both load, and have the promised shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ews_simulator import org
from ews_simulator.demo import DEMO_PASSWORD, DEMO_USERS, demo_document
from ews_simulator.generate import GenerateError, generate

# --- helpers over a loaded organisation --------------------------------------------------------


def obj(o: org.Organisation, address: str) -> org.DirectoryObject:
    found = o.find(address)
    assert found is not None, address
    return found


def longest_chain(o: org.Organisation, address: str) -> int:
    """Lists on the longest nesting chain from this list (itself included); cycles cut off."""

    def walk(dl: org.DirectoryObject, path: set[str]) -> int:
        inner = [m for m in o.direct_members(dl) if m.is_list and m.address not in path]
        return 1 + max((walk(m, path | {m.address}) for m in inner), default=0)

    return walk(obj(o, address), {obj(o, address).address})


def bfs_depths(o: org.Organisation, address: str) -> dict[str, int]:
    """Each reachable list's nesting depth from this one (itself 1), expanding every list once."""
    start = obj(o, address)
    depths = {start.address: 1}
    queue = deque([start])
    while queue:
        dl = queue.popleft()
        for m in o.direct_members(dl):
            if m.is_list and m.address not in depths:
                depths[m.address] = depths[dl.address] + 1
                queue.append(m)
    return depths


def reach(o: org.Organisation, address: str, limit: int | None = None) -> set[str]:
    """Addresses of the non-list recipients a list reaches, expanding lists up to `limit` deep."""
    seen: set[str] = set()
    found: set[str] = set()
    stack = [(obj(o, address), 1)]
    while stack:
        dl, level = stack.pop()
        if dl.address in seen:
            continue
        seen.add(dl.address)
        for m in o.direct_members(dl):
            if not m.is_list:
                found.add(m.address)
            elif limit is None or level < limit:
                stack.append((m, level + 1))
    return found


def members_of(o: org.Organisation, address: str) -> list[str]:
    return list(obj(o, address).members)


# --- the demo ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> org.Organisation:
    return org.load(demo_document())


def a(local: str) -> str:
    return f"{local}@contoso.com"


def test_demo_size_and_users(demo: org.Organisation) -> None:
    assert 450 <= len(demo.mailboxes) <= 550
    assert demo.domain == "contoso.com"
    for address, name, password, _role in DEMO_USERS:
        mbx = demo.mailboxes[address]
        assert (mbx.obj.name, mbx.password) == (name, password)
    assert all(m.password == DEMO_PASSWORD for m in demo.mailboxes.values())
    assert demo.mailboxes[a("svc-rollcall")].can_impersonate
    assert [m.address for m in demo.mailboxes.values() if m.can_impersonate] == [a("svc-rollcall")]
    megan = demo.mailboxes[a("megan")].obj
    assert megan.attributes["department"] == "Communications"
    assert megan.attributes["team"] == "Internal Communications"
    people = [m.obj for m in demo.mailboxes.values()]
    for p in people:
        assert {"department", "division", "office", "title"} <= set(p.attributes), p.address


def test_demo_proxy_lookup(demo: org.Organisation) -> None:
    assert obj(demo, "megan.bowen@contoso.com").address == a("megan")
    assert obj(demo, "AWilber@Contoso.com").address == a("alex")
    # A list member given by proxy is stored by primary address.
    assert a("alex") in members_of(demo, "project-phoenix@contoso.com")


def test_allstaff_is_built_from_divisions_departments_teams(demo: org.Organisation) -> None:
    divisions = members_of(demo, a("allstaff"))
    assert divisions and all(d.startswith("div-") for d in divisions)
    for d in divisions:
        departments = members_of(demo, d)
        assert departments and all(x.startswith("dept-") for x in departments)
        for dept in departments:
            teams = members_of(demo, dept)
            assert teams and all(t.startswith("team-") for t in teams)
    # allstaff reaches every visible person: everybody but the service account and hidden ones.
    everyone = {m.address for m in demo.mailboxes.values() if not m.obj.hidden}
    assert reach(demo, a("allstaff")) == everyone - {a("svc-rollcall")}
    assert len(everyone) - 1 == 495
    assert demo.find(a("allstaff")).metrics[0] != 495  # stale metrics


def test_five_deep_chain(demo: org.Organisation) -> None:
    chain = [
        "allstaff",
        "div-engineering",
        "dept-platform",
        "team-platform-core",
        "squad-platform-oncall",
    ]
    for outer, inner in zip(chain, chain[1:], strict=False):
        assert a(inner) in members_of(demo, a(outer))
    assert longest_chain(demo, a("allstaff")) == 5
    # A nesting limit of 3 (or 4) loses people who are only in the squad.
    full = reach(demo, a("allstaff"))
    assert len(reach(demo, a("allstaff"), limit=4)) == len(full) - 3
    assert len(reach(demo, a("allstaff"), limit=3)) < len(full) - 3


def test_cycle_between_leadership_and_managers(demo: org.Organisation) -> None:
    assert a("managers") in members_of(demo, a("leadership"))
    assert a("leadership") in members_of(demo, a("managers"))
    assert {a("leadership"), a("managers")} <= set(bfs_depths(demo, a("town-hall")))
    assert reach(demo, a("leadership")) == reach(demo, a("managers"))
    assert a("patti") in reach(demo, a("managers"))


def test_duplicates_across_lists(demo: org.Organisation) -> None:
    phoenix = members_of(demo, a("project-phoenix"))
    direct_people = {m for m in phoenix if demo.find(m).kind == org.MAILBOX}
    mobile = set(members_of(demo, a("team-product-mobile")))
    assert a("team-product-mobile") in phoenix
    assert direct_people & mobile  # in phoenix directly and through a nested team
    web = set(members_of(demo, a("team-product-web")))
    assert direct_people & web  # also in their own team


def test_partners_are_external_contacts(demo: org.Organisation) -> None:
    partners = [demo.find(m) for m in members_of(demo, a("partners"))]
    assert len(partners) >= 10
    assert all(p.kind == org.CONTACT for p in partners)
    assert all(not p.address.endswith("@contoso.com") for p in partners)
    domains = {p.address.split("@")[1] for p in partners}
    assert {"fabrikam.com", "northwind.example"} <= domains
    assert demo.find(a("partners")).metrics[0] != len(partners)


def test_dynamic_list_matches_sales(demo: org.Organisation) -> None:
    dl = obj(demo, a("sales-dynamic"))
    assert dl.dynamic_filter == {"department": "Sales"}
    matched = {m.address for m in demo.direct_members(dl)}
    sales_people = {
        m.address for m in demo.mailboxes.values() if m.obj.attributes["department"] == "Sales"
    }
    assert len(sales_people) == 69
    assert a("alex") in sales_people
    assert matched == sales_people | {"nancy.davolio@northwind.example"}  # a contact matches too


def test_other_recipient_kinds(demo: org.Organisation) -> None:
    assert obj(demo, a("m365-marketing")).kind == org.GROUP_MAILBOX
    assert a("megan") in members_of(demo, a("m365-marketing"))
    assert obj(demo, a("feedback")).kind == org.PUBLIC_FOLDER
    big = obj(demo, a("announcements-big"))
    assert big.truncate == 100 and len(big.members) == 300
    ethics = obj(demo, a("ethics"))
    assert ethics.hidden and ethics.kind == org.MAILBOX
    team = obj(demo, a("team-legal-compliance"))
    assert ethics.address in team.members
    assert ethics not in demo.direct_members(team)


def test_megans_contact_groups(demo: org.Organisation) -> None:
    megan = demo.mailboxes[a("megan")]
    alex = demo.mailboxes[a("alex")]
    champions = megan.groups["g-champions"]
    assert champions.name == "Comms Champions"
    statuses = [m.status for m in champions.members]
    assert statuses.count("Demoted") == 1 and statuses.count("Unrecognized") == 1
    by_contact = [m for m in champions.members if m.contact_id]
    assert {m.contact_id for m in by_contact} >= {"c-alex", "c-kim"}
    assert any(not m.address.endswith("@contoso.com") for m in by_contact)
    nested = [m for m in champions.members if m.group_id]
    assert [m.group_id for m in nested] == ["g-reviewers"] and "g-reviewers" in megan.groups
    addressed = [m for m in champions.members if m.address and not m.contact_id]
    kinds = {
        m.address: demo.find(m.address).kind if demo.find(m.address) else None for m in addressed
    }
    assert org.PUBLIC_DL in kinds.values()  # a nested public list
    assert org.MAILBOX in kinds.values()  # directory people by address
    contact_addresses = {c.address for c in megan.contacts.values()}
    one_offs = [x for x, k in kinds.items() if k is None and x not in contact_addresses]
    assert "jo.nakamura@gmail.example" in one_offs
    demoted = next(m for m in champions.members if m.status == "Demoted")
    assert demoted.address and demoted.address not in contact_addresses
    assert len(megan.groups) >= 2
    # Alex has his own group; neither sees the other's.
    assert set(alex.groups) == {"g-dealdesk"}
    assert not set(alex.groups) & set(megan.groups)


def test_demo_module_prints_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ews_simulator.demo"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == demo_document()


# --- the generator -------------------------------------------------------------------------------


def check_shape(doc: dict, people: int, lists: int, depth: int, overlap: float) -> org.Organisation:
    o = org.load(doc)
    root = f"all@{doc['domain']}"
    assert len(o.mailboxes) == people
    dls = [x for x in o.objects.values() if x.kind == org.PUBLIC_DL]
    assert len(dls) == lists
    assert max(bfs_depths(o, root).values()) == depth
    if depth > 1:
        assert len(bfs_depths(o, root)) == lists  # every list is under the root
    memberships = sum(1 for dl in dls for m in dl.members if m in o.mailboxes)
    assert abs(memberships / people - overlap) <= 1 / people + 1e-9
    assert reach(o, root) == set(o.mailboxes)
    # Everybody is a direct member of at least one leaf list: one holding no deeper list (a
    # back-edge to an ancestor, closing a cycle, does not count).
    depths = bfs_depths(o, root)
    leaves = [
        dl
        for dl in dls
        if not any(
            m.is_list and depths[m.address] > depths.get(dl.address, 1)
            for m in o.direct_members(dl)
        )
    ]
    in_leaves = {m for dl in leaves for m in dl.members if m in o.mailboxes}
    assert in_leaves == set(o.mailboxes)
    return o


@pytest.mark.parametrize(
    ("people", "lists", "depth", "overlap"),
    [
        (2000, 60, 4, 2.0),
        (2000, 60, 1, 1.0),
        (2000, 60, 2, 1.5),
        (500, 30, 7, 3.25),
        (300, 5, 5, 1.0),
    ],
)
def test_generator_shape(people: int, lists: int, depth: int, overlap: float) -> None:
    doc = generate(people, lists, depth, overlap, seed=11)
    o = check_shape(doc, people, lists, depth, overlap)
    if depth > 1:
        assert longest_chain(o, "all@example.com") == depth


def test_generator_cycles() -> None:
    doc = generate(1000, 50, 5, 1.5, seed=3, cycles=6)
    o = check_shape(doc, 1000, 50, 5, 1.5)
    depths = bfs_depths(o, "all@example.com")
    back_edges = [
        (dl, m)
        for dl in depths
        for m in members_of(o, dl)
        if m in depths and depths[m] <= depths[dl]
    ]
    assert len(back_edges) == 6
    for dl, ancestor in back_edges:
        assert dl in lists_reached(o, ancestor)  # a cycle
    # Every way down to a list passes its ancestors, so a back-edge never lengthens a chain.
    assert longest_chain(o, "all@example.com") == 5
    plain = org.load(generate(1000, 50, 5, 1.5, seed=3))
    assert all(
        x.address not in lists_reached(plain, x.address)
        for x in plain.objects.values()
        if x.is_list
    )


def lists_reached(o: org.Organisation, address: str) -> set[str]:
    """Lists reachable from this list through one or more nesting steps."""
    found: set[str] = set()
    stack = [obj(o, address)]
    while stack:
        for m in o.direct_members(stack.pop()):
            if m.is_list and m.address not in found:
                found.add(m.address)
                stack.append(m)
    return found


def test_generator_is_deterministic() -> None:
    one = json.dumps(generate(2000, 60, 4, 2.0, seed=5, cycles=2))
    assert one == json.dumps(generate(2000, 60, 4, 2.0, seed=5, cycles=2))
    assert one != json.dumps(generate(2000, 60, 4, 2.0, seed=6, cycles=2))


@settings(max_examples=40, deadline=None)
@given(
    people=st.integers(1, 150),
    depth=st.integers(1, 6),
    more_lists=st.integers(0, 25),
    overlap_frac=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_generator_invariants(
    people: int, depth: int, more_lists: int, overlap_frac: float, seed: int
) -> None:
    lists = depth + more_lists
    most = lists if depth == 1 else lists - 1
    overlap = 1 + overlap_frac * (min(most, 4) - 1)
    check_shape(generate(people, lists, depth, overlap, seed), people, lists, depth, overlap)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        (dict(people=0), "people"),
        (dict(depth=0), "depth"),
        (dict(lists=2, depth=3), "lists"),
        (dict(overlap=0.5), "overlap"),
        (dict(lists=3, overlap=3), "overlap"),
        (dict(cycles=-1), "cycles"),
        (dict(depth=1, cycles=1), "cycles"),
    ],
)
def test_generator_rejects_bad_values(kwargs: dict, argument: str) -> None:
    args = dict(people=10, lists=10, depth=3, overlap=1.0, seed=1) | kwargs
    cycles = args.pop("cycles", 0)
    with pytest.raises(GenerateError) as e:
        generate(**args, cycles=cycles)
    assert e.value.argument == argument


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ews_simulator.generate", *args], capture_output=True, text=True
    )


def test_cli_writes_compact_json() -> None:
    r = run_cli(
        "--people",
        "200",
        "--lists",
        "12",
        "--depth",
        "3",
        "--overlap",
        "1.5",
        "--seed",
        "9",
        "--cycles",
        "1",
    )
    assert r.returncode == 0, r.stderr
    assert "\n" not in r.stdout.strip() and ", " not in r.stdout
    doc = json.loads(r.stdout)
    assert doc == generate(200, 12, 3, 1.5, 9, cycles=1)
    check_shape(doc, 200, 12, 3, 1.5)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--depth", "0"], "--depth"),
        (["--lists", "2", "--depth", "3"], "--lists"),
        (["--overlap", "0.5"], "--overlap"),
        (["--people", "0"], "--people"),
        (["--people", "many"], "--people"),
        (["--cycles", "-2"], "--cycles"),
    ],
)
def test_cli_names_bad_argument(args: list[str], named: str) -> None:
    base = {"--people": "10", "--lists": "10", "--depth": "3"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    r = run_cli(*[x for kv in base.items() for x in kv])
    assert r.returncode == 2
    assert f"argument {named}" in r.stderr, r.stderr
    assert r.stdout == ""
