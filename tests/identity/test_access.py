"""Who may see what: the caller acts as themselves only, admin views need the role, and one
person's contact groups never reach another through any route."""

from __future__ import annotations

import pytest

CHAMPIONS = {"displayName": "Comms Champions", "emailAddress": ""}  # Megan's contact group
DEAL_DESK = {"displayName": "Deal Desk", "emailAddress": ""}  # Alex's contact group


def count(client, *recipients, **extra):
    return client.post("/api/count", json={"recipients": list(recipients), **extra})


def test_me_names_the_caller_and_their_roles(as_user):
    assert as_user("megan@contoso.com").get("/api/me").get_json() == {
        "mailbox": "megan@contoso.com", "name": "Megan Bowen", "roles": [], "admin": False}
    isaiah = as_user("isaiah@contoso.com").get("/api/me").get_json()
    assert isaiah["roles"] == ["Rollcall.Admin"] and isaiah["admin"] is True


def test_admin_status_is_403_for_others_and_complete_for_admins(as_user):
    refused = as_user("megan@contoso.com").get("/api/admin/status")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    status = as_user("isaiah@contoso.com").get("/api/admin/status").get_json()
    assert status["rollcall"]["version"]
    assert status["exchange"]["reachable"] is True
    assert status["exchange"]["version"] == "15.1.2507.6"
    assert status["database"]["ok"] is True and status["database"]["backend"] == "sqlite"
    assert status["database"]["revision"]
    assert status["identity"]["keys"] == 1
    assert set(status["cache"]) == {"entries", "ttl_s", "shared"}
    assert status["cache"]["shared"]["backend"] == "memory"  # no ROLLCALL_REDIS_URL


def test_admin_group_membership_makes_an_admin(make_app):
    from support import bearer

    app = make_app(admin_group="0a0a0a0a-group")
    client = app.test_client()
    member = bearer("lee@contoso.com", groups=["0a0a0a0a-group"])
    assert client.get("/api/admin/status", headers=member).status_code == 200
    other = bearer("lee@contoso.com", groups=["another-group"])
    assert client.get("/api/admin/status", headers=other).status_code == 403


def test_exchange_down_shows_in_the_status_without_failing_it(make_app):
    from support import signed_in

    app = make_app(ews_url="http://127.0.0.1:9/EWS/Exchange.asmx", ews_timeout_s=1)
    status = signed_in(app, "isaiah@contoso.com").get("/api/admin/status").get_json()
    assert status["exchange"]["reachable"] is False and status["exchange"]["error"]
    assert status["database"]["ok"] is True


def test_a_count_acts_as_the_caller_whatever_the_body_says(as_user):
    alex = as_user("alex@contoso.com")
    own = count(alex, DEAL_DESK).get_json()
    assert own["mailbox"] == "alex@contoso.com" and own["total"] > 0
    answer = count(alex, CHAMPIONS, mailbox="megan@contoso.com")
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "not_your_mailbox"
    assert count(alex, DEAL_DESK, mailbox="Alex@Contoso.com").status_code == 200


def test_the_send_check_acts_as_the_caller_too(as_user):
    alex = as_user("alex@contoso.com")
    body = {"recipients": [CHAMPIONS], "subject": "Hi"}
    verdict = alex.post("/api/validate", json=body).get_json()
    assert verdict["action"] == "block" and verdict["report"]["mailbox"] == "alex@contoso.com"
    assert [f["rule"] for f in verdict["findings"]] == ["unresolved"]  # not Megan's group
    for path in ("/api/validate", "/api/validate/warmup"):
        answer = alex.post(path, json={**body, "mailbox": "megan@contoso.com"})
        assert answer.status_code == 403, path
        assert answer.get_json()["error"]["code"] == "not_your_mailbox"
    assert alex.post("/api/validate", json={**body, "mailbox": 7}).status_code == 400


def test_another_persons_contact_group_is_never_expanded(as_user):
    megan, alex = as_user("megan@contoso.com"), as_user("alex@contoso.com")
    hers = count(megan, CHAMPIONS).get_json()
    assert hers["tree"][0]["name"] == "Comms Champions"
    seen = count(alex, CHAMPIONS).get_json()
    assert seen["total"] == 0 and seen["tree"] == []
    assert [f["code"] for f in seen["findings"]] == ["unresolved"]
    assert count(megan, DEAL_DESK).get_json()["total"] == 0


