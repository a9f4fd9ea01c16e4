"""The simulator's own Entra ID: OpenID metadata, its signing key, the token endpoint (client
credentials and on-behalf-of) and the check every Graph and admin API request's bearer gets.

Tokens are RS256 with a key made at start-up, shaped like Entra's v1.0 access tokens (`roles`
for applications, `scp` and `upn` for people), so a client that decodes them for its own reasons
sees what it would see in a tenant.
"""

from __future__ import annotations

import hmac
import itertools
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .assertions import ALGORITHM, AssertionChecker, AssertionTrust, BadAssertion
from .directory import Directory

LIFETIME_S = 3600
CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OPENID_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
GRAPH, EXCHANGE = "graph", "exchange"
GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
EXCHANGE_RESOURCES = ("https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000")
GRAPH_PERMISSIONS = ("User.Read.All", "GroupMember.Read.All", "OrgContact.Read.All",
                     "Member.Read.Hidden", "Contacts.Read", "Mail.Read")
ADMIN_API_ROLE = "Exchange.ManageAsAppV2"
# What an administrator consented to for Rollcall's app, per resource. Delegated Exchange access
# is the plain Exchange.Manage: the admin API still refuses people without an admin role.
APP_ROLES: dict[str, tuple[str, ...]] = {GRAPH: GRAPH_PERMISSIONS, EXCHANGE: (ADMIN_API_ROLE,)}
DELEGATED: dict[str, tuple[str, ...]] = {GRAPH: GRAPH_PERMISSIONS, EXCHANGE: ("Exchange.Manage",)}


class TokenError(Exception):
    """A token request refused as Entra ID answers: status, OAuth error, AADSTS code."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.code, self.message = status, error, code, message

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": f"AADSTS{self.code}: {self.message}",
                "error_codes": [self.code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}


class BadToken(Exception):
    """A bearer refused; `str()` is Graph's message for it."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a validated token speaks for and what it may do."""

    app: bool
    audience: str
    permissions: frozenset[str]
    user: str | None  # the person's UPN (their mailbox's primary address) in delegated tokens

    def may(self, *any_of: str) -> bool:
        return any(p in self.permissions for p in any_of)


