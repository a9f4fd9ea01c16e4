"""Requests and answers as the routes see them, so `$batch` items go through the same code as
requests that came over HTTP; and Graph's error body, which every failure answers with."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

JSON = "application/json"
# What Graph itself sends with a successful JSON answer.
ODATA_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
TEXT = "text/plain"


@dataclass(slots=True)
class Request:
    """One request: `path` without the query, `query` decoded, header names lower-case."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    def from_target(
        cls, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Request:
        """From an HTTP request line's target (path and query) and its headers."""
        parts = urlsplit(target)
        return cls(
            method=method.upper(),
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    @property
    def segments(self) -> list[str]:
        """The path's segments, each percent-decoded (a guest's UPN holds %23 for '#')."""
        return [unquote(s) for s in self.path.split("/") if s]

    @property
    def client_request_id(self) -> str:
        return self.headers.get("client-request-id") or self.request_id

    def param(self, name: str) -> str | None:
        """A query option by name, with or without its `$` (Graph takes both), any case."""
        wanted = name.lstrip("$").lower()
        for key, value in self.query:
            if key.lstrip("$").lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        """The body as JSON; GraphError 400 when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body decoded again (for `$batch`, which nests answers as JSON values)."""
        if self.content_type.startswith(JSON):
            return json.loads(self.body) if self.body else None
        return self.body.decode("utf-8")


class GraphError(Exception):
    """A failure answered with Graph's error body; `headers` go on the answer (Retry-After)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def json_response(value: Any, status: int = 200, content_type: str = ODATA_JSON) -> Response:
    return Response(status, json.dumps(value).encode(), content_type)


def error_response(err: GraphError, request: Request) -> Response:
    """Graph's error body: code, message and the innerError clients log."""
    body = {
        "error": {
            "code": err.code,
            "message": err.message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request.request_id,
                "client-request-id": request.client_request_id,
            },
        }
    }
    return Response(err.status, json.dumps(body).encode(), JSON, dict(err.headers))


def denied() -> GraphError:
    """A missing permission, as Graph words it."""
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def not_found(what: str) -> GraphError:
    return GraphError(
        404, "Request_ResourceNotFound", f"Resource '{what}' does not exist or one of its "
        "queried reference-property objects are not present."
    )


def bad_segment(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
