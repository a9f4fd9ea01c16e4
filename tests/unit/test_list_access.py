"""Who may do what with a Rollcall list: the pure rule (store/access.py), no database."""

from __future__ import annotations

import pytest

from rollcall.store.access import (
    GROUP,
    PERSON,
    Level,
    NotYourList,
    Principal,
    Share,
    SignedIn,
    level,
    require,
    require_admin,
)
from support import Clock

MEGAN, ALEX, LEE = "megan@contoso.com", "alex@contoso.com", "lee@contoso.com"
SALES = "0a0a0a0a-sales"


def person(mailbox: str, *groups: str, admin: bool = False) -> Principal:
    return Principal.person(mailbox, groups, admin)


def test_the_owner_is_owner_and_a_stranger_is_nothing():
    assert level(MEGAN, [], person(MEGAN)) is Level.OWNER
    assert level(MEGAN, [], person("MEGAN@Contoso.com")) is Level.OWNER  # mailboxes fold case
    assert level(MEGAN, [], person(ALEX)) is Level.NONE


def test_a_person_share_gives_its_role_to_that_person_only():
    shares = [Share(ALEX, PERSON, "viewer"), Share(LEE, PERSON, "editor")]
    assert level(MEGAN, shares, person(ALEX)) is Level.VIEWER
    assert level(MEGAN, shares, person(LEE)) is Level.EDITOR
    assert level(MEGAN, shares, person("joni@contoso.com")) is Level.NONE


def test_a_group_share_applies_to_whoever_carries_the_group():
    shares = [Share(SALES, GROUP, "editor")]
    assert level(MEGAN, shares, person(ALEX, "0A0A0A0A-SALES")) is Level.EDITOR
    assert level(MEGAN, shares, person(ALEX, "another")) is Level.NONE
    # A person share naming the group's id as a mailbox is not a group share, nor vice versa.
    assert level(MEGAN, [Share(SALES, PERSON, "editor")], person(ALEX, SALES)) is Level.NONE
    assert level(MEGAN, [Share(ALEX, GROUP, "editor")], person(ALEX)) is Level.NONE


def test_the_best_of_several_shares_wins():
    shares = [Share(ALEX, PERSON, "viewer"), Share(SALES, GROUP, "editor")]
    assert level(MEGAN, shares, person(ALEX, SALES)) is Level.EDITOR
    assert level(MEGAN, shares, person(ALEX)) is Level.VIEWER


def test_administrators_reach_every_list():
    assert level(MEGAN, [], person(ALEX, admin=True)) is Level.ADMIN
    assert level("cli:isaiah", [], person(ALEX, admin=True)) is Level.ADMIN


def test_an_owner_that_is_no_mailbox_matches_nobody():
    # Lists made on the command line belong to cli:USER until handed over: administrators only.
    assert level("cli:isaiah", [], Principal("cli:isaiah", frozenset(), False, "cli:isaiah")) \
        is Level.NONE
    assert level("admin", [], Principal("admin")) is Level.NONE
    assert level(MEGAN, [], Principal(None)) is Level.NONE


def test_refusals_are_403_not_your_list_and_say_whom_to_ask():
    with pytest.raises(NotYourList) as stranger:
        require("Board", MEGAN, [], person(ALEX), Level.VIEWER)
    assert (stranger.value.status, stranger.value.code) == (403, "not_your_list")
    assert "not shared with you" in stranger.value.message and MEGAN in stranger.value.message
    with pytest.raises(NotYourList) as viewer:
        require("Board", MEGAN, [Share(ALEX, PERSON, "viewer")], person(ALEX), Level.EDITOR)
    assert "read only" in viewer.value.message
    with pytest.raises(NotYourList) as editor:
        require("Board", MEGAN, [Share(ALEX, PERSON, "editor")], person(ALEX), Level.OWNER)
    assert "share it or hand it over" in editor.value.message
    with pytest.raises(NotYourList) as unowned:
        require("Old", "cli:isaiah", [], person(ALEX), Level.VIEWER)
    assert "administrator" in unowned.value.message
    assert require("Board", MEGAN, [Share(ALEX, PERSON, "editor")], person(ALEX),
                   Level.EDITOR) is Level.EDITOR


def test_only_administrators_pass_require_admin():
    require_admin(person(ALEX, admin=True), "Purging")
    with pytest.raises(NotYourList, match="Purging is for Rollcall administrators only"):
        require_admin(person(MEGAN), "Purging")


def test_a_count_knows_a_signed_in_persons_groups_and_role_until_they_expire():
    clock = Clock(1000.0)
    signed = SignedIn(ttl_s=60, clock=clock)
    assert signed.who_is(ALEX) == person(ALEX)  # unknown: the bare mailbox, never more
    signed.remember(person(ALEX, SALES, admin=True))
    assert signed.who_is("Alex@Contoso.com") == person(ALEX, SALES, admin=True)
    signed.remember(person(ALEX))  # a newer token without the group or role replaces it
    assert signed.who_is(ALEX) == person(ALEX)
    signed.remember(person(LEE, SALES))
    clock.now += 61
    assert signed.who_is(LEE) == person(LEE)
    assert signed.who_is(None) == Principal(None)


def test_the_registry_forgets_the_oldest_past_its_size():
    signed = SignedIn(most=2)
    for who in (MEGAN, ALEX, LEE):
        signed.remember(person(who, SALES))
    assert signed.who_is(MEGAN).groups == frozenset()
    assert signed.who_is(LEE).groups == {SALES}


def test_the_command_line_counts_as_an_administrator_only_while_it_says_so():
    signed = SignedIn()
    with signed.operator():
        assert signed.who_is(None).admin and signed.who_is(MEGAN).admin
    assert not signed.who_is(None).admin and not signed.who_is(MEGAN).admin
