"""Server information's SMTP service section, pure: the relays' health, the queue, the sends
still going, and one plain verdict at the top in the words support uses ("N messages still
queued: still sending..."). The store gathers the numbers; this decides what they say."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import PENDING, SendSummary, State, bounce_rate

RECENT_H = 24  # "failed or bounced" looks back this far once the queue is empty


@dataclass(frozen=True, slots=True)
class RelayView:
    """One relay as the workers last saw it, and its traffic."""

    name: str  # primary | fallback
    label: str  # host:port
    state: str  # active | circuit_open | paused | unknown (never tried)
    until: datetime | None  # when it is tried again
    reason: str | None  # why it rests, in words
    last_error: str | None  # "rcpt: 451 4.7.1 ..." as the relay said it
    last_ok_at: datetime | None  # the last message it took
    down_since: datetime | None
    tls: bool | None  # the last session was encrypted
    authenticated: bool | None
    sent_5m: int  # messages it took in the last 5 minutes
    sent_60m: int
    budget_hour: int  # recipients the hour's rate limit still allows
    limit_hour: int
    checks: Mapping[str, Any] | None = None  # the last health check (open relay, DNS)
    checked_at: datetime | None = None

    @property
    def reachable(self) -> bool | None:
        if self.state == "unknown":
            return None
        return self.state != "circuit_open"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "state": self.state,
                "reachable": self.reachable, "tls": self.tls,
                "authenticated": self.authenticated, "reason": self.reason,
                "last_error": self.last_error, "until": _iso(self.until),
                "last_ok_at": _iso(self.last_ok_at), "down_since": _iso(self.down_since),
                "per_minute_5m": round(self.sent_5m / 5, 1),
                "per_minute_60m": round(self.sent_60m / 60, 1),
                "budget_hour": max(self.budget_hour, 0), "limit_hour": self.limit_hour,
                "checks": dict(self.checks) if self.checks else None,
                "checked_at": _iso(self.checked_at)}


@dataclass(frozen=True, slots=True)
class ActiveSend:
    """A send with recipients still to go, and when it should finish."""

    summary: SendSummary
    sent_5m: int  # its messages the relays took in the last 5 minutes...
    window_s: float = 300.0  # ...or since it was made, if that is less

    @property
    def remaining(self) -> int:
        return sum(self.summary.counts.get(s.value, 0) for s in PENDING)

    @property
    def eta_s(self) -> int | None:
        """Seconds to finish at the last 5 minutes' pace; None when it is not moving."""
        if not self.remaining:
            return 0
        if not self.sent_5m:
            return None
        return math.ceil(self.remaining / (self.sent_5m / self._window))

    @property
    def _window(self) -> float:
        # At least a minute: a send seconds old would otherwise show thousands a minute.
        return min(300.0, max(self.window_s, 60.0))

    def to_json(self) -> dict[str, Any]:
        s = self.summary
        counts = s.counts
        to_send = s.recipients - counts.get(State.SUPPRESSED.value, 0)
        done = to_send - self.remaining
        return {"id": s.id, "sender": s.sender, "subject": s.subject, "status": s.status.value,
                "test": s.test, "to_send": to_send, "done": done,
                "progress": round(done / to_send, 4) if to_send else 1.0,
                "remaining": self.remaining,
                "deferred": counts.get(State.DEFERRED.value, 0),
                "failed": counts.get(State.FAILED.value, 0),
                "bounced": counts.get(State.BOUNCED.value, 0),
                "bounce_rate": bounce_rate(counts),
                "per_minute": round(self.sent_5m / self._window * 60, 1),
                "eta_s": self.eta_s, "waiting": s.waiting,
                "paused": dict(s.paused) if s.paused else None,
                "bounce_warning": s.bounce_warning}


@dataclass(frozen=True, slots=True)
class Switch:
    running: bool
    changed_by: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": "running" if self.running else "stopped",
                "changed_by": self.changed_by, "reason": self.reason,
                "changed_at": _iso(self.changed_at)}


