"""The open-relay self-test: would the relay carry mail from an outside sender to an outside
recipient for a client that has not signed in? Asked with MAIL FROM and RCPT TO only, then RSET
and QUIT: DATA is never sent, so nothing is delivered either way.

Network I/O, never an exception for the relay's sake (the steps are probe.py's).
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .probe import Conversation, Step
from .replies import Stage
from .smtp import Relay

log = logging.getLogger(__name__)

_OPEN = ("OPEN RELAY: the {who} accepted a message from an outside sender ({sender}) to an "
         "outside recipient ({rcpt}) without signing in. Anyone who can reach it can send spam "
         "through it and get it blacklisted. If it trusts this machine by address (Postfix "
         "mynetworks, an Exchange receive connector for this server) that explains it here; "
         "check it from outside your network too.")


@dataclass(frozen=True, slots=True)
class OpenRelayResult:
    """The verdict: `open` True (loud), False (refused), None (could not tell, and why)."""

    relay: str  # primary | fallback
    label: str  # host:port
    open: bool | None
    verdict: str
    steps: tuple[Step, ...]
    checked_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "steps": [s.to_json() for s in self.steps],
                "checked_at": self.checked_at.isoformat()}


def open_relay_test(relay: Relay, *, tls: ssl.SSLContext, timeout_s: float, helo: str | None,
                    outside_from: str = "open-relay-test@example.net",
                    outside_to: str = "open-relay-test@example.org") -> OpenRelayResult:
    """Ask the relay, deliberately without AUTH, to take outside_from -> outside_to; never
    raises for the relay's sake. Callers must show `open is None` as "unknown", not as safe."""
    talk = Conversation(relay, tls=tls, timeout_s=timeout_s, helo=helo)
    who = f"{relay.name} relay ({relay.label})"
    try:
        # STARTTLS when offered (as a client would), but ?starttls=required is not insisted on:
        # no credentials go over this session, and a relay without TLS can still be open.
        talk.open(require_starttls=False)
        talk.command(Stage.MAIL, lambda s: s.mail(outside_from))
        talk.command(Stage.RCPT, lambda s: s.rcpt(outside_to), (250, 251))
        is_open, verdict = _verdict(talk.steps, who, outside_from, outside_to)
        last = talk.steps[-1]
        # Still talking (an answer, and not 421's goodbye): drop the envelope, leave tidily.
        if last.name in (Stage.MAIL, Stage.RCPT) and last.code not in (None, 421) and talk.command(
                Stage.RSET, lambda s: s.rset(), always=True) is not None:
            talk.quit(always=True)
    finally:
        talk.close()
    result = OpenRelayResult(relay.name, relay.label, is_open, verdict, tuple(talk.steps),
                             datetime.now(UTC))
    if is_open:
        log.warning("open-relay test: %s", verdict)
    else:
        log.info("open-relay test %s (%s): %s", relay.name, relay.label,
                 {False: "refused", None: "could not tell"}[is_open])
    return result


def _verdict(steps: list[Step], who: str, sender: str, rcpt: str) -> tuple[bool | None, str]:
    last = steps[-1]
    said = f"{last.code} {last.text}" if last.code is not None else last.text
    if last.ok and last.name == Stage.RCPT:
        return True, _OPEN.format(who=who, sender=sender, rcpt=rcpt)
    if last.name in (Stage.MAIL, Stage.RCPT) and last.code is not None and last.code >= 500:
        what = "an outside sender" if last.name == Stage.MAIL else "an outside recipient"
        return False, (f"Not an open relay: the {who} refused {what} from a client that had not "
                       f"signed in ({said}).")
    if last.name in (Stage.MAIL, Stage.RCPT) and last.code is not None:
        return None, (f"Could not tell whether the {who} is an open relay: it put the test off "
                      f"for now ({said}). Try again later.")
    return None, (f"Could not tell whether the {who} is an open relay: {last.meaning or said}")
