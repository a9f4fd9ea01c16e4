"""Per-caller token buckets: a burst, then one request per 60/N seconds, with Retry-After."""

from __future__ import annotations

import pytest

from rollcall.api.ratelimit import RateLimited, RateLimiter
from support import Clock


def test_a_burst_is_allowed_then_the_caller_waits():
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    assert [limiter.wait_s("alex") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_s("alex") == pytest.approx(10.0)
    clock.now += 10
    assert limiter.wait_s("alex") == 0.0


def test_callers_have_buckets_of_their_own():
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.wait_s("alex") == 0.0
    assert limiter.wait_s("alex") > 0
    assert limiter.wait_s("megan") == 0.0


def test_the_error_is_429_with_retry_after_in_whole_seconds():
    limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())
    limiter.check("alex", "count")
    with pytest.raises(RateLimited) as raised:
        limiter.check("alex", "count")
    error = raised.value
    assert (error.status, error.code, error.headers) == (429, "rate_limited", {"Retry-After": "1"})


def test_zero_per_minute_means_no_limit():
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.wait_s("alex") == 0.0 for _ in range(1000))


def test_memory_stays_bounded_under_a_flood_of_callers():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.wait_s(f"user{i}")
        clock.now += 0.01
    assert len(limiter) <= 100
