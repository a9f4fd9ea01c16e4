"""XOAUTH2, as Exchange Online's SMTP AUTH takes it: an app's OAuth access token for the
resource https://outlook.office365.com, sent as `user=MAILBOX^Aauth=Bearer TOKEN^A^A`.

The simulator trusts one issuer whose RS256 keys it reads from a JWKS (a URL or a file), so tests
and the demo can sign tokens with a key of their own. It checks the signature, `iss`, `aud` and
`exp`, and that the SASL message names a user; anything else gets Exchange Online's answer,
`535 5.7.3 Authentication unsuccessful`. Stand-alone: it shares no code with Rollcall or the EWS
simulator (the JWKS reading below is a small copy of the EWS simulator's).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK
from jwt.exceptions import PyJWKError

EXCHANGE_AUDIENCE = "https://outlook.office365.com"
ALGORITHM = "RS256"
LEEWAY_S = 60  # clocks of the issuer and the relay may disagree by this much
KEYS_MAX_AGE_S = 300.0  # keys the issuer withdrew stop being trusted within five minutes
UNSUCCESSFUL = "535 5.7.3 Authentication unsuccessful"  # Exchange Online, whatever the cause


class InvalidToken(Exception):
    """A refused XOAUTH2 sign-in; `str()` is the reason (kept in the ledger, never sent)."""


@dataclass(frozen=True)
class BearerCheck:
    """Which XOAUTH2 tokens the simulator accepts: the exact issuer, its JWKS (https://,
    http://, file:// or a path to a jwks.json) and the audience."""

    issuer: str
    jwks: str | Path
    audience: str = EXCHANGE_AUDIENCE

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("an XOAUTH2 check needs an issuer and an audience")
        text = str(self.jwks)
        if urlsplit(text).scheme not in ("https", "http", "file"):
            if not text or "://" in text:
                raise ValueError(f"JWKS {text!r}: expected https://, http://, file:// or a path")
            text = Path(text).resolve().as_uri()
        object.__setattr__(self, "jwks", text)

    @property
    def jwks_url(self) -> str:
        return str(self.jwks)


@dataclass(frozen=True)
class SignIn:
    """One AUTH attempt as the simulator saw it: the mechanism, the user it named, whether it
    was accepted, why not, and (XOAUTH2) the claims of the token it checked."""

    mechanism: str
    user: str
    accepted: bool
    reason: str | None = None
    claims: dict[str, Any] | None = None


def parse_xoauth2(message: bytes) -> tuple[str, str]:
    """(user, token) of a decoded XOAUTH2 initial response; InvalidToken saying what is
    wrong with it."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidToken("the XOAUTH2 message is not UTF-8") from None
    fields: dict[str, str] = {}
    for part in text.split("\x01"):
        if part:
            key, eq, value = part.partition("=")
            if not eq:
                raise InvalidToken(f"the XOAUTH2 message has a field without '=': {key[:20]!r}")
            fields[key] = value
    user = fields.get("user", "").strip()
    if not user:
        raise InvalidToken("the XOAUTH2 message names no user (user=)")
    scheme, _, token = fields.get("auth", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the XOAUTH2 message carries no bearer token (auth=Bearer ...)")
    return user, token.strip()


class TokenVerifier:
    """Checks XOAUTH2 access tokens against one BearerCheck; thread-safe."""

    def __init__(self, check: BearerCheck) -> None:
        self.check = check
        self._keys = _KeySet(check.jwks_url)

    def check_keys(self) -> int:
        """Read the issuer's keys now (at start-up); how many; InvalidToken saying why not."""
        return self._keys.count()

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims if the issuer signed it for the audience and it is live;
        InvalidToken with the reason otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a JSON Web Token") from None
        # Before any key is looked up: `none` and HS256 keyed with the public key are the classic
        # ways to make a verifier accept a token nobody signed.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"only {ALGORITHM}-signed tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._keys.key(kid).key, algorithms=[ALGORITHM],
                audience=self.check.audience, issuer=self.check.issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e)) from None
        return claims


class _KeySet:
    """RS256 keys by kid, read again when a token names an unknown kid (the issuer rotated its
    keys) or the copy is old; a failed read leaves the keys held so far in use."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._read_at: float | None = None

    def count(self) -> int:
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
            raise InvalidToken("the token is signed with a key the issuer does not publish")
        return found

    def _refresh(self, keep_old: bool) -> None:
        self._read_at = time.monotonic()
        try:
            self._keys = self._read()
        except InvalidToken:
            if not keep_old:
                raise

    def _read(self) -> dict[str, PyJWK]:
        try:
            # urllib reads file:// as well as http(s)://; BearerCheck allowed only those three.
            with urllib.request.urlopen(self._url, timeout=10) as answer:
                document = json.load(answer)
        except (OSError, ValueError) as e:
            raise InvalidToken(f"cannot read the issuer's keys at {self._url}: {e}") from None
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
