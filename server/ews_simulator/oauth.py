"""OAuth bearer tokens on EWS, as Exchange Online and hybrid modern auth accept them.

Exchange takes an Entra ID access token for its own resource (`aud` https://outlook.office365.com
or Exchange's application id) carrying the delegated scope `EWS.AccessAsUser.All`, and acts as the
user the token names. The simulator trusts one issuer whose keys it reads from a JWKS, so tests and
the demo can sign tokens with a key of their own.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK
from jwt.exceptions import PyJWKError

EXCHANGE_AUDIENCES = ("https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000")
EWS_SCOPE = "EWS.AccessAsUser.All"
ALGORITHM = "RS256"
LEEWAY_S = 60  # clocks of the issuer and the server may disagree by this much
KEYS_MAX_AGE_S = 300.0  # keys the issuer withdrew stop being trusted within five minutes
MAILBOX_CLAIMS = ("upn", "preferred_username", "unique_name")  # v1.0 tokens, v2.0, older v1.0
REALM = 'realm="ews-simulator"'


class InvalidBearer(Exception):
    """A refused token; `str()` is the short reason sent back in `error_description`."""


@dataclass(frozen=True)
class BearerTrust:
    """Which tokens the simulator accepts: the exact issuer, its JWKS, audiences and scope."""

    issuer: str
    jwks_url: str  # https://, http:// or file:///path/jwks.json
    audiences: tuple[str, ...] = EXCHANGE_AUDIENCES
    scope: str = EWS_SCOPE  # must be one of the space-separated words of `scp`

    def __post_init__(self) -> None:
        if urlsplit(self.jwks_url).scheme not in ("https", "http", "file"):
            raise ValueError(f"JWKS URL {self.jwks_url!r}: expected https://, http:// or file://")
        if not self.issuer or not self.audiences:
            raise ValueError("bearer trust needs an issuer and at least one audience")


class BearerVerifier:
    """Turns an access token into the mailbox address it names; thread-safe."""

    def __init__(self, trust: BearerTrust) -> None:
        self.trust = trust
        self._keys = _KeySet(trust.jwks_url)

    def check_keys(self) -> int:
        """Read the issuer's keys now (at start-up); how many; InvalidBearer saying why not."""
        return self._keys.count()

    def mailbox(self, token: str) -> str:
        """The lower-case address the token names; raises InvalidBearer with the reason."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidBearer("the token is not a JSON Web Token") from None
        # Before any key is looked up: `none` and HS256 keyed with the public key are the classic
        # ways to make a verifier accept a token nobody signed.
        if header.get("alg") != ALGORITHM:
            raise InvalidBearer(f"only {ALGORITHM}-signed tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidBearer("the token names no signing key (kid)")
        t = self.trust
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys.key(kid).key,
                algorithms=[ALGORITHM],
                audience=list(t.audiences),
                issuer=t.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as e:
            raise InvalidBearer(str(e)) from None
        scopes = claims.get("scp")
        if not isinstance(scopes, str) or t.scope not in scopes.split():
            raise InvalidBearer(f"the token does not grant the {t.scope} scope")
        for claim in MAILBOX_CLAIMS:
            value = claims.get(claim)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
        raise InvalidBearer("the token names no user (upn, preferred_username or unique_name)")


def invalid_token(reason: str) -> str:
    """RFC 6750's challenge for a refused token, carrying the reason."""
    # error_description may hold neither '"' nor '\\' nor anything outside printable ASCII.
    text = "".join("'" if c == '"' else c for c in reason if " " <= c <= "~" and c != "\\")
    return f'Bearer {REALM}, error="invalid_token", error_description="{text}"'


class _KeySet:
    """RS256 keys by kid, read again when a token names an unknown kid (the issuer rotated its
    keys) or the copy is old. A test server can afford one read per forged kid; Rollcall's own
    verifier rate-limits those reads."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()  # also makes concurrent first requests share one read
        self._keys: dict[str, PyJWK] = {}
        self._read_at: float | None = None

    def count(self) -> int:
        """Read the keys now; how many there are (InvalidBearer if they cannot be read)."""
        with self._lock:
            self._refresh(keep_old=False)
            return len(self._keys)

    def key(self, kid: str) -> PyJWK:
        with self._lock:
            old = self._read_at is None or time.monotonic() - self._read_at > KEYS_MAX_AGE_S
            if old or kid not in self._keys:
                self._refresh(keep_old=kid in self._keys)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidBearer("the token is signed with a key the issuer does not publish")
        return found

    def _refresh(self, keep_old: bool) -> None:
        """Read the keys again; the attempt counts even when it fails, so an unreachable
        issuer is asked once per KEYS_MAX_AGE_S (or unknown kid), not on every request. With
        `keep_old`, a failed read leaves the keys held so far in use."""
        self._read_at = time.monotonic()
        try:
            self._keys = self._read()
        except InvalidBearer:
            if not keep_old:
                raise

    def _read(self) -> dict[str, PyJWK]:
        try:
            # urllib reads file:// as well as http(s)://; BearerTrust allowed only those three.
            with urllib.request.urlopen(self._url, timeout=10) as answer:
                document = json.load(answer)
        except (OSError, ValueError) as e:
            raise InvalidBearer(f"cannot read the issuer's keys at {self._url}: {e}") from None
        keys: dict[str, PyJWK] = {}
        entries = document.get("keys") if isinstance(document, dict) else None
        for data in entries if isinstance(entries, list) else ():
            if not isinstance(data, dict) or data.get("kty") != "RSA" or data.get("use") == "enc":
                continue
            try:
                keys[str(data["kid"])] = PyJWK(data, algorithm=ALGORITHM)
            except (KeyError, PyJWKError):
                continue
        return keys
