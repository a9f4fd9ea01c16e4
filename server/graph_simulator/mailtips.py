"""POST /users/{id}/getMailTips and /me/getMailTips: member counts as Exchange knows them.

A list's totalMemberCount is its stale group metrics when the organisation gives them, else
Exchange's live count (dynamic members, public folders and GAL-hidden people included); one for
a person; nothing while metrics are pending; an error item for an address nobody has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .directory import Entity
from .wire import GraphError, Response, json_response

if TYPE_CHECKING:
    from .routes import Context

MAX_MESSAGE_SIZE = 37_748_736  # Exchange Online's default, in bytes
OPTIONS = {  # the MailTipsOptions words understood, lower-case -> property name
    "totalmembercount": "totalMemberCount",
    "externalmembercount": "externalMemberCount",
    "recipientscope": "recipientScope",
    "maxmessagesize": "maxMessageSize",
    "deliveryrestricted": "deliveryRestricted",
    "ismoderated": "isModerated",
    "mailboxfullstatus": "mailboxFull",
}


def answer(ctx: Context, user: Entity) -> Response:
    """The MailTips of each address, in the order asked; GraphError for a bad request."""
    caller = ctx.caller
    if not caller.app and (caller.user or "").lower() != str(
            user.props["userPrincipalName"]).lower():
        raise GraphError(403, "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again.")
    ctx.need("Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite")
    body = ctx.request.json()
    addresses = body.get("EmailAddresses") if isinstance(body, dict) else None
    options = body.get("MailTipsOptions") if isinstance(body, dict) else None
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise GraphError(400, "ErrorInvalidParameter",
                         "EmailAddresses must be a list of SMTP addresses.")
    if not isinstance(options, str) or not options.strip():
        raise GraphError(400, "ErrorInvalidParameter", "MailTipsOptions is required.")
    wanted = {OPTIONS[w] for w in (o.strip().lower() for o in options.split(",")) if w in OPTIONS}
    values = [_tips(ctx, a.strip(), wanted) for a in addresses]
    return json_response({"@odata.context": ctx.context("Collection(microsoft.graph.mailTips)"),
                          "value": values})


def _tips(ctx: Context, address: str, wanted: set[str]) -> dict[str, Any]:
    org = ctx.directory.org
    obj = org.find(address) if address.count("@") == 1 else None
    out: dict[str, Any] = {"emailAddress": {"name": "", "address": address}}
    if obj is None:
        out["error"] = {"code": "UnknownError",
                        "message": f"The recipient {address} couldn't be found."}
        return out
    counts: tuple[int, int] | None
    if not obj.is_list:
        counts = (1, 0 if ctx.exchange.is_internal(obj.address) else 1)
    elif obj.metrics_pending:
        counts = None
    else:
        counts = obj.metrics or ctx.exchange.count(obj)
    if counts is not None and "totalMemberCount" in wanted:
        out["totalMemberCount"] = counts[0]
    if counts is not None and "externalMemberCount" in wanted:
        out["externalMemberCount"] = counts[1]
    if "recipientScope" in wanted:
        internal = obj.is_list or ctx.exchange.is_internal(obj.address)
        out["recipientScope"] = "internal" if internal else "external"
    if "maxMessageSize" in wanted:
        out["maxMessageSize"] = MAX_MESSAGE_SIZE
    for flag in ("deliveryRestricted", "isModerated", "mailboxFull"):
        if flag in wanted:
            out[flag] = False
    return out
