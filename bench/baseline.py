"""The baseline: what a careful script does with plain exchangelib, one ExpandDL at a time.

Sequential recursion over `protocol.expand_dl`, a visited set of lists (so loops and lists
reached twice cost one call) and a set of unique addresses. exchangelib as it ships: its own
response parsing and `Mailbox` objects, FailFast retry policy, one connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from exchangelib import DELEGATE, Account, Configuration, Credentials
from exchangelib.properties import DLMailbox
from exchangelib.protocol import FailFast

LIST_TYPES = {"PublicDL", "GroupMailbox"}  # expandable by SMTP address with ExpandDL


@dataclass(slots=True)
class BaselineResult:
    total: int
    lists: int
    member_entries: int
    seconds: float


def baseline_account(url: str, user: str, password: str) -> Account:
    """An Account whose protocol has already guessed auth and version (setup, not timed)."""
    config = Configuration(
        service_endpoint=url,
        credentials=Credentials(user, password),
        retry_policy=FailFast(),
    )
    account = Account(user, config=config, autodiscover=False, access_type=DELEGATE)
    account.protocol.version  # noqa: B018 - auth guess (401) and ConvertId probe, before timing
    return account


def count_unique(
    account: Account, root: str, progress: Callable[[int], None] | None = None
) -> BaselineResult:
    """Unique recipients under the list `root`; raises on any EWS error (it must be exact)."""
    protocol = account.protocol
    visited: set[str] = set()
    unique: set[str] = set()
    entries = 0

    def expand(address: str) -> None:
        nonlocal entries
        visited.add(address.lower())
        members = protocol.expand_dl(DLMailbox(email_address=address, mailbox_type="PublicDL"))
        if progress is not None:
            progress(len(visited))
        for member in members:
            if isinstance(member, Exception):
                raise member
            entries += 1
            email = (member.email_address or "").lower()
            if member.mailbox_type in LIST_TYPES:
                if email not in visited:
                    expand(member.email_address)
            elif email:
                unique.add(email)

    started = time.perf_counter()
    expand(root)
    return BaselineResult(len(unique), len(visited), entries, time.perf_counter() - started)
