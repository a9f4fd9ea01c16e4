"""Hostile input answers a named 400 in plain words, never a 500 nor a number that is not a count:
JSON nested 100,000 deep, lone surrogates, numbers past any integer a database holds, line breaks
in addresses; and what the server writes (its origin, its log, its database file) stays its own.

Against the demo organisation over HTTP (the EWS simulator), never mocked.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from typing import Any

import pytest

from support import demo_config, refused, signed_in

ALEX = {"displayName": "Alex Wilber", "emailAddress": "alex@contoso.com"}
BODY_ROUTES = ("/api/count", "/api/validate", "/api/validate/warmup", "/api/lists")


@pytest.fixture
def make(demo_simulator: Any, tmp_path: Any) -> Any:
    """make(**settings) -> a test client signed in as megan@contoso.com on the demo organisation."""
    return lambda **settings: signed_in(demo_config(
        demo_simulator[0], instance_path=str(tmp_path), rate_limit_per_minute=0, **settings))


@pytest.fixture
def client(make: Any) -> Any:
    return make()


def post_raw(client: Any, path: str, text: str) -> Any:
    # Encoded as Python's json.dumps would, surrogates escaped: what a hostile client sends.
    return client.post(path, data=text.encode("utf-8", "surrogatepass"),
                       content_type="application/json")


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize("depth", [100_000, 40])
def test_json_nested_deeply_is_a_400_in_words(client, path, depth):
    # 100,000 deep raises RecursionError in Python's parser; 40 parses and is refused after.
    nested = '{"recipients": ' + "[" * depth + "]" * depth + "}"
    refused(post_raw(client, path, nested), "not_json", "nested too deeply")


@pytest.mark.parametrize("text", ['{"expected": NaN}', '{"expected": 1' + "0" * 5000 + "}",
                                  '{"recipients": [}', "\ufeff"])
def test_what_is_not_strict_json_is_a_400(client, text):
    refused(post_raw(client, "/api/count", text), "not_json")


def test_a_body_that_is_not_utf8_is_a_400(client):
    answer = client.post("/api/count", data=b'{"recipients": "\xed\xa0\x80"}',
                         content_type="application/json")
    refused(answer, "not_json", "UTF-8")


@pytest.mark.parametrize(("path", "field", "body", "code"), [
    ("/api/validate", "message_id", {"message_id": "\ud800"}, "bad_message_id"),
    ("/api/validate", "subject", {"subject": "Hi \udfff"}, "bad_subject"),
    ("/api/count", "mailbox", {"mailbox": "megan\ud800@contoso.com"}, "bad_mailbox"),
    ("/api/count", "recipients[0].displayName",
     {"recipients": [{"displayName": "A\ud800", "emailAddress": "alex@contoso.com"}]},
     "bad_recipient"),
    ("/api/validate", "recipients[1].emailAddress",
     {"recipients": [ALEX, {"displayName": "A", "emailAddress": "al\udc00ex@contoso.com"}]},
     "bad_recipient"),
    ("/api/validate/warmup", "recipients[0].emailAddress",
     {"recipients": [{"displayName": "A", "emailAddress": "\ud800"}]}, "bad_recipient"),
    ("/api/lists", "name", {"name": "News\ud800"}, "bad_name"),
])
def test_a_lone_surrogate_is_a_400_naming_the_field(client, path, field, body, code):
    answer = post_raw(client, path, json.dumps({"recipients": [ALEX], **body}))
    refused(answer, code, field, "surrogate")


def test_a_pair_of_surrogates_is_one_character_and_welcome(client):
    answer = post_raw(client, "/api/validate", json.dumps(
        {"recipients": [{"displayName": "Alex \U0001f600", "emailAddress": "alex@contoso.com"}],
         "subject": "\U0001f389", "message_id": "m-\U0001f600"}))
    assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize("path", ["/api/count", "/api/validate", "/api/lists"])
@pytest.mark.parametrize("expected", [2**63, 2**64 + 1, 10_000_001])
def test_an_expected_count_past_ten_million_is_a_400(client, path, expected):
    body = {"recipients": [ALEX], "name": "Big", "expected": expected}
    refused(client.post(path, json=body), "bad_expected", "'expected'", "10,000,000")


def test_an_expected_count_of_ten_million_is_a_count(client):
    report = client.post("/api/count", json={"recipients": [ALEX], "expected": 10_000_000})
    assert report.status_code == 200
    assert report.get_json()["difference"] == 1 - 10_000_000


@pytest.mark.parametrize(("field", "value"), [
    ("emailAddress", "evil@example.com\r\nBcc: everyone@contoso.com"),
    ("emailAddress", "alex@contoso.com\x00"),
    ("emailAddress", "alex@contoso.com\u2028"),
    ("displayName", "Alex\rWilber"),
    ("displayName", "Alex\tWilber"),
    ("displayName", "Alex\x85"),
])
@pytest.mark.parametrize("path", ["/api/count", "/api/validate", "/api/validate/warmup"])
def test_control_characters_in_a_recipient_are_a_400_naming_the_field(client, path, field,
                                                                     value):
    recipient = {**ALEX, field: value}
    answer = client.post(path, json={"recipients": [ALEX, recipient]})
    refused(answer, "bad_recipient", f"recipients[1].{field}")


def test_control_characters_in_a_message_id_are_a_400(client):
    answer = client.post("/api/validate", json={"recipients": [ALEX], "message_id": "m\r\n1"})
    refused(answer, "bad_message_id", "'message_id'", "line break")


def test_an_address_with_a_line_break_is_never_counted_as_deliverable(demo_simulator, tmp_path):
    """Past the API (the command line, a directory's data), the count itself refuses it."""
    from rollcall.bootstrap import bootstrap
    from rollcall.core.model import Recipient

    services = bootstrap(demo_config(demo_simulator[0], instance_path=str(tmp_path)))
    # The last domain decides whether an address is a one-off outside the organisation.
    hostile = [Recipient("Evil", "evil@contoso.com\r\nBcc: everyone@example.com"),
               Recipient("Spaced", "spaced out@example.com"),
               Recipient("Alex", "alex@contoso.com")]
    report = services.counts.count(hostile, None, "megan@contoso.com", True).to_json()
    assert report["total"] == 1
    people = {c["name"].partition(" ")[0]: c["people"] for c in report["contributions"]}
    assert people == {"Evil": 0, "Spaced": 0, "Alex": 1}
    invalid = [f for f in report["findings"] if f["code"] == "invalid_member"]
    assert invalid and "no usable address" in invalid[0]["message"]


def test_the_configured_public_url_is_the_origin_whatever_the_host_header(make):
    client = make(public_url="https://rollcall.example.com")
    script = client.get("/sendcheck.js", base_url="https://evil.example",
                        headers={"X-Forwarded-Proto": "https"})
    source = script.get_data(as_text=True)
    assert '"https://rollcall.example.com"' in source and "evil.example" not in source
    assert "Host" not in script.headers.get("Vary", "")
    allowed = client.get("/.well-known/microsoft-officeaddins-allowed.json",
                         base_url="http://evil.example:8443")
    assert allowed.get_json() == {"allowed": ["https://rollcall.example.com/sendcheck.js"]}


@pytest.mark.parametrize("authorization", [
    "Bearer SECRET-not-a-jwt-7f3a", "Basic SECRET-basic-7f3a",
    "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IlNFQ1JFVCJ9.eyJTRUNSRVQiOjF9.U0VDUkVU",
])
def test_a_refused_token_is_logged_by_reason_and_request_id_never_itself(client, caplog,
                                                                        authorization):
    caplog.set_level(logging.DEBUG)
    answer = client.post("/api/count", json={"recipients": [ALEX]},
                         headers={"Authorization": authorization})
    assert answer.status_code == 401
    request_id = answer.headers["X-Request-Id"]
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any(request_id in line and answer.get_json()["error"]["code"] in line
               for line in lines), lines
    secret = authorization.partition(" ")[2]
    assert secret not in caplog.text and "SECRET-" not in caplog.text


def test_the_database_and_its_folder_are_the_owners_only(tmp_path):
    from rollcall.store.db import open_store

    previous = os.umask(0o022)  # a usual umask, which leaves new files world-readable
    try:
        instance = tmp_path / "instance"
        store = open_store(None, str(instance))
        store.create_list("Private", "megan@contoso.com")
    finally:
        os.umask(previous)
    for path in [instance, *instance.glob("rollcall.db*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"
    assert (instance / "rollcall.db").exists()

