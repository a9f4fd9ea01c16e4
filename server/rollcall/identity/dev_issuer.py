"""A development token issuer for `rollcall demo` and the tests: its own RSA key, OpenID
metadata and a JWKS, and access tokens shaped like Entra ID's for the simulator's people.

Tokens it mints go through exactly the validation production tokens do (`TokenValidator`).
Anyone who can reach it can sign in as anybody, so it only runs on a loopback address.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .tokens import ADMIN_ROLE, ALGORITHM, REQUIRED_SCOPE

PATH = "/dev-issuer"  # where the HTTPS server serves it, beside the pane
LIFETIME_S = 3600


class NotLoopback(ValueError):
    """The development issuer was asked to run on an address other machines can reach."""


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses; False for 0.0.0.0, :: and any other name."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_loopback(host: str) -> None:
    """Raise NotLoopback, saying why, unless `host` is a loopback address."""
    if not is_loopback(host):
        raise NotLoopback(
            f"the development issuer signs anyone in as anybody, so it only runs when the server "
            f"listens on loopback (localhost, 127.0.0.1, ::1), not {host!r}; "
            "set ROLLCALL_OIDC_ISSUER to a real identity provider to serve other machines")


class DevIssuer:
    """Keys kept in `folder` (made on first use); `users` maps mailbox -> display name."""

    def __init__(self, folder: Path, issuer: str, audience: str, users: Mapping[str, str],
                 admins: frozenset[str] = frozenset()) -> None:
        self.folder = folder
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.users = {k.lower(): v for k, v in users.items()}
        self.admins = frozenset(a.lower() for a in admins)
        self._key, self.kid = _load_or_make_key(folder)
        self.jwks_path = folder / "jwks.json"
        self.jwks_path.write_text(json.dumps(self.jwks(), indent=2), encoding="utf-8")

    @property
    def jwks_url(self) -> str:
        """file:// URL of the JWKS this issuer wrote, for ROLLCALL_OIDC_JWKS_URL."""
        return self.jwks_path.resolve().as_uri()

    def metadata(self) -> dict[str, Any]:
        """The OpenID Provider metadata, pointing at the JWKS served beside it."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + "/jwks.json",
            "token_endpoint": self.issuer + "/token",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "scopes_supported": [REQUIRED_SCOPE],
        }

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}

    def mint(self, mailbox: str, lifetime_s: int = LIFETIME_S, *, name: str | None = None,
             **claims: Any) -> str:
        """An access token for one of `users` (KeyError for anybody else), or with `name` for
        anyone (tests whose organisations are not the demo's; HTTP never passes it)."""
        address = mailbox.strip().lower()
        name = name or self.users[address]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now,
            "exp": now + lifetime_s, "ver": "2.0", "scp": REQUIRED_SCOPE,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, "sub:" + address)),
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, "oid:" + address)),
            "preferred_username": address, "name": name,
        }
        if address in self.admins:
            body["roles"] = [ADMIN_ROLE]
        body.update(claims)
        return jwt.encode(body, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _load_or_make_key(folder: Path) -> tuple[rsa.RSAPrivateKey, str]:
    """The issuer's key from `folder`, made (2048-bit RSA, owner-only file) if absent."""
    path = folder / "dev-issuer-key.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA key")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    # The key id is the public key's thumbprint: a new key always gets a new id.
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = uuid.uuid5(uuid.NAMESPACE_OID, der.hex()).hex[:16]
    return key, kid
