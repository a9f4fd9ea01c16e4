"""The on-behalf-of cache: one exchange per person until their Exchange token nears expiry, only
ever with that person's own token, and failures said as directory errors. MSAL's application is
replaced by a recorder here (pure logic); the real exchange runs in tests/integration."""

from __future__ import annotations

from typing import Any

import pytest

from rollcall.core.model import DirectoryError
from rollcall.identity.on_behalf_of import (
    PRUNE_EVERY_S,
    RENEW_BEFORE_S,
    OboSettings,
    OnBehalfOf,
    ews_scope,
    msal_authority,
)
from support import Clock

SETTINGS = OboSettings(issuer="https://login.example.test/t/v2.0", client_id="client",
                       client_secret="secret",
                       scope="https://outlook.office365.com/EWS.AccessAsUser.All")


class RecordingApp:
    """Answers like MSAL's ConfidentialClientApplication.acquire_token_on_behalf_of."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.answer = answer

    def acquire_token_on_behalf_of(self, assertion: str, scopes: list[str]) -> dict[str, Any]:
        self.calls.append((assertion, scopes))
        if self.answer is not None:
            return self.answer
        return {"access_token": f"ews-for-{assertion}", "expires_in": 3600}


def _obo(app: Any, clock: Clock) -> OnBehalfOf:
    return OnBehalfOf(SETTINGS, clock=clock, app_factory=lambda settings: app)


def test_one_exchange_per_person_reused_until_it_nears_expiry():
    clock, app = Clock(1_000_000.0), RecordingApp()
    obo = _obo(app, clock)
    obo.remember("Megan@Contoso.com", "megan-1", clock.now + 3600)
    first = obo.token("megan@contoso.com")
    assert first.value == "ews-for-megan-1" and first.expires_at == clock.now + 3600
    assert app.calls == [("megan-1", [SETTINGS.scope])]
    obo.remember("megan@contoso.com", "megan-2", clock.now + 3600)
    clock.now += 3600 - RENEW_BEFORE_S - 1
    assert obo.token("megan@contoso.com") is first  # still fresh enough: no second exchange
    clock.now += 2
    assert obo.token("megan@contoso.com").value == "ews-for-megan-2"  # the newest assertion
    assert len(app.calls) == 2


def test_each_person_is_exchanged_with_their_own_token_only():
    clock, app = Clock(1_000_000.0), RecordingApp()
    obo = _obo(app, clock)
    obo.remember("megan@contoso.com", "megan", clock.now + 600)
    obo.remember("alex@contoso.com", "alex", clock.now + 600)
    assert obo.token("alex@contoso.com").value == "ews-for-alex"
    assert obo.token("megan@contoso.com").value == "ews-for-megan"
    with pytest.raises(DirectoryError) as refused:
        obo.token("isaiah@contoso.com")
    assert refused.value.code == "not_signed_in" and "isaiah@contoso.com" in refused.value.message
    assert [c[0] for c in app.calls] == ["alex", "megan"]


def test_an_expired_assertion_is_not_traded_and_is_let_go():
    clock, app = Clock(1_000_000.0), RecordingApp()
    obo = _obo(app, clock)
    obo.remember("megan@contoso.com", "megan", clock.now + 10)
    clock.now += 11
    with pytest.raises(DirectoryError, match="sign in again"):
        obo.token("megan@contoso.com")
    obo.remember("alex@contoso.com", "alex", clock.now + 600)
    assert "megan@contoso.com" in obo._assertions  # swept at most once a minute
    clock.now += PRUNE_EVERY_S
    obo.remember("alex@contoso.com", "alex", clock.now + 600)  # the sweep lets Megan's go
    assert "megan@contoso.com" not in obo._assertions
    assert app.calls == []


def test_a_refusal_names_the_providers_reason():
    clock = Clock(1_000_000.0)
    app = RecordingApp({"error": "invalid_grant",
                        "error_description": "AADSTS65001: consent required"})
    obo = _obo(app, clock)
    obo.remember("megan@contoso.com", "megan", clock.now + 600)
    with pytest.raises(DirectoryError) as refused:
        obo.token("megan@contoso.com")
    assert refused.value.code == "unauthorized"
    assert "invalid_grant: AADSTS65001: consent required" in refused.value.message
    assert "megan" not in refused.value.message.replace("megan@contoso.com", "")  # no token


def test_an_unreachable_provider_is_tried_again_next_time():
    clock, built = Clock(1_000_000.0), []

    def factory(settings: OboSettings) -> Any:
        built.append(settings)
        if len(built) == 1:
            raise ValueError("Unable to get OIDC authority configuration")
        return RecordingApp()

    obo = OnBehalfOf(SETTINGS, clock=clock, app_factory=factory)
    obo.remember("megan@contoso.com", "megan", clock.now + 600)
    with pytest.raises(DirectoryError) as down:
        obo.token("megan@contoso.com")
    assert down.value.code == "unreachable"
    assert obo.token("megan@contoso.com").value == "ews-for-megan"
    assert len(built) == 2


@pytest.mark.parametrize("issuer, expected", [
    ("https://login.microsoftonline.com/tid-1/v2.0", ("https://login.microsoftonline.com/tid-1",
                                                       True)),
    ("https://sts.windows.net/tid-1/", ("https://login.microsoftonline.com/tid-1", True)),
    ("https://adfs.contoso.com/adfs/", ("https://adfs.contoso.com/adfs", False)),
    ("https://localhost:3000/dev-issuer", ("https://localhost:3000/dev-issuer", False)),
])
def test_the_msal_authority_of_an_issuer(issuer, expected):
    assert msal_authority(issuer) == expected


@pytest.mark.parametrize("url, scope", [
    ("https://outlook.office365.com/EWS/Exchange.asmx",
     "https://outlook.office365.com/EWS.AccessAsUser.All"),
    ("https://mail.contoso.com/EWS/Exchange.asmx", "https://mail.contoso.com/EWS.AccessAsUser.All"),
])
def test_the_ews_scope_is_the_endpoints_origin(url, scope):
    assert ews_scope(url) == scope


def test_two_counts_at_once_for_one_person_trade_once():
    """The first trade is held until the second caller has demonstrably arrived: either found
    the person's trade lock taken (it waits, then reuses the token) or, with no lock, reached
    the provider itself (a second trade)."""
    import threading

    clock, arrived = Clock(1_000_000.0), threading.Event()

    class ArrivalLock:
        """The person's trade lock, saying when a caller finds it taken."""

        def __init__(self) -> None:
            self._lock = threading.Lock()

        def __enter__(self) -> None:
            if not self._lock.acquire(blocking=False):
                arrived.set()  # taken: this caller waits for the trade in progress
                self._lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self._lock.release()

    class HeldApp(RecordingApp):
        """Holds the first trade until the second caller has arrived."""

        guard = threading.Lock()

        def acquire_token_on_behalf_of(self, assertion, scopes):
            with self.guard:
                first = not self.calls
                answer = super().acquire_token_on_behalf_of(assertion, scopes)
            if first:
                arrived.wait(5)
            else:
                arrived.set()  # no lock kept this caller out: a second trade
            return answer

    app = HeldApp()
    obo = _obo(app, clock)
    obo._trading["megan@contoso.com"] = ArrivalLock()
    obo.remember("megan@contoso.com", "megan", clock.now + 600)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(obo.token("megan@contoso.com").value))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert arrived.is_set() and got == ["ews-for-megan", "ews-for-megan"]
    assert len(app.calls) == 1
