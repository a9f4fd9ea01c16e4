"""Owners and shares in the store, on SQLite and PostgreSQL: every list and contact operation
checks who acts, in the same transaction as the change."""

from __future__ import annotations

import pytest

from rollcall.store import ListStore, NothingToRestore
from rollcall.store.access import NotYourList, Principal
from rollcall.store.sharing import ShareNotFound

MEGAN, ALEX, LEE = "megan@contoso.com", "alex@contoso.com", "lee@contoso.com"
SALES = "0a0a0a0a-sales"
megan, alex, lee = (Principal.person(m) for m in (MEGAN, ALEX, LEE))
admin = Principal.person("isaiah@contoso.com", admin=True)


def refused(call, *args, **kwargs) -> NotYourList:
    with pytest.raises(NotYourList) as caught:
        call(*args, **kwargs)
    assert (caught.value.status, caught.value.code) == (403, "not_your_list")
    return caught.value


@pytest.fixture
def board(store: ListStore) -> ListStore:
    """Megan's list Board with two contacts, and Alex's list Crew sharing one of them."""
    store.create_list("Board", MEGAN)
    store.add_contact("Board", "ann@fabrikam.com", MEGAN, who=megan)
    store.add_contact("Board", "bob@fabrikam.com", MEGAN, who=megan)
    store.create_list("Crew", ALEX)
    store.add_contact("Crew", "ann@fabrikam.com", ALEX, who=alex)
    return store


def active(store: ListStore, name: str) -> list[str | None]:
    return [m.address for m in store.members(name).active]


def test_a_stranger_can_neither_read_nor_change_a_list(board: ListStore) -> None:
    for call, args in ((board.get_list, ("Board",)), (board.members, ("Board",)),
                       (board.export_csv, ("Board",))):
        refused(call, *args, who=alex)
    refused(board.add_contact, "Board", "eve@evil.example", ALEX, who=alex)
    refused(board.add_exchange, "Board", "all@contoso.com", ALEX, who=alex)
    refused(board.remove, "Board", "ann@fabrikam.com", ALEX, who=alex)
    refused(board.delete_contact, "bob@fabrikam.com", ALEX, list_name="Board", who=alex)
    refused(board.import_csv, "Board", b"email\neve@evil.example\n", ALEX, who=alex)
    refused(board.audit, list_name="Board", who=alex)
    refused(board.shares, "Board", who=alex)
    refused(board.share, "Board", "person", ALEX, "editor", ALEX, who=alex)
    refused(board.hand_over, "Board", ALEX, ALEX, who=alex)
    assert active(board, "Board") == ["ann@fabrikam.com", "bob@fabrikam.com"]
    assert [i.name for i in board.all_lists(who=alex)] == ["Crew"]


def test_a_viewer_reads_and_exports_but_cannot_change(board: ListStore) -> None:
    board.share("Board", "person", "Alex@Contoso.com", "viewer", MEGAN, who=megan)
    assert [m.address for m in board.members("Board", who=alex).active] == [
        "ann@fabrikam.com", "bob@fabrikam.com"]
    assert "bob@fabrikam.com" in board.export_csv("Board", who=alex)
    assert board.audit(list_name="Board", who=alex)
    error = refused(board.add_contact, "Board", "eve@evil.example", ALEX, who=alex)
    assert "read only" in error.message
    refused(board.remove, "Board", "bob@fabrikam.com", ALEX, who=alex)
    refused(board.import_csv, "Board", b"email\neve@evil.example\n", ALEX, who=alex)
    refused(board.share, "Board", "person", LEE, "viewer", ALEX, who=alex)
    assert [i.name for i in board.all_lists(who=alex)] == ["Board", "Crew"]


def test_an_editor_changes_but_cannot_share_hand_over_or_purge(board: ListStore) -> None:
    board.share("Board", "person", ALEX, "editor", MEGAN, who=megan)
    board.add_contact("Board", "cat@fabrikam.com", ALEX, who=alex)
    board.remove("Board", "bob@fabrikam.com", ALEX, who=alex)
    board.import_csv("Board", b"email\ndan@fabrikam.com\n", ALEX, who=alex)
    assert active(board, "Board") == ["ann@fabrikam.com", "cat@fabrikam.com", "dan@fabrikam.com"]
    refused(board.share, "Board", "person", LEE, "viewer", ALEX, who=alex)
    refused(board.unshare, "Board", "person", ALEX, ALEX, who=alex)
    refused(board.hand_over, "Board", ALEX, ALEX, who=alex)
    refused(board.delete_contact, "ann@fabrikam.com", ALEX, purge_tracking=True, who=alex)
    assert board.members("Board").active[0].address == "ann@fabrikam.com"  # nothing purged


