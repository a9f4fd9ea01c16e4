"""Concurrent sessions: deletes, restores, removes and adds at once stay consistent.

Each thread uses the same `ListStore` (its own pooled connection per call), as a web server's
threads do. The audit trail is then replayed: every event must have been valid at its moment
(nothing deleted that was not there, no list lost from a delete-all), and the replay must end
exactly in the stored state. Lost updates or interleaved transactions break one or the other.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from rollcall.store import (
    ContactDeleted,
    ContactNotFound,
    ListStore,
    NothingToRestore,
)

LISTS = ("A", "B", "C")
PEOPLE = tuple(f"p{n}@contoso.com" for n in range(4))
EXPECTED = (ContactDeleted, ContactNotFound, NothingToRestore)  # MemberNotFound is one too


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Start `count` threads together; re-raise the first unexpected error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    if errors:
        raise errors[0]


def replay(store: ListStore) -> tuple[set[tuple[str, str]], set[str]]:
    """Rebuild (contact, list) memberships and deleted contacts from the audit trail alone."""
    active: set[tuple[str, str]] = set()
    deleted: set[str] = set()
    for event in reversed(store.audit(limit=1_000_000)):
        who, lists = event.email or "", set(event.lists)
        if event.action == "member.added" and who:
            assert who not in deleted and (who, *lists) not in active, event
            active |= {(who, name) for name in lists}
        elif event.action == "contact.removed_from_list":
            assert {(who, name) for name in lists} <= active, event
            active -= {(who, name) for name in lists}
        elif event.action == "contact.deleted":
            assert who not in deleted, event
            assert lists == {name for person, name in active if person == who}, event
            active -= {(who, name) for name in lists}
            deleted.add(who)
        elif event.action == "contact.restored":
            assert not {(who, name) for name in lists} & active, event
            active |= {(who, name) for name in lists}
            deleted.discard(who)
    return active, deleted


def stored(
    store: ListStore, lists: tuple[str, ...] = LISTS
) -> tuple[set[tuple[str, str]], set[str]]:
    """Contact memberships and deleted contacts as stored; checks no deleted one is active."""
    active = {
        (m.address or "", name)
        for name in lists
        for m in store.members(name).active
        if m.kind == "contact"
    }
    with store.engine.connect() as conn:
        deleted = {
            row[0] for row in conn.execute(
                text("SELECT email_key FROM contacts WHERE deleted_at IS NOT NULL")
            )
        }
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM memberships m JOIN contacts c ON c.id = m.contact_id"
                " WHERE m.removed_at IS NULL AND c.deleted_at IS NOT NULL"
            )
        ).scalar()
    assert orphans == 0, "a deleted contact still has an active membership"
    return active, deleted


def churn(store: ListStore, seed: int, rounds: int) -> None:
    rng = random.Random(seed)
    actor = f"worker{seed}@contoso.com"
    for _ in range(rounds):
        person, name = rng.choice(PEOPLE), rng.choice(LISTS)
        operation = rng.choice(("add", "add", "delete", "restore", "remove"))
        try:
            if operation == "add":
                store.add_contact(name, person, actor)
            elif operation == "delete":
                store.delete_contact(person, actor)
            elif operation == "restore":
                store.restore_contact(person, actor)
            else:
                store.remove(name, person, actor)
        except EXPECTED:
            pass  # lost the race, or nothing to do: a clean refusal is a valid outcome


def _prepare(store: ListStore) -> None:
    for name in LISTS:
        store.create_list(name, "megan@contoso.com")
        for person in PEOPLE:
            store.add_contact(name, person, "megan@contoso.com")


def test_concurrent_deletes_restores_and_adds_stay_consistent_on_postgresql(
    pg_store: ListStore,
) -> None:
    _prepare(pg_store)
    run_threads(8, lambda n: churn(pg_store, n, 40))
    assert stored(pg_store) == replay(pg_store)


@pytest.mark.parametrize("threads", [4])
def test_concurrent_deletes_restores_and_adds_stay_consistent(
    store: ListStore, threads: int
) -> None:
    _prepare(store)
    run_threads(threads, lambda n: churn(store, 100 + n, 25))
    assert stored(store) == replay(store)


def test_many_sessions_adding_one_new_contact_make_one_member(store: ListStore) -> None:
    store.create_list("L", "megan@contoso.com")
    results = []
    run_threads(8, lambda n: results.append(store.add_contact("L", "new@contoso.com", f"w{n}")))
    assert len({(r.address, r.added_at) for r in results}) == 1
    assert len(store.members("L").active) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contacts")).scalar() == 1
    assert [e.action for e in store.audit(email="new@contoso.com")] == ["member.added"]


def test_concurrent_imports_and_a_delete_all_agree(store: ListStore) -> None:
    people = [f"u{n}@contoso.com" for n in range(200)]
    data = ("email\n" + "\n".join(people) + "\n").encode()
    store.create_list("Seed", "megan@contoso.com")
    store.add_contact("Seed", people[7], "megan@contoso.com")

    def work(n: int) -> None:
        if n == 0:
            store.delete_contact(people[7], "cli:isaiah")
        else:
            try:
                store.import_csv(f"L{n}", data, f"w{n}", skip_invalid=True)
            except EXPECTED:
                pass

    run_threads(5, work)
    for n in range(1, 5):
        members = {m.address for m in store.members(f"L{n}").active}
        # Either the import ran first (and the delete ended its membership) or it saw the
        # deleted contact and skipped that line: never an active deleted contact.
        assert members == set(people) - {people[7]}
    _, deleted = stored(store, tuple(f"L{n}" for n in range(1, 5)))
    assert deleted == {people[7]}