@dataclass(frozen=True, slots=True)
class QueueView:
    """The numbers behind the section, as the store read them."""

    switch: Switch
    pending: Mapping[str, int]  # queued, sending, deferred now, all sends
    recent: Mapping[str, int]  # every state, sends of the last RECENT_H hours
    oldest_pending_at: datetime | None
    relays: tuple[RelayView, ...]
    sends: tuple[ActiveSend, ...]
    configured: bool = True  # a relay is configured at all

    @property
    def waiting(self) -> int:
        return sum(self.pending.get(s.value, 0) for s in PENDING)

    def verdict(self, now: datetime) -> dict[str, str]:
        """{"level": ok|warning|error, "text"}: what an admin should conclude, first."""
        return verdict(self, now)

    def to_json(self, now: datetime) -> dict[str, Any]:
        age = (now - self.oldest_pending_at).total_seconds() if self.oldest_pending_at else None
        return {
            "verdict": self.verdict(now), "configured": self.configured,
            "service": self.switch.to_json(),
            "relays": [r.to_json() for r in self.relays],
            "queue": {"pending": {s.value: self.pending.get(s.value, 0) for s in PENDING},
                      "waiting": self.waiting,
                      "oldest_pending_s": round(age) if age is not None else None,
                      "recent_hours": RECENT_H,
                      "recent": {s.value: self.recent.get(s.value, 0) for s in State}},
            "sends": [s.to_json() for s in self.sends],
        }


def verdict(view: QueueView, now: datetime) -> dict[str, str]:
    """The seed's words: still sending / empty and delivered / empty but some failed / the
    relay is down and mail waits, and the two states an admin made (stopped, paused)."""
    n = view.waiting
    messages = f"{n:,} message{'' if n == 1 else 's'}"
    if not view.configured:
        return _say("error", "No SMTP relay is configured (ROLLCALL_SMTP_URL): Rollcall "
                    "cannot send.")
    if not view.switch.running:
        who = f" by {view.switch.changed_by}" if view.switch.changed_by else ""
        when = f" at {_hm(view.switch.changed_at)} UTC" if view.switch.changed_at else ""
        why = f" ({view.switch.reason})" if view.switch.reason else ""
        return _say("warning", f"The SMTP service is stopped{who}{when}{why}: {messages} "
                    "waiting, nothing is sent until it is started.")
    down = [r for r in view.relays if r.state in ("circuit_open", "paused")
            and (r.until is None or r.until > now)]
    if n and view.relays and len(down) == len(view.relays):
        first = min(down, key=lambda r: r.down_since or now)
        since = _hm(first.down_since or now)
        if all(r.state == "paused" for r in down):
            return _say("error", f"Relay refusing Rollcall since {since} UTC ({first.reason}): "
                        f"{messages} waiting.")
        return _say("error", f"Relay unreachable since {since} UTC: mail is waiting "
                    f"({messages}).")
    if n:
        paused = [s for s in view.sends if s.summary.paused]
        if paused and len(paused) == len(view.sends):
            return _say("warning", f"{messages} queued in paused sends: nothing goes out until "
                        "they are resumed.")
        return _say("ok", f"{messages} still queued: still sending, recipients will receive "
                    "their copy soon.")
    bad = view.recent.get(State.FAILED.value, 0) + view.recent.get(State.BOUNCED.value, 0)
    cancelled = view.recent.get(State.CANCELLED.value, 0)
    besides = (f" ({cancelled:,} more {'was' if cancelled == 1 else 'were'} cancelled before "
               "sending)") if cancelled else ""
    if bad:
        return _say("warning", f"Queue empty but {bad:,} recipient{'' if bad == 1 else 's'} "
                    f"failed or bounced in the last {RECENT_H} hours: see them in their sends' "
                    f"recipients{besides}.")
    if cancelled:
        return _say("ok", f"Queue empty: all sent were delivered{besides}.")
    return _say("ok", "Queue empty and all delivered.")


def _say(level: str, text: str) -> dict[str, str]:
    return {"level": level, "text": text}


def _hm(at: datetime | None) -> str:
    return at.strftime("%H:%M") if at else "?"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
