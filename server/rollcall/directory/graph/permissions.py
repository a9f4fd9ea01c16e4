"""Which Graph permissions Rollcall holds (its tokens' `roles` or `scp`) against those each
feature needs (least privilege, README "Exchange Online through Microsoft Graph"), and what
Graph therefore cannot see here. Reads claims only to show them: the token is Graph's to check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from rollcall.core.model import DirectoryError

# permission -> what it is for; `optional` ones narrow what is seen, never stop a count.
NEEDED: tuple[tuple[str, str, bool], ...] = (
    ("User.Read.All", "people's addresses, and addresses typed in", False),
    ("GroupMember.Read.All", "lists' members", False),
    ("OrgContact.Read.All", "mail contacts in lists", False),
    ("Contacts.Read", "your own contacts and contact groups", False),
    ("Mail.Read", "MailTips: Exchange's member counts (dynamic lists, estimates)", False),
    ("Member.Read.Hidden", "Microsoft 365 groups whose membership is hidden", True),
)
EXCHANGE_ROLE = "Exchange.ManageAsAppV2"


def granted(token: str) -> set[str]:
    """The permissions a token carries (application `roles`, delegated `scp`)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    roles = claims.get("roles") or []
    scopes = str(claims.get("scp") or "").split()
    return {str(r) for r in roles} | set(scopes)


def permissions_report(graph_token: Callable[[], str], exchange_token: Callable[[], str],
                       auth: str, admin: Any) -> dict[str, Any]:
    """{"granted", "needed": [{name, for, granted, optional}], "exchange_admin_api",
    "limits": [plain sentences]}."""
    have = granted(graph_token())
    needed = [{"name": n, "for": why, "granted": n in have, "optional": optional}
              for n, why, optional in NEEDED]
    try:
        exchange = EXCHANGE_ROLE in granted(exchange_token())
    except (DirectoryError, jwt.PyJWTError):
        exchange = False
    refused = getattr(admin, "last_refusal", None) if not admin.open else None
    needed.append({"name": EXCHANGE_ROLE, "granted": exchange and refused is None,
                   "optional": True,
                   "for": "dynamic lists' members, from Exchange Online's admin API "
                          "(application permission, with an Exchange role)"
                          + (f"; the admin API refused Rollcall ({refused}), asked again "
                             "within a minute" if refused else "")})
    open_ = exchange and admin.open
    limits = [
        "Dynamic distribution lists: " + (
            "members from Exchange's admin API, as Exchange last calculated them (about daily)."
            if open_ else "Graph cannot list them and Exchange's admin API is not open to "
            f"Rollcall ({EXCHANGE_ROLE} and an Exchange role): counted only as MailTips' "
            "estimate, and the count is incomplete."),
        "Dynamic lists or public folders inside a list: " + (
            "found through the admin API." if open_ else "noticed only in lists of people "
            "(MailTips' count against Graph's)."),
        "Hidden membership (Microsoft 365 groups): " + (
            "read." if "Member.Read.Hidden" in have else
            "not granted Member.Read.Hidden: such groups are reported as not expanded."),
        "Contact groups: members from Graph's beta endpoint (v1.0 lists only their names).",
    ]
    return {"granted": sorted(have), "needed": needed, "acting": auth,
            "exchange_admin_api_open": open_, "limits": limits}
