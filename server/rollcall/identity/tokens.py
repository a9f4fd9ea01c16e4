"""Access-token validation (PyJWT): RS256 only, the issuer's keys, iss, aud, exp/nbf, the scope,
then whose mailbox the token acts as (`mailbox.py`'s rule: tenant, guests, `upn`).

Entra ID's access tokens for an API: v1.0 ones carry `upn`, v2.0 ones `preferred_username` (and
`upn` as an optional claim); both carry `tid`, `oid`, `scp` (space-separated delegated scopes),
`roles` (app roles) and optionally `groups`. AD FS sends what its issuance rules say: `upn`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from .errors import InvalidToken, NotSignedIn
from .keys import KeySet
from .mailbox import acting_mailbox, admit
from .settings import KEYS_REFRESH_S

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
REQUIRED_SCOPE = "access_as_user"
ADMIN_ROLE = "Rollcall.Admin"
LEEWAY_S = 60  # clocks of the issuer and this server may disagree by this much
MAX_TOKEN_BYTES = 16 * 1024  # Entra tokens with many groups reach a few KB; more is abuse

# (oid, tid) -> the person's mailbox from the directory, or None when they have none. The seam
# for Microsoft Graph (not built yet): it raises IdentityUnavailable when it cannot ask.
MailboxResolver = Callable[[str, str | None], str | None]


VERIFIED_MAX = 10_000  # verified tokens kept (one per signed-in person and hour, roughly)


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """Which issuer Rollcall trusts and for which audience its tokens must be."""

    issuer: str
    audiences: tuple[str, ...]  # Entra puts the client id or the api:// URI in `aud`
    jwks_url: str | None = None
    admin_group: str | None = None  # an object id in the `groups` claim, as well as the role
    admin_role: str = ADMIN_ROLE
    scope: str = REQUIRED_SCOPE
    tenant_id: str | None = None  # every token's `tid` must be this (Entra ID)
    allow_guests: bool = False
    keys_refresh_s: float = KEYS_REFRESH_S  # for the KeySet bootstrap builds beside this


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: their mailbox (from the token, never from a request body) and roles."""

    mailbox: str
    name: str
    subject: str
    roles: tuple[str, ...] = ()
    admin: bool = False
    expires_at: float = 0.0  # the token's `exp`: how long Rollcall may act with it
    groups: tuple[str, ...] = ()  # the `groups` claim's ids: lists can be shared with a group

    def as_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "name": self.name, "roles": list(self.roles),
                "admin": self.admin}


class TokenValidator:
    """Turns a bearer token into a Caller; raises NotSignedIn, InvalidToken, IdentityUnavailable."""

    def __init__(self, settings: OidcSettings, keys: KeySet,
                 resolve_mailbox: MailboxResolver | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.resolve_mailbox = resolve_mailbox  # None until Graph is configured (a later issue)
        # Tokens already verified, until their `exp`: a pane or send check sends the same token
        # for an hour, and checking its RSA signature again each time was a warm request's
        # largest cost. The key is still looked up on every hit, so a key the issuer withdrew
        # stops its tokens as soon as the key set is read again, as before.
        self._verified: OrderedDict[str, tuple[Caller, str, float]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def validate(self, token: str | None) -> Caller:
        """The caller a token names, once every check passed."""
        if not token:
            raise NotSignedIn("Sign in to use Rollcall: the request carried no bearer token")
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("The token is too large")
        with self._verified_lock:
            hit = self._verified.get(token)
        if hit is not None and time.time() < hit[2]:
            self.keys.key(hit[1])  # raises if the issuer no longer publishes that key
            return hit[0]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The bearer token is not a JSON Web Token") from None
        # Checked before any key is looked at: `none` and HS256-with-the-public-key are the two
        # classic ways to make a verifier accept a token nobody signed.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"Only {ALGORITHM}-signed tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key (kid)")
        key = self.keys.key(kid)
        claims = self._decode(token, key.key)
        caller = self._caller(claims)
        with self._verified_lock:
            self._verified[token] = (caller, kid, float(claims["exp"]))
            while len(self._verified) > VERIFIED_MAX:
                self._verified.popitem(last=False)
        return caller

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=list(s.audiences), issuer=s.issuer,
                leeway=LEEWAY_S, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired; get a new one",
                               code="token_expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The token is not valid yet") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("The token's signature does not verify") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token comes from an issuer Rollcall does not trust") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The token is meant for another application") from None
        except jwt.MissingRequiredClaimError as e:
            raise InvalidToken(f"The token has no '{e.claim}' claim") from None
        except jwt.PyJWTError as e:
            log.info("token rejected: %s", type(e).__name__)
            raise InvalidToken("The token is not valid") from None
        return claims

    def _caller(self, claims: dict[str, Any]) -> Caller:
        s = self.settings
        scopes = claims.get("scp")
        if not isinstance(scopes, str) or s.scope not in scopes.split():
            raise InvalidToken(f"The token does not grant the '{s.scope}' scope",
                               code="missing_scope")
        mailbox = self._mailbox(claims)
        roles = tuple(r for r in claims.get("roles") or () if isinstance(r, str))
        groups = claims.get("groups") or ()
        admin = s.admin_role in roles or bool(
            s.admin_group and isinstance(groups, list) and s.admin_group in groups)
        name = claims.get("name")
        subject = claims.get("oid") or claims.get("sub") or mailbox
        return Caller(mailbox=mailbox,
                      name=name if isinstance(name, str) else mailbox,
                      subject=str(subject), roles=roles, admin=admin,
                      groups=tuple(x for x in groups if isinstance(x, str))
                      if isinstance(groups, list) else (),
                      expires_at=float(claims.get("exp", 0)))

    def _mailbox(self, claims: dict[str, Any]) -> str:
        """The rule in mailbox.py; with a directory resolver, `oid` names the mailbox instead."""
        s = self.settings
        oid = claims.get("oid")
        if self.resolve_mailbox is None or not isinstance(oid, str) or not oid:
            return acting_mailbox(claims, s.tenant_id, s.allow_guests)
        admit(claims, s.tenant_id, s.allow_guests)
        tid = claims.get("tid")
        resolved = self.resolve_mailbox(oid, tid if isinstance(tid, str) else None)
        if not resolved:
            raise InvalidToken("The directory has no mailbox for the signed-in person")
        return resolved.strip().lower()
