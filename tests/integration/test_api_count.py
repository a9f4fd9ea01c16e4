"""POST /api/count against the demo organisation, through real exchangelib over HTTP."""

from __future__ import annotations

import pytest


def post(client, recipients, **extra):
    return client.post("/api/count", json={"recipients": recipients, **extra})


def test_counting_a_nested_list_answers_the_report(client):
    answer = post(client, [{"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}])
    assert answer.status_code == 200
    report = answer.get_json()
    assert report["total"] == 495 and report["complete"] is True
    assert report["entries"] == (report["total"] + report["duplicates"]
                                 + report["undeliverable"] + report["not_looked_up"])
    assert report["max_depth"] == 5
    assert report["tree"][0]["address"] == "allstaff@contoso.com"
    assert report["exchange_version"] == "15.1.2507.6"


def test_expected_count_gives_the_difference(client):
    report = post(client, [{"displayName": "Partners", "emailAddress": "partners@contoso.com"}],
                  expected=20).get_json()
    assert (report["total"], report["expected"], report["difference"]) == (14, 20, -6)
    assert any(f["code"] == "count_mismatch" for f in report["findings"])


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"not json", 400, "not_json"),
    (b"[]", 400, "not_json"),
    (b'{"recipients": []}', 400, "no_recipients"),
    (b'{"recipients": [{}]}', 400, "bad_recipient"),
    (b'{"recipients": ["x"]}', 400, "bad_recipient"),
    (b'{"recipients": [{"displayName": "A"}], "expected": -1}', 400, "bad_expected"),
    (b'{"recipients": [{"displayName": "A"}], "expected": "5"}', 400, "bad_expected"),
])
def test_bad_input_answers_a_named_error(client, body, status, code):
    answer = client.post("/api/count", data=body, content_type="application/json")
    assert answer.status_code == status
    assert answer.get_json()["error"]["code"] == code
    assert answer.get_json()["error"]["message"]


def test_too_many_recipients_is_413(demo_simulator):
    from support import demo_config, signed_in

    client = signed_in(demo_config(demo_simulator[0], max_entries=2))
    answer = post(client, [{"displayName": f"p{i}", "emailAddress": f"p{i}@contoso.com"}
                           for i in range(3)])
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "too_many_recipients"


def test_without_exchange_settings_the_error_names_the_setting():
    from rollcall.config import load_config
    from support import signed_in

    client = signed_in(load_config(environ={}))
    answer = post(client, [{"displayName": "A", "emailAddress": "a@contoso.com"}])
    assert answer.status_code == 503
    assert "ROLLCALL_EWS_URL" in answer.get_json()["error"]["message"]
