"""On-behalf-of assertions: the caller's token for Rollcall's own API, which the token endpoint
checks before trading it (RS256 against the issuer's JWKS, exact issuer, expiry, audience)."""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import PyJWKError

ALGORITHM = "RS256"
LEEWAY_S = 60
USER_CLAIMS = ("preferred_username", "upn", "email")


class BadAssertion(Exception):
    """An assertion refused; `str()` says why (it goes into error_description)."""


@dataclass(frozen=True)
class AssertionTrust:
    """Whose tokens may be traded: the exact issuer, its keys (https://, http:// or file://)
    and, when given, the audiences the tokens must be for."""

    issuer: str
    jwks_url: str
    audiences: tuple[str, ...] = ()


class AssertionChecker:
    """Checks assertions against one trusted issuer; reads its keys again on an unknown kid."""

    def __init__(self, trust: AssertionTrust) -> None:
        self.trust = trust
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] | None = None

    def user(self, assertion: str) -> str:
        """The address the assertion names (lower-case); BadAssertion saying why not."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise BadAssertion("the assertion is not a JSON Web Token") from None
        # Before any key is looked up: `none` or HS256 keyed with a public key sign nothing.
        if header.get("alg") != ALGORITHM:
            raise BadAssertion(f"the assertion must be signed with {ALGORITHM}")
        key = self._key(str(header.get("kid") or ""))
        options: Any = {"require": ["exp", "iss"]}
        if not self.trust.audiences:
            options["verify_aud"] = False
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion, key.key, algorithms=[ALGORITHM], issuer=self.trust.issuer,
                audience=list(self.trust.audiences) or None, leeway=LEEWAY_S, options=options)
        except jwt.ExpiredSignatureError:
            raise BadAssertion("the assertion has expired") from None
        except jwt.PyJWTError as e:
            raise BadAssertion(f"the assertion failed validation: {e}") from None
        for claim in USER_CLAIMS:
            value = claims.get(claim)
            if isinstance(value, str) and "@" in value:
                return value.strip().lower()
        raise BadAssertion("the assertion names no user (preferred_username, upn or email)")

    def _key(self, kid: str) -> PyJWK:
        with self._lock:
            if self._keys is None or kid not in self._keys:
                self._keys = self._read()
            found = self._keys.get(kid)
        if found is None:
            raise BadAssertion("the assertion is signed with a key its issuer does not publish")
        return found

    def _read(self) -> dict[str, PyJWK]:
        try:
            with urllib.request.urlopen(self.trust.jwks_url, timeout=10) as answer:
                document = json.load(answer)
        except (OSError, ValueError) as e:
            raise BadAssertion(f"the issuer's keys cannot be read: {e}") from None
        keys: dict[str, PyJWK] = {}
        entries = document.get("keys") if isinstance(document, dict) else None
        for data in entries if isinstance(entries, list) else ():
            if isinstance(data, dict) and data.get("kty") == "RSA" and data.get("use") != "enc":
                try:
                    keys[str(data["kid"])] = PyJWK(data, algorithm=ALGORITHM)
                except (KeyError, PyJWKError):
                    continue
        return keys
