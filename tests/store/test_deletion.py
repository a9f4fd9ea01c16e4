"""Deleting contacts from one list or all, restoring them, purging tracking, opting out."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rollcall.errors import BadRequest
from rollcall.store import (
    ContactDeleted,
    ContactNotFound,
    ListStore,
    MemberNotFound,
    NothingToRestore,
)

ME = "megan@contoso.com"
ADMIN = "cli:isaiah"
ANN = "ann@fabrikam.com"


@pytest.fixture
def three_lists(store: ListStore) -> ListStore:
    """Ann in A, B and C; Bob in A."""
    for name in ("A", "B", "C"):
        store.create_list(name, ME)
        store.add_contact(name, ANN, ME, name="Ann Partner", attributes={"team": "North"})
    store.add_contact("A", "bob@fabrikam.com", ME, name="Bob")
    return store


def addresses(store: ListStore, name: str) -> list[str | None]:
    return [m.address for m in store.members(name).active]


def test_delete_from_one_list_ends_only_that_membership(three_lists: ListStore) -> None:
    event = three_lists.delete_contact(ANN, ADMIN, list_name="list:B")
    assert (event.action, event.actor, event.lists, event.all_lists, event.tracking) == (
        "contact.removed_from_list", ADMIN, ("B",), False, "kept",
    )
    assert event.email == ANN
    assert addresses(three_lists, "B") == []
    assert addresses(three_lists, "A") == [ANN, "bob@fabrikam.com"]
    assert addresses(three_lists, "C") == [ANN]
    (removal,) = three_lists.members("B").removed
    assert (removal.address, removal.name, removal.removed_by, removal.lists) == (
        ANN, "Ann Partner", ADMIN, ("B",),
    )
    assert (removal.all_lists, removal.tracking, removal.removed_at) == (False, "kept", event.at)
    assert three_lists.members("A").removed == ()


def test_remove_of_a_contact_is_the_same_as_a_one_list_delete(three_lists: ListStore) -> None:
    event = three_lists.remove("C", ANN.upper(), ADMIN)
    assert (event.action, event.lists, event.email) == ("contact.removed_from_list", ("C",), ANN)
    assert [r.address for r in three_lists.members("C").removed] == [ANN]
    with pytest.raises(MemberNotFound):
        three_lists.delete_contact(ANN, ADMIN, list_name="C")


def test_delete_from_all_lists_excludes_the_contact_everywhere(three_lists: ListStore) -> None:
    event = three_lists.delete_contact(ANN, ADMIN)
    assert (event.action, event.lists, event.all_lists, event.tracking, event.email) == (
        "contact.deleted", ("A", "B", "C"), True, "kept", ANN,
    )
    for name in ("A", "B", "C"):
        assert ANN not in addresses(three_lists, name)
        (removal,) = three_lists.members(name).removed
        assert (removal.address, removal.lists, removal.all_lists, removal.removed_by) == (
            ANN, ("A", "B", "C"), True, ADMIN,
        )
    with pytest.raises(ContactDeleted) as caught:
        three_lists.add_contact("A", ANN, ME)
    assert caught.value.code == "contact_deleted" and "restore" in caught.value.message
    assert isinstance(caught.value, ContactNotFound)
    with pytest.raises(ContactDeleted):
        three_lists.delete_contact(ANN, ADMIN)


def test_delete_and_restore_are_only_soft(three_lists: ListStore) -> None:
    three_lists.delete_contact(ANN, ADMIN)
    with three_lists.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM memberships")).scalar()
        contacts = conn.execute(text("SELECT count(*) FROM contacts")).scalar()
    assert (rows, contacts) == (4, 2)


def test_restore_brings_back_the_contact_and_the_memberships_it_lost(
    three_lists: ListStore,
) -> None:
    three_lists.delete_contact(ANN, ME, list_name="C")  # earlier, separate: stays undone
    three_lists.delete_contact(ANN, ADMIN)
    event = three_lists.restore_contact(ANN, "cli:megan")
    assert (event.action, event.actor, event.lists, event.all_lists) == (
        "contact.restored", "cli:megan", ("A", "B"), True,
    )
    assert addresses(three_lists, "A") == [ANN, "bob@fabrikam.com"]
    assert addresses(three_lists, "B") == [ANN]
    assert addresses(three_lists, "C") == []
    assert three_lists.members("A").removed == three_lists.members("B").removed == ()
    assert [r.lists for r in three_lists.members("C").removed] == [("C",)]
    member = three_lists.members("A").active[0]
    assert member.name == "Ann Partner" and member.added_by == ME  # the same membership
    # A second restore undoes the delete before: the one from C.
    assert three_lists.restore_contact(ANN, ADMIN).lists == ("C",)
    assert addresses(three_lists, "C") == [ANN]
    with pytest.raises(NothingToRestore) as caught:
        three_lists.restore_contact(ANN, ADMIN)
    assert (caught.value.code, caught.value.status) == ("nothing_to_restore", 409)


def test_restore_skips_a_list_the_contact_was_added_back_to(three_lists: ListStore) -> None:
    three_lists.delete_contact(ANN, ADMIN, list_name="B")
    three_lists.add_contact("B", ANN, ME)
    with pytest.raises(NothingToRestore):
        three_lists.restore_contact(ANN, ADMIN)
    assert addresses(three_lists, "B") == [ANN]


def test_restore_of_unknown_contact_raises_contact_not_found(store: ListStore) -> None:
    with pytest.raises(ContactNotFound) as caught:
        store.restore_contact("nobody@contoso.com", ADMIN)
    assert (caught.value.code, caught.value.status) == ("contact_not_found", 404)


def test_delete_needs_a_list_or_all_lists(three_lists: ListStore) -> None:
    with pytest.raises(BadRequest):
        three_lists.delete_contact(ANN, ADMIN, all_lists=False)
    with pytest.raises(BadRequest) as caught:
        three_lists.delete_contact(ANN, ADMIN, list_name="A", purge_tracking=True)
    assert caught.value.code == "purge_needs_all_lists"
    with pytest.raises(ContactNotFound):
        three_lists.delete_contact("nobody@contoso.com", ADMIN)


def test_purge_erases_personal_data_from_contact_audit_and_snapshots(
    three_lists: ListStore,
) -> None:
    three_lists.set_opt_out(ANN, True, ANN)  # the contact acted itself: it is the actor
    three_lists.save_snapshot("list:A", 2, [ANN, "bob@fabrikam.com"])
    event = three_lists.delete_contact(ANN, ADMIN, purge_tracking=True)
    assert (event.action, event.actor, event.tracking, event.email) == (
        "contact.deleted", ADMIN, "purged", None,
    )
    pseudonym = event.pseudonym
    assert pseudonym is not None and pseudonym.startswith("purged-contact-")
    history = [e for e in three_lists.audit(limit=1000) if e.pseudonym == pseudonym]
    assert {e.action for e in history} == {"member.added", "contact.opted_out", "contact.deleted"}
    assert all(e.email is None and e.tracking == "purged" for e in history)
    opted = next(e for e in history if e.action == "contact.opted_out")
    assert opted.actor == pseudonym
    removal = three_lists.members("B").removed[0]
    assert (removal.address, removal.name, removal.tracking, removal.removed_by) == (
        None, "", "purged", ADMIN,
    )
    snapshot = three_lists.previous_snapshot("list:A")
    assert snapshot is not None and snapshot.addresses == {pseudonym, "bob@fabrikam.com"}
    with three_lists.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("contacts", "audit_events", "memberships")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert "fabrikam.com" in dump  # Bob is still there ...
    assert "ann@" not in dump.lower() and "Ann Partner" not in dump and "North" not in dump
    with pytest.raises(ContactNotFound):
        three_lists.restore_contact(ANN, ADMIN)
    assert three_lists.audit(email=ANN) == []


def test_a_purged_address_can_come_back_as_a_new_contact(three_lists: ListStore) -> None:
    three_lists.delete_contact(ANN, ADMIN, purge_tracking=True)
    three_lists.add_contact("A", ANN, ME, name="Ann Again")
    assert ANN in addresses(three_lists, "A")
    assert [e.action for e in three_lists.audit(email=ANN)] == ["member.added"]


def test_purging_an_already_deleted_contact_records_who_purged(three_lists: ListStore) -> None:
    deleted = three_lists.delete_contact(ANN, ADMIN)
    purged = three_lists.delete_contact(ANN, "cli:dpo", purge_tracking=True)
    assert (purged.action, purged.actor, purged.tracking, purged.all_lists) == (
        "contact.purged", "cli:dpo", "purged", True,
    )
    assert purged.at >= deleted.at
    removal = three_lists.members("A").removed[0]
    assert (removal.address, removal.tracking, removal.removed_by) == (None, "purged", ADMIN)


def test_opt_out_and_back_in_is_audited_and_shown_on_members(three_lists: ListStore) -> None:
    out = three_lists.set_opt_out(ANN.upper(), True, ADMIN)
    assert (out.action, out.lists, out.email, out.detail) == (
        "contact.opted_out", ("A", "B", "C"), ANN, {"changed": True},
    )
    assert [m.opted_out for m in three_lists.members("A").active] == [True, False]
    assert "true" in three_lists.export_csv("B").splitlines()[1]
    again = three_lists.set_opt_out(ANN, True, ADMIN)
    assert again.detail == {"changed": False}
    back = three_lists.set_opt_out(ANN, False, ADMIN)
    assert back.action == "contact.opted_in"
    assert not three_lists.members("A").active[0].opted_out
    with pytest.raises(ContactNotFound):
        three_lists.set_opt_out("nobody@contoso.com", True, ADMIN)


def test_audit_filters_by_contact_and_list_newest_first(three_lists: ListStore) -> None:
    three_lists.delete_contact(ANN, ADMIN, list_name="B")
    three_lists.delete_contact("bob@fabrikam.com", ADMIN)
    ann = three_lists.audit(email=ANN)
    assert [e.action for e in ann] == ["contact.removed_from_list"] + ["member.added"] * 3
    assert [e.id for e in ann] == sorted((e.id for e in ann), reverse=True)
    on_b = three_lists.audit(list_name="list:b")
    assert [e.action for e in on_b] == ["contact.removed_from_list", "member.added", "list.created"]
    assert [e.action for e in three_lists.audit(email=ANN, list_name="A")] == ["member.added"]
    assert len(three_lists.audit(limit=2)) == 2
    bob = three_lists.audit(email="bob@fabrikam.com")[0]
    assert (bob.action, bob.lists, bob.all_lists) == ("contact.deleted", ("A",), True)
    assert three_lists.audit(email="nobody@contoso.com") == []
