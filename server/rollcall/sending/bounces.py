"""Bounce-backs in: each report parsed (dsn.py), matched to its recipient and acted on (the
store), and the send's bounce rate watched: over the stop figure the send pauses itself.

Both intakes (the SMTP listener and the bounce mailbox) hand raw reports to `BounceIntake`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..identity.errors import Forbidden
from ..store.access import Principal
from .bounce_rate import PAUSED_BY, BounceVerdict, judge, limits
from .dsn import BounceKind, BounceReport, parse_bounce, verp_token
from .settings import SendSettings

log = logging.getLogger(__name__)
# What a hard bounce's address in a Rollcall list can become (each an audited list change).
FIXES = ["correct", "remove", "unsubscribe"]
ACTED_ON = (BounceKind.HARD, BounceKind.SOFT, BounceKind.POLICY)  # the copy did not arrive
SUPPRESSED = (BounceKind.HARD,)  # the address does not exist: no later send tries it


class BounceGuard:
    """Pauses a send whose bounce rate says the sending side is in trouble (once: a send its
    sender resumed after that is not paused for it again)."""

    def __init__(self, settings: SendSettings, engine: Callable[[], Any]) -> None:
        self.limits = limits(settings)
        self._engine = engine

    def check(self, send_id: int) -> BounceVerdict:
        from ..store.queue_control import QueueControl
        from ..store.send_records import SendRecords

        summary = SendRecords(self._engine()).summary(send_id)
        if summary is None:
            return BounceVerdict("ok", None, None)
        verdict = judge(summary.counts, self.limits)
        if verdict.level == "stop" and QueueControl(self._engine()).pause(
                send_id, PAUSED_BY, verdict.words, unless_resumed=True):
            log.warning("send %d paused itself: %s", send_id, verdict.words)
        return verdict


class BounceIntake:
    """Takes bounce-backs from the listener and the bounce mailbox."""

    def __init__(self, settings: SendSettings, engine: Callable[[], Any]) -> None:
        self.settings = settings
        self._engine = engine
        self.guard = BounceGuard(settings, engine)

    def accepts(self, envelope_to: str) -> bool:
        """Whether an address is one of Rollcall's bounce addresses (the listener takes mail
        for nothing else: it is never a relay)."""
        return verp_token(envelope_to, self.settings.bounce_address) is not None

    def reports(self, who: Principal, send_id: int | None = None, unmatched: bool = False,
                limit: int = 100) -> list[dict[str, Any]]:
        """What came back, newest first: of one send (its sender or an administrator), or
        all and those matching nobody (administrators). Each names the Rollcall lists `who`
        may see that hold the address, and the fixes there: correct, remove, unsubscribe."""
        from ..store.bounces import Bounces

        if send_id is None and not who.admin:
            raise Forbidden("Every send's bounces are for Rollcall's administrators")
        if send_id is not None:
            self._may_see(send_id, who)
        found: list[dict[str, Any]] = Bounces(self._engine()).reports(
            send_id, unmatched, limit, who=who)
        for report in found:
            report["fixes"] = FIXES if report["lists"] and report["kind"] == "hard" else []
        return found

    def _may_see(self, send_id: int, who: Principal) -> None:
        from ..store.send_records import SendRecords
        from .service import MAX_ID, SendNotFound

        owner = SendRecords(self._engine()).owner(send_id) if 0 < send_id <= MAX_ID else None
        if owner is None or (owner != (who.mailbox or "").lower() and not who.admin):
            raise SendNotFound(f"There is no send {send_id}" + ("" if who.admin
                                                                 else " of yours"))

    def receive(self, raw: bytes, envelope_to: str | None, source: str) -> Any:
        """Parse, match, keep and act on one report; returns what the store recorded."""
        from ..store.bounces import Bounces, Incoming

        report = parse_bounce(raw, envelope_to, self.settings.bounce_address)
        failure = _first(report)
        incoming = Incoming(
            source=source, envelope_to=envelope_to, kind=report.kind.value,
            method=report.method, tokens=report.tokens,
            verp=verp_token(envelope_to, self.settings.bounce_address),
            message_ids=report.message_ids,
            addresses=[f.address for f in report.failures if f.address],
            status=failure.status if failure else None,
            diagnostic=failure.diagnostic if failure else None,
            remote_mta=failure.remote_mta if failure else None,
            meaning=failure.meaning if failure else None, subject=report.subject,
            reporter=report.reporter,
            detail={**report.to_json(), "meaning": failure.meaning if failure else None},
            raw=raw)
        recorded = Bounces(self._engine()).record(incoming, act=report.kind in ACTED_ON,
                                                  hard=report.kind in SUPPRESSED)
        match = recorded.match
        log.info("bounce %d (%s, %s) %s", recorded.id, report.kind.value, report.method,
                 f"matched send {match.send_id} by {match.by}" if match else "matched nobody")
        if recorded.bounced and match is not None:
            self.guard.check(match.send_id)
        return recorded


def _first(report: BounceReport) -> Any:
    """The failure a report is about: Rollcall's copies have one recipient each."""
    for kind in ACTED_ON:
        for f in report.failures:
            if f.kind is kind:
                return f
    return report.failures[0] if report.failures else None
