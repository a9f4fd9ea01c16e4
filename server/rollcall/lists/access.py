"""Who acts on Rollcall lists: a signed-in caller (from their token) or the command line.

The rule itself, and what each level may do, is store/access.py's; this is where the API and
the CLI turn whoever is asking into a `Principal`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rollcall.store.access import SIGNED_IN, Principal


class CallerLike(Protocol):
    """What a validated token says (identity.Caller): the mailbox, admin role, groups."""

    @property
    def mailbox(self) -> str: ...

    @property
    def admin(self) -> bool: ...


def principal(caller: CallerLike) -> Principal:
    """The principal a signed-in caller is: their mailbox, their token's groups, admin or not."""
    groups = getattr(caller, "groups", ()) or ()
    return Principal.person(caller.mailbox, [g for g in groups if isinstance(g, str)],
                            caller.admin)


def signed_in(caller: CallerLike) -> Principal:
    """Remember the caller for counts acting as their mailbox (their groups, admin role);
    the API calls it for every authenticated request, before any count."""
    who = principal(caller)
    SIGNED_IN.remember(who)
    return who


def operator(user: str | None = None) -> Principal:
    """The command line: it runs on the server with the database's credentials, so it acts as
    an administrator, recorded as `cli:USER`."""
    return Principal(None, frozenset(), True, f"cli:{user or getpass.getuser()}")


@contextmanager
def counting_as_operator() -> Iterator[None]:
    """Within it, counts in this process may count every Rollcall list (the command line)."""
    with SIGNED_IN.operator():
        yield
