"""Tracing one recipient's copy: what a query is and the copy's whole history in order (what
to run next and the support report are trace_advice.py's).

Pure: no I/O and nothing outside sending/model.py, sending/replies.py and the standard
library. The store reads the rows (store/trace.py) and hands them in as the small types below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .model import SUPPRESSION_WORDS, State, Suppression
from .replies import Stage, meaning

MAX_QUERY = 320  # an address is at most 320 characters (RFC 3696); ids are shorter
_HEADER = re.compile(r"^message-id\s*:\s*", re.I)  # a header line pasted whole


class QueryKind(StrEnum):
    MESSAGE_ID = "message_id"
    QUEUE_ID = "queue_id"
    ADDRESS = "address"


def clean(query: str) -> str:
    """The query as searched: trimmed, without a pasted "Message-ID:" header name."""
    return _HEADER.sub("", query.strip()).strip()


def query_kinds(query: str) -> tuple[QueryKind, ...]:
    """The kinds to try, in order; ValueError (a sentence) for an empty or too long query."""
    q = clean(query)
    if not q:
        raise ValueError("Type a Message-ID, the relay's queue id or a recipient's address.")
    if len(q) > MAX_QUERY:
        raise ValueError(f"That is too long to be a Message-ID, a queue id or an address "
                         f"({MAX_QUERY} characters at most).")
    if q.startswith("<") and q.endswith(">"):
        return (QueryKind.MESSAGE_ID,)
    if "@" in q:  # a Message-ID copied without its brackets looks like an address
        return (QueryKind.MESSAGE_ID, QueryKind.ADDRESS)
    return (QueryKind.QUEUE_ID,)


def message_id_form(query: str) -> str:
    """A Message-ID as Rollcall stores it and Exchange searches it: in angle brackets."""
    q = clean(query)
    return q if q.startswith("<") and q.endswith(">") else f"<{q.strip('<>')}>"


def reply_line(code: int | None, text: str | None) -> str | None:
    """A reply as the relay said it ("250 2.0.0 Ok: queued as ABC"); None without one."""
    if code is None:
        return text or None
    return f"{code} {text}".strip() if text else str(code)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One step of a copy's history; the reply fields only where a relay answered."""

    at: datetime
    kind: str  # queued attempt sent deferred failed bounced suppressed unsubscribed cancelled
    #            opened clicked
    relay: str | None = None
    stage: str | None = None
    code: int | None = None
    enhanced: str | None = None
    text: str | None = None
    meaning: str | None = None
    worker: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "relay": self.relay,
                "stage": self.stage, "code": self.code, "enhanced": self.enhanced,
                "text": self.text, "meaning": self.meaning, "worker": self.worker}


@dataclass(frozen=True, slots=True)
class Trace:
    """One recipient's copy of one send, as support traces it."""

    send_id: int
    subject: str
    sender: str
    test: bool
    address: str
    state: str
    message_id: str
    remote_id: str | None
    relay: str | None  # "primary" | "fallback": the relay it was last handed to
    relay_label: str | None = field(default=None, kw_only=True)  # host:port, the service's
    attempts: int
    queued_at: datetime
    sent_at: datetime | None
    events: tuple[TraceEvent, ...]  # oldest first
    last_reply: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "send_id": self.send_id, "subject": self.subject, "sender": self.sender,
            "test": self.test, "address": self.address, "state": self.state,
            "message_id": self.message_id, "remote_id": self.remote_id, "relay": self.relay,
            "relay_label": self.relay_label, "attempts": self.attempts,
            "queued_at": self.queued_at.isoformat(), "sent_at": _iso(self.sent_at),
            "last_reply": self.last_reply, "events": [e.to_json() for e in self.events],
            **advice(self)}


