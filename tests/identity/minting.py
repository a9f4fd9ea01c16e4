"""Tokens made in the tests: RSA keys from `cryptography`, claims shaped like Entra ID's v2.0."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://login.example.test/tenant-1/v2.0"
AUDIENCE = "api://rollcall.example.test/11111111-2222-3333-4444-555555555555"


class Signer:
    """An RSA key with a key id, publishing its JWKS and signing tokens."""

    def __init__(self, kid: str = "key-1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        data.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return data

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def token(self, kid: str | None = None, **overrides: Any) -> str:
        return jwt.encode(claims(**overrides), self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid access token's claims for alex@contoso.com; None in `overrides` drops a claim."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600,
        "scp": "access_as_user", "preferred_username": "alex@contoso.com", "name": "Alex Wilber",
        "oid": "0f0e0d0c-0000-4000-8000-000000000001", "ver": "2.0",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def unsigned(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand, for shapes PyJWT refuses to make (alg none)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([part(json.dumps(header).encode()), part(json.dumps(body).encode()),
                     part(signature)])


def hs256_with_public_key(signer: Signer, **overrides: Any) -> str:
    """The key-confusion attack: HMAC with the RSA public key (PEM) as the shared secret."""
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": signer.kid}
    body = claims(**overrides)

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(body).encode())}"
    mac = hmac.new(signer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(mac)}"
