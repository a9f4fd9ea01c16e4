"""The per-caller rate limits with ROLLCALL_REDIS_URL: one budget per caller whatever app or
process answers, Redis stopping mid-way never fails or refuses a request (limits carry on in
memory), and back in Redis once it answers again. Real redis-server, real apps, a real second
process. An empty validate is refused (400) before Exchange is asked: 400 is "let through"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from rollcall.api.ratelimit import KEY_PREFIX
from support import cli_environ, signed_in

TESTS = Path(__file__).resolve().parents[1]
LIMITS = {"rate_limit_per_minute": 6, "rate_limit_burst": 2}  # 2 at once, then one per 10 s

# Another Rollcall process: its own app on the same Redis, spending Megan's validate budget.
OTHER_PROCESS = """
import json, sys, types
from support import demo_config, rollcall_app, signed_in
ews_url, instance, redis_url = sys.argv[1:4]
app = rollcall_app(demo_config(types.SimpleNamespace(url=ews_url), instance_path=instance,
                               redis_url=redis_url, rate_limit_per_minute=6,
                               rate_limit_burst=2))
megan = signed_in(app)
print(json.dumps([megan.post("/api/validate", json={}).status_code for _ in range(2)]))
"""


@pytest.fixture
def shared(redis_server: Any) -> Any:
    """The session's Redis, emptied: no budget spent by an earlier test."""
    if redis_server.process is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server


def ask(client: Any) -> int:
    answer = client.post("/api/validate", json={})
    assert answer.status_code in (400, 429), answer.get_data(as_text=True)[:300]
    return int(answer.status_code)


def limit_keys(url: str) -> list[bytes]:
    return list(redis.Redis.from_url(url).keys(KEY_PREFIX + "*"))


def test_two_apps_on_one_redis_share_each_callers_budget(make_app, shared):
    here, there = (make_app(redis_url=shared.url, **LIMITS) for _ in range(2))
    assert [ask(signed_in(here)) for _ in range(2)] == [400, 400]
    refused = signed_in(there).post("/api/validate", json={})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert ask(signed_in(there, "alex@contoso.com")) == 400  # Alex's budget is his own
    assert limit_keys(shared.url)  # counted in Redis, not in either app


def test_a_budget_spent_in_another_process_is_refused_here(make_app, shared, demo_simulator,
                                                           tmp_path):
    here = make_app(redis_url=shared.url, **LIMITS)
    other = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, demo_simulator[0].url, str(tmp_path / "other"),
         shared.url],
        env=cli_environ(PYTHONPATH=str(TESTS)), cwd=tmp_path, capture_output=True, text=True,
        timeout=60)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [400, 400]
    refused = signed_in(here).post("/api/validate", json={})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_redis_stopping_mid_way_fails_nothing_and_the_limits_come_back_with_it(
        make_app, shared, caplog):
    here, there = (make_app(redis_url=shared.url, **LIMITS) for _ in range(2))
    megan = signed_in(here)
    assert ask(megan) == 400
    shared.stop()
    try:
        # Answered, never 5xx, and not refused for Redis being away: this process counts on
        # its own meanwhile, so the limit still holds here.
        assert [ask(megan) for _ in range(3)] == [400, 400, 429]
        assert "falling back to in-memory storage" in caplog.text
    finally:
        shared.start()  # empty: what Redis held is gone, as a cache's may be
    # Back to Redis once it answers (Flask-Limiter looks again after 1, 2, 4... s).
    zoe = signed_in(here, "zoe@contoso.com")
    deadline = time.monotonic() + 15
    while not limit_keys(shared.url):
        assert time.monotonic() < deadline, "the limiter never went back to Redis"
        ask(zoe)
        time.sleep(0.1)
    assert [ask(signed_in(here, "alex@contoso.com")) for _ in range(2)] == [400, 400]
    assert ask(signed_in(there, "alex@contoso.com")) == 429  # shared again


def test_zero_per_minute_turns_the_shared_limits_off_too(make_app, shared):
    megan = signed_in(make_app(redis_url=shared.url, rate_limit_per_minute=0))
    assert {ask(megan) for _ in range(20)} == {400}
    assert not limit_keys(shared.url)
