"""Turning what a person typed or Outlook handed over into Recipients."""

from __future__ import annotations

from email.utils import parseaddr

from .model import Recipient


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