class TokenService:
    """Issues and checks the simulator's tokens for one tenant and one client application."""

    def __init__(self, directory: Directory, base_url: str, tenant: str, client_id: str,
                 client_secret: str, trust: AssertionTrust | None,
                 exchange_url: str | None = None) -> None:
        self.directory = directory
        self.base_url = base_url
        self.exchange_url = exchange_url or EXCHANGE_RESOURCES[0]
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.issuer = f"{base_url}/{tenant}/v2.0"
        self.assertions = AssertionChecker(trust) if trust else None
        self.app_roles = {k: set(v) for k, v in APP_ROLES.items()}  # tests may change these
        self.delegated = {k: set(v) for k, v in DELEGATED.items()}
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        self.last_serial = 0  # the newest token's serial number

    # -- OpenID metadata ------------------------------------------------------------------------

    def openid_configuration(self) -> dict[str, Any]:
        base = f"{self.base_url}/{self.tenant}"
        return {
            "issuer": self.issuer,
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "grant_types_supported": [CLIENT_CREDENTIALS, JWT_BEARER],
            "tenant_region_scope": "NA",
        }

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}

    # -- the token endpoint ---------------------------------------------------------------------

    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None,
              deny: tuple[str, ...] = ()) -> dict[str, Any]:
        """Answer a token request; raises TokenError."""
        grant = form.get("grant_type", "")
        if grant not in (CLIENT_CREDENTIALS, JWT_BEARER):
            raise TokenError(400, "unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant}'.")
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.client_id:
            raise TokenError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the "
                             f"directory '{self.tenant}'.")
        if not hmac.compare_digest(secret.encode(), self.client_secret.encode()):
            raise TokenError(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if grant == CLIENT_CREDENTIALS:
            resource, _ = self._scope(form.get("scope", ""), delegated=False)
            roles = sorted(self.app_roles[self._kind(resource)] - set(deny))
            return self._answer(self.app_token(resource, roles))
        if self.assertions is None:
            raise TokenError(400, "unauthorized_client", 70001, "The on-behalf-of flow is not "
                             "configured for this tenant (no trusted assertion issuer).")
        if form.get("requested_token_use") != "on_behalf_of":
            raise TokenError(400, "invalid_request", 900144,
                             "The request body must contain: 'requested_token_use'.")
        try:
            address = self.assertions.user(form.get("assertion", ""))
        except BadAssertion as e:
            raise TokenError(400, "invalid_grant", 50013,
                             f"Assertion failed validation: {e}.") from None
        user = self.directory.for_address(address)
        obj = user.obj if user is not None else None
        if obj is None or obj.address.lower() not in self.directory.org.mailboxes:
            raise TokenError(400, "invalid_grant", 50034, f"The user account {address} does "
                             f"not exist in the {self.tenant} directory.")
        resource, asked = self._scope(form.get("scope", ""), delegated=True)
        granted = self.delegated[self._kind(resource)] - set(deny)
        scopes = sorted(granted if asked is None else granted & asked)
        token = self.user_token(obj.address, resource, scopes)
        return self._answer(token, " ".join(f"{resource}/{s}" for s in scopes))

    def _scope(self, scope: str, delegated: bool) -> tuple[str, set[str] | None]:
        """(resource, permissions asked, None meaning all granted: /.default)."""
        asked = [s for s in scope.split() if s not in OPENID_SCOPES]
        resources = {s.rpartition("/")[0] for s in asked}
        if not asked or len(resources) != 1 or "" in resources:
            raise TokenError(400, "invalid_scope", 70011, f"The provided value for the input "
                             f"parameter 'scope' is not valid: {scope!r}.")
        resource = resources.pop().rstrip("/")
        self._kind(resource)
        names = {s.rpartition("/")[2] for s in asked}
        if ".default" in names:
            if len(names) != 1:
                raise TokenError(400, "invalid_scope", 70011, "/.default cannot be combined "
                                 "with other scopes.")
            return resource, None
        if not delegated:
            raise TokenError(400, "invalid_scope", 1002012, f"The provided value for scope "
                             f"{scope} is not valid. Client credential flows must have a scope "
                             "value with /.default suffixed to the resource identifier.")
        missing = names - self.delegated[self._kind(resource)]
        if missing:
            raise TokenError(400, "invalid_grant", 65001, "The user or administrator has not "
                             f"consented to use the application: {sorted(missing)}.")
        return resource, names

    def _answer(self, token: str, scope: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"token_type": "Bearer", "expires_in": LIFETIME_S,
                               "ext_expires_in": LIFETIME_S, "access_token": token}
        if scope is not None:
            out["scope"] = scope
        return out

    # -- minting (the endpoint uses these; tests may too) ---------------------------------------

    def app_token(self, resource: str = GRAPH_RESOURCES[0],
                  roles: list[str] | None = None, lifetime_s: int = LIFETIME_S) -> str:
        """An application token for `resource` with `roles` (default: all the app's)."""
        if roles is None:
            roles = sorted(self.app_roles[self._kind(resource)])
        principal = str(uuid.uuid5(uuid.NAMESPACE_URL, "graph-sim-sp:" + self.client_id))
        return self._sign({"aud": self._audience(resource), "roles": roles, "idtyp": "app",
                           "oid": principal, "sub": principal}, lifetime_s)

    def user_token(self, address: str, resource: str = GRAPH_RESOURCES[0],
                   scopes: list[str] | None = None, lifetime_s: int = LIFETIME_S) -> str:
        """A delegated token for a mailbox (by primary address) with `scopes` (default: all
        consented); KeyError for an address that is no mailbox's."""
        user = self.directory.for_address(address)
        if user is None or user.obj is None:
            raise KeyError(address)
        if scopes is None:
            scopes = sorted(self.delegated[self._kind(resource)])
        upn = user.obj.address
        return self._sign({"aud": self._audience(resource), "scp": " ".join(scopes),
                           "idtyp": "user", "upn": upn, "unique_name": upn,
                           "preferred_username": upn, "name": user.obj.name, "oid": user.id,
                           "sub": user.id}, lifetime_s)

    def _sign(self, claims: dict[str, Any], lifetime_s: int) -> str:
        now = int(time.time())
        with self._lock:
            serial = next(self._serial)
            self.last_serial = serial
        body = {"iss": self.issuer, "iat": now, "nbf": now, "exp": now + lifetime_s,
                "tid": self.tenant, "ver": "1.0", "appid": self.client_id,
                "azp": self.client_id, "uti": f"{serial:x}-{uuid.uuid4().hex[:8]}", **claims}
        return jwt.encode(body, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def _kind(self, resource: str) -> str:
        """GRAPH or EXCHANGE for a resource a token may be asked for; TokenError otherwise."""
        r = resource.rstrip("/").lower()
        if r in GRAPH_RESOURCES or r == self.base_url.lower():
            return GRAPH
        if r in EXCHANGE_RESOURCES or r == self.exchange_url.lower():
            return EXCHANGE
        raise TokenError(400, "invalid_resource", 500011, f"The resource principal named "
                         f"{resource} was not found in the tenant named {self.tenant}.")

    def _audience(self, resource: str) -> str:
        """A Graph token's aud is the resource as asked; an Exchange token's is always Exchange
        Online's (the simulator's own name for it, .exchange_url, included)."""
        resource = resource.rstrip("/")
        return resource if self._kind(resource) == GRAPH else EXCHANGE_RESOURCES[0]

    # -- checking bearers -----------------------------------------------------------------------

    def verify(self, header: str | None, kind: str, deny: tuple[str, ...] = (),
               expired_up_to: int = 0) -> Caller:
        """The caller a request's Authorization header proves, for a Graph or Exchange
        resource; BadToken with Graph's message otherwise."""
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise BadToken("Access token is empty.")
        audiences = ([*GRAPH_RESOURCES, self.base_url] if kind == GRAPH
                     else list(EXCHANGE_RESOURCES))
        try:
            if jwt.get_unverified_header(token).get("kid") != self.kid:
                raise BadToken("Access token validation failure. Invalid signing key.")
            claims: dict[str, Any] = jwt.decode(
                token, self._key.public_key(), algorithms=[ALGORITHM], audience=audiences,
                issuer=self.issuer, options={"require": ["exp", "iss", "aud", "uti"]})
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise BadToken("Access token has expired or is not yet valid.") from None
        except jwt.InvalidAudienceError:
            raise BadToken("Access token validation failure. Invalid audience.") from None
        except jwt.PyJWTError:
            raise BadToken("Access token validation failure.") from None
        try:
            serial = int(str(claims["uti"]).split("-")[0], 16)
        except ValueError:
            raise BadToken("Access token validation failure.") from None
        if serial <= expired_up_to:
            raise BadToken("Access token has expired or is not yet valid.")
        app = claims.get("idtyp") == "app"
        granted = set(claims.get("roles") or []) if app else set(str(claims.get("scp")).split())
        return Caller(app=app, audience=str(claims["aud"]),
                      permissions=frozenset(granted - set(deny)),
                      user=None if app else str(claims.get("upn") or "") or None)
