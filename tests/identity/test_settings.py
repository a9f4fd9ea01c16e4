"""The identity settings: parsed and checked at startup, naming the variable, and the manifest's
WebApplicationInfo filled from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcall.config import ConfigError, load_config

CLIENT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def test_identity_settings_come_from_the_environment():
    config = load_config(environ={
        "ROLLCALL_OIDC_ISSUER": "https://login.microsoftonline.com/tenant/v2.0",
        "ROLLCALL_OIDC_AUDIENCE": f"{CLIENT}, api://rollcall.example.com/{CLIENT}",
        "ROLLCALL_OIDC_JWKS_URL": "file:///etc/rollcall/jwks.json",
        "ROLLCALL_OIDC_CLIENT_ID": CLIENT.upper(),
        "ROLLCALL_ADMIN_GROUP": "0a0a0a0a-0000-0000-0000-000000000000",
        "ROLLCALL_PUBLIC_URL": "https://Rollcall.example.com/",
        "ROLLCALL_RATE_LIMIT_PER_MINUTE": "0",
    })
    assert config.identity.audience == (CLIENT, f"api://rollcall.example.com/{CLIENT}")
    assert config.identity.client_id == CLIENT
    assert config.server.public_url == "https://rollcall.example.com"
    assert config.server.rate_limit_per_minute == 0 and config.server.rate_limit_burst == 20
    config.require_oidc()


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_tenant_guests_and_key_refresh_come_from_the_environment_or_a_file(tmp_path):
    assert load_config(environ={}).identity.allow_guests is False
    assert load_config(environ={}).identity.keys_refresh_s == 300.0
    config = load_config(environ={"ROLLCALL_OIDC_TENANT_ID": TENANT.upper(),
                                  "ROLLCALL_OIDC_ALLOW_GUESTS": "true",
                                  "ROLLCALL_OIDC_KEYS_REFRESH_S": "60"})
    assert (config.identity.tenant_id, config.identity.allow_guests) == (TENANT, True)
    assert config.identity.keys_refresh_s == 60.0
    toml = tmp_path / "rollcall.toml"
    toml.write_text("oidc_allow_guests = true\noidc_keys_refresh_s = 120\n")
    from_file = load_config(environ={"ROLLCALL_CONFIG": str(toml)})
    assert from_file.identity.allow_guests is True and from_file.identity.keys_refresh_s == 120
    off = load_config(environ={"ROLLCALL_OIDC_ALLOW_GUESTS": "no"})
    assert off.identity.allow_guests is False


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("ROLLCALL_OIDC_TENANT_ID", "contoso.onmicrosoft.com", "GUID"),
    ("ROLLCALL_OIDC_ALLOW_GUESTS", "maybe", "true or false"),
    ("ROLLCALL_OIDC_KEYS_REFRESH_S", "5", "from 10"),
    ("ROLLCALL_OIDC_KEYS_REFRESH_S", "never", "ROLLCALL_OIDC_KEYS_REFRESH_S"),
])
def test_bad_identity_values_are_named(variable, value, says):
    with pytest.raises(ConfigError, match=variable) as raised:
        load_config(environ={variable: value})
    assert says in str(raised.value)


def test_a_tenant_other_than_the_issuers_is_a_startup_error():
    issuer = f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert load_config(environ={"ROLLCALL_OIDC_ISSUER": issuer,
                                "ROLLCALL_OIDC_TENANT_ID": TENANT}).identity.tenant() == TENANT
    with pytest.raises(ConfigError, match="ROLLCALL_OIDC_TENANT_ID=.*ROLLCALL_OIDC_ISSUER"):
        load_config(environ={"ROLLCALL_OIDC_ISSUER": issuer,
                             "ROLLCALL_OIDC_TENANT_ID": "0b0b0b0b-1111-4222-8333-444444444444"})


def test_a_missing_issuer_or_audience_is_named():
    with pytest.raises(ConfigError, match="ROLLCALL_OIDC_ISSUER"):
        load_config(environ={}).require_oidc()
    with pytest.raises(ConfigError, match="ROLLCALL_OIDC_AUDIENCE"):
        load_config(environ={"ROLLCALL_OIDC_ISSUER": "https://idp.example"}).require_oidc()


def test_the_manifest_takes_the_client_id_and_url_from_the_settings(monkeypatch, capsys):
    from rollcall.cli import main

    monkeypatch.setenv("ROLLCALL_OIDC_CLIENT_ID", CLIENT)
    monkeypatch.setenv("ROLLCALL_PUBLIC_URL", "https://rollcall.example.com")
    assert main(["manifest"]) == 0
    xml = capsys.readouterr().out
    assert f"<Id>{CLIENT}</Id>" in xml
    assert f"<Resource>api://rollcall.example.com/{CLIENT}</Resource>" in xml
    assert main(["manifest", "--url", "https://localhost:3000", "--client-id",
                 "00000000-0000-0000-0000-000000000000"]) == 0
    committed = Path(__file__).resolve().parents[2] / "manifest.xml"
    assert capsys.readouterr().out == committed.read_text(encoding="utf-8")


def test_the_pane_learns_the_scope_and_authority_for_nested_app_auth(make_app):
    app = make_app(oidc_issuer="https://login.microsoftonline.com/tenant-1/v2.0",
                   oidc_audience=(CLIENT, f"api://rollcall.example.com/{CLIENT}"),
                   oidc_client_id=CLIENT)
    config = app.test_client().get("/api/auth/config").get_json()
    assert config == {"client_id": CLIENT,
                      "scope": f"api://rollcall.example.com/{CLIENT}/access_as_user",
                      "authority": "https://login.microsoftonline.com/tenant-1",
                      "dev_token_url": "dev-issuer/token"}
