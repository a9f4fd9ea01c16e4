"""The acting-mailbox rule on its own: claims in, a mailbox or a refusal out (mailbox.py)."""

from __future__ import annotations

import pytest

from rollcall.identity import InvalidToken
from rollcall.identity.mailbox import acting_mailbox, is_guest, tenant_of

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0b0b0b0b-1111-4222-8333-444444444444"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


def member(**claims: object) -> dict[str, object]:
    """An Entra ID v2.0 member's claims; None drops one."""
    body: dict[str, object] = {"iss": ISSUER, "tid": TENANT, "preferred_username":
                               "alex@contoso.com", "oid": "0f0e0d0c-0000-4000-8000-000000000001"}
    body.update(claims)
    return {k: v for k, v in body.items() if v is not None}


def refused(claims: dict[str, object], **rule: object) -> InvalidToken:
    with pytest.raises(InvalidToken) as raised:
        acting_mailbox(claims, **rule)  # type: ignore[arg-type]
    assert raised.value.status == 401
    return raised.value


def test_upn_is_preferred_over_preferred_username():
    claims = member(upn="Alex.Wilber@Contoso.com", preferred_username="alex@fabrikam.example")
    assert acting_mailbox(claims, TENANT) == "alex.wilber@contoso.com"


def test_a_member_without_upn_acts_as_preferred_username():
    assert acting_mailbox(member(preferred_username="Alex@Contoso.com"), TENANT) == \
        "alex@contoso.com"


@pytest.mark.parametrize("only", [{"email": "alex@contoso.com"},
                                  {"unique_name": "alex@contoso.com"},
                                  {"unique_name": "CONTOSO\\alex"}])
def test_email_or_unique_name_alone_names_no_mailbox(only):
    error = refused(member(preferred_username=None, **only), tenant_id=TENANT)
    assert error.code == "invalid_token" and "upn" in error.message


@pytest.mark.parametrize("value", ["", "alex", "@contoso.com", "alex@", 42, ["alex@contoso.com"]])
def test_a_claim_that_is_not_an_address_is_not_used(value):
    refused(member(preferred_username=value))


def test_the_tenant_must_match_when_one_is_known():
    assert acting_mailbox(member(tid=TENANT.upper()), TENANT) == "alex@contoso.com"
    for tid in (OTHER_TENANT, None, 7):
        error = refused(member(tid=tid), tenant_id=TENANT)
        assert error.code == "wrong_tenant" and "organisation" in error.message
    # No tenant known (AD FS, the development issuer): `tid` is not looked at.
    assert acting_mailbox(member(tid=None)) == "alex@contoso.com"


GUESTS = {
    # Entra's access-token reference: idp equals iss "unless the user account isn't in the same
    # tenant as the issuer, such as guests"; personal accounts show live.com.
    "idp of another tenant": {"idp": f"https://sts.windows.net/{OTHER_TENANT}/"},
    "idp of a personal account": {"idp": "live.com"},
    # The optional claim: 0 member, 1 guest.
    "acct 1": {"acct": 1},
    "acct '1'": {"acct": "1"},
    # The UPN a resource tenant stores for a guest (optional claims' additionalProperties).
    "#EXT# upn": {"upn": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
}


@pytest.mark.parametrize("case", list(GUESTS))
def test_guests_are_refused_by_default(case):
    claims = member(preferred_username="bob@fabrikam.example", **GUESTS[case])
    assert is_guest(claims)
    error = refused(claims, tenant_id=TENANT)
    assert error.code == "guest_not_allowed"


def test_an_allowed_guest_acts_as_the_tenants_upn_never_the_address_at_home():
    guest = member(idp=f"https://sts.windows.net/{OTHER_TENANT}/",
                   preferred_username="bob@fabrikam.example",
                   upn="bob_fabrikam.example#EXT#@contoso.onmicrosoft.com")
    assert acting_mailbox(guest, TENANT, allow_guests=True) == \
        "bob_fabrikam.example#ext#@contoso.onmicrosoft.com"
    without_upn = member(idp="live.com", preferred_username="bob@outlook.example")
    assert refused(without_upn, tenant_id=TENANT, allow_guests=True).code == "invalid_token"


@pytest.mark.parametrize("idp", [ISSUER, ISSUER + "/", f"https://sts.windows.net/{TENANT}/"])
def test_idp_naming_the_issuer_or_its_own_tenant_is_a_member(idp):
    claims = member(idp=idp, acct=0)
    assert not is_guest(claims)
    assert acting_mailbox(claims, TENANT) == "alex@contoso.com"


def test_tenant_comes_only_from_an_entra_issuer_naming_a_guid():
    assert tenant_of(ISSUER) == TENANT
    assert tenant_of(f"https://sts.windows.net/{TENANT.upper()}/") == TENANT
    assert tenant_of(f"https://login.microsoftonline.us/{TENANT}/v2.0") == TENANT
    for issuer in ("https://login.microsoftonline.com/common/v2.0",
                   "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                   f"https://adfs.contoso.com/adfs/{TENANT}",
                   "https://localhost:3000/dev-issuer", "", None):
        assert tenant_of(issuer) is None, issuer


def test_ad_fs_tokens_act_as_their_upn():
    claims = {"iss": "https://adfs.contoso.com/adfs", "upn": "Megan@Contoso.com",
              "unique_name": "CONTOSO\\megan", "appid": "rollcall"}
    assert acting_mailbox(claims) == "megan@contoso.com"
