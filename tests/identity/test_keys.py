"""The issuer's keys: discovery, file:// and https only, and refreshes at most once a minute."""

from __future__ import annotations

import json

import pytest
from minting import ISSUER, Signer

from rollcall.identity import IdentityUnavailable, InvalidToken, KeySet
from rollcall.identity.keys import http_fetch, metadata_url
from support import Clock


class Issuer:
    """Answers discovery and JWKS requests like an OpenID provider, counting them."""

    def __init__(self, *signers: Signer) -> None:
        self.signers = list(signers)
        self.asked: list[str] = []
        self.down = False

    def __call__(self, url: str) -> object:
        self.asked.append(url)
        if self.down:
            raise OSError("connection refused")
        if url == metadata_url(ISSUER):
            return {"issuer": ISSUER, "jwks_uri": "https://login.example.test/keys"}
        assert url == "https://login.example.test/keys"
        return {"keys": [s.jwk() for s in self.signers]}


def test_keys_are_found_through_openid_discovery_and_cached():
    one = Signer("one")
    issuer = Issuer(one)
    keys = KeySet(ISSUER, fetch=issuer)
    assert keys.key("one").key_id == "one"
    assert keys.key("one").key_id == "one"
    assert issuer.asked == [metadata_url(ISSUER), "https://login.example.test/keys"]


def test_an_unknown_key_id_reads_the_set_again_at_most_once_a_minute():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    keys.key("one")
    for _ in range(50):  # a flood of forged key ids
        with pytest.raises(InvalidToken) as raised:
            keys.key("forged")
    assert raised.value.code == "unknown_key"
    assert len(issuer.asked) == 1
    issuer.signers.append(Signer("two"))  # the issuer rotates its keys
    clock.now += 61
    assert keys.key("two").key_id == "two"
    assert len(issuer.asked) == 2


def test_keys_held_are_kept_while_the_issuer_is_down():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    keys.key("one")
    issuer.down = True
    clock.now += 61
    with pytest.raises(InvalidToken):
        keys.key("two")
    clock.now += 25 * 3600  # past the maximum age: re-read, fails, the old keys still serve
    assert keys.key("one").key_id == "one"


def test_no_keys_at_all_is_503():
    issuer = Issuer(Signer("one"))
    issuer.down = True
    with pytest.raises(IdentityUnavailable):
        KeySet(ISSUER, fetch=issuer).key("one")


def test_metadata_for_another_issuer_is_not_trusted():
    def lying(url: str) -> object:
        return {"issuer": "https://evil.example.test", "jwks_uri": "https://evil.example.test/k"}

    with pytest.raises(IdentityUnavailable):
        KeySet(ISSUER, fetch=lying).key("one")


def test_keys_over_plain_http_are_refused():
    with pytest.raises(ValueError, match="https"):
        http_fetch()("http://login.example.test/keys")
    with pytest.raises(IdentityUnavailable):
        KeySet(ISSUER, "http://login.example.test/keys", fetch=http_fetch()).key("one")


def test_a_jwks_file_serves_air_gapped_sites(tmp_path):
    signer = Signer("file-key")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(signer.jwks()))
    keys = KeySet(ISSUER, path.as_uri(), fetch=http_fetch())
    assert keys.key("file-key").key_id == "file-key"


def test_encryption_and_non_rsa_keys_are_left_out():
    signer = Signer("sig")
    enc = {**Signer("enc").jwk(), "use": "enc"}
    ec = {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y"}
    keys = KeySet(ISSUER, "https://k", fetch=lambda url: {"keys": [enc, ec, signer.jwk()]})
    assert keys.key("sig").key_id == "sig"
    for kid in ("enc", "ec"):
        with pytest.raises(InvalidToken):
            keys.key(kid)