# --- History -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Attempt:
    """A delivery_attempts row: one try, its reply and its class (replies.Outcome's value,
    or the worker's own: pending, relay, lost, unbuildable)."""

    started_at: datetime
    finished_at: datetime | None
    relay: str
    worker: str
    stage: str | None
    code: int | None
    enhanced: str | None
    text: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Listed:
    """The suppression list's row for the address, when this send put it there."""

    reason: str
    at: datetime
    lifted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Engagement:
    kind: str  # open | click
    verdict: str
    at: datetime
    link_index: int | None = None


_NOT_A_REPLY = {  # attempts that ended without a reply about this recipient
    "pending": "In progress: no reply from the relay yet.",
    "relay": "The relay itself failed (unreachable, throttling, or a sign-in or quota "
             "problem): the copy went back to the queue untried and no attempt was charged.",
    "held": "Held back before it was offered: the SMTP service was stopped, or the send "
            "paused or cancelled. No attempt was charged.",
    "lost": "The worker holding this copy stopped answering; the copy was queued again when its "
            "lease ran out (had the relay already taken it, a second copy may have gone).",
}
_FAILED = {
    "recipient_permanent": "Refused for good: Rollcall does not try this recipient again.",
    "message_permanent": "This copy cannot go as it is (too big, a format the server refuses, "
                         "or the sender's domain checks failed); the address itself is fine. "
                         "Not tried again.",
    "unbuildable": "Not sent: Rollcall could not build the message.",
}
_SEEN = {
    "human": "most likely the person",
    "apple_proxy": "Apple Mail Privacy Protection fetched it: not proof anyone read it",
    "google_proxy": "through Gmail's image proxy: opened, but repeat opens are not seen",
    "yahoo_proxy": "through Yahoo Mail's image proxy",
    "scanner": "a security scanner or link checker, not a person",
}


def _values(kind: type[StrEnum]) -> set[str]:
    return {k.value for k in kind}


def _stage(value: str | None) -> Stage | None:
    return Stage(value) if value in _values(Stage) else None


def _attempt(a: Attempt) -> TraceEvent:
    if a.outcome == "relay" and (a.code is not None or a.text):
        # What the relay said is kept with the attempt (since 0006): say it, then why.
        said = f"{meaning(a.code, a.enhanced, _stage(a.stage))} {_NOT_A_REPLY['relay']}"
    elif a.outcome in _NOT_A_REPLY:
        said = _NOT_A_REPLY[a.outcome]
    elif a.outcome == "unbuildable":
        said = f"Rollcall could not build this message, so it was not sent: {a.text}"
    else:
        said = meaning(a.code, a.enhanced, _stage(a.stage))
    return TraceEvent(a.started_at, "attempt", a.relay, a.stage, a.code, a.enhanced, a.text,
                      said, a.worker)


def _decided(a: Attempt, last: bool, state: str, remote_id: str | None,
             next_attempt_at: datetime | None, final_meaning: str | None) -> TraceEvent | None:
    at = a.finished_at or a.started_at
    if a.outcome == "accepted":
        said = (f"The relay accepted it; its queue id is {remote_id}." if remote_id and last else
                "The relay accepted it (its reply carried no queue id Rollcall recognises).")
        return TraceEvent(at, "sent", a.relay, text=remote_id if last else None, meaning=said)
    if a.outcome == "recipient_transient":
        if last and state == State.FAILED:  # still refused when the retry period ran out
            return TraceEvent(at, "failed", a.relay, meaning=final_meaning)
        said = "Refused for now: Rollcall tries again later."
        if last and state == State.DEFERRED and next_attempt_at:
            said = f"Refused for now: the next try is at {next_attempt_at:%Y-%m-%d %H:%M} UTC."
        return TraceEvent(at, "deferred", a.relay, meaning=said)
    if a.outcome in _FAILED:
        return TraceEvent(at, "failed", a.relay, meaning=_FAILED[a.outcome])
    return None


@dataclass(frozen=True, slots=True)
class Report:
    """A bounce-back matched to this copy (bounce_reports)."""

    at: datetime
    kind: str  # hard | soft | policy | delayed | autoreply | unknown
    status: str | None
    diagnostic: str | None
    remote_mta: str | None
    meaning: str | None


