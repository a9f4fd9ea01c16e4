"""Exchange Online's own view of the same organisation, which MailTips and the admin API answer
from: every recipient (dynamic lists, public folders and GAL-hidden people included) and the
recipient types Exchange names them by."""

from __future__ import annotations

import threading

from ews_simulator.org import (
    CONTACT,
    GROUP_MAILBOX,
    MAILBOX,
    PUBLIC_DL,
    PUBLIC_FOLDER,
    DirectoryObject,
    Organisation,
)


def recipient_type(obj: DirectoryObject) -> tuple[str, str]:
    """(RecipientType, RecipientTypeDetails) as Get-*Member cmdlets report them."""
    if obj.kind == MAILBOX:
        return "UserMailbox", "UserMailbox"
    if obj.kind == CONTACT:
        return ("MailUser", "GuestMailUser") if obj.guest else ("MailContact", "MailContact")
    if obj.kind == PUBLIC_FOLDER:
        return "PublicFolder", "PublicFolder"
    if obj.kind == GROUP_MAILBOX:
        return "GroupMailbox", "GroupMailbox"
    if obj.dynamic_filter is not None:
        return "DynamicDistributionGroup", "DynamicDistributionGroup"
    if obj.security:
        return "MailUniversalSecurityGroup", "MailUniversalSecurityGroup"
    assert obj.kind == PUBLIC_DL
    return "MailUniversalDistributionGroup", "MailUniversalDistributionGroup"


class Exchange:
    """Exchange's recipients and live member counts (computed once per list: the organisation
    does not change while served)."""

    def __init__(self, org: Organisation) -> None:
        self.org = org
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def direct_members(self, dl: DirectoryObject) -> list[DirectoryObject]:
        """One level, as Exchange stores it: hidden recipients, public folders and dynamic
        lists included (unlike EWS's ExpandDL, which leaves hidden ones out)."""
        if dl.dynamic_filter is not None:
            return self.org.dynamic_members(dl)
        return [self.org.by_address[a.lower()] for a in dl.members]

    def count(self, dl: DirectoryObject) -> tuple[int, int]:
        """(total, external): unique recipients reachable through nested lists, each list
        entered once, so a loop ends."""
        key = dl.address.lower()
        with self._lock:
            if key in self._counts:
                return self._counts[key]
        seen = {key}
        recipients: set[str] = set()
        stack = [dl]
        while stack:
            for m in self.direct_members(stack.pop()):
                if m.is_list:
                    if m.address.lower() not in seen:
                        seen.add(m.address.lower())
                        stack.append(m)
                else:
                    recipients.add(m.address.lower())
        domain = "@" + self.org.domain.lower()
        result = len(recipients), sum(1 for a in recipients if not a.endswith(domain))
        with self._lock:
            self._counts[key] = result
        return result

    def is_internal(self, address: str) -> bool:
        return address.lower().endswith("@" + self.org.domain.lower())
