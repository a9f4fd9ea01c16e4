"""The issuer's signing keys: JWKS found through OpenID metadata (or named directly), cached.

Two things make the cache follow the issuer (the numbers are in `settings.py`):
- a schedule: the set is read again every KEYS_REFRESH_S (5 minutes; ROLLCALL_OIDC_KEYS_REFRESH_S),
  so a key the issuer withdrew stops working within that (plus the time one read takes);
- a token naming a key id not held makes the set read again at once, but at most once in
  KEYS_REREAD_S (10 s), so a new key works from its first token while a stream of forged key ids
  cannot turn Rollcall into a traffic source against the issuer.
One thread reads while the others go on with the keys held; only tokens that need the answer
(an unknown key id, or no keys yet) wait for it. While the issuer cannot be read, the keys last
read keep serving: an identity provider's outage does not become Rollcall's.
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
from .settings import KEYS_REFRESH_S, KEYS_REREAD_S

log = logging.getLogger(__name__)

Fetch = Callable[[str], Any]  # URL -> parsed JSON; raises on any failure

FETCH_TIMEOUT_S = 10.0
WAIT_S = 2 * FETCH_TIMEOUT_S + 1  # discovery, then the JWKS: the longest one read takes
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
    `clock` is monotonic seconds (tests move it by hand).
    """

    def __init__(self, issuer: str, jwks_url: str | None = None, fetch: Fetch | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 refresh_s: float = KEYS_REFRESH_S, reread_s: float = KEYS_REREAD_S) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.refresh_s = refresh_s
        self.reread_s = reread_s
        self._fetch = fetch or http_fetch()
        self._clock = clock
        self._lock = threading.Lock()
        self._read_done = threading.Condition(self._lock)
        self._keys: dict[str, PyJWK] = {}
        self._tried_at: float | None = None  # last read started, successful or not
        self._loaded_at: float | None = None  # last read that succeeded
        self._reading = False

    def key(self, kid: str) -> PyJWK:
        """The key with this id, reading the set first when the schedule or an unknown id says
        so; raises InvalidToken (`unknown_key`), or IdentityUnavailable when no keys were read."""
        with self._lock:
            read = self._should_read(kid)
            if read:
                self._reading, self._tried_at = True, self._clock()
            elif self._reading and kid not in self._keys:
                self._read_done.wait_for(lambda: not self._reading, timeout=WAIT_S)
        if read:
            self._read()
        with self._lock:
            found, loaded = self._keys.get(kid), self._loaded_at is not None
        if found is None and not loaded:
            raise IdentityUnavailable("Rollcall cannot read its identity provider's signing keys "
                                      "just now; try again in a minute")
        if found is None:
            raise InvalidToken("The token is signed with a key the issuer does not publish",
                               code="unknown_key")
        return found

    def status(self) -> dict[str, Any]:
        """How many keys are held and how long ago they were read (for the admin view)."""
        with self._lock:
            age = None if self._loaded_at is None else round(self._clock() - self._loaded_at)
            return {"keys": len(self._keys), "age_s": age, "source": self._source_kind()}

    def _should_read(self, kid: str) -> bool:
        """Under the lock: whether this call reads the set (one reader at a time)."""
        if self._reading:
            return False
        if self._tried_at is None:
            return True
        since = self._clock() - self._tried_at
        if self._loaded_at is not None and since >= self.refresh_s:
            return True  # the schedule: withdrawn keys go, keys published early arrive
        # An unknown key id (or no keys at all after a failed read): a rotation, or a forgery.
        return (kid not in self._keys) and since >= self.reread_s

    def _read(self) -> None:
        """Read the set; on failure keep the keys held (key() says 503 if there are none)."""
        keys: dict[str, PyJWK] | None = None
        try:
            keys = _parse(self._fetch(self._jwks_url()))
        except Exception as e:  # noqa: BLE001 - any failure to read keys means the same here
            log.warning("cannot read the issuer's signing keys from %s: %s",
                        self._source_kind(), _short(e))
        finally:
            with self._lock:
                if keys is not None:
                    self._keys, self._loaded_at = keys, self._clock()
                self._reading = False
                self._read_done.notify_all()
        if keys is not None:
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
