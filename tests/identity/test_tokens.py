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
        "only an email claim": signer.token(preferred_username=None, email="alex@contoso.com"),
        "a guest": signer.token(idp="https://sts.windows.net/another-tenant/"),
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


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _entra(signer: Signer, **settings: object) -> TokenValidator:
    keys = KeySet(ISSUER, "https://keys.example.test/jwks", fetch=lambda url: signer.jwks())
    return TokenValidator(OidcSettings(ISSUER, (AUDIENCE,), **settings), keys)  # type: ignore[arg-type]


def test_a_token_for_another_tenant_is_refused(signer):
    validator = _entra(signer, tenant_id=TENANT)
    assert validator.validate(signer.token(tid=TENANT)).mailbox == "alex@contoso.com"
    for tid in ("0b0b0b0b-1111-4222-8333-444444444444", None):
        with pytest.raises(InvalidToken) as raised:
            validator.validate(signer.token(tid=tid))
        assert raised.value.code == "wrong_tenant" and raised.value.status == 401


def test_the_tenant_is_read_from_an_entra_issuer_url():
    from rollcall.identity.settings import IdentitySettings

    entra = IdentitySettings(issuer=f"https://login.microsoftonline.com/{TENANT}/v2.0",
                             audience=(AUDIENCE,)).oidc()
    assert entra is not None and entra.tenant_id == TENANT
    named = IdentitySettings(issuer=ISSUER, audience=(AUDIENCE,), tenant_id=TENANT.upper(),
                             allow_guests=True, keys_refresh_s=60).oidc()
    assert named is not None and (named.tenant_id, named.allow_guests) == (TENANT, True)
    assert named.keys_refresh_s == 60
    other = IdentitySettings(issuer="https://adfs.contoso.com/adfs", audience=(AUDIENCE,)).oidc()
    assert other is not None and other.tenant_id is None


def test_guests_are_refused_unless_the_setting_allows_them(signer):
    guest = signer.token(tid=TENANT, acct=1, preferred_username="bob@fabrikam.example",
                         upn="bob_fabrikam.example#EXT#@contoso.onmicrosoft.com")
    with pytest.raises(InvalidToken) as raised:
        _entra(signer, tenant_id=TENANT).validate(guest)
    assert raised.value.code == "guest_not_allowed"
    allowed = _entra(signer, tenant_id=TENANT, allow_guests=True).validate(guest)
    assert allowed.mailbox == "bob_fabrikam.example#ext#@contoso.onmicrosoft.com"


def test_upn_wins_over_preferred_username(validator, signer):
    token = signer.token(upn="Alex.Wilber@contoso.com", preferred_username="alex@contoso.com")
    assert validator.validate(token).mailbox == "alex.wilber@contoso.com"


def test_a_directory_resolver_names_the_mailbox_from_oid_after_the_same_checks(signer):
    asked: list[tuple[str, str | None]] = []

    def directory(oid: str, tid: str | None) -> str | None:
        asked.append((oid, tid))
        return "Alex.Wilber@Contoso.com" if oid == claims()["oid"] else None

    keys = KeySet(ISSUER, "https://k.example.test", fetch=lambda url: signer.jwks())
    v = TokenValidator(OidcSettings(ISSUER, (AUDIENCE,), tenant_id=TENANT), keys,
                       resolve_mailbox=directory)
    assert v.validate(signer.token(tid=TENANT)).mailbox == "alex.wilber@contoso.com"
    assert asked == [(claims()["oid"], TENANT)]
    with pytest.raises(InvalidToken):  # the directory knows no mailbox for this person
        v.validate(signer.token(tid=TENANT, oid="someone-else"))
    for refused in (signer.token(tid="0b0b0b0b-1111-4222-8333-444444444444"),
                    signer.token(tid=TENANT, acct=1)):
        with pytest.raises(InvalidToken):
            v.validate(refused)
    assert len(asked) == 2  # tenant and guest checks come first: the directory is not asked
