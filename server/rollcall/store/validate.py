"""Pure checks and normal forms for addresses, names and attributes; no database here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from rollcall.core.recipients import unsafe_character
from rollcall.errors import BadRequest
from rollcall.store.errors import InvalidAddress

LIST_PREFIX = "list:"
MAX_LIST_NAME = 100
MAX_COLUMN_NAME = 200
MAX_TEXT = 1000
# More people than any organisation mails at once; the API's `expected` has the same bound.
# What a spreadsheet runs as a formula when a cell starts with it (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LIST_NAMES_ALLOWED = (
    f"A list name is 1 to {MAX_LIST_NAME} characters (letters, digits, spaces, punctuation), "
    "without '/' or '\\', control characters or line breaks, is not '.' or '..', and does not "
    "itself start with 'list:'"
)
# Text no database can hold: lone UTF-16 surrogates (from a byte that is not UTF-8 on the
# command line, say) cannot be encoded, and PostgreSQL refuses NUL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
EMAIL_COLUMNS = ("email", "address", "e-mail")
RESERVED_COLUMNS = frozenset((*EMAIL_COLUMNS, "name", "opted_out"))


def normalise_email(address: str, new: bool = False) -> tuple[str, str]:
    """(normalised address, lower-cased key); raises InvalidAddress. No DNS lookups.

    `new`: an address being added, which must not start like a spreadsheet formula; lookups
    stay lenient, so a contact stored before that rule can still be found and removed."""
    candidate = (address or "").strip()
    if not candidate:
        raise InvalidAddress("no address given")
    if new and candidate.startswith(FORMULA_START):
        # Valid by RFC 5322 (=cmd|'/Ccalc'!A0@evil.com is), but no real mailbox starts so, and
        # a spreadsheet opening an export would run it.
        raise InvalidAddress(f"{candidate!r} is not a valid address: it starts with "
                             f"{candidate[0]!r}, which a spreadsheet would run as a formula")
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
    if _UNSTORABLE.search(cleaned):
        raise BadRequest(f"{what} must not contain a lone surrogate (half of a character)",
                         code="bad_value")
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
    """A new list's name, with any 'list:' prefix and surrounding spaces removed; raises
    BadRequest (bad_list_name) for a name that its web address or `list:NAME` could not reach."""
    cleaned = strip_list_prefix(name or "")
    problem = _name_problem(cleaned)
    if problem:
        raise BadRequest(f"{problem}. {LIST_NAMES_ALLOWED}", code="bad_list_name")
    return cleaned


def _name_problem(name: str) -> str | None:
    if not name:
        return "a list needs a name"
    unsafe = unsafe_character(name)
    if unsafe:
        return f"a list name must not contain {unsafe}"
    if "\ufffd" in name:
        return "a list name must not contain U+FFFD, the mark of text that was not UTF-8"
    if "/" in name or "\\" in name:
        return "a list name must not contain '/' or '\\' (its web address would break)"
    if name in (".", ".."):
        return "a list name cannot be '.' or '..' (web addresses read them as folders)"
    if name.casefold().startswith(LIST_PREFIX):
        return ("a list name cannot itself start with 'list:' (senders type list:NAME, and "
                "the prefix is taken off once)")
    if len(name) > MAX_LIST_NAME:
        return f"a list name is at most {MAX_LIST_NAME} characters"
    return None


def list_key(name: str) -> str:
    """The case-insensitive key under which list names are unique; raises BadRequest for text
    no list's name can hold (so a lookup fails in words, not in the database driver)."""
    bare = strip_list_prefix(name)
    found = _UNSTORABLE.search(bare)
    if found:
        what = "a NUL character" if found.group() == "\x00" else unsafe_character(found.group())
        raise BadRequest(f"a list name must not contain {what}", code="bad_list_name")
    return bare.casefold()


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
        name = clean_text(key, "an attribute name", MAX_COLUMN_NAME)
        if not name or is_reserved_column(name) or name.casefold() in seen:
            raise BadRequest(f"bad or repeated attribute name {key!r}", code="bad_value")
        seen.add(name.casefold())
        cleaned[name] = clean_text(value, f"attribute {name!r}")
    return cleaned