def test_no_drift_or_expected_count_leaks_between_people(as_user):
    """Same entry text, different people: each compares with their own last count only."""
    megan, alex = as_user("megan@contoso.com"), as_user("alex@contoso.com")
    entry = {"displayName": "Comms Champions", "emailAddress": "Comms Champions"}
    assert count(megan, entry).get_json()["total"] > 0
    hers = count(megan, entry).get_json()
    assert hers["expected_source"] == "previous_count"
    theirs = count(alex, entry).get_json()
    assert theirs["drift"] is None and theirs["expected"] is None


def test_a_snapshot_copies_only_what_the_caller_may_see(as_user):
    alex = as_user("alex@contoso.com")
    answer = alex.post("/api/lists/Copied/snapshot", json={"exchange": "Comms Champions"})
    assert answer.status_code == 400  # Alex has no such list: nothing of Megan's is copied
    assert answer.get_json()["error"]["code"] == "not_a_list"
    assert "megan" not in answer.get_data(as_text=True).lower()
    assert alex.get("/api/lists/Copied").status_code == 404


def test_list_changes_are_recorded_as_the_caller(as_user):
    alex = as_user("alex@contoso.com")
    assert alex.post("/api/lists", json={"name": "Alex's"}).get_json()["owner"] == \
        "alex@contoso.com"
    alex.post("/api/lists/Alex's/members", json={"email": "ann@fabrikam.com"})
    audit = alex.get("/api/audit?list=Alex's").get_json()
    assert {e["actor"] for e in audit} == {"alex@contoso.com"}
    assert as_user("megan@contoso.com").get("/api/audit?list=Alex's").status_code == 403


def test_the_rate_limit_is_per_caller_with_retry_after(make_app):
    from support import signed_in

    app = make_app(rate_limit_per_minute=6, rate_limit_burst=2)
    megan, alex = signed_in(app, "megan@contoso.com"), signed_in(app, "alex@contoso.com")
    entry = {"displayName": "x", "emailAddress": "partners@contoso.com"}
    assert [count(megan, entry).status_code for _ in range(2)] == [200, 200]
    limited = count(megan, entry)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert count(alex, entry).status_code == 200
    assert megan.get("/api/lists").status_code == 200  # only the expensive routes are limited


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://localhost", True), ("https://localhost/", True),
    ("https://evil.example", False), ("https://localhost.evil.example", False), ("null", False)])
def test_cors_answers_only_the_panes_own_origin(app, origin, allowed):
    client = app.test_client()
    pre = client.options("/api/count", base_url="https://localhost",
                         headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "authorization"})
    assert (pre.headers.get("Access-Control-Allow-Origin") == origin) is allowed
    if allowed:
        assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    assert "Origin" in pre.headers.get("Vary", "")


def test_a_public_url_pins_the_origin(make_app):
    client = make_app(public_url="https://rollcall.example.com").test_client()
    ok = client.get("/api/auth/config", headers={"Origin": "https://rollcall.example.com/"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://rollcall.example.com/"
    other = client.get("/api/auth/config", base_url="https://evil.example",
                       headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_hsts_over_tls_only_and_api_answers_are_never_cached(as_user):
    megan = as_user("megan@contoso.com")
    secure = megan.get("/api/me", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert secure.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in megan.get("/api/me").headers


def test_a_body_over_the_limit_is_413_in_the_error_shape(as_user):
    answer = as_user("megan@contoso.com").post(
        "/api/count", data=b"x" * (3 * 1024 * 1024), content_type="application/json")
    assert answer.status_code == 413
    assert set(answer.get_json()["error"]) == {"code", "message", "request_id"}


def test_an_unexpected_error_answers_500_without_internals(app, as_user, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(app.extensions["rollcall"].counts, "count", explode)
    answer = count(as_user("megan@contoso.com"), {"displayName": "x", "emailAddress": "a@b.c"})
    assert answer.status_code == 500
    body = answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "internal_server_error"
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
