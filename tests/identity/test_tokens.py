"""Token validation itself: each way a token can be wrong is refused, with a reason."""

from __future__ import annotations

import time

import pytest
from minting import AUDIENCE, ISSUER, Signer, claims, hs256_with_public_key, unsigned

from rollcall.identity import (
    IdentityUnavailable,
    InvalidToken,
    KeySet,
    NotSignedIn,
    OidcSettings,
    TokenValidator,
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.fixture
def validator(signer: Signer) -> TokenValidator:
    keys = KeySet(ISSUER, "https://keys.example.test/jwks", fetch=lambda url: signer.jwks())
    return TokenValidator(OidcSettings(ISSUER, (AUDIENCE,), admin_group="g-admins"), keys)


def test_a_valid_token_names_the_caller_by_mailbox(validator, signer):
    caller = validator.validate(signer.token(preferred_username="Alex@Contoso.com"))
    assert caller.mailbox == "alex@contoso.com"
    assert caller.name == "Alex Wilber" and caller.admin is False and caller.roles == ()


def test_a_v1_token_names_the_caller_by_upn(validator, signer):
    token = signer.token(preferred_username=None, upn="adele@contoso.com", ver="1.0")
    assert validator.validate(token).mailbox == "adele@contoso.com"


def test_admin_comes_from_the_app_role_or_the_admin_group(validator, signer):
    assert validator.validate(signer.token(roles=["Rollcall.Admin"])).admin
    assert validator.validate(signer.token(groups=["g-other", "g-admins"])).admin
    assert not validator.validate(signer.token(roles=["Rollcall.Reader"], groups=["g"])).admin


def test_several_audiences_may_be_accepted(signer):
    keys = KeySet(ISSUER, "https://k.example.test", fetch=lambda url: signer.jwks())
    v = TokenValidator(OidcSettings(ISSUER, (AUDIENCE, "11111111-aaaa")), keys)
    assert v.validate(signer.token(aud="11111111-aaaa")).mailbox == "alex@contoso.com"


def _bad_tokens(signer: Signer) -> dict[str, str]:
    now = int(time.time())
    forger = Signer(kid=signer.kid)  # same key id, another key: a forged signature
    return {
        "forged signature": forger.token(),
        "wrong issuer": signer.token(iss="https://login.example.test/other-tenant/v2.0"),
        "wrong audience": signer.token(aud="api://someone-else"),
        "expired": signer.token(exp=now - 600, iat=now - 4200, nbf=now - 4200),
        "not yet valid": signer.token(nbf=now + 600, iat=now + 600, exp=now + 4200),
        "alg none": unsigned({"alg": "none", "typ": "JWT", "kid": signer.kid}, claims()),
        "hs256 with the public key": hs256_with_public_key(signer),
        "no access_as_user": signer.token(scp="User.Read"),
        "unknown key id": Signer(kid="key-nobody-published").token(),
        "no exp": signer.token(exp=None),
        "no mailbox": signer.token(preferred_username=None),
        "not a jwt": "not-a-token",
        "no kid": unsigned({"alg": "RS256", "typ": "JWT"}, claims(), b"x" * 256),
    }


@pytest.mark.parametrize("case", list(_bad_tokens(Signer())))
def test_bad_tokens_are_refused_with_401_and_the_error_shape(validator, signer, case):
    token = _bad_tokens(signer)[case]
    with pytest.raises(InvalidToken) as raised:
        validator.validate(token)
    error = raised.value
    assert error.status == 401
    assert set(error.to_json()["error"]) == {"code", "message"}
    assert token not in error.message
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_reason_is_named_where_the_pane_can_act_on_it(validator, signer):
    now = int(time.time())
    with pytest.raises(InvalidToken) as expired:
        validator.validate(signer.token(exp=now - 600, iat=now - 4200, nbf=now - 4200))
    assert expired.value.code == "token_expired"
    with pytest.raises(InvalidToken) as scope:
        validator.validate(signer.token(scp="User.Read openid"))
    assert scope.value.code == "missing_scope"


def test_clock_skew_within_the_leeway_is_tolerated(validator, signer):
    now = int(time.time())
    assert validator.validate(signer.token(nbf=now + 30, iat=now + 30)).mailbox
    assert validator.validate(signer.token(exp=now - 30)).mailbox


def test_no_token_is_not_signed_in(validator):
    with pytest.raises(NotSignedIn) as raised:
        validator.validate(None)
    assert raised.value.status == 401 and raised.value.code == "not_signed_in"


def test_an_oversized_token_is_refused_before_parsing(validator):
    with pytest.raises(InvalidToken):
        validator.validate("e" * 20_000)


def test_keys_that_cannot_be_read_answer_503_not_401(signer):
    def down(url: str) -> object:
        raise OSError("connection refused")

    v = TokenValidator(OidcSettings(ISSUER, (AUDIENCE,)), KeySet(ISSUER, fetch=down))
    with pytest.raises(IdentityUnavailable) as raised:
        v.validate(signer.token())
    assert raised.value.status == 503
