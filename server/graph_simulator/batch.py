"""POST /$batch: up to 20 requests in one, each answered as if sent alone.

Answers come back in an order other than the request's (reversed: deterministic, and it breaks
clients that match answers by position instead of by id). An item that `dependsOn` one which
failed gets 424; the batch itself is 200 whatever its items say.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .wire import GraphError, Request, Response, error_response, json_response

MAX_ITEMS = 20


def run(outer: Request, version: str, serve: Callable[[Request], Response]) -> Response:
    """Answer a batch; `serve` answers one item (never raising). GraphError for a bad batch."""
    body = outer.json()
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(items) > MAX_ITEMS:
        raise GraphError(400, "BadRequest", f"Number of batch request steps exceeds the "
                         f"maximum of {MAX_ITEMS}.")
    done: dict[str, Response] = {}
    order: list[str] = []
    for item in items:
        rid, request, depends = _item(item, version, outer)
        if rid in done or rid in order:
            raise GraphError(400, "BadRequest", f"Request id '{rid}' is used twice.")
        missing = [d for d in depends if d not in done]
        if missing:
            raise GraphError(400, "BadRequest", f"Request '{rid}' depends on '{missing[0]}', "
                             "which is not an earlier request of this batch.")
        failed = [d for d in depends if not 200 <= done[d].status < 300]
        if urlsplit(str(item["url"])).scheme:
            err = GraphError(400, "BadRequest", f"Request '{rid}': batch request urls are "
                             "relative, like /users?$top=5.")
            done[rid] = error_response(err, request)
        elif failed:
            err = GraphError(424, "FailedDependency",
                             f"Request '{rid}' was not run: request '{failed[0]}' failed.")
            done[rid] = error_response(err, request)
        else:
            done[rid] = serve(request)
        order.append(rid)
    return json_response({"responses": [_answer(rid, done[rid]) for rid in reversed(order)]})


def _item(item: Any, version: str, outer: Request) -> tuple[str, Request, list[str]]:
    """(id, the request it stands for, the ids it depends on); GraphError for a bad one."""
    if not isinstance(item, dict):
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    rid, method, url = item.get("id"), item.get("method"), item.get("url")
    if not isinstance(rid, str) or not rid or not isinstance(method, str) or not isinstance(
            url, str) or not url:
        raise GraphError(400, "BadRequest", "Every batch request needs an id, a method and a "
                         "url.")
    depends = item.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise GraphError(400, "BadRequest", f"Request '{rid}': dependsOn must list request ids.")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict):
        raise GraphError(400, "BadRequest", f"Request '{rid}': headers must be an object.")
    raw = item.get("body")
    body = b"" if raw is None else raw.encode() if isinstance(raw, str) else json.dumps(
        raw).encode()
    target = f"/{version}/{url.lstrip('/')}"  # items are relative to the batch's own version
    request = Request.from_target(method, target, {str(k): str(v) for k, v in headers.items()},
                                  body)
    for inherited in ("authorization", "host"):  # who asks, and by which name
        if inherited in outer.headers:
            request.headers[inherited] = outer.headers[inherited]
    return rid, request, list(depends)


def _answer(rid: str, response: Response) -> dict[str, Any]:
    headers = {"Content-Type": response.content_type}
    headers.update({k: v for k, v in response.headers.items()
                    if k.lower() not in ("request-id", "client-request-id")})
    out: dict[str, Any] = {"id": rid, "status": response.status, "headers": headers}
    if response.body:
        out["body"] = response.json()
    return out
