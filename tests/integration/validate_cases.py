"""One message per send-check rule against the demo organisation, for the API and CLI tests.

Each case: the rule, the To entries (an address, or a name Outlook hands over without one), the
settings that let it fire alone or at all, the expected count if any, and the rule's action.
"""

from __future__ import annotations

from typing import Any

QUIET = {"policy_large_audience": "off", "policy_external": "off"}

RULES: list[tuple[str, list[str], dict[str, Any], int | None, str]] = [
    ("unresolved", ["Nobody Atall"], {}, None, "block"),
    ("unresolved", ["Tomas"], {}, None, "block"),  # several people match: ambiguous
    ("per_message", ["allstaff@contoso.com"], {"policy_per_message_max": 100}, None, "block"),
    ("mismatch", ["partners@contoso.com"], QUIET, 20, "warn"),
    ("incomplete", ["announcements-big@contoso.com"], QUIET, None, "warn"),
    ("deleted", ["Comms Champions"], QUIET, None, "warn"),
    ("cycle", ["leadership@contoso.com"], QUIET, None, "warn"),
    ("external", ["partners@contoso.com"], {}, None, "warn"),
    ("large_audience", ["allstaff@contoso.com"], {}, None, "warn"),
    ("invalid_members", ["Comms Champions"], {**QUIET, "policy_invalid_members": "warn"}, None,
     "warn"),
    ("too_deep", ["allstaff@contoso.com"], {**QUIET, "policy_too_deep": "block"}, None, "block"),
]
IDS = [f"{rule}-{entries[0]}" for rule, entries, *_ in RULES]


def as_outlook(entry: str) -> dict[str, str]:
    """How Office.js hands an entry over: contact groups and typed names come without address."""
    address = entry if "@" in entry or entry.startswith("list:") else ""
    return {"displayName": entry, "emailAddress": address}