def test_a_group_share_works_for_whoever_carries_the_group(board: ListStore) -> None:
    board.share("Board", "group", "0A0A0A0A-SALES", "editor", MEGAN, who=megan)
    in_sales = Principal.person(LEE, [SALES])
    board.add_contact("Board", "cat@fabrikam.com", LEE, who=in_sales)
    refused(board.members, "Board", who=lee)  # the same person without the group
    assert [i.name for i in board.all_lists(who=in_sales)] == ["Board"]
    [share] = board.shares("Board", who=megan)
    assert (share.kind, share.principal, share.role, share.added_by) == (
        "group", SALES, "editor", MEGAN)


def test_sharing_again_changes_the_role_and_unsharing_ends_it(board: ListStore) -> None:
    board.share("Board", "person", ALEX, "editor", MEGAN, who=megan)
    board.share("Board", "person", ALEX, "viewer", MEGAN, who=megan)
    refused(board.add_contact, "Board", "cat@fabrikam.com", ALEX, who=alex)
    board.unshare("Board", "person", ALEX, MEGAN, who=megan)
    refused(board.members, "Board", who=alex)
    with pytest.raises(ShareNotFound):
        board.unshare("Board", "person", ALEX, MEGAN, who=megan)
    actions = [e.action for e in board.audit(list_name="Board", who=megan)][:3]
    assert actions == ["list.unshared", "list.shared", "list.shared"]


def test_the_owner_hands_a_list_over_and_loses_it(board: ListStore) -> None:
    info = board.hand_over("Board", "Alex@Contoso.com", MEGAN, who=megan)
    assert info.owner == ALEX
    board.add_contact("Board", "cat@fabrikam.com", ALEX, who=alex)
    refused(board.members, "Board", who=megan)
    assert board.hand_over("Board", MEGAN, "isaiah@contoso.com", who=admin).owner == MEGAN


def test_administrators_see_and_do_everything(board: ListStore) -> None:
    assert [i.name for i in board.all_lists(who=admin)] == ["Board", "Crew"]
    board.add_contact("Board", "cat@fabrikam.com", "isaiah@contoso.com", who=admin)
    assert len(board.audit(who=admin)) == len(board.audit())


def test_deleting_from_all_lists_touches_only_the_lists_the_caller_may_edit(
        board: ListStore) -> None:
    event = board.delete_contact("ann@fabrikam.com", ALEX, who=alex)
    assert event.lists == ("Crew",) and event.all_lists
    assert active(board, "Crew") == []
    assert active(board, "Board") == ["ann@fabrikam.com", "bob@fabrikam.com"]
    # Still in Megan's list, so not deleted as a contact: Megan can keep changing it.
    board.add_contact("Board", "ann@fabrikam.com", MEGAN, "Ann", who=megan)
    # A contact only in someone else's list: 403, nothing happens.
    error = refused(board.delete_contact, "bob@fabrikam.com", ALEX, who=alex)
    assert "bob@fabrikam.com is in no Rollcall list you may change" in error.message
    assert active(board, "Board") == ["ann@fabrikam.com", "bob@fabrikam.com"]


def test_purging_tracking_is_for_administrators(board: ListStore) -> None:
    # The reproduction: as Alex, purge a contact of Megan's list.
    refused(board.delete_contact, "bob@fabrikam.com", ALEX, purge_tracking=True, who=alex)
    refused(board.delete_contact, "bob@fabrikam.com", MEGAN, purge_tracking=True, who=megan)
    assert active(board, "Board") == ["ann@fabrikam.com", "bob@fabrikam.com"]
    event = board.delete_contact("bob@fabrikam.com", "isaiah@contoso.com", purge_tracking=True,
                                 who=admin)
    assert event.tracking == "purged" and event.lists == ("Board",)


