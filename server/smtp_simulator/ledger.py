"""What the simulator saw and did, kept behind one lock.

The SMTP sessions run on aiosmtpd's event-loop thread while tests read from theirs, so every
read hands back a copy, never the live list.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .oauth import SignIn
from .rules import Rule, choose


@dataclass(frozen=True)
class Accepted:
    """One message the simulator queued: the envelope, and the data exactly as received."""

    queue_id: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes
    at: float  # time.time() when DATA was accepted


class Ledger:
    """Accepted messages, RCPT attempts, sign-ins, connections, and the rules with their
    counts."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._seen: dict[tuple[Rule, str], int] = {}
        self._accepted: list[Accepted] = []
        self._attempts: list[tuple[str, int]] = []
        self._sign_ins: list[SignIn] = []
        self._connections = 0

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """New rules, with fresh counts: a greylist set now greylists again."""
        with self._lock:
            self._rules = tuple(rules)
            self._seen.clear()

    def choose(self, address: str) -> Rule | None:
        """The rule acting on this RCPT (and count it), or None to accept."""
        with self._lock:
            return choose(self._rules, address, self._seen)

    def attempt(self, address: str, code: int) -> None:
        with self._lock:
            self._attempts.append((address, code))

    def accept(self, message: Accepted) -> None:
        with self._lock:
            self._accepted.append(message)

    def signed_in(self, attempt: SignIn) -> None:
        with self._lock:
            self._sign_ins.append(attempt)

    def sign_ins(self) -> list[SignIn]:
        with self._lock:
            return list(self._sign_ins)

    def connected(self) -> None:
        with self._lock:
            self._connections += 1

    def accepted(self) -> list[Accepted]:
        with self._lock:
            return list(self._accepted)

    def attempts(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._attempts)

    def connections(self) -> int:
        with self._lock:
            return self._connections

    def clear(self) -> None:
        """Forget everything seen, and restart the rules' counts (the rules stay)."""
        with self._lock:
            self._accepted.clear()
            self._attempts.clear()
            self._sign_ins.clear()
            self._connections = 0
            self._seen.clear()
