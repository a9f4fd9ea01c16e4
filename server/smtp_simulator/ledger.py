"""What the simulator saw and did, kept behind one lock.

The SMTP sessions run on aiosmtpd's event-loop thread while tests read from theirs, so every
read hands back a copy, never the live list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class Bounce:
    """One DSN the simulator made (see dsn.py), and how its delivery went.

    `state` is "pending" (waiting or being retried), "delivered", "undelivered" (given up:
    `error` says why) or "held" (the simulator has no bounce_to or bounce_sink to send it to).
    """

    message_id: str  # the DSN's own Message-ID, angle brackets included
    queue_id: str  # the accepted message it reports on
    to: str  # that message's envelope sender, where the DSN goes (from MAIL FROM:<>)
    recipients: tuple[str, ...]  # the recipients it reports on
    action: str  # RFC 3464's Action for them: "failed" (a bounce) or "delayed"
    data: bytes  # the DSN as sent, CRLF line ends
    at: float  # time.time() when it was made
    state: str = "pending"
    tries: int = 0
    error: str | None = None  # the last failed try's reason

    @property
    def delivered(self) -> bool:
        return self.state == "delivered"


class Ledger:
    """Accepted messages, RCPT attempts, sign-ins, connections, DSNs, and the rules with their
    counts."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a DSN's state moved on
        self._bounces: list[Bounce] = []
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

    def bounced(self, bounce: Bounce) -> None:
        with self._lock:
            self._bounces.append(bounce)

    def bounce_tried(self, message_id: str, state: str, error: str | None,
                     tried: bool = True) -> None:
        """A delivery try of that DSN ended (tried=False: it was given up without one)."""
        with self._changed:
            for i, bounce in enumerate(self._bounces):
                if bounce.message_id == message_id:
                    self._bounces[i] = replace(bounce, state=state, error=error,
                                               tries=bounce.tries + tried)
            self._changed.notify_all()

    def bounces(self) -> list[Bounce]:
        with self._lock:
            return list(self._bounces)

    def wait_bounces(self, timeout: float) -> list[Bounce]:
        """The DSNs once none is pending; TimeoutError if one still is after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(b.state == "pending" for b in self._bounces):
                left = deadline - time.monotonic()
                if left <= 0:
                    pending = [b.message_id for b in self._bounces if b.state == "pending"]
                    raise TimeoutError(f"DSNs still pending after {timeout:g} s: {pending}")
                self._changed.wait(left)
            return list(self._bounces)

    def clear(self) -> None:
        """Forget everything seen, and restart the rules' counts (the rules stay)."""
        with self._lock:
            self._accepted.clear()
            self._attempts.clear()
            self._sign_ins.clear()
            self._bounces.clear()
            self._changed.notify_all()
            self._connections = 0
            self._seen.clear()
