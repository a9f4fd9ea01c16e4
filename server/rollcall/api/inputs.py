"""Reading request bodies: the checks every route shares, each failure a named 400."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from flask import request

from ..core.model import MAX_EXPECTED, Recipient
from ..core.recipients import unsafe_character
from ..errors import BadRequest
from .auth import acting_mailbox

# No route's body is more than three levels deep ({"recipients": [{...}]}); anything much deeper
# is an attack on the parser, refused before it can exhaust the stack.
MAX_DEPTH = 16
# More people than any organisation mails at once, and far below what a database integer holds.
_MESSAGE_ID_LENGTH = 200
_FIELD = re.compile(r"^[a-z][a-z_]{0,30}$")  # a field whose error code is bad_<field>
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")  # a key shown as it is
_UNENCODABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")  # \u0000, \ud800 to \udfff in JSON text


def optional_object(example: str = "") -> dict[str, Any]:
    """The body as a JSON object, or {} when there is none (a control with nothing to add)."""
    if not request.get_data(cache=True).strip():
        return {}
    return json_object(example)


def json_object(example: str = "") -> dict[str, Any]:
    """The body as a JSON object; `example` shows the caller what one looks like. Refused with
    a named 400: a body that is not strict JSON in UTF-8, nested deeper than MAX_DEPTH, or with
    a lone surrogate or NUL in any text (they cannot be stored nor sent on)."""
    like = f" like {example}" if example else ""
    if not request.is_json:
        raise BadRequest(f"The body must be a JSON object{like}", code="not_json")
    try:
        text = request.get_data(cache=True).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text", code="not_json") from None
    if not text.strip():
        raise BadRequest(f"The body must be a JSON object{like}", code="not_json")
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(f"The body is nested too deeply (at most {MAX_DEPTH} levels)",
                         code="not_json") from None
    except json.JSONDecodeError as e:
        raise BadRequest(f"The body is not valid JSON ({e.msg}, line {e.lineno} column "
                         f"{e.colno})", code="not_json") from None
    except ValueError:  # NaN or Infinity, or a number longer than Python converts
        raise BadRequest("The body holds a number that is not one JSON allows (NaN, Infinity "
                         "or thousands of digits)", code="not_json") from None
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object{like}", code="not_json")
    _check_values(body, text)
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_values(body: dict[str, Any], text: str) -> None:
    """Walk the body without recursion: its depth, and (where the text escapes one) every text
    and key in it for a lone surrogate or NUL."""
    # Decoded strictly from UTF-8, the body can hold those only through \u escapes.
    texts = _ESCAPED.search(text) is not None
    stack: list[tuple[dict[str, Any] | list[Any], str, int]] = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"The body is nested too deeply (at most {MAX_DEPTH} levels)",
                             code="not_json")
        later = []
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in pairs:
            if texts and isinstance(key, str) and (found := _UNENCODABLE.search(key)):
                _refuse(found.group(), f"A key in '{path}'" if path else "A key",
                        _child(path, key))
            if isinstance(item, (dict, list)):
                later.append((item, _child(path, key), depth + 1))
            elif texts and isinstance(item, str) and (found := _UNENCODABLE.search(item)):
                name = _child(path, key)
                _refuse(found.group(), f"'{name}'", name)
        stack.extend(reversed(later))  # nested parts in the order the body has them


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_shown(key)}" if path else _shown(key)


def _refuse(char: str, label: str, path: str) -> NoReturn:
    """Lone surrogates cannot be encoded (so not stored, logged nor sent to Exchange), and NUL
    cannot be stored in PostgreSQL: refused wherever they are, naming the field."""
    problem = "a NUL character" if char == "\x00" else unsafe_character(char)
    raise BadRequest(f"{label} contains {problem}", code=_code(path))


def _shown(key: str) -> str:
    """A key as an error message may show it: ASCII, escaped, not too long."""
    shown = json.dumps(key[:40])[1:-1]
    return shown if _NAME.match(key) else f'"{shown}"'


def _code(path: str) -> str:
    """The error code for a field: bad_<top-level key> (recipients: bad_recipient)."""
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    if top == "recipients":
        return "bad_recipient"
    return f"bad_{top}" if _FIELD.match(top) else "bad_request"


def expected_count(body: dict[str, Any]) -> int | None:
    """'expected': a whole number of people from 0 to MAX_EXPECTED, or absent."""
    expected = body.get("expected")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)
                                 or not 0 <= expected <= MAX_EXPECTED):
        raise BadRequest(f"'expected' must be a whole number of recipients, from 0 to "
                         f"{MAX_EXPECTED:,}", code="bad_expected")
    return expected


def mailbox(body: dict[str, Any]) -> str:
    """The caller's mailbox from the token; 'mailbox' may only name them (else 403) or be
    left out (absent, null or empty)."""
    return acting_mailbox(body.get("mailbox") or None)


def message_id(body: dict[str, Any]) -> str | None:
    """'message_id': an identifier of at most 200 characters without control characters."""
    value = body.get("message_id")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MESSAGE_ID_LENGTH:
        raise BadRequest(f"'message_id' must be text of at most {_MESSAGE_ID_LENGTH} "
                         "characters", code="bad_message_id")
    problem = unsafe_character(value)
    if problem is not None:
        raise BadRequest(f"'message_id' contains {problem}", code="bad_message_id")
    return value


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
        for field, text in (("displayName", name), ("emailAddress", address)):
            # A line break in an address would count as a one-off and could add a header.
            problem = unsafe_character(text)
            if problem is not None:
                raise BadRequest(f"recipients[{i}].{field} contains {problem}",
                                 code="bad_recipient")
        if not name.strip() and not address.strip():
            raise BadRequest(f"recipients[{i}] has neither a name nor an address",
                             code="bad_recipient")
        out.append(Recipient(name=name.strip(), address=address.strip() or None))
    return out
