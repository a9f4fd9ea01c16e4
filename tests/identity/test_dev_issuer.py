"""The development issuer: loopback only, and its tokens pass the production validation."""

from __future__ import annotations

import pytest

from rollcall.dev.issuer import DevIssuer, NotLoopback, is_loopback, require_loopback
from rollcall.identity import KeySet, OidcSettings, TokenValidator
from rollcall.identity.keys import http_fetch

PEOPLE = {"megan@contoso.com": "Megan Bowen", "isaiah@contoso.com": "Isaiah Langer"}
AUDIENCE = "api://localhost:3000/00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.5.5", "::1", "[::1]"])
def test_loopback_hosts_are_allowed(host):
    assert is_loopback(host)
    require_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "rollcall.example.com", ""])
def test_anything_else_is_refused_saying_why(host):
    with pytest.raises(NotLoopback, match="loopback"):
        require_loopback(host)


def _issuer(folder) -> DevIssuer:
    return DevIssuer(folder, "https://localhost:3000/dev-issuer", AUDIENCE, PEOPLE,
                     admins=frozenset({"isaiah@contoso.com"}))


def test_its_tokens_pass_the_production_validator(tmp_path):
    issuer = _issuer(tmp_path)
    keys = KeySet(issuer.issuer, issuer.jwks_url, fetch=http_fetch())
    validator = TokenValidator(OidcSettings(issuer.issuer, (AUDIENCE,)), keys)
    megan = validator.validate(issuer.mint("Megan@Contoso.com"))
    assert (megan.mailbox, megan.name, megan.admin) == ("megan@contoso.com", "Megan Bowen", False)
    assert validator.validate(issuer.mint("isaiah@contoso.com")).admin


def test_it_mints_only_for_the_organisations_people(tmp_path):
    with pytest.raises(KeyError):
        _issuer(tmp_path).mint("mallory@evil.example")


def test_its_key_survives_a_restart_and_stays_private(tmp_path):
    first, second = _issuer(tmp_path), _issuer(tmp_path)
    assert first.kid == second.kid
    assert (tmp_path / "dev-issuer-key.pem").stat().st_mode & 0o077 == 0


def test_metadata_points_at_the_jwks_beside_it(tmp_path):
    meta = _issuer(tmp_path).metadata()
    assert meta["issuer"] == "https://localhost:3000/dev-issuer"
    assert meta["jwks_uri"] == "https://localhost:3000/dev-issuer/jwks.json"
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]


# -- the on-behalf-of grant (RFC 7523's jwt-bearer, as Entra ID speaks it) ---------------------

EWS = "https://outlook.office365.com"


def _obo_form(issuer: DevIssuer, caller_token: str, **changes: str) -> dict[str, str]:
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_id": issuer.client_id, "client_secret": issuer.client_secret,
            "assertion": caller_token, "requested_token_use": "on_behalf_of",
            "scope": f"{EWS}/EWS.AccessAsUser.All openid profile offline_access"}
    form.update(changes)
    return form


def test_on_behalf_of_gives_the_same_person_a_token_for_exchange(tmp_path):
    import jwt

    issuer = _issuer(tmp_path)
    assert issuer.client_id == "00000000-0000-0000-0000-000000000000"  # from the audience
    answer = issuer.on_behalf_of(_obo_form(issuer, issuer.mint("megan@contoso.com")))
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["aud"] == EWS and claims["scp"] == "EWS.AccessAsUser.All"
    assert claims["upn"] == "megan@contoso.com" and claims["iss"] == issuer.issuer
    assert claims["appid"] == issuer.client_id
    # The client secret stays the same across restarts, like the key.
    assert _issuer(tmp_path).client_secret == issuer.client_secret


def test_default_scope_is_the_consented_ews_permission(tmp_path):
    issuer = _issuer(tmp_path)
    answer = issuer.on_behalf_of(_obo_form(issuer, issuer.mint("megan@contoso.com"),
                                           scope=f"{EWS}/.default"))
    assert answer["scope"] == f"{EWS}/EWS.AccessAsUser.All"


@pytest.mark.parametrize("change, error", [
    ({"client_secret": "guess"}, "invalid_client"),
    ({"client_id": "11111111-0000-0000-0000-000000000000"}, "invalid_client"),
    ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ({"requested_token_use": ""}, "invalid_request"),
    ({"assertion": "not-a-token"}, "invalid_grant"),
    ({"scope": "openid profile"}, "invalid_scope"),
    ({"scope": f"{EWS}/Mail.Send"}, "invalid_scope"),
    ({"scope": f"{EWS}/EWS.AccessAsUser.All https://graph.microsoft.com/User.Read"},
     "invalid_scope"),
])
def test_on_behalf_of_refusals_use_oauths_error_codes(tmp_path, change, error):
    from rollcall.dev.issuer import OAuthError

    issuer = _issuer(tmp_path)
    with pytest.raises(OAuthError) as refused:
        issuer.on_behalf_of(_obo_form(issuer, issuer.mint("megan@contoso.com"), **change))
    assert refused.value.error == error
    assert refused.value.status == (401 if error == "invalid_client" else 400)


@pytest.mark.parametrize("claims", [
    {"exp": 1}, {"aud": "api://elsewhere/1"}, {"iss": "https://evil.example"},
    {"scp": "User.Read"},
])
def test_only_a_live_token_for_rollcalls_api_is_traded(tmp_path, claims):
    from rollcall.dev.issuer import OAuthError

    issuer = _issuer(tmp_path)
    with pytest.raises(OAuthError) as refused:
        issuer.on_behalf_of(_obo_form(issuer, issuer.mint("megan@contoso.com", **claims)))
    assert refused.value.error == "invalid_grant"


