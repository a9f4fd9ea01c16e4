"""When Exchange drops connections, is busy, answers 503 or is too slow, a count is a state and
plain words, never a number that is not a count nor Python in a message; an incomplete count is
never compared with the last one nor remembered as "last time".

Over HTTP to an EWS simulator of its own (faults are switched per test), never mocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib.protocol import close_connections

from ews_simulator import Simulator, load
from support import demo_config, rollcall_app, signed_in

ALL_STAFF = {"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}
MEGAN = {"displayName": "Megan Bowen", "emailAddress": "megan@contoso.com"}
# What Python, exchangelib or requests would leave in a message that was not written for people.
PYTHON = re.compile(r"Traceback|Reraised|Error\(|Exception|\(_[A-Z]\w+\)|requests\.|urllib3|"
                    r"RemoteDisconnected|ConnectionError|HTTPConnectionPool|object at 0x")

FAULTS = {
    "dropped connections": ({"drop_every": 1}, 502, "exchange_unreachable"),
    "every request busy": ({"busy_every": 1, "back_off_ms": 30_000}, 503, "exchange_busy"),
    "HTTP 503": ({"http503_every": 1, "retry_after_s": 30}, 503, "exchange_busy"),
    "latency past the deadline": ({"latency_ms": 3_000}, 502, "exchange_unreachable"),
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    from ews_simulator.demo import demo_document

    simulator = Simulator(load(demo_document())).start()
    yield simulator
    close_connections()
    simulator.stop()


@pytest.fixture
def app(sim: Simulator, tmp_path: Any) -> Any:
    return rollcall_app(demo_config(sim, instance_path=str(tmp_path), deadline_s=2.0,
                                    validate_deadline_s=2.0))


def _plain(body: Any) -> None:
    text = json.dumps(body)
    assert not PYTHON.search(text), PYTHON.search(text)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_exchange_is_a_state_in_plain_words(app, sim, fault):
    faults, status, code = FAULTS[fault]
    client = signed_in(app)
    sim.set_faults(**faults)
    answer = client.post("/api/count", json={"recipients": [ALL_STAFF], "refresh": True})
    assert answer.status_code == status
    body = answer.get_json()
    assert body["error"]["code"] == code and "total" not in body
    assert body["error"]["request_id"] == answer.headers["X-Request-Id"]
    _plain(body)
    if code == "exchange_busy":
        assert int(answer.headers["Retry-After"]) >= 1
    # The send check still answers within its deadline, in words, with what it could not check.
    verdict = client.post("/api/validate", json={"recipients": [ALL_STAFF]}).get_json()
    assert verdict["action"] == "warn" and "cannot say who will receive it" in verdict["message"]
    _plain(verdict)
    status_doc = signed_in(app, "isaiah@contoso.com").get("/api/admin/status").get_json()
    _plain(status_doc)
    sim.set_faults(drop_every=None, busy_every=None, http503_every=None, latency_ms=0)
    assert client.post("/api/count", json={"recipients": [ALL_STAFF]}).get_json()["total"] == 495


def test_the_servers_log_keeps_the_whole_story_under_the_request_id(app, sim, caplog):
    sim.set_faults(drop_every=1)
    answer = signed_in(app).post("/api/count", json={"recipients": [ALL_STAFF]})
    request_id = answer.get_json()["error"]["request_id"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and any(r.exc_info and "RemoteDisconnected" in caplog.text for r in logged)


def test_an_incomplete_count_is_never_compared_nor_remembered(app, sim):
    client = signed_in(app)
    entries = {"recipients": [MEGAN, ALL_STAFF]}
    first = client.post("/api/count", json=entries).get_json()
    assert first["complete"] and first["total"] == 495
    # Megan resolves in time; All Staff's five levels of lists cannot, at 0.5 s a request.
    sim.set_faults(latency_ms=500)
    partial = client.post("/api/count", json={**entries, "refresh": True}).get_json()
    assert not partial["complete"] and 0 < partial["total"] < 495
    assert partial["drift"] is None and partial["expected"] is None
    assert all(f["code"] != "count_mismatch" for f in partial["findings"])
    sim.set_faults(latency_ms=0)
    again = client.post("/api/count", json={**entries, "refresh": True}).get_json()
    # Compared with the first count, not with the partial one.
    assert again["expected_source"] == "previous_count" and again["expected"] == 495
    assert again["drift"]["previous_total"] == 495 and again["drift"]["left_count"] == 0


def test_a_count_where_nothing_resolved_is_not_the_next_ones_baseline(app):
    client = signed_in(app)
    nobody = {"recipients": [{"displayName": "Nobody", "emailAddress": "nobody@fabrikam.example"},
                             {"displayName": "Ghost Team"}]}
    first = client.post("/api/count", json=nobody).get_json()
    assert first["complete"] and first["total"] == 1  # the outside address is a one-off
    ghost = {"recipients": [{"displayName": "Ghost Team"}]}
    assert client.post("/api/count", json=ghost).get_json()["total"] == 0
    later = client.post("/api/count", json=ghost).get_json()
    assert later["drift"] is None and later["expected"] is None


def test_unresolved_entries_are_problems_and_say_the_address_that_failed(app):
    report = signed_in(app).post("/api/count", json={"recipients": [
        ALL_STAFF, {"displayName": "Alex W", "emailAddress": "alexw@contoso.com"}]}).get_json()
    [unresolved] = [f for f in report["findings"] if f["code"] == "unresolved"]
    assert unresolved["severity"] == "error" and "alexw@contoso.com" in unresolved["message"]
    assert report["not_found"] == 1
    assert report["send_check"]["action"] == "block"
    fired = [f for f in report["send_check"]["findings"] if f["code"] == "unresolved"]
    assert fired and fired[0]["action"] == "block"


def test_an_unknown_rollcall_list_says_so(app):
    report = signed_in(app).post("/api/count", json={"recipients": [
        {"displayName": "list:Nope"}]}).get_json()
    [unresolved] = [f for f in report["findings"] if f["code"] == "unresolved"]
    assert unresolved["message"].startswith('There is no Rollcall list named "Nope"')


def test_the_demo_difference_is_explained_by_entries(app):
    """Expected 450, All Staff and Leadership Team: the why names the entries, not duplicates."""
    leadership = {"displayName": "Leadership Team", "emailAddress": "leadership@contoso.com"}
    report = signed_in(app).post("/api/count", json={"recipients": [ALL_STAFF, leadership],
                                                     "expected": 450}).get_json()
    parts = {c["name"]: c for c in report["contributions"]}
    assert parts["All Staff"]["people"] == 495 and parts["All Staff"]["only"] == 448
    assert parts["Leadership Team"]["people"] == 47 and parts["Leadership Team"]["only"] == 0
    [mismatch] = [f for f in report["findings"] if f["code"] == "count_mismatch"]
    assert "All Staff brings 495 people" in mismatch["message"]
    assert "duplicate" not in mismatch["message"]
