"""A development token issuer for `rollcall demo` and the tests: its own RSA key, OpenID
metadata and a JWKS, and access tokens shaped like Entra ID's for the simulator's people.

Tokens it mints go through exactly the validation production tokens do (`TokenValidator`).
Its token endpoint answers two grants as Entra ID speaks them: on-behalf-of (RFC 7523's
jwt-bearer), so Rollcall's MSAL exchange of a caller's token for an Exchange token runs for real
in the demo and the tests; and client credentials (RFC 6749 section 4.4), the app-only token
Rollcall's send worker signs in to Exchange Online's SMTP with (XOAUTH2). Anyone who can reach it
can sign in as anybody, so it only runs on a loopback address.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from rollcall.identity.tokens import ADMIN_ROLE, ALGORITHM, REQUIRED_SCOPE

PATH = "/dev-issuer"  # where the HTTPS server serves it, beside the pane
LIFETIME_S = 3600
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
# The delegated permission a `RESOURCE/.default` request gets: what an Exchange admin consents
# to for Rollcall. OpenID scopes MSAL adds to every request are granted implicitly.
DOWNSTREAM_PERMISSION = "EWS.AccessAsUser.All"
OPENID_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# The application permission an admin grants Rollcall's app for SMTP AUTH with an app token
# (Exchange Online's SMTP.SendAsApp); client-credentials tokens carry it in `roles`.
APP_PERMISSION = "SMTP.SendAsApp"


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


class OAuthError(ValueError):
    """A token request refused with one of RFC 6749's error codes (section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class DevIssuer:
    """Keys kept in `folder` (made on first use); `users` maps mailbox -> display name.

    Rollcall's own confidential client is `client_id` (the last part of an api://HOST/ID
    audience) with a secret made on first use and kept beside the key.
    """

    def __init__(self, folder: Path, issuer: str, audience: str, users: Mapping[str, str],
                 admins: frozenset[str] = frozenset(), client_id: str | None = None) -> None:
        self.folder = folder
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.users = {k.lower(): v for k, v in users.items()}
        self.admins = frozenset(a.lower() for a in admins)
        self.client_id = client_id or audience.rstrip("/").rpartition("/")[2]
        self._key, self.kid = _load_or_make_key(folder)
        self.client_secret = _load_or_make_secret(folder)
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
            # MSAL reads both; only the token endpoint's two grants are served.
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/oauth2/token",
            "grant_types_supported": [JWT_BEARER, CLIENT_CREDENTIALS],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
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
        return self._sign(body)

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None = None
              ) -> dict[str, Any]:
        """The token endpoint: the request's `grant_type` picks on-behalf-of or client
        credentials. Raises OAuthError (unsupported_grant_type for any other grant)."""
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            return self.on_behalf_of(form, basic)
        if grant == CLIENT_CREDENTIALS:
            return self.client_credentials(form, basic)
        raise OAuthError("unsupported_grant_type", "only the on-behalf-of grant "
                         f"({JWT_BEARER}) and {CLIENT_CREDENTIALS} are served here")

    def _client(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> None:
        """Rollcall's client authenticated by client_secret_post (the form) or
        client_secret_basic (`basic`); OAuthError invalid_client otherwise."""
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.client_id or not hmac.compare_digest(
                secret.encode(), self.client_secret.encode()):
            raise OAuthError("invalid_client", "unknown client or wrong client secret", 401)

    def on_behalf_of(self, form: Mapping[str, str], basic: tuple[str, str] | None = None
                     ) -> dict[str, Any]:
        """The on-behalf-of grant: Rollcall's client trades a caller's token (the assertion)
        for one that acts as the same person at a downstream resource (Exchange).

        `form` is the token request's body; `basic` the client id and secret of an HTTP Basic
        header, the other way RFC 6749 lets a client authenticate. Raises OAuthError.
        """
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError("unsupported_grant_type",
                             f"only the on-behalf-of grant ({JWT_BEARER}) is served here")
        self._client(form, basic)
        if form.get("requested_token_use") != "on_behalf_of":
            raise OAuthError("invalid_request", "requested_token_use must be on_behalf_of")
        caller = self._assertion(form.get("assertion", ""))
        resource, permission = _downstream(form.get("scope", ""))
        now = int(time.time())
        body = {
            "iss": self.issuer, "aud": resource, "iat": now, "nbf": now,
            "exp": now + LIFETIME_S, "ver": "1.0", "scp": permission, "appid": self.client_id,
            "upn": caller["preferred_username"], "unique_name": caller["preferred_username"],
            "name": caller.get("name"), "oid": caller.get("oid"), "sub": caller.get("sub"),
        }
        return {"token_type": "Bearer", "scope": f"{resource}/{permission}",
                "expires_in": LIFETIME_S, "ext_expires_in": LIFETIME_S,
                "access_token": self._sign(body)}

    def client_credentials(self, form: Mapping[str, str],
                           basic: tuple[str, str] | None = None) -> dict[str, Any]:
        """The client credentials grant: an app-only token for Rollcall's own client at one
        resource, asked for as `RESOURCE/.default` (as Entra ID insists). It names no user:
        `appid`/`azp` are the client, `roles` the application permission granted
        (SMTP.SendAsApp), and `oid`/`sub` the client's service principal. Raises OAuthError.
        """
        if form.get("grant_type") != CLIENT_CREDENTIALS:
            raise OAuthError("unsupported_grant_type",
                             f"only the {CLIENT_CREDENTIALS} grant is served here")
        self._client(form, basic)
        resource = _app_resource(form.get("scope", ""))
        now = int(time.time())
        principal = str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + self.client_id))
        body = {
            "iss": self.issuer, "aud": resource, "iat": now, "nbf": now,
            "exp": now + LIFETIME_S, "ver": "1.0", "appid": self.client_id,
            "azp": self.client_id, "appidacr": "1", "idtyp": "app", "roles": [APP_PERMISSION],
            "oid": principal, "sub": principal,
        }
        return {"token_type": "Bearer", "expires_in": LIFETIME_S, "ext_expires_in": LIFETIME_S,
                "access_token": self._sign(body)}

    def _assertion(self, assertion: str) -> dict[str, Any]:
        """The claims of a token this issuer minted for Rollcall's API; OAuthError otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion, self._key.public_key(), algorithms=[ALGORITHM], audience=self.audience,
                issuer=self.issuer, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "the assertion has expired") from None
        except jwt.PyJWTError as e:
            raise OAuthError("invalid_grant", f"the assertion is not valid ({e})") from None
        if REQUIRED_SCOPE not in str(claims.get("scp", "")).split():
            raise OAuthError("invalid_grant", f"the assertion lacks the {REQUIRED_SCOPE} scope")
        if "@" not in str(claims.get("preferred_username", "")):
            raise OAuthError("invalid_grant", "the assertion names no person")
        return claims


def _downstream(scope: str) -> tuple[str, str]:
    """(resource, permission) of the one downstream scope asked for, beside OpenID's."""
    asked = [s for s in scope.split() if s not in OPENID_SCOPES]
    if len(asked) != 1 or "/" not in asked[0].strip("/"):
        raise OAuthError("invalid_scope", "ask for exactly one downstream scope, like "
                         f"https://outlook.office365.com/{DOWNSTREAM_PERMISSION}")
    resource, _, permission = asked[0].rpartition("/")
    if permission == ".default":
        permission = DOWNSTREAM_PERMISSION
    if permission != DOWNSTREAM_PERMISSION:
        raise OAuthError("invalid_scope", f"only {DOWNSTREAM_PERMISSION} is consented for "
                         "Rollcall here")
    return resource, permission


def _app_resource(scope: str) -> str:
    """The resource of the one `RESOURCE/.default` scope a client-credentials request asks for
    (OpenID's scopes, which an app token cannot carry, are passed over)."""
    asked = [s for s in scope.split() if s not in OPENID_SCOPES]
    if len(asked) != 1 or not asked[0].endswith("/.default") or "/" not in asked[0].strip("/"):
        raise OAuthError("invalid_scope", "the client credentials grant takes exactly one "
                         "scope, the resource with /.default after it, like "
                         "https://outlook.office365.com/.default")
    return asked[0].removesuffix("/.default")


def _load_or_make_secret(folder: Path) -> str:
    """Rollcall's client secret at this issuer, made (owner-only file) if absent."""
    path = folder / "dev-client-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret)
    return secret


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
