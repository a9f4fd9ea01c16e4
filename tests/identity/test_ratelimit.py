"""Per-caller rate limits in one process (memory://): a burst, then one request's share of the
minute, the minute's budget held across bursts, 429 with Retry-After in whole seconds, and 0 for
none at all. The real app answers; an empty validate is refused (400) before Exchange is asked,
so a 400 means "let through" and a 429 "limited"."""

from __future__ import annotations

import re
import time
from typing import Any

from rollcall.api.ratelimit import windows
from support import signed_in

CSV = b"email,name\r\nann@fabrikam.com,Ann\r\n"


def ask(client: Any) -> Any:
    return client.post("/api/validate", json={})


def statuses(client: Any, times: int) -> list[int]:
    return [ask(client).status_code for _ in range(times)]


def test_the_burst_is_a_window_of_one_interval_beside_the_minutes():
    assert windows(6, 2) == "2 per 10 seconds; 6 per 1 minute"
    assert windows(60, 20) == "20 per 1 seconds; 60 per 1 minute"
    assert windows(7, 3) == "3 per 9 seconds; 7 per 1 minute"  # whole seconds, rounded up
    assert windows(1, 3) == "3 per 1 minute"  # the interval is the minute: one window
    assert windows(6, 20) == "20 per 10 seconds; 20 per 1 minute"  # the burst is never cut


def test_a_burst_is_allowed_then_the_caller_waits_one_interval(make_app):
    megan = signed_in(make_app(rate_limit_per_minute=60, rate_limit_burst=3))
    assert statuses(megan, 3) == [400, 400, 400]
    refused = ask(megan)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    time.sleep(1.05)
    assert ask(megan).status_code == 400


def test_the_minutes_budget_holds_across_bursts(make_app):
    megan = signed_in(make_app(rate_limit_per_minute=60, rate_limit_burst=30))
    assert statuses(megan, 31) == [400] * 30 + [429]
    time.sleep(1.05)
    assert statuses(megan, 30) == [400] * 30
    refused = ask(megan)
    # Both windows are full: Retry-After names the minute's, not the second's.
    assert refused.status_code == 429 and 50 <= int(refused.headers["Retry-After"]) <= 60


def test_callers_have_budgets_of_their_own(make_app):
    app = make_app(rate_limit_per_minute=6, rate_limit_burst=1)
    megan, alex = signed_in(app), signed_in(app, "alex@contoso.com")
    assert statuses(megan, 2) == [400, 429]
    assert statuses(alex, 1) == [400]


def test_routes_limited_by_the_same_name_share_one_budget(make_app):
    megan = signed_in(make_app(rate_limit_per_minute=6, rate_limit_burst=1))
    assert megan.post("/api/count", json={}).status_code == 400
    assert megan.post("/api/sends/test", json={}).status_code == 429  # also "count"
    assert ask(megan).status_code == 400  # validate has its own


def test_the_refusal_is_rollcalls_429_with_retry_after_in_whole_seconds(make_app):
    megan = signed_in(make_app(rate_limit_per_minute=6, rate_limit_burst=1))
    ask(megan)
    refused = ask(megan)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"] == refused.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9]+", refused.headers["Retry-After"])
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert f"try again in {refused.headers['Retry-After']} s" in error["message"]


def test_without_redis_each_app_counts_on_its_own(make_app):
    first, second = (make_app(rate_limit_per_minute=6, rate_limit_burst=2) for _ in range(2))
    assert statuses(signed_in(first), 3) == [400, 400, 429]
    assert statuses(signed_in(second), 1) == [400]  # another process: its own memory


def test_zero_per_minute_turns_every_limit_off(make_app):
    megan = signed_in(make_app(rate_limit_per_minute=0, rate_limit_burst=1))
    assert set(statuses(megan, 50)) == {400}
    # Imports too, though theirs is a fixed 6 a minute, 2 at once.
    imports = [megan.post(f"/api/lists/L{i}/import", data=CSV, content_type="text/csv")
               for i in range(3)]
    assert [a.status_code for a in imports] == [200, 200, 200]
