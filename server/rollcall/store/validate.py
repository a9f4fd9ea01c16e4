"""Pure checks and normal forms for addresses, names and attributes; no database here."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from rollcall.errors import BadRequest
from rollcall.store.errors import InvalidAddress

LIST_PREFIX = "list:"
MAX_LIST_NAME = 200
MAX_TEXT = 1000
EMAIL_COLUMNS = ("email", "address", "e-mail")
RESERVED_COLUMNS = frozenset((*EMAIL_COLUMNS, "name", "opted_out"))


def normalise_email(address: str) -> tuple[str, str]:
    """(normalised address, lower-cased key); raises InvalidAddress. No DNS lookups."""
    candidate = (address or "").strip()
    if not candidate:
        raise InvalidAddress("no address given")
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{candidate!r} is not a valid address: {exc}") from None
    # Local parts are case-sensitive by RFC but not in practice (nor in Exchange): one contact.
    return valid.normalized, valid.normalized.lower()


def has_control(value: str) -> bool:
    """True when `value` holds control characters (PostgreSQL rejects NUL; CSV cells break)."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def clean_text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    """Stripped text without control characters; raises BadRequest naming `what`."""
    cleaned = value.strip()
    if has_control(cleaned):
        raise BadRequest(f"{what} must not contain control characters", code="bad_value")
    if len(cleaned) > limit:
        raise BadRequest(f"{what} is longer than {limit} characters", code="bad_value")
    return cleaned


def strip_list_prefix(name: str) -> str:
    """'list:All Managers' -> 'All Managers' (the prefix is case-insensitive)."""
    name = name.strip()
    if name.casefold().startswith(LIST_PREFIX):
        name = name[len(LIST_PREFIX) :].strip()
    return name


def clean_list_name(name: str) -> str:
    """A list's display name, with any 'list:' prefix removed; raises BadRequest."""
    cleaned = clean_text(strip_list_prefix(name or ""), "a list name", MAX_LIST_NAME)
    if not cleaned:
        raise BadRequest("a list needs a name", code="bad_list_name")
    return cleaned


def list_key(name: str) -> str:
    """The case-insensitive key under which list names are unique."""
    return strip_list_prefix(name).casefold()


def list_address(name: str) -> str:
    """The address senders put in To/Cc/Bcc for a Rollcall list."""
    return f"{LIST_PREFIX}{name}"


def is_reserved_column(column: str) -> bool:
    """True for CSV columns with a meaning of their own (never free attributes)."""
    return column.strip().casefold() in RESERVED_COLUMNS


def clean_attributes(attributes: Mapping[str, str] | None) -> dict[str, str]:
    """Free attributes as str -> str with clean keys; raises BadRequest."""
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in (attributes or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BadRequest("attributes must map text to text", code="bad_value")
        name = clean_text(key, "an attribute name", MAX_LIST_NAME)
        if not name or is_reserved_column(name) or name.casefold() in seen:
            raise BadRequest(f"bad or repeated attribute name {key!r}", code="bad_value")
        seen.add(name.casefold())
        cleaned[name] = clean_text(value, f"attribute {name!r}")
    return cleaned
