"""Reading request bodies: the checks every route shares, each failure a named 400."""

from __future__ import annotations

from typing import Any

from flask import request

from ..core.model import Recipient
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


def parse_recipients(value: Any) -> list[Recipient]:
    """Office.js EmailAddressDetails (displayName, emailAddress) as Recipients; BadRequest else."""
    if not isinstance(value, list) or not value:
        raise BadRequest("'recipients' must be a non-empty list of "
                         '{"displayName": ..., "emailAddress": ...}', code="no_recipients")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(f"recipients[{i}] must be an object", code="bad_recipient")
        name, address = item.get("displayName") or "", item.get("emailAddress") or ""
        if not isinstance(name, str) or not isinstance(address, str):
            raise BadRequest(f"recipients[{i}]: displayName and emailAddress must be text",
                             code="bad_recipient")
        if not name.strip() and not address.strip():
            raise BadRequest(f"recipients[{i}] has neither a name nor an address",
                             code="bad_recipient")
        out.append(Recipient(name=name.strip(), address=address.strip() or None))
    return out
