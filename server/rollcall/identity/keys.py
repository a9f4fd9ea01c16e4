"""The issuer's signing keys: JWKS found through OpenID metadata (or named directly), cached.

Keys are read once and kept. A token signed with a key id the cache does not hold makes the set
read again, at most once a minute, so a key rotation at the issuer is picked up within seconds
while a stream of forged key ids cannot turn Rollcall into a traffic source against the issuer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from .errors import IdentityUnavailable, InvalidToken

log = logging.getLogger(__name__)

Fetch = Callable[[str], Any]  # URL -> parsed JSON; raises on any failure

MIN_REFRESH_S = 60.0
MAX_AGE_S = 24 * 3600.0  # keys the issuer withdrew stop being trusted within a day
FETCH_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 1024 * 1024


def metadata_url(issuer: str) -> str:
    """Where OpenID Connect discovery says an issuer publishes its metadata."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def http_fetch(ca_file: str | None = None, timeout_s: float = FETCH_TIMEOUT_S) -> Fetch:
    """JSON over https:// (certificates checked, against `ca_file` if given) or from file://."""

    def fetch(url: str) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "file":
            with open(unquote(parts.path), "rb") as f:
                return json.loads(f.read(MAX_DOCUMENT_BYTES))
        if parts.scheme != "https":
            # Keys over plain HTTP could be swapped by anyone on the path: every token forgeable.
            raise ValueError(f"{url}: the issuer's keys are only read over https:// or file://")
        response = requests.get(url, timeout=timeout_s, verify=ca_file or True,
                                headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url}: answer larger than {MAX_DOCUMENT_BYTES} bytes")
        return response.json()

    return fetch


class KeySet:
    """RS256 verification keys by key id; thread-safe; raises IdentityUnavailable or InvalidToken.

    `jwks_url` wins over discovery from `issuer`; either way the URL must be https:// or file://.
    """

    def __init__(self, issuer: str, jwks_url: str | None = None, fetch: Fetch | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 min_refresh_s: float = MIN_REFRESH_S, max_age_s: float = MAX_AGE_S) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self._fetch = fetch or http_fetch()
        self._clock = clock
        self._min_refresh_s = min_refresh_s
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last attempt, successful or not
        self._loaded_at: float | None = None  # last success

    def key(self, kid: str) -> PyJWK:
        """The key with this id, reading the set again if it is unknown and a minute has passed."""
        with self._lock:
            if self._loaded_at is None or self._clock() - self._loaded_at >= self._max_age_s:
                self._refresh(required=self._loaded_at is None)
            elif kid not in self._keys and self._may_refresh():
                self._refresh(required=False)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidToken("The token is signed with a key the issuer does not publish",
                               code="unknown_key")
        return found

    def status(self) -> dict[str, Any]:
        """How many keys are held and how long ago they were read (for the admin view)."""
        with self._lock:
            age = None if self._loaded_at is None else round(self._clock() - self._loaded_at)
            return {"keys": len(self._keys), "age_s": age, "source": self._source_kind()}

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._min_refresh_s

    def _refresh(self, required: bool) -> None:
        """Read the key set; on failure keep the keys held, or fail if there are none."""
        self._fetched_at = self._clock()
        try:
            keys = _parse(self._fetch(self._jwks_url()))
        except Exception as e:  # noqa: BLE001 - any failure to read keys means the same here
            log.warning("cannot read the issuer's signing keys from %s: %s",
                        self._source_kind(), _short(e))
            if required or not self._keys:
                raise IdentityUnavailable(
                    "Rollcall cannot read its identity provider's signing keys just now; "
                    "try again in a minute") from None
            return
        self._keys = keys
        self._loaded_at = self._fetched_at
        log.info("read %d signing keys from the issuer", len(keys))

    def _jwks_url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        metadata = self._fetch(metadata_url(self.issuer))
        if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
            # OpenID discovery 4.3: metadata for another issuer must not be trusted.
            raise ValueError("the OpenID metadata names another issuer")
        uri = metadata.get("jwks_uri")
        if not isinstance(uri, str) or urlsplit(uri).scheme != "https":
            raise ValueError("the OpenID metadata has no https jwks_uri")
        return uri

    def _source_kind(self) -> str:
        return "jwks_url" if self.jwks_url else "discovery"


def _parse(document: Any) -> dict[str, PyJWK]:
    """RSA signing keys by kid; other keys (encryption, EC, no kid) are left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    keys: dict[str, PyJWK] = {}
    for data in document["keys"]:
        if not isinstance(data, dict) or data.get("kty") != "RSA" or data.get("use") == "enc":
            continue
        kid = data.get("kid")
        if not isinstance(kid, str) or data.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[kid] = PyJWK(data, algorithm="RS256")
        except PyJWKError:
            continue
    if not keys:
        raise ValueError("the JWKS holds no RSA signing key")
    return keys


def _short(error: Exception) -> str:
    """An exception for a log line: its type and first line, which never hold a token."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text[:200]}"
