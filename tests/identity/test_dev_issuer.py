"""The development issuer: loopback only, and its tokens pass the production validation."""

from __future__ import annotations

import pytest

from rollcall.identity import KeySet, OidcSettings, TokenValidator
from rollcall.identity.dev_issuer import DevIssuer, NotLoopback, is_loopback, require_loopback
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
