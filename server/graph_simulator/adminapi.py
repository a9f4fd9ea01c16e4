"""The Exchange Online admin API's member cmdlets (preview): the only programmatic way to list
a dynamic distribution group's members once EWS is gone, and the way to see what Graph leaves
out of a static list (public folders, dynamic lists).

    POST /adminapi/v2.0/{tenant}/DynamicDistributionGroupMember
    POST /adminapi/v2.0/{tenant}/DistributionGroupMember
    {"CmdletInput": {"CmdletName": "Get-...Member",
                     "Parameters": {"Identity": ..., "ResultSize": N}}}

Pages hold ResultSize members (default 1000); the nextLink is POSTed again with the same body.
Only applications holding Exchange.ManageAsAppV2 may call it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ews_simulator.org import DirectoryObject

from .exchange import Exchange, recipient_type
from .query import skip_of, skip_token
from .tokens import ADMIN_API_ROLE, Caller
from .wire import GraphError, Request, Response, json_response

DEFAULT_RESULT_SIZE = 1000
ENDPOINTS = {
    "DynamicDistributionGroupMember": "Get-DynamicDistributionGroupMember",
    "DistributionGroupMember": "Get-DistributionGroupMember",
}


def answer(exchange: Exchange, request: Request, caller: Caller, base_url: str,
           tenant: str, endpoint: str) -> Response:
    """One admin API call; raises GraphError (its body is the admin API's own)."""
    if endpoint not in ENDPOINTS:
        raise GraphError(404, "NotFound", f"The endpoint '{endpoint}' does not exist.")
    if request.method != "POST":
        raise GraphError(405, "MethodNotAllowed", f"{endpoint} takes POST.")
    if caller.app and ADMIN_API_ROLE not in caller.permissions:
        raise GraphError(403, "Forbidden", f"The application does not hold the "
                         f"{ADMIN_API_ROLE} role.")
    if not caller.app:
        raise GraphError(403, "Forbidden", f"The user '{caller.user}' isn't assigned to any "
                         "management roles that allow this cmdlet.")
    identity, size = _parameters(request.json(), ENDPOINTS[endpoint])
    obj = exchange.org.find(identity)
    if obj is None:
        raise GraphError(404, "NotFound", f"|Microsoft.Exchange.Configuration.Tasks."
                         f"ManagementObjectNotFoundException|The operation couldn't be performed "
                         f"because object '{identity}' couldn't be found on '{tenant}'.")
    dynamic = obj.dynamic_filter is not None
    if not obj.is_list or dynamic != (endpoint == "DynamicDistributionGroupMember"):
        wanted = "dynamic distribution group" if not dynamic and endpoint.startswith(
            "Dynamic") else "distribution group"
        raise GraphError(400, "BadRequest", f"|Microsoft.Exchange.Management.Tasks."
                         f"TaskArgumentException|The object '{identity}' is not a {wanted}.")
    members = exchange.direct_members(obj)
    start = skip_of(request)
    body: dict[str, Any] = {
        "@odata.context": f"{base_url}/adminapi/v2.0/{quote(tenant)}/$metadata#{endpoint}",
        "value": [_row(m) for m in members[start:start + size]],
    }
    if start + size < len(members):
        body["@odata.nextLink"] = (f"{base_url}/adminapi/v2.0/{quote(tenant)}/{endpoint}"
                                   f"?$skiptoken={skip_token(start + size)}")
    return json_response(body)


def _parameters(body: Any, cmdlet: str) -> tuple[str, int]:
    """(Identity, ResultSize) of a CmdletInput body; GraphError 400 for a malformed one."""
    cmd = body.get("CmdletInput") if isinstance(body, dict) else None
    if not isinstance(cmd, dict) or cmd.get("CmdletName") != cmdlet:
        raise GraphError(400, "BadRequest", f"The body must be {{\"CmdletInput\": "
                         f"{{\"CmdletName\": \"{cmdlet}\", \"Parameters\": {{...}}}}}}.")
    params = cmd.get("Parameters") or {}
    identity = params.get("Identity") if isinstance(params, dict) else None
    if not isinstance(identity, str) or not identity.strip():
        raise GraphError(400, "BadRequest", "The Identity parameter is required.")
    size: Any = params.get("ResultSize", DEFAULT_RESULT_SIZE)
    if isinstance(size, str) and size.lower() == "unlimited":
        size = DEFAULT_RESULT_SIZE
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise GraphError(400, "BadRequest", f"ResultSize {size!r} is not a positive number "
                         "or 'Unlimited'.")
    return identity.strip(), size


def _row(obj: DirectoryObject) -> dict[str, str]:
    kind, details = recipient_type(obj)
    return {"Name": obj.address.split("@")[0], "DisplayName": obj.name,
            "PrimarySmtpAddress": obj.address, "RecipientType": kind,
            "RecipientTypeDetails": details}
