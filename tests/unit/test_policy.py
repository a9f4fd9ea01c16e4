"""The send-check policy on hand-built reports: each rule, the actions, the message."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rollcall.config import load_config
from rollcall.core import findings as f
from rollcall.core.model import DirectoryError, Entry, Kind, Removal, Resolution
from rollcall.core.policy import (
    ALLOW,
    BLOCK,
    DEFAULT_ACTIONS,
    MAX_MESSAGE,
    OFF,
    WARN,
    HourlyUsage,
    Policy,
    evaluate,
)
from rollcall.core.report_types import (
    CountReport,
    ExpectedSource,
    Finding,
    NodeStatus,
    TreeNode,
)


def report(total: int = 10, complete: bool = True, expected: int | None = None,
           source: str | None = None, found: tuple[Finding, ...] = (),
           tree: tuple[TreeNode, ...] = ()) -> CountReport:
    return CountReport(
        total=total, complete=complete, expected=expected,
        difference=None if expected is None else total - expected, entries=total,
        duplicates=0, undeliverable=0, lists=len(tree), max_depth=1 if tree else 0,
        requests=0, elapsed_ms=0, pending=(), tree=tree, findings=found,
        expected_source=None if source is None else ExpectedSource(source))


def mismatch(total: int, expected: int, source: str = "sender",
             complete: bool = True) -> CountReport:
    breakdown = dict.fromkeys(("duplicates", "undeliverable", "deleted_contacts",
                               "incomplete_lists", "external"), 0)
    found = (f.count_mismatch(expected, total, breakdown, complete),)
    tree = (TreeNode("list:Newsletter", "Newsletter", "rollcall_list", 1, total, total,
                     NodeStatus.EXPANDED, False),)
    return report(total, complete, expected, source, found, tree)


def only(rule: str, action: str = WARN, **numbers: Any) -> Policy:
    """A policy where just `rule` acts."""
    actions = dict.fromkeys(DEFAULT_ACTIONS, OFF)
    actions[rule] = action
    return Policy(**actions, **numbers)


def rules(verdict: Any) -> list[str]:
    return sorted({x.rule or "" for x in verdict.findings})


def test_the_configured_defaults_are_the_policy_defaults():
    assert load_config(environ={}).policy == Policy()


def test_a_clean_message_is_allowed_and_says_how_many():
    verdict = evaluate(report(3), Policy())
    assert (verdict.action, verdict.message, verdict.findings) == (
        ALLOW, "3 people will receive it.", ())


def test_unresolved_and_ambiguous_entries_are_blocked_by_default():
    chris = Resolution("Chris", None, "ambiguous", (Entry("Chris A", "a@x.com", Kind.MAILBOX),))
    found = (f.unresolved_top("Jon Smiht"), f.ambiguous_top("Chris", chris))
    verdict = evaluate(report(1, found=found), Policy())
    assert verdict.action == BLOCK and rules(verdict) == ["unresolved"]
    assert verdict.message.startswith('Nobody in the directory matches "Jon Smiht"; "Chris" '
                                      "matches more than one person: correct or remove them.")


def test_unresolved_members_inside_lists_are_not_the_senders_entries():
    found = (f.no_smtp("Team", ["/o=X/cn=gone"], ["Team"]),)
    assert evaluate(report(5, found=found), Policy()).action == ALLOW
    verdict = evaluate(report(5, found=found), only("invalid_members"))
    assert verdict.action == WARN and "Some members of Team" in verdict.message


def test_a_rule_set_off_never_fires_and_block_outranks_warn():
    found = (f.unresolved_top("Nobody"), f.cycle(["A", "B", "A"], ["a@x.com"], ["A"]))
    assert evaluate(report(5, found=found), Policy()).action == BLOCK
    off = Policy(unresolved=OFF)
    verdict = evaluate(report(5, found=found), off)
    assert verdict.action == WARN and rules(verdict) == ["cycle"]
    assert verdict.message.startswith("Lists contain each other in a loop: A → B → A")


@pytest.mark.parametrize(("total", "expected", "percent", "absolute", "fires"), [
    (14, 20, 5.0, 0, True),  # 30 % off
    (490, 500, 5.0, 0, False),  # 2 %: ordinary churn in a big list
    (10, 12, 5.0, 2, False),  # within the absolute tolerance
    (9, 12, 5.0, 2, True),
    (21, 20, 0.0, 0, True),  # more is a mismatch too
])
def test_the_mismatch_tolerance_is_the_larger_of_percent_and_absolute(
        total, expected, percent, absolute, fires):
    policy = only("mismatch", mismatch_percent=percent, mismatch_absolute=absolute)
    verdict = evaluate(mismatch(total, expected), policy)
    assert (verdict.action == WARN) is fires


def test_the_mismatch_message_says_whose_expectation_it_was():
    sender = evaluate(mismatch(14, 20), Policy())
    assert sender.message.startswith("You expected 20; it reaches 14 people (6 fewer).")
    previous = evaluate(mismatch(480, 512, "previous_count"), Policy())
    assert previous.message.startswith("Newsletter reaches 480 people; last time 512 (32 fewer).")


def test_fewer_than_expected_in_an_incomplete_count_is_the_incomplete_rule_only():
    verdict = evaluate(mismatch(400, 512, "previous_count", complete=False), Policy())
    assert rules(verdict) == ["large_audience"]
    found = (f.truncated("Big", 100, 300, "big@x.com", ["Big"]),)
    base = mismatch(400, 512, complete=False)
    incomplete = replace(base, findings=base.findings + found)
    verdict = evaluate(incomplete, Policy())
    assert "incomplete" in rules(verdict) and "mismatch" not in rules(verdict)
    assert "could not expand every list (Big), so it may reach more than 400" in verdict.message
    assert "It goes to at least 400 people, a large audience" in verdict.message


def test_deleted_contacts_still_mailed_warn_but_members_removed_from_lists_do_not():
    demoted = f.deleted_contact("Champions", ["lena@fabrikam.com"], ["Champions"])
    verdict = evaluate(report(5, found=(demoted,)), Policy())
    assert verdict.action == WARN and "lena@fabrikam.com" in verdict.message
    removal = Removal("megan@contoso.com", "2024-06-01T09:00:00+00:00", ("News",), False)
    removed = f.removed_contacts("News", [Entry("Ann", "ann@x.com", Kind.CONTACT,
                                                removal=removal)], ["News"])
    assert evaluate(report(5, found=(removed,)), Policy()).action == ALLOW


def test_external_recipients_above_the_threshold_warn():
    outside = [f"p{i}@fabrikam.com" for i in range(11)]
    found = (f.external(outside, 20),)
    verdict = evaluate(report(20, found=found), Policy())
    assert "external" in rules(verdict) and "11 recipients are outside" in verdict.message
    assert "external" not in rules(evaluate(report(20, found=found), Policy(external_max=11)))


def test_limits_count_people_and_one_fact_is_said_once():
    assert rules(evaluate(report(25), Policy())) == []
    assert rules(evaluate(report(26), Policy())) == ["large_audience"]
    verdict = evaluate(report(1001), Policy())
    assert verdict.action == BLOCK and rules(verdict) == ["per_message"]
    assert "more than the 1,000 allowed in one message" in verdict.message


def test_the_hourly_limit_says_how_long_to_wait():
    usage = HourlyUsage(2900, ((600.0, 100), (1500.0, 2800)))
    verdict = evaluate(report(150), Policy(), usage)
    assert verdict.action == BLOCK and "per_hour" in rules(verdict)
    assert "You sent to 2,900 people in the last hour; 150 more would pass your limit of 3,000 " \
           "an hour. Wait 10 minutes" in verdict.message  # the first 100 leave in 10 minutes
    assert "Wait 25 minutes" in evaluate(report(250), Policy(), usage).message
    soon = HourlyUsage(2900, ((59.0, 100), (1500.0, 2800)))
    assert "Wait 1 minute " in evaluate(report(101), Policy(), soon).message
    assert "per_hour" not in rules(evaluate(report(100), Policy(), HourlyUsage(2900)))
    assert "per_hour" not in rules(evaluate(report(100_000), Policy(), None))


def test_a_message_bigger_than_the_hourly_limit_says_so():
    verdict = evaluate(report(5000), only("per_hour", BLOCK), HourlyUsage())
    assert "more than the 3,000 you may send to in an hour" in verdict.message


def test_too_deep_nesting_is_off_by_default():
    deep = f.too_deep("All Staff", ["Squad"], ["squad@x.com"], 5, 3, ["All Staff", "Squad"])
    assert evaluate(report(5, found=(deep,)), Policy()).action == ALLOW
    verdict = evaluate(report(5, found=(deep,)), only("too_deep"))
    assert verdict.message.startswith("All Staff nests lists 5 levels deep.")


def test_the_message_fits_outlooks_500_characters_and_counts_what_it_left_out():
    long = "x" * 300
    found = [f.unresolved_top(long), f.cycle([long, long], [], [long]),
             f.deleted_contact(long, [f"{long}@x.com"], [long]),
             f.expansion_failed(long, DirectoryError("failed", "no"), "a@x.com", [long])]
    verdict = evaluate(report(5000, complete=False, found=tuple(found)), Policy(),
                       HourlyUsage(10_000))
    assert len(verdict.message) <= MAX_MESSAGE
    assert verdict.message.endswith("or ask your IT team if it must go as it is.")
    assert "more problems: see Get Recipient Count." in verdict.message
    assert verdict.message.startswith('Nobody in the directory matches "xxx')


def test_findings_say_which_rule_and_action_they_triggered():
    verdict = evaluate(report(30, found=(f.unresolved_top("Nobody"),)), Policy())
    assert [(x.rule, x.action, x.code) for x in verdict.findings] == [
        ("unresolved", BLOCK, "unresolved"), ("large_audience", WARN, "large_audience")]
    assert verdict.to_json()["action"] == BLOCK
