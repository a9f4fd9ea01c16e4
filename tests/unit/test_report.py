"""The pure report builder, fed by hand: no engine, no threads."""

from __future__ import annotations

import json
from typing import Any

from rollcall.core.entries import dn_key
from rollcall.core.model import (
    CountRequest,
    Expansion,
    Recipient,
    Resolution,
    Throttled,
)
from rollcall.core.report import build_report
from rollcall.core.report_types import FindingCode
from rollcall.core.tree import Outcome

from .fakes import dl, ex, person
from .helpers import assert_identity, node, the

ANN, BOB = person("ann@x.com"), person("bob@x.com")
TEAM, SUB = dl("team@x.com", "Team"), dl("sub@x.com", "Sub")


def request(*names: str, expected: int | None = None) -> CountRequest:
    return CountRequest([Recipient(n) for n in names], expected=expected)


def test_a_list_without_an_outcome_is_pending_and_the_count_incomplete() -> None:
    report = build_report(
        request("Team"),
        [Resolution("Team", TEAM)],
        {TEAM.key: Outcome(Expansion((ANN, SUB)))},
        {},
    ).to_json()
    assert report["pending"] == ["sub@x.com"]
    assert report["complete"] is False
    assert report["total"] == 1
    assert node(report, "Team", "Sub")["status"] == "failed"
    finding = the(report, "expansion_failed")
    assert finding["path"] == ["Team"] and finding["addresses"] == ["sub@x.com"]


def test_a_recipient_not_resolved_in_time_is_not_looked_up_never_undeliverable() -> None:
    # Exchange did not answer for Bob: nobody knows whether he can be delivered to.
    report = build_report(request("Ann", "Bob"), [Resolution("Ann", ANN), None], {}, {}).to_json()
    assert (report["total"], report["complete"]) == (1, False)
    assert (report["undeliverable"], report["not_looked_up"], report["entries"]) == (0, 1, 2)
    assert "before the time limit" in the(report, "expansion_failed")["message"]
    assert_identity(report)


def test_a_count_short_of_its_expectation_names_entries_not_looked_up_not_undeliverable() -> None:
    report = build_report(request("Ann", "Bob", expected=2),
                          [Resolution("Ann", ANN), Throttled("busy", back_off=5)], {}, {})
    mismatch = report.of(FindingCode.COUNT_MISMATCH)[0]
    assert "1 entry not looked up (Exchange did not answer)" in mismatch.message
    assert "cannot be delivered" not in mismatch.message
    assert mismatch.to_json()["breakdown"]["not_looked_up"] == 1


def test_a_throttled_resolution_says_so() -> None:
    report = build_report(request("Ann"), [Throttled("busy", back_off=40)], {}, {}).to_json()
    finding = the(report, "expansion_failed")
    assert finding["throttled"] is True and "40 s" in finding["message"]


def test_an_x500_member_not_looked_up_is_unresolved_and_the_count_incomplete() -> None:
    dn = "/o=X/cn=ann"
    outcomes = {TEAM.key: Outcome(Expansion((ex(dn), BOB)))}
    missing = build_report(request("Team"), [Resolution("Team", TEAM)], outcomes, {}).to_json()
    assert missing["complete"] is False and missing["total"] == 1
    assert the(missing, "unresolved")["severity"] == "error"
    mapped = build_report(request("Team"), [Resolution("Team", TEAM)], outcomes,
                          {dn_key(dn): "ANN@x.com"}).to_json()
    assert mapped["complete"] is True and mapped["total"] == 2


def test_unique_members_counts_each_person_once_within_a_node() -> None:
    outcomes = {
        TEAM.key: Outcome(Expansion((ANN, BOB, SUB)), cached=True),
        SUB.key: Outcome(Expansion((ANN, person("cat@x.com")))),
    }
    report = build_report(request("Team"), [Resolution("Team", TEAM)], outcomes, {}).to_json()
    team = node(report, "Team")
    assert (team["direct_members"], team["unique_members"]) == (3, 3)
    assert team["status"] == "cached" and team["cached"] is True
    assert node(report, "Team", "Sub")["unique_members"] == 2
    assert report["entries"] == 4 and report["duplicates"] == 1


def test_the_report_is_deterministic_and_json() -> None:
    outcomes = {TEAM.key: Outcome(Expansion((ANN, BOB, SUB), complete=False)),
                SUB.key: Outcome(error=Throttled("busy", back_off=99))}
    resolutions = [Resolution("Team", TEAM), Resolution("Nobody", None, "unresolved")]

    def build() -> dict[str, Any]:
        return build_report(request("Team", "Nobody", expected=7), resolutions, outcomes, {},
                            requests=3, elapsed_ms=12).to_json()

    first = build()
    assert json.dumps(first) == json.dumps(build())
    assert [f["code"] for f in first["findings"]] == [
        "unresolved", "truncated", "expansion_failed", "count_mismatch",
    ]
    assert first["difference"] == -5
    assert first["findings"][-1]["breakdown"]["incomplete_lists"] == 2
    assert (first["requests"], first["elapsed_ms"]) == (3, 12)


def test_a_top_level_list_without_address_or_item_is_an_invalid_entry() -> None:
    nameless = dl("", "Nameless")
    report = build_report(request("Nameless"), [Resolution("Nameless", nameless)], {}, {}).to_json()
    assert report["tree"] == [] and report["undeliverable"] == 1
    assert the(report, "invalid_member")["path"] == ["Nameless"]
