"""Every answer names its request (X-Request-Id, and `request_id` in error bodies), and the server's
log lines about it carry the same id: a person reads plain words and quotes the id; support
finds the whole story in the log."""

from __future__ import annotations

import secrets

from flask import Response, g


def start() -> None:
    """before_request: a fresh id. Never taken from the caller, who could make it collide."""
    g.request_id = secrets.token_hex(6)


def request_id() -> str:
    return str(g.get("request_id") or "-")


def stamp(response: Response) -> Response:
    """after_request: the id on every answer."""
    response.headers["X-Request-Id"] = request_id()
    return response
