"""POST /api/validate against the demo organisation and Rollcall lists: each rule, the warm-up,
the baseline it moves, bad input, and the files the send-check runtime loads."""

from __future__ import annotations

import time
from typing import Any

import pytest
from validate_cases import IDS, RULES, as_outlook

from support import demo_config, signed_in


@pytest.fixture
def make(demo_simulator: Any, tmp_path: Any) -> Any:
    """make(who="megan@contoso.com", **settings) -> a test client on the demo organisation,
    signed in as `who` with a dev-issuer token, sharing one instance folder."""
    return lambda who="megan@contoso.com", **settings: signed_in(demo_config(
        demo_simulator[0], instance_path=str(tmp_path), **settings), who)


def validate(client: Any, *entries: str, status: int = 200, **extra: Any) -> dict[str, Any]:
    body = {"recipients": [as_outlook(e) for e in entries], "subject": "Hello", **extra}
    answer = client.post("/api/validate", json=body)
    assert answer.status_code == status, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def rules(verdict: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in verdict["findings"]}


@pytest.mark.parametrize(("rule", "entries", "settings", "expected", "action"), RULES, ids=IDS)
def test_each_rule_fires_with_its_action_and_not_when_off(make, rule, entries, settings,
                                                         expected, action):
    verdict = validate(make(**settings), *entries, expected=expected)
    assert rule in rules(verdict), verdict["message"]
    assert verdict["action"] == action
    assert 0 < len(verdict["message"]) <= 500
    assert all(f["action"] in ("warn", "block") for f in verdict["findings"])
    assert "recipients" not in verdict["report"]  # the addresses stay on the server
    quiet = validate(make(**{**settings, f"policy_{rule}": "off"}), *entries, expected=expected)
    assert rule not in rules(quiet)


def test_a_plain_message_is_allowed(make):
    verdict = validate(make(), "alex@contoso.com", "adele@contoso.com")
    assert (verdict["action"], verdict["message"], verdict["findings"]) == (
        "allow", "2 people will receive it.", [])


def test_a_rollcall_list_that_shrank_since_last_time_warns_once(make):
    client = make()
    assert client.post("/api/lists", json={"name": "Newsletter"}).status_code == 201
    for i in range(20):
        client.post("/api/lists/Newsletter/members", json={"email": f"reader{i}@contoso.com"})
    assert validate(client, "list:Newsletter")["action"] == "allow"
    for i in range(5):
        assert client.delete(f"/api/contacts/reader{i}@contoso.com?all=true").status_code == 200
    client.post("/api/validate/warmup", json={"recipients": [as_outlook("list:Newsletter")]})
    verdict = validate(client, "list:Newsletter")  # the warm-up did not move the baseline
    assert verdict["action"] == "warn" and rules(verdict) == {"mismatch"}  # not "deleted"
    assert verdict["message"].startswith("Newsletter reaches 15 people; last time 20 (5 fewer).")
    assert verdict["report"]["expected_source"] == "previous_count"
    assert validate(client, "list:Newsletter")["action"] == "allow"  # told once


def test_a_blocked_message_keeps_its_baseline_until_the_pane_counts_again(make):
    client = make(policy_mismatch="block")
    client.post("/api/lists", json={"name": "Board"})
    for who in ("ann", "bob", "cy"):
        client.post("/api/lists/Board/members", json={"email": f"{who}@contoso.com"})
    validate(client, "list:Board")
    client.delete("/api/contacts/cy@contoso.com?list=Board")
    assert validate(client, "list:Board")["action"] == "block"
    assert validate(client, "list:Board")["action"] == "block"  # sending again is no way round
    client.post("/api/count", json={"recipients": [as_outlook("list:Board")]})  # reviewed
    assert validate(client, "list:Board")["action"] == "allow"


def test_rollcall_lists_unknown_or_looping_are_caught(make):
    client = make()
    assert validate(client, "list:Nope")["action"] == "block"
    client.post("/api/lists", json={"name": "Loop"})
    client.post("/api/lists/Loop/members", json={"email": "ann@contoso.com"})
    client.post("/api/lists/Loop/members", json={"list": "Loop"})
    verdict = validate(client, "list:Loop")
    assert verdict["action"] == "warn" and rules(verdict) == {"cycle"}


def test_the_hourly_limit_counts_people_and_one_message_only_once(make):
    client = make(policy_per_hour_max=20, policy_external="off")
    assert validate(client, "partners@contoso.com", message_id="a")["action"] == "allow"
    assert validate(client, "partners@contoso.com", message_id="a")["action"] == "allow"
    verdict = validate(client, "partners@contoso.com", message_id="b")
    assert verdict["action"] == "block" and rules(verdict) == {"per_hour"}
    assert "Wait 60 minutes or split it." in verdict["message"]
    alex = make("alex@contoso.com", policy_per_hour_max=20, policy_external="off")
    other = validate(alex, "partners@contoso.com", message_id="c")
    assert other["action"] == "allow"  # per sender


