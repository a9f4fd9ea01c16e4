"""A tracked send's types: pure, shared by the service, the worker, the store and the API.

A send is one message handed to Rollcall; its recipients are the outbox (one row each). A
recipient's `State` moves queued -> sending -> sent, or to deferred (tried again later),
failed, bounced; suppressed and cancelled recipients are never sent. `status()` is the send's
state as people say it: queued, sending, paused, stopped (the SMTP service is), cancelled or
done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


PENDING = (State.QUEUED, State.SENDING, State.DEFERRED)  # a send is done when none are left
FINAL = (State.SENT, State.FAILED, State.BOUNCED, State.SUPPRESSED, State.CANCELLED)


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    DONE = "done"


class Suppression(StrEnum):
    """Why a recipient is not queued."""

    OPTED_OUT = "opted_out"  # the person opted out of Rollcall lists, or unsubscribed
    DELETED = "deleted"  # their contact was deleted from Rollcall
    HARD_BOUNCE = "hard_bounce"  # a permanent bounce put them on the suppression list
    UNSUBSCRIBED = "unsubscribed"  # they used a message's unsubscribe link
    MANUAL = "manual"  # an administrator suppressed them


SUPPRESSION_WORDS = {
    Suppression.OPTED_OUT: "opted out",
    Suppression.DELETED: "contact deleted",
    Suppression.HARD_BOUNCE: "bounced before (address does not exist)",
    Suppression.UNSUBSCRIBED: "unsubscribed",
    Suppression.MANUAL: "suppressed by an administrator",
}


def subject_problem(subject: str) -> str | None:
    """What makes a subject unusable in a mail header, in words; None when it is fine."""
    if any(c in subject for c in "\r\n"):
        return "must be one line: a line break would end the header (and could add others)"
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in subject):
        return "holds a control character"
    return None


def status(counts: Mapping[str, int], paused: bool, stopped: bool = False,
           attempted: bool = False, cancelled: bool = False) -> Status:
    """The send's status from its recipients' states: done once nothing is pending, cancelled
    once someone cancelled it (a copy in flight may still finish)."""
    if cancelled:
        return Status.CANCELLED
    if not any(counts.get(s, 0) for s in PENDING):
        return Status.DONE
    if paused:
        return Status.PAUSED
    if stopped:
        return Status.STOPPED
    return Status.SENDING if attempted or counts.get(State.SENDING, 0) else Status.QUEUED


def bounce_rate(counts: Mapping[str, int]) -> float | None:
    """Hard failures (refused at the relay, bounced) over messages attempted, 0..1; None
    before any message was attempted."""
    failed = counts.get(State.FAILED, 0) + counts.get(State.BOUNCED, 0)
    attempted = failed + counts.get(State.SENT, 0)
    return round(failed / attempted, 4) if attempted else None


@dataclass(frozen=True, slots=True)
class NewRecipient:
    address: str
    state: State = State.QUEUED
    reason: Suppression | None = None


@dataclass(frozen=True, slots=True)
class NewSend:
    """What the service asks the outbox to store."""

    sender: str  # the signed-in mailbox that owns the send (lower case)
    from_address: str
    subject: str
    html: str | None
    text: str | None
    tracking: str
    base_url: str  # where the unsubscribe and tracking links point
    report: Mapping[str, Any]  # the count it was made from (its JSON)
    entries: tuple[str, ...]
    recipients: tuple[NewRecipient, ...]
    test: bool = False
    allow_incomplete: bool = False


@dataclass(frozen=True, slots=True)
class Claimed:
    """One recipient a worker holds under lease, with what it needs to build the message."""

    id: int
    send_id: int
    address: str
    token: str
    message_id: str
    attempt_id: int
    attempts: int  # earlier attempts that reached the recipient's stage
    queued_at: datetime  # a recipient still refused long after this has failed


@dataclass(frozen=True, slots=True)
class SendContent:
    """A send's message, as the worker renders each copy from it."""

    id: int
    from_address: str
    subject: str
    html: str | None
    text: str | None
    tracking: str
    base_url: str


@dataclass(frozen=True, slots=True)
class SendSummary:
    id: int
    sender: str
    from_address: str
    subject: str
    status: Status
    recipients: int  # everyone the count found, suppressed included
    counts: Mapping[str, int]
    suppressed: Mapping[str, int]  # reason -> recipients
    created_at: datetime
    finished_at: datetime | None
    last_sent_at: datetime | None
    relays: Mapping[str, int]  # relay -> recipients it took
    test: bool = False
    waiting: str | None = None  # why nothing is moving, in words ("rate limit: goes on at ...")
    report: Mapping[str, Any] | None = field(default=None, compare=False)
    paused: Mapping[str, Any] | None = None  # {"by", "at", "reason"} while paused
    bounce_warning: str | None = None  # the bounce rate's warning, in words

    def to_json(self, with_report: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "status": self.status.value, "sender": self.sender,
            "from": self.from_address, "subject": self.subject, "test": self.test,
            "recipients": self.recipients,
            "counts": {s.value: self.counts.get(s.value, 0) for s in State},
            "suppressed": dict(self.suppressed),
            "bounce_rate": bounce_rate(self.counts),
            "relays": dict(self.relays),
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "last_sent_at": self.last_sent_at.isoformat() if self.last_sent_at else None,
            "waiting": self.waiting,
            "paused": dict(self.paused) if self.paused else None,
            "bounce_warning": self.bounce_warning,
        }
        if with_report:
            body["report"] = self.report
        return body


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """One recipient's fate, as support asks for it."""

    address: str
    state: State
    reason: str | None
    attempts: int
    message_id: str
    remote_id: str | None
    relay: str | None
    stage: str | None
    code: int | None
    enhanced: str | None
    text: str | None
    meaning: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address, "state": self.state.value, "reason": self.reason,
            "attempts": self.attempts, "message_id": self.message_id,
            "remote_id": self.remote_id, "relay": self.relay,
            "reply": None if self.code is None and self.text is None else {
                "stage": self.stage, "code": self.code, "enhanced": self.enhanced,
                "text": self.text, "meaning": self.meaning},
            "next_attempt_at": self.next_attempt_at.isoformat()
            if self.next_attempt_at and self.state is State.DEFERRED else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }
