"""Reading request bodies: the checks every route shares, each failure a named 400."""

from __future__ import annotations

from typing import Any

from flask import request

from ..errors import BadRequest
from .auth import acting_mailbox


def json_object(example: str = "") -> dict[str, Any]:
    """The body as a JSON object; `example` shows the caller what one looks like."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        like = f" like {example}" if example else ""
        raise BadRequest(f"The body must be a JSON object{like}", code="not_json")
    return body


def expected_count(body: dict[str, Any]) -> int | None:
    """'expected': a whole number of people, or absent."""
    expected = body.get("expected")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)
                                 or expected < 0):
        raise BadRequest("'expected' must be a whole number of recipients, 0 or more",
                         code="bad_expected")
    return expected


def mailbox(body: dict[str, Any]) -> str:
    """The caller's mailbox from the token; 'mailbox' may only name them (else 403) or be
    left out (absent, null or empty)."""
    return acting_mailbox(body.get("mailbox") or None)
