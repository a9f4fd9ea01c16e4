"""SQLAlchemy 2 models; the migrations in `migrations/versions` are the schema's source of truth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

EMAIL_LENGTH = 320

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the Python side on every database (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset: store UTC wall time and put the zone back on load.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))  # None once purged
    email_key: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_by: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(Text)
    tracking_purged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RollcallList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text, unique=True)  # casefolded: names are unique
    # A mailbox (lower case), or a placeholder without `@` only administrators match (access.py).
    owner: Mapped[str] = mapped_column(Text, index=True)
    expected: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ListShare(Base):
    """A list shared with a person (mailbox) or a group (token group id) as viewer or editor
    (added by 0004); both lower case, one share per list and principal."""

    __tablename__ = "list_shares"
    __table_args__ = (
        UniqueConstraint("list_id", "kind", "principal"),
        CheckConstraint("kind IN ('person', 'group')", name="kind"),
        CheckConstraint("role IN ('viewer', 'editor')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    principal: Mapped[str] = mapped_column(String(EMAIL_LENGTH), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(8))
    added_by: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Exactly one of contact, Exchange address, child list (CASE: PostgreSQL cannot add booleans).
ONE_MEMBER = (
    " + ".join(
        f"(CASE WHEN {c} IS NOT NULL THEN 1 ELSE 0 END)"
        for c in ("contact_id", "exchange_key", "child_list_id")
    )
    + " = 1"
)


def _active(column: str) -> Any:
    return text(f"removed_at IS NULL AND {column} IS NOT NULL")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(ONE_MEMBER, name="one_member"),
        # The same member is active at most once per list, even under concurrent adds.
        Index(
            "ux_memberships_active_contact",
            "list_id",
            "contact_id",
            unique=True,
            sqlite_where=_active("contact_id"),
            postgresql_where=_active("contact_id"),
        ),
        Index(
            "ux_memberships_active_exchange",
            "list_id",
            "exchange_key",
            unique=True,
            sqlite_where=_active("exchange_key"),
            postgresql_where=_active("exchange_key"),
        ),
        Index(
            "ux_memberships_active_child",
            "list_id",
            "child_list_id",
            unique=True,
            sqlite_where=_active("child_list_id"),
            postgresql_where=_active("child_list_id"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    exchange_address: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    exchange_key: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    child_list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(Text)
    # The audit event that ended it: restore reactivates exactly what one delete ended.
    removal_event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    list_names: Mapped[list[str]] = mapped_column(Json, default=list)
    all_lists: Mapped[bool] = mapped_column(Boolean, default=False)
    tracking: Mapped[str] = mapped_column(String(16), default="kept", server_default="kept")
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class AuditEventList(Base):
    """Which lists an event concerns, so `audit(list_name=...)` is an indexed join."""

    __tablename__ = "audit_event_lists"

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"), primary_key=True, index=True)


class SnapshotRow(Base):
    """One count's address set (added by 0002); `key` names the counted entries."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)  # keys may be long
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    stored_bytes: Mapped[int] = mapped_column(Integer)
    addresses: Mapped[bytes] = mapped_column(LargeBinary)  # zlib of sorted, newline-joined


class SendCheckRow(Base):
    """One message the send check let go (added by 0003): who sent it, when, to how many people."""

    __tablename__ = "send_checks"
    __table_args__ = (
        # A message checked again (Don't send, then Send) replaces its row, never adds one.
        UniqueConstraint("sender", "message_key"),
        Index("ix_send_checks_sender_at", "sender", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(EMAIL_LENGTH))  # lower-cased
    message_key: Mapped[str] = mapped_column(String(64))  # a hash: subjects are not kept
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer)


# The tracked send's tables live beside these, in the same metadata (0005).
from . import outbox_models  # noqa: E402,F401