def test_a_token_signed_by_another_key_is_not_traded(tmp_path):
    from rollcall.dev.issuer import OAuthError

    issuer, other = _issuer(tmp_path / "a"), _issuer(tmp_path / "b")
    with pytest.raises(OAuthError, match="not valid"):
        issuer.on_behalf_of(_obo_form(issuer, other.mint("megan@contoso.com")))


def test_the_token_endpoint_speaks_oauth_over_http(demo_simulator, tmp_path):
    from support import demo_config, dev_issuer, rollcall_app, token

    client = rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path))
                          ).test_client()
    issuer = dev_issuer()
    meta = client.get("/dev-issuer/.well-known/openid-configuration").get_json()
    assert meta["token_endpoint"] == issuer.issuer + "/oauth2/token"
    form = _obo_form(issuer, token("megan@contoso.com"))
    ok = client.post("/dev-issuer/oauth2/token", data=form)
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert ok.get_json()["access_token"]
    # The client may also authenticate with HTTP Basic (RFC 6749 section 2.3.1).
    secret = form.pop("client_secret")
    basic = client.post("/dev-issuer/oauth2/token", data=form,
                        auth=(issuer.client_id, secret))
    assert basic.status_code == 200
    bad = client.post("/dev-issuer/oauth2/token", data={**form, "client_secret": "x"})
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_client"
    remote = client.post("/dev-issuer/oauth2/token", data=form,
                         environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert remote.status_code == 403
    assert client.get("/dev-issuer/authorize").get_json()["error"] == "unsupported_response_type"


# -- the client credentials grant (RFC 6749 section 4.4): Rollcall's app token for SMTP ----------

def _app_form(issuer: DevIssuer, **changes: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": issuer.client_id,
            "client_secret": issuer.client_secret, "scope": f"{EWS}/.default"}
    form.update(changes)
    return form


def test_client_credentials_give_an_app_token_for_the_resource(tmp_path):
    import jwt

    issuer = _issuer(tmp_path)
    answer = issuer.token(_app_form(issuer))
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    assert "refresh_token" not in answer and "id_token" not in answer
    claims = jwt.decode(answer["access_token"], jwt.PyJWK(issuer.jwks()["keys"][0]).key,
                        algorithms=["RS256"], audience=EWS, issuer=issuer.issuer)
    assert claims["appid"] == claims["azp"] == issuer.client_id
    assert claims["idtyp"] == "app" and claims["roles"] == ["SMTP.SendAsApp"]
    # An app token names no person.
    assert not {"upn", "preferred_username", "unique_name", "scp", "name"} & set(claims)
    assert jwt.get_unverified_header(answer["access_token"])["kid"] == issuer.kid
    # MSAL's OpenID scopes beside the resource's are passed over; Basic works as well.
    form = _app_form(issuer, scope=f"{EWS}/.default openid profile offline_access")
    basic = (form.pop("client_id"), form.pop("client_secret"))
    assert issuer.token(form, basic=basic)["access_token"]
    assert "client_credentials" in issuer.metadata()["grant_types_supported"]


@pytest.mark.parametrize("change, error", [
    ({"client_secret": "guess"}, "invalid_client"),
    ({"client_id": "11111111-0000-0000-0000-000000000000"}, "invalid_client"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": ""}, "unsupported_grant_type"),
    ({"scope": f"{EWS}/SMTP.SendAsApp"}, "invalid_scope"),  # Entra ID: /.default only
    ({"scope": "openid profile"}, "invalid_scope"),
    ({"scope": ""}, "invalid_scope"),
    ({"scope": "/.default"}, "invalid_scope"),
    ({"scope": f"{EWS}/.default https://graph.microsoft.com/.default"}, "invalid_scope"),
])
def test_client_credentials_refusals_use_oauths_error_codes(tmp_path, change, error):
    from rollcall.dev.issuer import OAuthError

    issuer = _issuer(tmp_path)
    with pytest.raises(OAuthError) as refused:
        issuer.token(_app_form(issuer, **change))
    assert refused.value.error == error
    assert refused.value.status == (401 if error == "invalid_client" else 400)
    assert refused.value.as_json()["error_description"]


def test_the_token_endpoint_serves_client_credentials_over_http(demo_simulator, tmp_path):
    from support import demo_config, dev_issuer, rollcall_app

    client = rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path))
                          ).test_client()
    issuer = dev_issuer()
    meta = client.get("/dev-issuer/.well-known/openid-configuration").get_json()
    assert set(meta["grant_types_supported"]) == {
        "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials"}
    ok = client.post("/dev-issuer/oauth2/token", data=_app_form(issuer))
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert ok.get_json()["access_token"]
    form = _app_form(issuer)
    secret = form.pop("client_secret")
    assert client.post("/dev-issuer/oauth2/token", data=form,
                       auth=(issuer.client_id, secret)).status_code == 200
    bad = client.post("/dev-issuer/oauth2/token", data={**form, "client_secret": "x"})
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_client"
    other = client.post("/dev-issuer/oauth2/token", data={**form, "grant_type": "password"})
    assert other.status_code == 400 and other.get_json()["error"] == "unsupported_grant_type"