def test_a_restore_brings_back_only_what_the_caller_may_edit(board: ListStore) -> None:
    board.delete_contact("ann@fabrikam.com", "isaiah@contoso.com", who=admin)  # both lists
    assert active(board, "Board") == ["bob@fabrikam.com"] and active(board, "Crew") == []
    refused(board.restore_contact, "ann@fabrikam.com", LEE, who=lee)
    event = board.restore_contact("ann@fabrikam.com", ALEX, who=alex)
    assert event.lists == ("Crew",)
    assert active(board, "Crew") == ["ann@fabrikam.com"]
    assert active(board, "Board") == ["bob@fabrikam.com"]  # Megan's is hers to restore
    assert board.restore_contact("ann@fabrikam.com", MEGAN, who=megan).lists == ("Board",)
    assert active(board, "Board") == ["ann@fabrikam.com", "bob@fabrikam.com"]
    with pytest.raises(NothingToRestore):
        board.restore_contact("ann@fabrikam.com", MEGAN, who=megan)


def test_a_removal_from_someone_elses_list_is_theirs_to_undo(board: ListStore) -> None:
    board.delete_contact("bob@fabrikam.com", MEGAN, list_name="Board", who=megan)
    refused(board.restore_contact, "bob@fabrikam.com", ALEX, who=alex)
    assert board.restore_contact("bob@fabrikam.com", MEGAN, who=megan).lists == ("Board",)


def test_opting_out_needs_an_editable_list_holding_the_contact(board: ListStore) -> None:
    refused(board.set_opt_out, "bob@fabrikam.com", True, ALEX, who=alex)
    assert not board.members("Board").active[1].opted_out
    event = board.set_opt_out("ann@fabrikam.com", True, ALEX, who=alex)  # in Alex's Crew
    assert board.members("Board").active[0].opted_out  # one unsubscribe, every list
    assert event.lists == ("Crew",)  # but Alex is not told which other lists hold Ann
    assert board.audit(email="ann@fabrikam.com", who=megan)[0].lists == ("Board",)


def test_the_audit_trail_shows_only_events_about_lists_the_caller_may_see(
        board: ListStore) -> None:
    board.delete_contact("ann@fabrikam.com", "isaiah@contoso.com", who=admin)
    theirs = board.audit(who=alex)
    assert theirs and all(e.lists for e in theirs)
    assert {n for e in theirs for n in e.lists} == {"Crew"}  # Board's name is not shown
    [deletion] = [e for e in theirs if e.action == "contact.deleted"]
    assert deletion.lists == ("Crew",)
    assert {n for e in board.audit(who=megan) for n in e.lists} == {"Board"}
    assert {n for e in board.audit() for n in e.lists} == {"Board", "Crew"}
    # A removal shown in a list names only the lists its reader may see.
    [removal] = board.members("Crew", who=alex).removed
    assert removal.lists == ("Crew",) and removal.all_lists
    assert set(board.members("Crew", who=admin).removed[0].lists) == {"Board", "Crew"}


def test_importing_makes_a_new_list_the_callers_and_never_enters_anothers(
        board: ListStore) -> None:
    board.import_csv("Fresh", b"email\ncat@fabrikam.com\n", LEE, who=lee)
    assert board.get_list("Fresh", who=lee).owner == LEE
    refused(board.import_csv, "Board", b"email\ncat@fabrikam.com\n", LEE, who=lee)
    assert "cat@fabrikam.com" not in active(board, "Board")


def test_nesting_needs_editing_the_list_and_seeing_the_one_nested(board: ListStore) -> None:
    refused(board.add_sublist, "Crew", "Board", ALEX, who=alex)
    board.share("Board", "person", ALEX, "viewer", MEGAN, who=megan)
    refused(board.add_sublist, "Board", "Crew", ALEX, who=alex)
    board.add_sublist("Crew", "Board", ALEX, who=alex)
    assert [m.kind for m in board.members("Crew", who=alex).active] == ["contact", "list"]


def test_a_nested_list_is_reached_while_the_including_lists_owner_may_see_it(
        board: ListStore) -> None:
    board.share("Board", "person", ALEX, "viewer", MEGAN, who=megan)
    board.add_sublist("Crew", "Board", ALEX, who=alex)
    board.share("Crew", "person", LEE, "viewer", ALEX, who=alex)
    # Lee may see Crew only; Board is reached through Alex, who may see it.
    assert board.expansion("Crew", lee)[1] == {"Board"}
    board.unshare("Board", "person", ALEX, MEGAN, who=megan)
    assert board.expansion("Crew", lee)[1] == frozenset()
    assert board.expansion("Crew", alex)[1] == frozenset()
    assert board.expansion("Crew", megan)[1] == {"Board"}  # Megan may see her own
    assert board.expansion("Crew", None)[1] == {"Board"}
