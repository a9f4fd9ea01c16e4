"""Every protected route refuses a missing or bad token with 401 and the JSON error shape, and
no token ever reaches a log line."""

from __future__ import annotations

import json
import logging
import time

import pytest
from minting import AUDIENCE, ISSUER, Signer, claims, hs256_with_public_key, unsigned

PUBLIC = {"/api/openapi.json", "/api/auth/config"}
SIGNER = Signer("test-key")


@pytest.fixture
def app(make_app, tmp_path):
    """Rollcall trusting the tests' own issuer, its keys in a JWKS file (ROLLCALL_OIDC_JWKS_URL)."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(SIGNER.jwks()))
    return make_app(oidc_issuer=ISSUER, oidc_audience=(AUDIENCE,), oidc_jwks_url=jwks.as_uri())


def _now() -> int:
    return int(time.time())


BAD = {
    "forged signature": lambda: Signer(kid=SIGNER.kid).token(),
    "wrong issuer": lambda: SIGNER.token(iss="https://login.example.test/other/v2.0"),
    "wrong audience": lambda: SIGNER.token(aud="api://someone-else/1"),
    "expired": lambda: SIGNER.token(exp=_now() - 600, iat=_now() - 4200, nbf=_now() - 4200),
    "not yet valid": lambda: SIGNER.token(nbf=_now() + 600, iat=_now() + 600,
                                          exp=_now() + 4200),
    "alg none": lambda: unsigned({"alg": "none", "typ": "JWT", "kid": SIGNER.kid}, claims()),
    "hs256 signed with the public key": lambda: hs256_with_public_key(SIGNER),
    "missing access_as_user": lambda: SIGNER.token(scp="User.Read"),
    "unknown key id": lambda: Signer(kid="nobody-published-this").token(),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_token_is_401_with_the_error_shape(app, case, caplog):
    caplog.set_level(logging.DEBUG)
    token = BAD[case]()
    client = app.test_client()
    for method, path, body in (("post", "/api/count", {"recipients": [{"displayName": "x"}]}),
                               ("get", "/api/me", None), ("get", "/api/lists", None)):
        answer = getattr(client, method)(path, json=body,
                                         headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (case, path, answer.get_json())
        error = answer.get_json()["error"]
        assert set(error) == {"code", "message", "request_id"} and error["message"]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert token not in answer.get_data(as_text=True)
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text  # not even the claims part


def test_a_valid_token_from_the_same_issuer_is_accepted_and_never_logged(app, caplog):
    caplog.set_level(logging.DEBUG)
    token = SIGNER.token()
    client = app.test_client()
    answer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.get_json() == {"mailbox": "alex@contoso.com", "name": "Alex Wilber",
                                 "roles": [], "admin": False}
    counted = client.post("/api/count", headers={"Authorization": f"Bearer {token}"},
                          json={"recipients": [{"emailAddress": "partners@contoso.com"}]})
    assert counted.status_code == 200
    assert caplog.records and token.split(".")[1] not in caplog.text


def test_refusals_are_logged_with_the_reason(app, caplog):
    caplog.set_level(logging.INFO)
    app.test_client().get("/api/me", headers={"Authorization": f"Bearer {BAD['expired']()}"})
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and "GET" in refusals[0] and "/api/me" in refusals[0]
    assert "token_expired" in refusals[0]


def test_every_api_route_but_the_public_ones_needs_a_token(app):
    client = app.test_client()
    routes = [(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert len(routes) > 15
    for rule, methods in routes:
        path = rule.replace("<name>", "L").replace("<path:member>", "m").replace(
            "<email>", "a@contoso.com")
        for method in methods:
            answer = client.open(path, method=method)
            if rule in PUBLIC:
                assert answer.status_code == 200, rule
            else:
                assert answer.status_code == 401, (method, rule)
                assert answer.get_json()["error"]["code"] == "not_signed_in"


@pytest.mark.parametrize(("header", "code"), [
    ("Basic bWVnYW46UGFzc3cwcmQh", "not_signed_in"), ("Bearer", "not_signed_in"),
    ("Bearer  ", "not_signed_in"), ("token abc", "not_signed_in"),
    ("Bearer " + "a" * 20_000, "invalid_token")])
def test_other_schemes_and_junk_are_401(app, header, code):
    answer = app.test_client().get("/api/me", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == code


def test_without_an_identity_provider_the_api_is_closed_and_says_what_to_set(make_app):
    from rollcall.app import create_app

    config = make_app().extensions["rollcall"].config
    bare = create_app(config.with_settings(oidc_issuer=None, oidc_audience=()))
    answer = bare.test_client().get("/api/me", headers={"Authorization": "Bearer x.y.z"})
    assert answer.status_code == 503
    assert "ROLLCALL_OIDC_ISSUER" in answer.get_json()["error"]["message"]
    assert bare.test_client().get("/api/openapi.json").status_code == 200


def test_a_configured_tenant_and_guests_are_enforced_at_the_gate(make_app, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(SIGNER.jwks()))
    app = make_app(oidc_issuer=ISSUER, oidc_audience=(AUDIENCE,), oidc_jwks_url=jwks.as_uri(),
                   oidc_tenant_id=tenant)
    client = app.test_client()

    def me(token: str) -> tuple[int, str]:
        answer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        body = answer.get_json()
        return answer.status_code, body.get("mailbox") or body["error"]["code"]

    assert me(SIGNER.token(tid=tenant)) == (200, "alex@contoso.com")
    assert me(SIGNER.token()) == (401, "wrong_tenant")
    assert me(SIGNER.token(tid="0b0b0b0b-1111-4222-8333-444444444444")) == (401, "wrong_tenant")
    assert me(SIGNER.token(tid=tenant, idp="live.com")) == (401, "guest_not_allowed")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3 and "guest_not_allowed" in refusals[2]
    assert all("wrong_tenant" in m for m in refusals[:2])


def test_the_key_refresh_setting_reaches_the_apps_key_set(make_app, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(SIGNER.jwks()))
    app = make_app(oidc_issuer=ISSUER, oidc_audience=(AUDIENCE,), oidc_jwks_url=jwks.as_uri(),
                   oidc_keys_refresh_s=45.0)
    assert app.extensions["rollcall"].identity.keys.refresh_s == 45.0
