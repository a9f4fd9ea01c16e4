"""Lists and their members: contacts, Exchange addresses and nested Rollcall lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollcall.errors import BadRequest, RollcallError
from rollcall.store import (
    AlreadyExists,
    InvalidAddress,
    ListNotFound,
    ListStore,
    MemberNotFound,
)

ME = "megan@contoso.com"


def recent(when: datetime) -> bool:
    return when.tzinfo is not None and abs(datetime.now(UTC) - when) < timedelta(minutes=1)


def test_create_list_records_owner_expected_and_its_address(store: ListStore) -> None:
    info = store.create_list("All Managers", ME, expected=42)
    assert (info.name, info.address, info.owner, info.expected) == (
        "All Managers", "list:All Managers", ME, 42,
    )
    assert recent(info.created_at) and info.created_at.utcoffset() == timedelta(0)
    assert store.get_list("list:all managers") == info
    assert store.get_list("  ALL MANAGERS ") == info


def test_list_names_are_unique_ignoring_case_and_prefix(store: ListStore) -> None:
    store.create_list("Sales", ME)
    for name in ("sales", "list:SALES", " Sales "):
        with pytest.raises(AlreadyExists) as caught:
            store.create_list(name, ME)
        assert (caught.value.code, caught.value.status) == ("already_exists", 409)


def test_bad_list_names_and_negative_expected_are_refused(store: ListStore) -> None:
    for name in ("", "   ", "list:", "tab\there"):
        with pytest.raises(BadRequest):
            store.create_list(name, ME)
    with pytest.raises(BadRequest):
        store.create_list("Fine", ME, expected=-1)
    assert store.all_lists() == []


def test_all_lists_come_sorted_by_name(store: ListStore) -> None:
    for name in ("beta", "Alpha", "gamma"):
        store.create_list(name, ME)
    assert [info.name for info in store.all_lists()] == ["Alpha", "beta", "gamma"]


def test_unknown_list_raises_list_not_found_with_its_code(store: ListStore) -> None:
    with pytest.raises(ListNotFound) as caught:
        store.get_list("nope")
    assert (caught.value.code, caught.value.status) == ("list_not_found", 404)
    assert caught.value.to_json()["error"]["code"] == "list_not_found"
    with pytest.raises(ListNotFound):
        store.add_contact("nope", "a@contoso.com", ME)
    with pytest.raises(ListNotFound):
        store.members("nope")


def test_members_of_each_kind_in_the_order_added(store: ListStore) -> None:
    store.create_list("Parent", ME)
    store.create_list("Child", ME)
    store.add_contact("Parent", "Ann.Lee@Fabrikam.com", ME, name="Ann Lee")
    store.add_exchange("Parent", "AllStaff@contoso.com", ME)
    store.add_sublist("Parent", "list:Child", ME)
    members = store.members("Parent")
    assert members.list.name == "Parent"
    assert [(m.kind, m.address, m.name) for m in members.active] == [
        ("contact", "Ann.Lee@fabrikam.com", "Ann Lee"),
        ("exchange", "AllStaff@contoso.com", ""),
        ("list", "list:Child", "Child"),
    ]
    assert all(m.added_by == ME and recent(m.added_at) for m in members.active)
    assert members.removed == ()


def test_adding_the_same_member_twice_is_idempotent(store: ListStore) -> None:
    store.create_list("L", ME)
    store.create_list("Other", ME)
    first = store.add_contact("L", "ann@contoso.com", ME)
    again = store.add_contact("L", "ANN@contoso.com", "cli:someone")
    assert again == first
    assert store.add_exchange("L", "dl@contoso.com", ME) == store.add_exchange(
        "L", "DL@Contoso.com", ME
    )
    assert store.add_sublist("L", "Other", ME) == store.add_sublist("L", "list:other", ME)
    assert len(store.members("L").active) == 3
    added = [e for e in store.audit(list_name="L") if e.action == "member.added"]
    assert len(added) == 3


def test_a_list_may_contain_itself_and_lists_may_form_cycles(store: ListStore) -> None:
    for name in ("A", "B"):
        store.create_list(name, ME)
    store.add_sublist("A", "A", ME)
    store.add_sublist("A", "B", ME)
    store.add_sublist("B", "A", ME)
    assert [m.address for m in store.members("A").active] == ["list:A", "list:B"]
    assert [m.address for m in store.members("B").active] == ["list:A"]


def test_add_contact_updates_name_and_merges_attributes(store: ListStore) -> None:
    store.create_list("L", ME)
    store.add_contact("L", "ann@contoso.com", ME, name="Ann", attributes={"dept": "Sales"})
    store.add_contact("L", "ann@contoso.com", ME, attributes={"City": "Oslo"})
    member = store.add_contact("L", "ann@contoso.com", ME, name="Ann Lee", attributes={"DEPT": ""})
    assert member.name == "Ann Lee"
    assert store.export_csv("L").splitlines() == [
        "email,name,opted_out,City", "ann@contoso.com,Ann Lee,false,Oslo",
    ]
    updates = [e for e in store.audit(email="ann@contoso.com") if e.action == "contact.updated"]
    assert [e.detail["changed"] for e in updates] == [["name", "attributes"], ["attributes"]]


def test_one_contact_is_shared_by_every_list(store: ListStore) -> None:
    store.create_list("A", ME)
    store.create_list("B", ME)
    store.add_contact("A", "ann@contoso.com", ME, name="Ann")
    store.add_contact("B", "Ann@Contoso.com", ME, name="Ann Renamed")
    assert store.members("A").active[0].name == "Ann Renamed"


@pytest.mark.parametrize("address", ["", "not an address", "a@", "@contoso.com", "a b@contoso.com"])
def test_bad_addresses_are_refused_with_bad_address(store: ListStore, address: str) -> None:
    store.create_list("L", ME)
    with pytest.raises(InvalidAddress) as caught:
        store.add_contact("L", address, ME)
    assert (caught.value.code, caught.value.status) == ("bad_address", 400)
    with pytest.raises(InvalidAddress):
        store.add_exchange("L", address, ME)


def test_bad_names_and_attributes_are_refused(store: ListStore) -> None:
    store.create_list("L", ME)
    for attributes in ({"email": "x"}, {"": "x"}, {"a": "b\x00"}, {"name": "n"}):
        with pytest.raises(BadRequest):
            store.add_contact("L", "ann@contoso.com", ME, attributes=attributes)
    with pytest.raises(BadRequest):
        store.add_contact("L", "ann@contoso.com", ME, name="line\nbreak")
    assert store.members("L").active == ()


def test_remove_ends_an_exchange_or_child_membership_softly(store: ListStore) -> None:
    store.create_list("L", ME)
    store.create_list("Child", ME)
    store.add_exchange("L", "dl@contoso.com", ME)
    store.add_sublist("L", "Child", ME)
    gone = store.remove("L", "DL@contoso.com", "cli:isaiah")
    assert (gone.action, gone.actor, gone.lists, gone.all_lists) == (
        "member.removed", "cli:isaiah", ("L",), False,
    )
    store.remove("L", "list:Child", "cli:isaiah")
    members = store.members("L")
    assert members.active == ()
    assert [(r.kind, r.address, r.removed_by) for r in members.removed] == [
        ("list", "list:Child", "cli:isaiah"),
        ("exchange", "dl@contoso.com", "cli:isaiah"),
    ]
    store.add_exchange("L", "dl@contoso.com", ME)  # back again: no longer a removal
    assert [r.kind for r in store.members("L").removed] == ["list"]


def test_removing_what_is_not_a_member_raises_member_not_found(store: ListStore) -> None:
    store.create_list("L", ME)
    store.create_list("Other", ME)
    for target in ("nobody@contoso.com", "list:Other", "Other"):
        with pytest.raises(MemberNotFound) as caught:
            store.remove("L", target, ME)
        assert isinstance(caught.value, RollcallError) and caught.value.status == 404
    with pytest.raises(ListNotFound):
        store.remove("L", "list:Missing", ME)


def test_list_creation_is_audited(store: ListStore) -> None:
    store.create_list("L", ME, expected=7)
    (event,) = store.audit(list_name="L")
    assert (event.action, event.actor, event.lists) == ("list.created", ME, ("L",))
    assert event.email is None
    assert event.detail == {"owner": ME, "expected": 7}
