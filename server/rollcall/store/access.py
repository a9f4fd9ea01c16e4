"""Who may do what with a Rollcall list: the rule in one place, pure, no database.

Every list has one owner: a mailbox (lower case), or, for a list nobody owns yet (made on the
command line, or by nobody the audit trail names), a text without an `@` that no person matches,
so only administrators reach it until it is handed over. The owner may share the list with
people (their mailbox) or groups (an id the token's `groups` claim carries) as a viewer or an
editor. Levels, each including the ones before it:

- viewer: read the members, export, history, the audit trail of the list; count and send to it
- editor: add, remove, import, delete and restore its contacts, snapshot into it
- owner: share it, stop sharing it, hand it over to someone else
- administrator (Rollcall.Admin, or the admin group): everything, purging tracking included

A count is given only the mailbox it acts as, so `SignedIn` remembers what each person's newest
token said (groups, admin); `operator()` marks the command line, which runs on the server with
the database's credentials and so acts as an administrator.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum

from rollcall.errors import RollcallError

PERSON, GROUP = "person", "group"
VIEWER, EDITOR = "viewer", "editor"
KINDS = (PERSON, GROUP)
ROLES = (VIEWER, EDITOR)


class Level(IntEnum):
    """How far a person may go with one list."""

    NONE = 0
    VIEWER = 1
    EDITOR = 2
    OWNER = 3
    ADMIN = 4


class NotYourList(RollcallError):
    """The caller may not do this with this list (or purge: administrators only)."""

    code = "not_your_list"
    status = 403


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: their mailbox (lower case), the groups their token carries (lower case), whether
    they are an administrator, and how the audit trail names them (`actor`)."""

    mailbox: str | None = None
    groups: frozenset[str] = frozenset()
    admin: bool = False
    actor: str = ""

    @property
    def name(self) -> str:
        """The audit trail's name for them: `actor`, else the mailbox."""
        return self.actor or self.mailbox or "rollcall"

    @staticmethod
    def person(mailbox: str | None, groups: Iterable[str] = (), admin: bool = False
               ) -> Principal:
        """A signed-in person (or, without groups, a mailbox Rollcall knows nothing more of)."""
        address = (mailbox or "").strip().lower() or None
        return Principal(address, frozenset(g.strip().lower() for g in groups if g.strip()),
                         admin, address or "")


@dataclass(frozen=True, slots=True)
class Share:
    """One share of a list: `principal` is a lower-case mailbox (person) or group id (group)."""

    principal: str
    kind: str
    role: str


def is_mailbox(owner: str) -> bool:
    """Whether an owner is a person; one without `@` is a placeholder nobody matches."""
    return "@" in owner


def level(owner: str, shares: Iterable[Share], who: Principal) -> Level:
    """How far `who` may go with a list owned by `owner` and shared as `shares`."""
    if who.admin:
        return Level.ADMIN
    mailbox = (who.mailbox or "").lower()
    if mailbox and is_mailbox(owner) and owner.lower() == mailbox:
        return Level.OWNER
    best = Level.NONE
    for share in shares:
        mine = (share.kind == PERSON and bool(mailbox) and share.principal == mailbox) or (
            share.kind == GROUP and share.principal in who.groups)
        if mine:
            best = max(best, Level.EDITOR if share.role == EDITOR else Level.VIEWER)
    return best


def refusal(name: str, owner: str, got: Level, need: Level) -> NotYourList:
    """The 403 for a person at level `got` who needed `need`, in words saying whom to ask."""
    ask = f"its owner, {owner}" if is_mailbox(owner) else "a Rollcall administrator"
    if need >= Level.ADMIN:
        return NotYourList("Only a Rollcall administrator may do that with Rollcall lists")
    if need >= Level.OWNER:
        return NotYourList(f"Only the owner of the Rollcall list {name!r} ({owner}) or an "
                           "administrator may share it or hand it over")
    if got >= Level.VIEWER:
        return NotYourList(f"The Rollcall list {name!r} is shared with you to read only; ask "
                           f"{ask} to make you an editor")
    return NotYourList(f"The Rollcall list {name!r} is not shared with you; ask {ask}")


def require(name: str, owner: str, shares: Iterable[Share], who: Principal,
            need: Level) -> Level:
    """`who`'s level on the list; raises NotYourList when it is below `need`."""
    got = level(owner, shares, who)
    if got < need:
        raise refusal(name, owner, got, need)
    return got


def require_admin(who: Principal, what: str) -> None:
    """NotYourList unless `who` is an administrator; `what` says what they tried, plainly."""
    if not who.admin:
        raise NotYourList(f"{what} is for Rollcall administrators only")


class SignedIn:
    """Who each mailbox is, as its newest token said: a count is given only the mailbox it acts
    as, and which Rollcall lists it may count depends on the groups and the admin role too.

    An entry lasts `ttl_s` after the request that left it: every API request refreshes its
    caller's before any count, so an entry is only read a moment after it was written (the
    send check's warm-ups come right after their request). Unknown or expired, a mailbox is a
    person without groups: never more than they are."""

    def __init__(self, ttl_s: float = 900.0, most: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.most, self._clock = ttl_s, most, clock
        self._lock = threading.Lock()
        self._people: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._operators = 0

    def remember(self, who: Principal) -> None:
        """Keep what `who`'s token said, for counts acting as their mailbox."""
        if not who.mailbox:
            return
        with self._lock:
            self._people[who.mailbox] = (self._clock() + self.ttl_s, who)
            self._people.move_to_end(who.mailbox)
            while len(self._people) > self.most:  # the oldest first: long gone by now
                self._people.popitem(last=False)

    def who_is(self, mailbox: str | None) -> Principal:
        """The principal a count acting as `mailbox` has: the command line's operator, the
        person as their token said, or the bare mailbox."""
        address = (mailbox or "").strip().lower() or None
        with self._lock:
            if self._operators:
                return Principal(address, frozenset(), True, "operator")
            found = self._people.get(address or "")
            if found is not None and found[0] > self._clock():
                return found[1]
        return Principal.person(address)

    @contextmanager
    def operator(self) -> Iterator[None]:
        """Within it, this process's counts act as an administrator (the command line)."""
        with self._lock:
            self._operators += 1
        try:
            yield
        finally:
            with self._lock:
                self._operators -= 1


# One per process: the API fills it as people sign in, counts and the command line read it.
SIGNED_IN = SignedIn()
