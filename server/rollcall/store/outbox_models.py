"""The tracked send's tables (added by 0005; the queue's switch by 0006; bounces by 0007).
`send_recipients` is the queue: one row per recipient, claimed by workers under a lease;
`delivery_attempts` is every try, append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import EMAIL_LENGTH, Base, Json, UTCDateTime

RECIPIENT_STATES = ("queued", "sending", "deferred", "sent", "failed", "bounced", "suppressed",
                    "cancelled")
_STATES = "state IN (" + ", ".join(f"'{s}'" for s in RECIPIENT_STATES) + ")"


class SendRow(Base):
    __tablename__ = "sends"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'paused', 'cancelled')", name="state"),
        Index("ix_sends_sender_created_at", "sender", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(EMAIL_LENGTH))  # the owner, lower case
    from_address: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    tracking: Mapped[str] = mapped_column(String(16))
    base_url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    test: Mapped[bool] = mapped_column(Boolean)
    allow_incomplete: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(Json)
    entries: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who paused it and why (0006): a sender may resume what they paused, not an admin's pause.
    paused_by: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    # Resumed after it paused itself for bounces (0007): it is not paused for them again.
    bounce_resumed: Mapped[bool | None] = mapped_column(Boolean)


class SendRecipientRow(Base):
    __tablename__ = "send_recipients"
    __table_args__ = (
        UniqueConstraint("send_id", "address_key"),  # nobody gets one send twice
        CheckConstraint(_STATES, name="state"),
        Index("ix_send_recipients_state_next_attempt_at", "state", "next_attempt_at"),
        # A send's recipients by state: its counts, and "is anything still pending?" after
        # each reply, without reading the whole send.
        Index("ix_send_recipients_send_id_state", "send_id", "state"),
        Index("ix_send_recipients_address_key", "address_key"),  # trace by address (0006)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id"))
    address: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    address_key: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    token: Mapped[str] = mapped_column(String(64), unique=True)  # VERP, unsubscribe, tracking
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(24))  # why suppressed
    attempts: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relay: Mapped[str | None] = mapped_column(String(16))
    last_stage: Mapped[str | None] = mapped_column(String(16))
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_enhanced: Mapped[str | None] = mapped_column(String(16))
    last_text: Mapped[str | None] = mapped_column(Text)
    meaning: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryAttemptRow(Base):
    """One try at one recipient: opened when claimed (so rate windows see claims in flight),
    closed with the reply. Relay-level failures are kept but charge nobody."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_relay_started_at", "relay", "started_at"),
        Index("ix_delivery_attempts_sender_started_at", "sender", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("send_recipients.id"), index=True)
    sender: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    relay: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[int | None] = mapped_column(Integer)
    enhanced: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(24))  # "pending" until the reply


class SuppressionRow(Base):
    """An address no send reaches (hard bounce, unsubscribe, manual) until an admin lifts it."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    address_key: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    reason: Mapped[str] = mapped_column(String(24))
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(Text)


class SendLinkRow(Base):
    """A tracked link's target: click tokens carry only (who, index)."""

    __tablename__ = "send_links"

    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)


class TrackingEventRow(Base):
    """An open or click with its verdict; the recipient only in individual tracking."""

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("send_recipients.id"))
    kind: Mapped[str] = mapped_column(String(8))
    link_index: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    ip_prefix: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RelayStateRow(Base):
    """A relay's health as every worker sees it: paused (auth, quota) or its circuit open
    (unreachable) until `until`, with the reason in words."""

    __tablename__ = "relay_state"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # active | circuit_open | paused
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the last session that opened saw (0006), and since when the relay has been down.
    tls: Mapped[bool | None] = mapped_column(Boolean)
    authenticated: Mapped[bool | None] = mapped_column(Boolean)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checks: Mapped[dict[str, Any] | None] = mapped_column(Json)  # the last health check's result
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QueueControlRow(Base):
    """The SMTP service's switch (one row, "smtp"): stopped, workers claim nothing more."""

    __tablename__ = "queue_control"
    __table_args__ = (CheckConstraint("state IN ('running', 'stopped')", name="state"),)

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class BounceReportRow(Base):
    """A bounce-back as received (added by 0007): what it said, and the recipient it was
    matched to, or none (kept and shown, never dropped)."""

    __tablename__ = "bounce_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(16))  # smtp | mailbox
    envelope_to: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))  # hard | soft | policy | delayed | autoreply...
    method: Mapped[str] = mapped_column(String(16))  # how it was read: dsn, heuristic...
    matched_by: Mapped[str | None] = mapped_column(String(16))  # verp | header | message_id...
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("send_recipients.id"),
                                                     index=True)
    address: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    status: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    remote_mta: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(Json)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
