"""The send worker: lanes (one SMTP session each) claim due recipients from the outbox, send
each its copy, and record the reply at once.

Every decision about a reply is `decide()`: accepted -> sent; a recipient's temporary refusal
-> deferred with back-off until it expires; a permanent one -> failed; trouble with the relay
itself (unreachable, throttling, credentials, quota) -> the recipient goes back untouched and
the relay's circuit opens (or it pauses), so the fallback relay takes over and nobody is
charged an attempt for the relay's fault.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..store.outbox import Outbox, Outcome
from ..store.relay_state import RelayStates
from ..store.send_records import SendRecords
from .message import Dkim, render
from .model import Claimed, SendContent, State
from .replies import Outcome as Kind
from .replies import Reply, Stage, classify, meaning, queue_id
from .retry import RelayBackoff, RetryPolicy
from .smtp import Relay, Session, SmtpFailure

log = logging.getLogger(__name__)
BATCH = 25  # recipients a lane claims at once: a lease covers them at a relay's usual pace
IDLE_POLL_S = 0.5
HOLD_CHECK_S = 0.5  # how often a lane asks whether its send was stopped, paused or cancelled
PAUSE_S = {"auth": 900.0, "quota": 3600.0}  # how long a refusing relay rests before a retry


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int
    per_hour: int
    lease_s: float
    connections: int


class SendWorker:
    """Drains the outbox through the configured relays (primary first, fallback while the
    primary is down). Several may run, in several processes, against one database."""

    def __init__(self, outbox: Outbox, relays: Sequence[Relay], limits: Limits,
                 session: Callable[[Relay], Session], *, retry: RetryPolicy,
                 bounce_template: str | None, tracking_key: bytes,
                 dkim: Dkim | None = None, name: str | None = None,
                 bounce_check: Callable[[int], object] | None = None) -> None:
        self.outbox = outbox
        self.relays = list(relays)
        self.limits = limits
        self.session = session
        self.retry = retry
        self.backoff = RelayBackoff()
        self.bounce_template = bounce_template
        self.tracking_key = tracking_key
        self.dkim = dkim
        self.bounce_check = bounce_check  # a send's bounce rate, after copies it refused
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.states = RelayStates(outbox.engine)
        self.records = SendRecords(outbox.engine)
        self._contents: dict[int, SendContent] = {}
        self._linked: set[int] = set()
        self._lock = threading.Lock()

    def run(self, stop: threading.Event, until_done: bool = False) -> None:
        """Send until `stop` is set (or, `until_done`, until every send is final)."""
        lanes = [threading.Thread(target=self._lane, args=(stop, until_done),
                                  name=f"send-lane-{i}", daemon=True)
                 for i in range(max(1, self.limits.connections))]
        for lane in lanes:
            lane.start()
        reaped_at = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - reaped_at >= min(self.limits.lease_s / 2, 5.0):
                    reaped_at = time.monotonic()
                    reaped = self.outbox.reap()
                    if reaped:
                        log.warning("send worker %s: %d recipients whose worker went quiet "
                                    "are queued again", self.name, reaped)
                if until_done and self.outbox.pending() == 0:
                    break
            except Exception:  # noqa: BLE001 - the database may be down: keep trying
                log.exception("send worker: the reaper could not run")
            stop.wait(0.25)
        stop.set()
        for lane in lanes:
            lane.join()

    def _lane(self, stop: threading.Event, until_done: bool) -> None:
        sessions: dict[str, Session] = {}
        try:
            while not stop.is_set():
                try:
                    worked = self._step(sessions)
                except Exception:  # noqa: BLE001 - a lane must outlive a database hiccup
                    log.exception("send lane failed a step; trying again")
                    worked = False
                if not worked:
                    stop.wait(IDLE_POLL_S)
        finally:
            for s in sessions.values():
                s.close()

    def _step(self, sessions: dict[str, Session]) -> bool:
        relay = self._usable_relay()
        if relay is None:
            return False
        batch = self.outbox.claim(self.name, relay.name, BATCH, self.limits.lease_s,
                                  self.limits.per_minute, self.limits.per_hour)
        if not batch:
            return False
        session = sessions.get(relay.name)
        if session is None:
            session = sessions[relay.name] = self.session(relay)
        try:
            self._deliver(relay, session, batch)
        except Exception:
            # Whatever went wrong, the recipients still held go back now rather than when the
            # lease runs out (those already recorded are no longer held).
            session.close()
            self.outbox.release(batch, self.name, datetime.now(UTC))
            raise
        return True

    def _usable_relay(self) -> Relay | None:
        health = self.states.all()
        now = datetime.now(UTC)
        for relay in self.relays:
            h = health.get(relay.name)
            if h is None or h.state == "active" or (h.until is not None and h.until <= now):
                return relay
        return None

    def _deliver(self, relay: Relay, session: Session, batch: list[Claimed]) -> None:
        refused: set[int] = set()
        try:
            self._send_batch(relay, session, batch, refused)
        finally:
            for send_id in refused:  # refused for good at the relay: part of the bounce rate
                if self.bounce_check is not None:
                    self.bounce_check(send_id)

    def _send_batch(self, relay: Relay, session: Session, batch: list[Claimed],
                    refused: set[int]) -> None:
        ok = False
        held: dict[int, tuple[float, str | None]] = {}  # send -> (when read, why held)
        given_back: set[int] = set()
        for i, claimed in enumerate(batch):
            if claimed.id in given_back:
                continue
            # STOP, a pause or a cancel reaches what this lane holds within HOLD_CHECK_S: the
            # rest of the batch goes back (a cancelled send's is cancelled), uncharged.
            read_at, why = held.get(claimed.send_id, (0.0, None))
            if time.monotonic() - read_at >= HOLD_CHECK_S:
                why = self.outbox.hold(claimed.send_id)
                held[claimed.send_id] = (time.monotonic(), why)
            if why is not None:
                rest = [c for c in batch[i:] if c.id not in given_back
                        and (why == "stopped" or c.send_id == claimed.send_id)]
                self.outbox.release(rest, self.name, datetime.now(UTC),
                                    cancel=why == "cancelled", outcome="held")
                log.info("send %d: %d recipients given back (%s)", claimed.send_id, len(rest),
                         why)
                if why == "stopped":
                    return
                given_back.update(c.id for c in rest)
                continue
            try:
                envelope = render(self._content(claimed.send_id), claimed,
                                  bounce_template=self.bounce_template,
                                  tracking_key=self.tracking_key, dkim=self.dkim)
            except Exception as e:  # noqa: BLE001 - one bad message must not hold the queue
                log.exception("send %d: could not build the message for a recipient",
                              claimed.send_id)
                self.outbox.finish(claimed, unbuildable(e), self.name)
                continue
            try:
                if not session.is_open:
                    session.open()
                self._links(claimed.send_id, envelope.links)
                reply = session.send(envelope.mail_from, envelope.rcpt, envelope.data)
            except SmtpFailure as e:
                if e.paused:
                    self._relay_trouble(relay, e.reply, _left(batch[i:], given_back),
                                        paused=e.paused)
                    return
                reply = e.reply
            outcome = decide(reply, claimed, self.retry)
            if outcome is None:  # the relay's fault: nobody is charged, the relay rests
                self._relay_trouble(relay, reply, _left(batch[i:], given_back))
                return
            self.outbox.finish(claimed, outcome, self.name)
            if outcome.state is State.SENT and not ok:  # once a batch: Server information
                ok = True
                self.states.ok(relay.name, tls=session.tls, authenticated=bool(relay.username))
            if outcome.state is State.FAILED:
                refused.add(claimed.send_id)

    def _relay_trouble(self, relay: Relay, reply: Reply, rest: Sequence[Claimed],
                       paused: str | None = None) -> None:
        verdict = classify(reply)
        failures = self._failures(relay.name) + 1
        meaning = paused or verdict.meaning
        if paused:
            rest_s, state = PAUSE_S["auth"], "paused"
        elif verdict.outcome is Kind.RELAY_PAUSED:
            kind = "quota" if _is_quota(reply) else "auth"
            rest_s, state = PAUSE_S[kind], "paused"
        else:
            rest_s, state = self.backoff.pause_for(failures, verdict.retry_after_s), "circuit_open"
        until = datetime.now(UTC) + timedelta(seconds=rest_s)
        said = f"{reply.code} {reply.text}" if reply.code else reply.text
        self.states.failed(relay.name, state, until, meaning, f"{reply.stage}: {said}")
        # With a fallback the recipients are due at once (it takes them); else when the relay
        # is tried again.
        others = any(r.name != relay.name for r in self.relays)
        self.outbox.release(rest, self.name, datetime.now(UTC) if others else until, reply)
        log.warning("relay %s (%s) %s until %s: %s", relay.name, relay.label, state,
                    until.isoformat(timespec="seconds"), said)

    def _failures(self, relay: str) -> int:
        h = self.states.all().get(relay)
        return h.failures if h else 0

    def _content(self, send_id: int) -> SendContent:
        with self._lock:
            found = self._contents.get(send_id)
        if found is None:
            found = self.outbox.content(send_id)
            with self._lock:
                self._contents[send_id] = found
        return found

    def _links(self, send_id: int, links: tuple[str, ...]) -> None:
        if not links or send_id in self._linked:
            return
        self.records.save_links(send_id, links)
        with self._lock:
            self._linked.add(send_id)


def decide(reply: Reply, claimed: Claimed, retry: RetryPolicy,
           now: float | None = None) -> Outcome | None:
    """What one reply does to its recipient; None when the relay, not the recipient, failed."""
    verdict = classify(reply)
    kind = verdict.outcome
    if reply.code is None and reply.stage in (Stage.MAIL, Stage.RCPT, Stage.DATA):
        # Dropped mid-message: the next connection may work, but a recipient that drops it
        # every time must not loop for ever uncharged. (A drop during DATA may still have been
        # delivered: at least once, by design.)
        kind = Kind.RECIPIENT_TRANSIENT
    said = meaning(reply.code, reply.enhanced, reply.stage)
    base = {"stage": reply.stage.value, "code": reply.code, "enhanced": reply.enhanced,
            "text": reply.text, "meaning": said or verdict.meaning, "outcome": kind.value}
    if kind is Kind.ACCEPTED:
        return Outcome(State.SENT, remote_id=queue_id(reply.text), **base)  # type: ignore[arg-type]
    if kind in (Kind.RELAY_TRANSIENT, Kind.RELAY_PAUSED):
        return None
    if kind is Kind.RECIPIENT_TRANSIENT:
        at = time.time() if now is None else now
        if retry.expired(claimed.queued_at.timestamp(), at):
            gave_up = f"{said} Gave up: still refused {_age(retry.expire_s)} after queueing."
            return Outcome(State.FAILED, **{**base, "meaning": gave_up})  # type: ignore[arg-type]
        delay = retry.next_delay(claimed.attempts + 1)
        if verdict.retry_after_s:
            delay = max(delay, verdict.retry_after_s)
        # The last try is at the expiry, not an hour past it: "gave up" is then on time.
        last = claimed.queued_at.timestamp() + retry.expire_s
        when = max(at, min(at + delay, last))
        return Outcome(State.DEFERRED, next_attempt_at=datetime.fromtimestamp(when, UTC),
                       **base)  # type: ignore[arg-type]
    return Outcome(State.FAILED, **base)  # type: ignore[arg-type]


def unbuildable(error: Exception) -> Outcome:
    """A message Rollcall could not build (a bad header, an unreadable DKIM key): this
    recipient fails with the reason, and the queue moves on."""
    return Outcome(State.FAILED, stage=None, code=None, enhanced=None, text=str(error)[:500],
                   meaning=f"Rollcall could not build this message, so it was not sent: "
                   f"{error}", outcome="unbuildable")


def _left(rest: Sequence[Claimed], given_back: set[int]) -> list[Claimed]:
    return [c for c in rest if c.id not in given_back]


def _is_quota(reply: Reply) -> bool:
    enhanced = reply.enhanced or ""
    return ("quota" in reply.text.lower() or enhanced.startswith("5.2.")
            or enhanced in ("5.7.232", "5.7.233"))


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} hours" if hours >= 1 else f"{seconds / 60:g} minutes"
