"""Throttling, the deadline, the concurrency bound and the expansion cache."""

from __future__ import annotations

import time

import pytest

from rollcall.core.model import DirectoryError, NotFound, Throttled
from rollcall.counting import ExpansionCache, Settings, retry_delay

from .fakes import FakeDirectory, dl, ex, person
from .helpers import assert_identity, count, node, the

ANN, BOB, CAT = (person(f"{n}@x.com") for n in ("ann", "bob", "cat"))


def test_a_short_back_off_is_honoured_and_the_retry_is_counted_as_a_request() -> None:
    team = dl("team@x.com", "Team")
    directory = FakeDirectory({team: [ANN, BOB]})
    directory.throttle(team.key, 0.05)
    started = time.monotonic()
    report = count(directory, team)
    assert time.monotonic() - started >= 0.05
    assert report["complete"] is True and report["total"] == 2
    assert directory.expand_calls() == {team.key: 2}
    assert report["requests"] == 3  # one resolve, the throttled expand and its retry
    assert node(report, "Team")["status"] == "expanded"


def test_a_back_off_past_the_deadline_fails_the_list_at_once() -> None:
    team, other = dl("team@x.com", "Team"), dl("other@x.com", "Other")
    directory = FakeDirectory({team: [ANN, BOB], other: [CAT]})
    directory.throttle(team.key, 30.0)
    report = count(directory, team, other, settings=Settings(deadline_s=2.0))
    assert directory.expand_calls()[team.key] == 1  # no retry: the wait would pass the deadline
    assert report["complete"] is False
    assert report["total"] == 1
    failed = the(report, "expansion_failed")
    assert failed["throttled"] is True and "kept asking Rollcall to wait" in failed["message"]
    assert "30 s" in failed["message"]
    assert node(report, "Team")["status"] == "failed"
    assert report["pending"] == []  # it failed; it was not left unreached


def test_a_throttled_legacy_dn_lookup_is_retried_too() -> None:
    dn = "/o=X/cn=Recipients/cn=bob"
    team = dl("team@x.com", "Team")
    directory = FakeDirectory({team: [ANN, ex(dn)]}, legacy={dn: "bob@x.com"})
    directory.throttle(dn, None)  # throttled without a number: the engine picks a short wait
    report = count(directory, team)
    assert report["total"] == 2 and report["complete"] is True
    assert report["requests"] == 1 + 1 + 2


def test_the_count_returns_at_the_deadline_and_lists_what_it_did_not_reach() -> None:
    slow, fast = dl("slow@x.com", "Slow"), dl("fast@x.com", "Fast")
    directory = FakeDirectory({slow: [ANN], fast: [BOB, CAT]})
    directory.stall(slow.key, 3.0)
    report = count(directory, slow, fast, settings=Settings(deadline_s=0.3))
    assert report["complete"] is False
    assert report["pending"] == ["slow@x.com"]
    assert report["total"] == 2  # Fast was counted; Slow is missing, not zero and silent
    assert node(report, "Slow")["status"] == "failed"
    assert "before the time limit" in the(report, "expansion_failed")["message"]
    assert_identity(report)


def test_lists_nested_in_an_unreached_list_are_grouped_under_it() -> None:
    root = dl("root@x.com", "Root")
    kids = [dl(f"k{i}@x.com", f"K{i}") for i in range(3)]
    directory = FakeDirectory({root: kids, **{k: [ANN] for k in kids}})
    for kid in kids:
        directory.stall(kid.key, 2.0)
    report = count(directory, root, settings=Settings(deadline_s=0.3))
    finding = the(report, "expansion_failed")
    assert finding["path"] == ["Root"]
    assert finding["addresses"] == ["k0@x.com", "k1@x.com", "k2@x.com"]
    assert finding["message"].startswith("3 lists inside Root")


def test_no_more_calls_are_in_flight_than_the_concurrency_setting() -> None:
    lists = {dl(f"l{i}@x.com"): [person(f"p{i}@x.com")] for i in range(12)}
    directory = FakeDirectory(lists)
    for entry in lists:
        directory.stall(entry.key, 0.03)
    report = count(directory, *lists, settings=Settings(concurrency=3, max_concurrency=3))
    assert report["total"] == 12
    assert directory.max_in_flight == 3


def test_a_second_count_is_served_from_the_cache_and_refresh_bypasses_it() -> None:
    team, sub = dl("team@x.com", "Team"), dl("sub@x.com", "Sub")
    directory = FakeDirectory({team: [ANN, sub], sub: [BOB]})
    cache = ExpansionCache()
    first = count(directory, team, cache=cache)
    assert directory.expand_calls() == {team.key: 1, sub.key: 1}
    directory.calls.clear()
    second = count(directory, team, cache=cache)
    assert directory.expand_calls() == {}
    assert second["requests"] == 1  # only the resolve
    assert second["total"] == first["total"] == 2
    assert node(second, "Team")["status"] == "cached"
    assert node(second, "Team", "Sub")["status"] == "cached"
    third = count(directory, team, cache=cache, refresh=True)
    assert directory.expand_calls() == {team.key: 1, sub.key: 1}
    assert node(third, "Team")["status"] == "expanded"


def test_cached_expansions_expire_after_the_ttl() -> None:
    now = [1000.0]
    cache = ExpansionCache(clock=lambda: now[0])
    team = dl("team@x.com", "Team")
    directory = FakeDirectory({team: [ANN]})
    settings = Settings(cache_ttl_s=60)
    count(directory, team, cache=cache, settings=settings)
    now[0] += 59
    count(directory, team, cache=cache, settings=settings)
    assert directory.expand_calls() == {team.key: 1}
    now[0] += 2
    count(directory, team, cache=cache, settings=settings)
    assert directory.expand_calls() == {team.key: 2}


def test_failed_expansions_are_not_cached() -> None:
    team = dl("team@x.com", "Team")
    directory = FakeDirectory({team: [ANN]})
    directory.fail(team.key, DirectoryError("server_error", "busy"))
    cache = ExpansionCache()
    assert count(directory, team, cache=cache)["complete"] is False
    del directory.errors[team.key]
    assert count(directory, team, cache=cache)["complete"] is True
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("error", "attempt", "now", "expected"),
    [
        (NotFound("gone"), 1, 0.0, None),  # an answer, not a load problem
        (DirectoryError("server_error", "x"), 1, 0.0, None),
        (DirectoryError("server_busy", "x", back_off=2.0), 1, 0.0, 2.0),
        (Throttled("x", back_off=1.5), 1, 0.0, 1.5),
        (Throttled("x", back_off=1.5), 1, 18.6, None),  # 18.6 + 1.5 is past 20
        (Throttled("x", back_off=1.5), 1, 18.4, 1.5),
        (Throttled("x"), 1, 0.0, 0.5),  # no number: start small ...
        (Throttled("x"), 3, 0.0, 2.0),  # ... and double
        (Throttled("x", back_off=0.1), 5, 0.0, None),  # out of tries
    ],
)
def test_retry_delay_decides_every_back_off(
    error: DirectoryError, attempt: int, now: float, expected: float | None
) -> None:
    assert retry_delay(error, attempt, now, deadline=20.0) == expected


def test_settings_name_the_bad_value() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Settings(concurrency=0)
    with pytest.raises(ValueError, match="deadline_s"):
        Settings(deadline_s=0)