def test_a_warm_up_answers_at_once_and_the_next_validate_reads_its_lists(make):
    client = make()
    answer = client.post("/api/validate/warmup",
                         json={"recipients": [as_outlook("allstaff@contoso.com")]})
    assert answer.status_code == 202 and answer.get_json() == {"warming": True}
    report = validate(client, "allstaff@contoso.com")["report"]
    assert report["complete"] is True and report["total"] == 495
    # Nothing asked of Exchange: the warm-up's resolution and every list are reused (and a
    # validate that arrives while the warm-up still runs waits for it: single flight).
    assert report["requests"] == 0
    assert report["tree"][0]["cached"] is True


def test_a_count_cut_by_the_deadline_warns_and_finishes_in_the_background(start_simulator,
                                                                          tmp_path):
    from ews_simulator.demo import demo_document

    sim, _ = start_simulator(demo_document())
    sim.set_faults(latency_ms=40)  # a cold All Staff then takes longer than the deadline
    client = signed_in(demo_config(sim, instance_path=str(tmp_path), validate_deadline_s=0.2))
    first = validate(client, "allstaff@contoso.com")
    assert first["action"] == "warn" and "incomplete" in rules(first)
    assert first["report"]["complete"] is False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # a later Send finds the lists the warm-up fetched
        later = validate(client, "allstaff@contoso.com")
        if later["report"]["complete"]:
            break
        time.sleep(0.2)
    assert later["report"]["complete"] is True and "incomplete" not in rules(later)
    assert later["report"]["tree"][0]["cached"] is True


@pytest.mark.parametrize(("body", "code"), [
    (b"[]", "not_json"),
    (b'{"recipients": []}', "no_recipients"),
    (b'{"recipients": [{"displayName": "A"}], "subject": 5}', "bad_subject"),
    (b'{"recipients": [{"displayName": "A"}], "expected": -1}', "bad_expected"),
    (b'{"recipients": [{"displayName": "A"}], "message_id": 7}', "bad_message_id"),
])
def test_bad_input_answers_the_shared_error_shape(make, body, code):
    for path in ("/api/validate", "/api/validate/warmup"):
        answer = make().post(path, data=body, content_type="application/json")
        if path.endswith("warmup") and code in ("bad_subject", "bad_expected", "bad_message_id"):
            assert answer.status_code == 202  # the warm-up reads only recipients and mailbox
            continue
        assert answer.status_code == 400
        assert answer.get_json()["error"]["code"] == code


def test_too_many_recipients_and_no_exchange_are_errors_the_add_in_lets_pass(make):
    many = [f"p{i}@contoso.com" for i in range(3)]
    client = make(max_entries=2)
    assert validate(client, *many, status=413)["error"]["code"] == "too_many_recipients"
    answer = client.post("/api/validate/warmup", json={"recipients": [as_outlook(e) for e in many]})
    assert answer.status_code == 413
    from rollcall.config import load_config

    bare = signed_in(load_config(environ={}))
    assert validate(bare, "a@contoso.com", status=503)["error"]["code"] == "not_configured"


def test_sendcheck_js_is_served_with_the_servers_origin_written_in(make):
    client = make()
    script = client.get("/sendcheck.js", base_url="https://rollcall.example.com")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert 'var ROLLCALL_ORIGIN = "https://rollcall.example.com";' in script.get_data(as_text=True)
    proxied = client.get("/sendcheck.js", base_url="http://rollcall.example.com:8443",
                         headers={"X-Forwarded-Proto": "https"})
    assert '"https://rollcall.example.com:8443"' in proxied.get_data(as_text=True)
    allowed = client.get("/.well-known/microsoft-officeaddins-allowed.json",
                         base_url="https://rollcall.example.com")
    assert allowed.get_json() == {"allowed": ["https://rollcall.example.com/sendcheck.js"]}


def test_only_rollcalls_own_origin_may_call_it_across_origins(make):
    client = make()
    preflight = {"Access-Control-Request-Method": "POST"}
    own = client.options("/api/validate", base_url="https://rollcall.example.com",
                         headers={"Origin": "https://rollcall.example.com/", **preflight})
    assert own.headers["Access-Control-Allow-Origin"] == "https://rollcall.example.com/"
    assert own.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, Accept"
    other = client.options("/api/validate", base_url="https://rollcall.example.com",
                           headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in other.headers
