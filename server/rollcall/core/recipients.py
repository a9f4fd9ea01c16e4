"""Turning what a person typed or Outlook handed over into Recipients."""

from __future__ import annotations

import re
from email.utils import parseaddr

from .model import Recipient

# C0 and C1 controls (line breaks, tabs, NUL, DEL...), the Unicode line and paragraph
# separators, and lone UTF-16 surrogates: none belongs in a name or an address, and a line
# break in an address could add a header to a message built from it.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def unsafe_character(text: str) -> str | None:
    """The first control character (or lone surrogate) in `text` as words, or None if none."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    if char in "\r\n\u2028\u2029\x85":
        return "a line break"
    if "\ud800" <= char <= "\udfff":
        return "a lone UTF-16 surrogate (half of a character)"
    return f"a control character (U+{ord(char):04X})"


def parse_recipient(text: str) -> Recipient:
    """'Name <a@b>', 'a@b', 'list:NAME', an X.500 DN or a bare name (a contact group, say)."""
    text = text.strip()
    if text.startswith("/") or text.lower().startswith("list:"):  # an X.500 DN, a Rollcall list
        return Recipient(name=text, address=text)
    if "<" in text and text.endswith(">"):
        name, address = parseaddr(text)
        if address:
            return Recipient(name=name or address, address=address)
    if "@" in text and " " not in text:
        return Recipient(name=text, address=text)
    return Recipient(name=text, address=None)
