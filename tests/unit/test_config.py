"""Settings: a misspelt or malformed one is named, never ignored."""

from __future__ import annotations

import pytest

from rollcall.config import ConfigError, load_config


def test_a_misspelt_variable_is_named_with_the_likely_one():
    with pytest.raises(ConfigError, match="CONCURENCY .*did you mean ROLLCALL_CONCURRENCY"):
        load_config(environ={"ROLLCALL_CONCURENCY": "4"})


@pytest.mark.parametrize(("variable", "value"), [
    ("ROLLCALL_EWS_URL", "mail.example.com/EWS/Exchange.asmx"),
    ("ROLLCALL_MAX_NESTING", "deep"),
    ("ROLLCALL_EWS_AUTH", "kerberos"),
    ("ROLLCALL_OIDC_JWKS_URL", "http://login.example.com/keys"),
    ("ROLLCALL_OIDC_CLIENT_ID", "not-a-guid"),
    ("ROLLCALL_PUBLIC_URL", "http://rollcall.example.com"),
    ("ROLLCALL_RATE_LIMIT_BURST", "0"),
])
def test_a_malformed_value_is_named(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_config(environ={variable: value})


def test_tool_variables_are_not_settings_but_allowed():
    config = load_config(environ={"ROLLCALL_TEST_DATABASE_URL": "x", "ROLLCALL_MAX_NESTING": "5"})
    assert config.count.max_nesting == 5


def test_every_setting_is_in_the_readmes_table():
    """The README's configuration table is where operators look; a setting missing there is
    one nobody finds."""
    import re
    from pathlib import Path

    from rollcall.config import SETTINGS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(ROLLCALL_[A-Z0-9_*]+)` \|", readme, re.MULTILINE))
    missing = [f"ROLLCALL_{name.upper()}" for name in SETTINGS
               if f"ROLLCALL_{name.upper()}" not in rows
               and not (name.startswith("policy_") and "ROLLCALL_POLICY_*" in rows)]
    assert missing == []


def test_oauth_needs_a_confidential_client_instead_of_a_service_account(tmp_path):
    config = load_config(environ={"ROLLCALL_EWS_URL": "https://outlook.office365.com/EWS/Exchange.asmx",
                                  "ROLLCALL_EWS_AUTH": "oauth"})
    assert config.ews_missing() == ["oidc_issuer", "oidc_client_id", "oidc_client_secret"]
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    config = load_config(environ={
        "ROLLCALL_EWS_URL": "https://outlook.office365.com/EWS/Exchange.asmx",
        "ROLLCALL_EWS_AUTH": "oauth", "ROLLCALL_OIDC_ISSUER": "https://login.example/t/v2.0",
        "ROLLCALL_OIDC_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "ROLLCALL_OIDC_CLIENT_SECRET_FILE": str(secret)})
    assert config.ews_missing() == [] and config.identity.client_secret == "s3cret"
    config.require_ews()
    with pytest.raises(ConfigError, match="ROLLCALL_OIDC_CLIENT_SECRET_FILE: cannot read"):
        load_config(environ={"ROLLCALL_OIDC_CLIENT_SECRET_FILE": str(tmp_path / "nope")})


def test_files_and_urls_a_setting_needs_are_checked_when_read(tmp_path):
    with pytest.raises(ConfigError, match="ROLLCALL_EWS_CA_FILE.*cannot read"):
        load_config(environ={"ROLLCALL_EWS_CA_FILE": str(tmp_path / "nope.pem")})
    with pytest.raises(ConfigError, match="ROLLCALL_OIDC_CA_FILE.*cannot read"):
        load_config(environ={"ROLLCALL_OIDC_CA_FILE": str(tmp_path / "nope.pem")})
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"ROLLCALL_OIDC_CLIENT_SECRET_FILE: {empty} is empty"):
        load_config(environ={"ROLLCALL_OIDC_CLIENT_SECRET_FILE": str(empty)})
    plain = load_config(environ={
        "ROLLCALL_EWS_URL": "http://127.0.0.1:8040/EWS/Exchange.asmx", "ROLLCALL_EWS_AUTH": "oauth",
        "ROLLCALL_OIDC_ISSUER": "https://login.example/t/v2.0",
        "ROLLCALL_OIDC_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "ROLLCALL_OIDC_CLIENT_SECRET": "s"})
    with pytest.raises(ConfigError, match="must be https:// with ROLLCALL_EWS_AUTH=oauth"):
        plain.require_ews()


def test_every_section_field_is_exactly_one_setting():
    # Each section is its component's settings object: every field is reachable from one
    # ROLLCALL_* variable, and no variable lands nowhere.
    import dataclasses

    from rollcall.config import SETTINGS, Config

    targets = [(s.section, s.field) for s in SETTINGS.values()]
    assert len(targets) == len(set(targets))
    for section in dataclasses.fields(Config):
        fields = {f.name for f in dataclasses.fields(getattr(Config(), section.name))}
        assert fields == {f for s, f in targets if s == section.name}, section.name


def test_the_defaults_are_the_sections_own():
    from rollcall.config import Config

    assert load_config(environ={}) == Config()
    config = load_config(environ={"ROLLCALL_POLICY_CYCLE": "off", "ROLLCALL_CONCURRENCY": "4"})
    assert config.policy.cycle == "off" and config.count.concurrency == 4
    assert config.get("policy_cycle") == "off"
    assert config.with_settings(ews_url="https://x/EWS").ews.url == "https://x/EWS"
