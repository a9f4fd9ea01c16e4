"""Bearer tokens on EWS: exchangelib's OAuth credentials against a simulator trusting a test issuer.

The tokens are signed with an RSA key made here, its JWKS written to a file the simulator reads,
shaped like the v1.0 tokens Entra ID issues for Exchange Online (`upn`, `scp`). The simulator
serves HTTPS, as Exchange does: oauthlib (under exchangelib) refuses to send a token over http.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from exchangelib import DELEGATE, IMPERSONATION, Account, Build, Configuration, Version
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.errors import ErrorAccessDenied, ErrorImpersonateUserDenied, UnauthorizedError
from exchangelib.protocol import FailFast, close_connections
from exchangelib.transport import BASIC, OAUTH2
from jwt.algorithms import RSAAlgorithm

from ews_simulator import BearerTrust, Simulator, load
from ews_simulator.__main__ import main
from ews_simulator.tls import self_signed

ORG_FILE = Path(__file__).with_name("org.yaml")
ISSUER = "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"
EXCHANGE = "https://outlook.office365.com"
VERSION = Version(build=Build(15, 1, 2507, 6))  # as org.yaml reports; skips the probe


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid EWS access token's claims for alex@contoso.com; None in `overrides` drops one."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": EXCHANGE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "scp": "EWS.AccessAsUser.All Mail.Read",
        "upn": "alex@contoso.com",
        "ver": "1.0",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class Issuer:
    """An RSA signing key with a key id, published as a JWKS file, and tokens signed with it."""

    def __init__(self, jwks: Path) -> None:
        self.jwks = jwks
        self.rotate("key-1")

    def rotate(self, kid: str) -> None:
        """A new key replaces the old one in the published set, as at a key rollover."""
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
        self.jwks.write_text(json.dumps({"keys": [jwk]}))

    def token(self, key: Any = None, kid: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            claims(**overrides),
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )

    def hand_made(self, alg: str, sign: Callable[[bytes], bytes] = lambda _: b"") -> str:
        """A token PyJWT refuses to make: `alg` as given, signed by `sign` (none: empty)."""
        header = {"alg": alg, "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims()).encode())}"
        return f"{signing_input}.{_b64(sign(signing_input.encode()))}"

    def hs256_with_public_key(self) -> str:
        """The key-confusion attack: HMAC with the published RSA key (PEM) as the secret."""
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self.hand_made("HS256", lambda data: hmac.new(pem, data, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    self_signed(folder, "127.0.0.1")
    return folder


@pytest.fixture(autouse=True)
def _trust_the_certificate(cert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_dir / "cert.pem"))


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer(tmp_path / "jwks.json")


@pytest.fixture
def server(start_simulator: Callable[..., Any], issuer: Issuer, cert_dir: Path) -> Simulator:
    sim, _ = start_simulator(
        load(ORG_FILE),
        tls=self_signed(cert_dir, "127.0.0.1"),
        bearer=BearerTrust(ISSUER, issuer.jwks.as_uri()),
    )
    return sim


def oauth_account(
    url: str,
    token: str,
    address: str = "alex@contoso.com",
    access_type: str = DELEGATE,
    version: Version | None = VERSION,
) -> Account:
    # exchangelib caches one Protocol per (endpoint, credentials) and leaves the access token out
    # of the credentials' hash: without this, a second token would silently reuse the first.
    close_connections()
    creds = OAuth2AuthorizationCodeCredentials(
        access_token={
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "expires_at": time.time() + 3600,
        }
    )
    config = Configuration(
        service_endpoint=url,
        credentials=creds,
        auth_type=OAUTH2,
        retry_policy=FailFast(),
        version=version,
    )
    return Account(address, config=config, autodiscover=False, access_type=access_type)


def contact_names(acc: Account) -> list[str]:
    return sorted(i.display_name for i in acc.contacts.all())


def test_a_token_acts_as_the_mailbox_it_names(server, issuer):
    server.reset_counters()
    alex = oauth_account(server.url, issuer.token(preferred_username="megan@contoso.com"))
    assert contact_names(alex) == ["Alex Private"]  # only Alex owns it: `upn` wins
    token = issuer.token(upn=None, preferred_username="Megan@Contoso.com")  # as v2.0 tokens name
    megan = oauth_account(server.url, token, "megan@contoso.com")
    assert contact_names(megan) == ["Ann Partner", "Bob Vendor", "Comms Champions", "Inner Circle"]
    # Name resolution searches the caller's own Contacts too: Ann is only in Megan's.
    assert [r.email_address for r in megan.protocol.resolve_names(["Ann Partner"])] == [
        "ann@fabrikam.com"
    ]
    assert server.snapshot()["_bearer"] > 0
    assert "_unauthorized" not in server.snapshot()


def test_the_version_probe_carries_the_token(server, issuer):
    server.reset_counters()
    acc = oauth_account(server.url, issuer.token(), version=None)
    assert acc.version.build == VERSION.build
    assert server.snapshot() == {"ConvertId": 1, "_bearer": 1}


def test_a_proxy_address_in_the_token_finds_the_mailbox(server, issuer):
    acc = oauth_account(server.url, issuer.token(upn="mbowen@contoso.com"), "megan@contoso.com")
    assert "Comms Champions" in contact_names(acc)


def test_a_users_token_cannot_read_another_mailboxs_contacts(server, issuer):
    acc = oauth_account(server.url, issuer.token(), "megan@contoso.com")
    with pytest.raises(ErrorAccessDenied):
        list(acc.contacts.all())


def test_a_users_token_cannot_impersonate(server, issuer):
    acc = oauth_account(server.url, issuer.token(), "megan@contoso.com", IMPERSONATION)
    with pytest.raises(ErrorImpersonateUserDenied):
        list(acc.contacts.all())


def test_a_token_for_a_mailbox_with_the_right_impersonates(server, issuer):
    token = issuer.token(upn="svc-rollcall@contoso.com")
    acc = oauth_account(server.url, token, "megan@contoso.com", IMPERSONATION)
    assert "Comms Champions" in contact_names(acc)


def test_expiry_allows_a_minute_of_clock_skew(server, issuer):
    now = int(time.time())
    acc = oauth_account(server.url, issuer.token(exp=now - 30, nbf=now + 30))
    assert contact_names(acc) == ["Alex Private"]


BAD_TOKENS: dict[str, tuple[Callable[[Issuer], str], str]] = {
    "forged signature": (lambda i: i.token(key=_other_key()), "signature verification failed"),
    "wrong issuer": (lambda i: i.token(iss="https://sts.windows.net/other/"), "issuer"),
    "wrong audience": (lambda i: i.token(aud="api://someone-else"), "audience"),
    "expired": (lambda i: i.token(exp=int(time.time()) - 120), "expired"),
    "not yet valid": (lambda i: i.token(nbf=int(time.time()) + 600), "not yet valid"),
    "no exp": (lambda i: i.token(exp=None), "missing the 'exp' claim"),
    "missing scope": (lambda i: i.token(scp="Mail.Read"), "scope"),
    "scope as a prefix only": (lambda i: i.token(scp="EWS.AccessAsUser.All.Shared"), "scope"),
    "no scp": (lambda i: i.token(scp=None), "scope"),
    "alg none": (lambda i: i.hand_made("none"), "only rs256"),
    "HS256 keyed with the public key": (lambda i: i.hs256_with_public_key(), "only rs256"),
    "unknown kid": (lambda i: i.token(key=_other_key(), kid="key-9"), "does not publish"),
    "unknown mailbox": (lambda i: i.token(upn="nobody@contoso.com"), "no mailbox"),
    "no user claim": (lambda i: i.token(upn=None), "names no user"),
    "not a JWT": (lambda i: "not-a-token", "not a json web token"),
}


def assert_invalid_token(url: str, token: str, reason: str) -> None:
    answer = requests.post(url, data=b"<x/>", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.content == b""
    assert answer.headers.get("Connection", "").lower() != "close"
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="ews-simulator", error="invalid_token", ')
    assert reason in challenge.lower()


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_a_bad_token_is_401_invalid_token(server, issuer, case):
    make, reason = BAD_TOKENS[case]
    token = make(issuer)
    server.reset_counters()
    assert_invalid_token(server.url, token, reason)
    with pytest.raises(UnauthorizedError):
        list(oauth_account(server.url, token).contacts.all())
    assert server.snapshot() == {"_unauthorized": 2}


def test_basic_keeps_working_and_is_what_exchangelib_guesses(server, account):
    answer = requests.post(server.url, data=b"<x/>")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="ews-simulator", Basic realm="ews-simulator"'
    )
    acc = account(server, "alex@contoso.com")  # no auth_type: exchangelib guesses from the 401
    assert acc.protocol.auth_type == BASIC
    assert contact_names(acc) == ["Alex Private"]
    with pytest.raises(UnauthorizedError):
        account(server, "alex@contoso.com", "wrong")


def test_bearer_is_refused_where_it_is_not_configured(sim):
    server, _ = sim
    answer = requests.post(server.url, data=b"<x/>", headers={"Authorization": "Bearer x.y.z"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="ews-simulator"'


def test_a_rotated_key_is_picked_up_and_the_withdrawn_one_refused(server, issuer):
    old = issuer.token()
    assert contact_names(oauth_account(server.url, old)) == ["Alex Private"]
    issuer.rotate("key-2")
    assert contact_names(oauth_account(server.url, issuer.token())) == ["Alex Private"]
    assert_invalid_token(server.url, old, "does not publish")


def test_the_command_line_wants_issuer_and_readable_keys(capsys, tmp_path):
    assert main(["--oauth-issuer", ISSUER]) == 2
    assert "--oauth-issuer and --oauth-jwks go together" in capsys.readouterr().err
    assert main(["--oauth-jwks", "ftp://keys.example/jwks.json", "--oauth-issuer", ISSUER]) == 2
    assert "expected https://, http:// or file://" in capsys.readouterr().err
    missing = (tmp_path / "nope.json").as_uri()
    assert main(["--oauth-jwks", missing, "--oauth-issuer", ISSUER]) == 2
    err = capsys.readouterr().err
    assert "--oauth-jwks: cannot read the issuer's keys at file://" in err and "nope.json" in err


def test_the_command_line_accepts_tokens_for_its_audiences(issuer, cert_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ews_simulator", "--port", "0", "--org", str(ORG_FILE)]
        + ["--tls", "--cert-dir", str(cert_dir)]
        + ["--oauth-issuer", ISSUER, "--oauth-jwks", issuer.jwks.as_uri()]
        + ["--oauth-audience", "api://ews-test"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line.startswith("certificate:"):
            line = proc.stdout.readline()
        url = line.strip().removeprefix("listening on ")
        assert url.startswith("https://")
        acc = oauth_account(url, issuer.token(aud="api://ews-test"))
        assert contact_names(acc) == ["Alex Private"]
        assert_invalid_token(url, issuer.token(), "audience")  # the default ones were replaced
    finally:
        close_connections()
        proc.terminate()
        proc.wait(10)


def test_an_issuer_gone_quiet_keeps_the_keys_already_held(issuer, monkeypatch):
    """Keys past their age are read again; if that read fails, known keys stay in use and an
    unknown one is refused with the reason, and the issuer is not asked on every request."""
    import ews_simulator.oauth as oauth

    verifier = oauth.BearerVerifier(BearerTrust(ISSUER, issuer.jwks.as_uri()))
    assert verifier.mailbox(issuer.token()) == "alex@contoso.com"
    issuer.jwks.unlink()
    later = time.monotonic() + oauth.KEYS_MAX_AGE_S + 1
    monkeypatch.setattr(oauth.time, "monotonic", lambda: later)
    assert verifier.mailbox(issuer.token()) == "alex@contoso.com"
    with pytest.raises(oauth.InvalidBearer, match="cannot read the issuer's keys"):
        verifier.mailbox(issuer.token(kid="key-2"))
