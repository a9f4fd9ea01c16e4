"""Retry: the schedule as configured, each wait with its jitter, expiry, and the relay's circuit."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.sending.retry import RelayBackoff, RetryPolicy, parse_schedule

# --- parse_schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("60,300,900", (60.0, 300.0, 900.0)),
    (" 60 , 300 ,900 ", (60.0, 300.0, 900.0)),
    ("1.5", (1.5,)),
    ("60,60,120", (60.0, 60.0, 120.0)),  # equal waits are fine
    ("1e3", (1000.0,)),
])
def test_schedule_text_is_read_as_seconds(text, expected):
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("   ", "empty"),
    ("60,,300", "item 2 is empty"),
    ("60,", "item 2 is empty"),
    ("60,five", r"item 2 \('five'\) is not a number"),
    ("60s", r"item 1 \('60s'\) is not a number"),
    ("60,-5", "above zero"),
    ("0", "above zero"),
    ("nan", "above zero"),
    ("inf", "above zero"),
    ("300,60", r"item 2 \(60\) is shorter than the one before it \(300\)"),
])
def test_bad_schedule_text_names_the_problem(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_schedule(text)


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=10).map(sorted))
def test_any_growing_schedule_reads_back(delays):
    assert parse_schedule(",".join(map(str, delays))) == tuple(float(d) for d in delays)


# --- RetryPolicy ------------------------------------------------------------------------------

EXACT = RetryPolicy(jitter=0)


def test_defaults_match_the_notes():
    policy = RetryPolicy()
    assert policy.schedule_s == (60, 300, 900, 1800, 3600)
    assert (policy.then_every_s, policy.expire_s, policy.jitter) == (3600, 86400, 0.2)


@pytest.mark.parametrize("attempts, delay", [(1, 60), (2, 300), (3, 900), (4, 1800), (5, 3600),
                                             (6, 3600), (7, 3600), (1000, 3600)])
def test_without_jitter_the_waits_are_exact(attempts, delay):
    assert EXACT.next_delay(attempts) == delay


def test_after_the_schedule_it_waits_then_every():
    policy = RetryPolicy(schedule_s=(10, 20), then_every_s=45, jitter=0)
    assert [policy.next_delay(n) for n in range(1, 6)] == [10, 20, 45, 45, 45]


def test_an_empty_schedule_waits_then_every_from_the_start():
    assert RetryPolicy(schedule_s=(), then_every_s=30, jitter=0).next_delay(1) == 30


@pytest.mark.parametrize("attempts", [0, -1])
def test_attempts_start_at_one(attempts):
    with pytest.raises(ValueError, match="starts at 1"):
        RetryPolicy().next_delay(attempts)


@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0.01, 0.99))
def test_jitter_stays_within_its_bounds(attempts, seed, jitter):
    policy = RetryPolicy(jitter=jitter)
    base = EXACT.next_delay(attempts)
    delay = policy.next_delay(attempts, random.Random(seed))
    assert base * (1 - jitter) <= delay <= base * (1 + jitter)
    assert delay > 0


def test_jitter_spreads_the_waits_both_ways():
    rng = random.Random(7)
    delays = [RetryPolicy().next_delay(1, rng) for _ in range(500)]
    assert min(delays) < 60 * 0.9 and max(delays) > 60 * 1.1
    assert 48 <= min(delays) and max(delays) <= 72


def test_the_same_seed_gives_the_same_wait():
    a = RetryPolicy().next_delay(3, random.Random(42))
    b = RetryPolicy().next_delay(3, random.Random(42))
    assert a == b and a != 900


def test_without_an_rng_the_shared_one_is_used_within_bounds():
    delays = {RetryPolicy().next_delay(2) for _ in range(50)}
    assert all(240 <= d <= 360 for d in delays) and len(delays) > 1


@pytest.mark.parametrize("kwargs, problem", [
    ({"schedule_s": (0,)}, "above zero"),
    ({"schedule_s": (60, -1)}, "above zero"),
    ({"schedule_s": (math.nan,)}, "above zero"),
    ({"schedule_s": (300, 60)}, "must not shrink"),
    ({"then_every_s": 0}, "then_every_s"),
    ({"then_every_s": math.inf}, "then_every_s"),
    ({"expire_s": 0}, "expire_s"),
    ({"jitter": 1}, "jitter"),
    ({"jitter": -0.1}, "jitter"),
])
def test_a_policy_that_makes_no_sense_is_refused(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("waited, expired", [(0, False), (86399.999, False), (86400, True),
                                             (90000, True), (-5, False)])
def test_a_recipient_expires_once_it_has_waited_expire_s(waited, expired):
    first = 1_700_000_000.0
    assert RetryPolicy().expired(first, first + waited) is expired


def test_expiry_follows_the_configured_age():
    assert RetryPolicy(expire_s=60).expired(0, 60)
    assert not RetryPolicy(expire_s=61).expired(0, 60)


# --- RelayBackoff -----------------------------------------------------------------------------

@pytest.mark.parametrize("failures, pause", [(1, 60), (2, 120), (3, 300), (4, 600), (5, 1800),
                                             (6, 1800), (500, 1800)])
def test_the_circuit_pause_grows_1_2_5_10_30_minutes(failures, pause):
    assert RelayBackoff().pause_for(failures, None) == pause


@pytest.mark.parametrize("failures, hint, pause", [
    (1, 300, 300),  # the relay asks for longer: it wins
    (3, 60, 300),  # shorter than the step: the step stands
    (1, 7200, 3600),  # capped at an hour
    (5, 3000, 3000),
    (1, math.nan, 60),  # nonsense is ignored
    (1, -10, 60),
    (1, math.inf, 60),
])
def test_a_hint_wins_when_longer_up_to_an_hour(failures, hint, pause):
    assert RelayBackoff().pause_for(failures, hint) == pause


@pytest.mark.parametrize("failures", [0, -3])
def test_the_circuit_opens_only_after_a_failure(failures):
    with pytest.raises(ValueError, match="at least one failure"):
        RelayBackoff().pause_for(failures, None)


@pytest.mark.parametrize("steps", [(), (0,), (60, -1)])
def test_a_backoff_without_sensible_steps_is_refused(steps):
    with pytest.raises(ValueError, match="above zero"):
        RelayBackoff(steps_s=steps)


@given(st.integers(1, 100), st.one_of(st.none(), st.floats(-1e6, 1e6)))
def test_pauses_never_shrink_as_failures_mount_and_stay_bounded(failures, hint):
    backoff = RelayBackoff()
    now, later = backoff.pause_for(failures, hint), backoff.pause_for(failures + 1, hint)
    assert later >= now
    assert 60 <= now <= 3600
