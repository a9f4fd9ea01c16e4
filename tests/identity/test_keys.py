"""The issuer's keys: discovery, file:// and https only, read again on a schedule (a withdrawn key
stops working) and at once for an unknown key id (a new key works), at most once in 10 s."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from minting import AUDIENCE, ISSUER, Signer

from rollcall.identity import (
    IdentityUnavailable,
    InvalidToken,
    KeySet,
    OidcSettings,
    TokenValidator,
)
from rollcall.identity.keys import http_fetch, metadata_url
from rollcall.identity.settings import KEYS_REFRESH_S, KEYS_REREAD_S
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


def test_the_numbers_are_five_minutes_and_ten_seconds():
    assert (KEYS_REFRESH_S, KEYS_REREAD_S) == (300.0, 10.0)
    keys = KeySet(ISSUER, "https://k")
    assert (keys.refresh_s, keys.reread_s) == (KEYS_REFRESH_S, KEYS_REREAD_S)


def test_forged_key_ids_read_the_set_again_at_most_once_in_ten_seconds():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    keys.key("one")
    clock.now += 10  # the last read is 10 s old: one forged id may cause one read
    for n in range(50):  # a flood of forged key ids, each new, over 9.8 s
        with pytest.raises(InvalidToken) as raised:
            keys.key(f"forged-{n}")
        assert raised.value.code == "unknown_key"
        clock.now += 0.2
    assert len(issuer.asked) == 2
    for n in range(50):  # the next ten seconds: again one
        with pytest.raises(InvalidToken):
            keys.key(f"forged-again-{n}")
        clock.now += 0.2
    assert len(issuer.asked) == 3
    assert keys.key("one").key_id == "one"  # known keys never wait for the limit


def test_a_new_key_works_from_its_first_token_with_one_read():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    keys.key("one")
    clock.now += 30  # well inside the five-minute schedule
    issuer.signers.append(Signer("two"))  # the issuer rotates in a new key
    assert keys.key("two").key_id == "two"
    assert keys.key("two").key_id == "two" and keys.key("one").key_id == "one"
    assert len(issuer.asked) == 2


def test_a_withdrawn_key_stops_working_after_the_refresh_interval():
    one, two = Signer("one"), Signer("two")
    issuer, clock = Issuer(one, two), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock,
                  refresh_s=60)
    keys.key("one")
    issuer.signers.remove(one)  # the issuer withdraws a key
    clock.now += 59
    assert keys.key("one").key_id == "one"  # still held: the interval has not passed
    clock.now += 1
    with pytest.raises(InvalidToken) as raised:
        keys.key("one")
    assert raised.value.code == "unknown_key"
    assert keys.key("two").key_id == "two"
    assert len(issuer.asked) == 2


def _validator(jwks: Path, clock: Clock, refresh_s: float) -> TokenValidator:
    keys = KeySet(ISSUER, jwks.as_uri(), fetch=http_fetch(), clock=clock, refresh_s=refresh_s)
    return TokenValidator(OidcSettings(ISSUER, (AUDIENCE,)), keys)


def test_rotation_both_ways_through_a_jwks_file_and_real_tokens(tmp_path):
    old, new = Signer("2024-key"), Signer("2025-key")
    jwks, clock = tmp_path / "jwks.json", Clock(5000.0)
    jwks.write_text(json.dumps({"keys": [old.jwk()]}))
    validator = _validator(jwks, clock, refresh_s=120)
    assert validator.validate(old.token()).mailbox == "alex@contoso.com"
    # Rotation in: the issuer publishes the new key and signs with it; its first token works.
    jwks.write_text(json.dumps({"keys": [old.jwk(), new.jwk()]}))
    clock.now += KEYS_REREAD_S
    assert validator.validate(new.token()).mailbox == "alex@contoso.com"
    # Rotation out: the old key leaves the JWKS; its tokens work until the next scheduled read.
    jwks.write_text(json.dumps({"keys": [new.jwk()]}))
    clock.now += 100
    assert validator.validate(old.token()).mailbox == "alex@contoso.com"
    clock.now += 20  # 120 s since the last read
    with pytest.raises(InvalidToken) as raised:
        validator.validate(old.token())
    assert raised.value.code == "unknown_key"
    assert validator.validate(new.token()).mailbox == "alex@contoso.com"


def test_one_thread_reads_while_tokens_with_known_keys_go_on():
    one = Signer("one")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(url: str) -> object:
        calls.append(url)
        if len(calls) > 1:  # the second read hangs until the test lets it go
            started.set()
            assert release.wait(10)
        return {"keys": [one.jwk(), Signer("two").jwk()] if len(calls) > 1 else [one.jwk()]}

    clock = Clock(0.0)
    keys = KeySet(ISSUER, "https://k", fetch=slow, clock=clock)
    keys.key("one")
    clock.now += KEYS_REFRESH_S
    reader = threading.Thread(target=lambda: keys.key("one"))
    reader.start()
    assert started.wait(10)
    assert keys.key("one").key_id == "one"  # not held up by the read in flight
    waiter_saw: list[str] = []
    waiter = threading.Thread(target=lambda: waiter_saw.append(keys.key("two").key_id))
    waiter.start()  # an unknown key id waits for the read in flight, not a read of its own
    time.sleep(0.2)  # let it reach the wait: without one it would be refused at once
    release.set()
    reader.join(10)
    waiter.join(10)
    assert waiter_saw == ["two"] and len(calls) == 2


def test_keys_held_are_kept_while_the_issuer_is_down():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    keys.key("one")
    issuer.down = True
    clock.now += 61
    with pytest.raises(InvalidToken):
        keys.key("two")
    clock.now += 25 * 3600  # many scheduled reads fail; the keys last read still serve
    assert keys.key("one").key_id == "one"
    assert len(issuer.asked) == 3  # one read per call that found one due, not one per token
    assert keys.key("one").key_id == "one" and len(issuer.asked) == 3


def test_without_keys_a_failed_read_is_retried_at_most_once_in_ten_seconds():
    issuer, clock = Issuer(Signer("one")), Clock(1000.0)
    issuer.down = True
    keys = KeySet(ISSUER, "https://login.example.test/keys", fetch=issuer, clock=clock)
    for _ in range(5):
        with pytest.raises(IdentityUnavailable):
            keys.key("one")
    assert len(issuer.asked) == 1
    issuer.down = False
    clock.now += KEYS_REREAD_S
    assert keys.key("one").key_id == "one" and len(issuer.asked) == 2


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