_REPORTED = {"hard": "bounced", "soft": "bounced", "policy": "bounced", "delayed": "delayed",
             "autoreply": "auto_reply"}


def _report(r: Report) -> TraceEvent:
    said = r.meaning or {"delayed": "A delay notice: the remote server is still trying.",
                         "autoreply": "An automatic reply (out of office): not a bounce."}.get(
        r.kind, "A report came back about this copy.")
    where = f" (reported by {r.remote_mta})" if r.remote_mta else ""
    return TraceEvent(r.at, _REPORTED.get(r.kind, "report"), stage="dsn", enhanced=r.status,
                      text=r.diagnostic, meaning=f"{said}{where}")


def history(*, state: str, reason: str | None, queued_at: datetime, updated_at: datetime,
            remote_id: str | None, final_meaning: str | None,
            next_attempt_at: datetime | None, attempts: Sequence[Attempt],
            listed: Listed | None = None,
            engagement: Sequence[Engagement] = (),
            reports: Sequence[Report] = ()) -> tuple[TraceEvent, ...]:
    """A recipient's events, oldest first (ties keep the order things happen in)."""
    events: list[TraceEvent] = [_report(r) for r in reports]
    if state == State.SUPPRESSED:  # never queued: suppressed when the send was made
        words = SUPPRESSION_WORDS.get(Suppression(reason)) if reason in _values(Suppression) \
            else reason
        events.append(TraceEvent(queued_at, "suppressed", text=reason,
                                 meaning=f"Not sent: {words or reason or 'suppressed'}."))
    else:
        events.append(TraceEvent(queued_at, "queued", meaning="Queued for sending."))
    decided = [a for a in attempts if a.outcome not in _NOT_A_REPLY]
    for a in attempts:
        events.append(_attempt(a))
        outcome = _decided(a, bool(decided) and a is decided[-1], state, remote_id,
                           next_attempt_at, final_meaning)
        if outcome is not None:
            events.append(outcome)
    reported = any(e.kind == "bounced" for e in events)
    if listed is not None:
        kind = {"hard_bounce": "suppressed" if reported else "bounced",
                "unsubscribed": "unsubscribed"}.get(listed.reason, "suppressed")
        said = {"bounced": "A bounce came back: the address does not exist. It is on the "
                           "suppression list, so no later send reaches it.",
                "unsubscribed": "They used this message's unsubscribe link; no later send "
                                "reaches them."}.get(kind, "Put on the suppression list.")
        if listed.lifted_at:
            said += f" (An administrator lifted it on {listed.lifted_at:%Y-%m-%d}.)"
        events.append(TraceEvent(listed.at, kind, text=listed.reason, meaning=said))
    if state == State.BOUNCED and not any(e.kind == "bounced" for e in events):
        events.append(TraceEvent(updated_at, "bounced", meaning=final_meaning or
                                 "A bounce came back after the relay had accepted it."))
    if state == State.CANCELLED:
        events.append(TraceEvent(updated_at, "cancelled",
                                 meaning="Cancelled before it went: Rollcall will not send it."))
    for e in engagement:
        link = f"link {e.link_index + 1}" if e.link_index is not None else None
        what = "Opened" if e.kind == "open" else f"Clicked {link or 'a link'}"
        events.append(TraceEvent(e.at, "opened" if e.kind == "open" else "clicked",
                                 text=e.verdict,
                                 meaning=f"{what}: {_SEEN.get(e.verdict, e.verdict)}."))
    return tuple(sorted(events, key=lambda e: e.at))  # sorted() is stable


def advice(trace: Trace) -> dict[str, Any]:
    """What to run next and the support report, for a trace's JSON."""
    from .trace_advice import next_steps, support_report, support_text

    return {"next_steps": next_steps(trace), "support_report": support_report(trace),
            "support_text": support_text(trace)}
