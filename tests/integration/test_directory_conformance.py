"""One set of cases for every Directory adapter (core/model.py's port): Exchange over EWS against
its simulator, Exchange Online through Microsoft Graph against the Graph simulator (HTTPS, its
own token endpoint), and Rollcall's own lists on SQLite.

Each adapter gets the same small organisation: a list "Team" of ann@ and bob@, and nobody else;
where senders have their own contacts, the acting sender (ann@) has Bob among them too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from rollcall.core.model import (
    Directory,
    DirectoryError,
    Entry,
    Expansion,
    Kind,
    NotFound,
    Resolution,
    resolved_by_name,
)

PEOPLE = ("ann@contoso.com", "bob@contoso.com")


@dataclass
class Adapter:
    """A directory holding the team, and how that adapter spells its names."""

    directory: Directory
    team: str  # what a sender types for the team list
    unknown_list: Entry  # a list entry the directory has never heard of
    unknown_name: str  # a name nobody in it matches
    # A name the acting sender finds both in the directory and in their own contacts, with the
    # address both share; None for a directory without personal contacts.
    known_twice: tuple[str, str] | None = None


def ews(start_simulator: Callable[..., Any]) -> Adapter:
    from rollcall.directory.ews.client import EwsConnections
    from rollcall.directory.ews.settings import EwsSettings

    sim, _ = start_simulator(team_org())
    connections = EwsConnections(EwsSettings(url=sim.url, username="svc@contoso.com",
                                             password="pw"), connections=4)
    return Adapter(connections.directory("ann@contoso.com"), "team@contoso.com",
                   Entry("Gone", "gone-list@contoso.com", Kind.PUBLIC_DL),
                   "Zebedee Nobody", known_twice=("Bob", PEOPLE[1]))


def team_org() -> dict[str, Any]:
    """The team's organisation, as both simulators read it."""
    return {
        "domain": "contoso.com",
        "mailboxes": [{"address": a, "name": a.split("@")[0].title(), "password": "pw",
                       "contacts": [{"name": "Bob", "address": PEOPLE[1]}]} for a in PEOPLE]
        + [{"address": "svc@contoso.com", "name": "Service", "password": "pw",
            "can_impersonate": True}],
        "lists": [{"address": "team@contoso.com", "name": "Team", "members": list(PEOPLE)}],
    }


def graph(start_graph_simulator: Callable[..., Any]) -> Adapter:
    from rollcall.directory.graph.organisation import GraphOrganisation
    from rollcall.directory.graph.settings import GraphSettings

    sim = start_graph_simulator(team_org())
    settings = GraphSettings(client_id=sim.client_id, client_secret=sim.client_secret,
                             auth="app", url=sim.url, authority=sim.authority,
                             ca_file=str(sim.ca_file), exchange_url=sim.exchange_url)
    organisation = GraphOrganisation(settings, internal_domains=("contoso.com",))
    return Adapter(organisation.directory("ann@contoso.com"), "team@contoso.com",
                   Entry("Gone", "gone-list@contoso.com", Kind.PUBLIC_DL),
                   "Zebedee Nobody", known_twice=("Bob", PEOPLE[1]))


def own_lists() -> Adapter:
    from rollcall.directory.own_lists import OwnLists
    from rollcall.store.db import open_store

    store = open_store(None, tempfile.mkdtemp())
    store.create_list("Team", "test")
    for address in PEOPLE:
        store.add_contact("Team", address, "test")
    return Adapter(OwnLists(lambda: store), "list:Team",
                   Entry("Gone", "list:Gone", Kind.ROLLCALL_LIST), "list:Nobody")


@pytest.fixture(params=["ews", "graph", "own_lists"])
def adapter(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    if request.param == "ews":
        yield ews(request.getfixturevalue("start_simulator"))
    elif request.param == "graph":
        yield graph(request.getfixturevalue("start_graph_simulator"))
    else:
        yield own_lists()


# Adapters whose directories hold a sender's personal contacts beside the organisation's
# objects (Rollcall's own lists hold none), for the cases about finding a person twice.
WITH_CONTACTS = ["ews", "graph"]


@pytest.fixture(params=WITH_CONTACTS)
def adapter_with_contacts(request: pytest.FixtureRequest) -> Adapter:
    if request.param == "graph":
        return graph(request.getfixturevalue("start_graph_simulator"))
    return ews(request.getfixturevalue("start_simulator"))


def team_entry(adapter: Adapter) -> Entry:
    resolution = adapter.directory.resolve(adapter.team, adapter.team)
    assert isinstance(resolution, Resolution) and resolution.entry is not None, resolution
    return resolution.entry


def test_a_list_resolves_to_a_list_entry(adapter):
    entry = team_entry(adapter)
    assert entry.is_list and entry.name == "Team"


def test_expanding_a_list_gives_its_members_as_rollcalls_own_types(adapter):
    expansion = adapter.directory.expand(team_entry(adapter))
    assert isinstance(expansion, Expansion) and expansion.complete
    assert sorted((m.address or "").lower() for m in expansion.members) == list(PEOPLE)
    assert all(type(m) is Entry and not m.is_list for m in expansion.members)


def test_a_name_nobody_matches_is_unresolved_not_an_error(adapter):
    resolution = adapter.directory.resolve(adapter.unknown_name, None)
    assert resolution.entry is None and resolution.problem == "unresolved"


def test_one_address_found_twice_is_one_person_not_an_ambiguity(adapter_with_contacts):
    adapter = adapter_with_contacts
    assert adapter.known_twice is not None
    name, address = adapter.known_twice
    resolution = adapter.directory.resolve(name, None)
    assert resolution.problem is None and resolution.entry is not None, resolution
    assert (resolution.entry.address or "").lower() == address
    assert resolution.entry.item_id is None  # the directory's object, not the contact's copy


def test_a_list_the_directory_does_not_know_raises_not_found(adapter):
    with pytest.raises(NotFound) as caught:
        adapter.directory.expand(adapter.unknown_list)
    assert isinstance(caught.value, DirectoryError) and caught.value.code == "not_found"


def test_an_x500_address_nobody_has_maps_to_nobody(adapter):
    assert adapter.directory.smtp_for_legacy_dn("/o=Contoso/ou=Gone/cn=Recipients/cn=x") is None


def test_calls_from_several_threads_give_the_same_answers(adapter):
    entry = team_entry(adapter)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: adapter.directory.expand(entry), range(8)))
    assert len({tuple(sorted(m.address or "" for m in r.members)) for r in results}) == 1


def test_what_is_resolved_by_name_is_the_ports_rule():
    # Addresses, X.500 DNs and Rollcall lists mean the same for every sender; names do not.
    assert not resolved_by_name("Team", "team@contoso.com")
    assert not resolved_by_name("Ann", "/o=Contoso/cn=ann")
    assert not resolved_by_name("list:Team", None)
    assert resolved_by_name("Comms Champions", None)
    assert resolved_by_name("Comms Champions", "Comms Champions")
