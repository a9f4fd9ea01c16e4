"""Tracked send: sends, their per-recipient outbox, every delivery attempt, the suppression
list, tracked links and events, and the relays' shared health.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EMAIL = 320
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
STATES = ("queued", "sending", "deferred", "sent", "failed", "bounced", "suppressed", "cancelled")


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender", sa.String(EMAIL), nullable=False),
        sa.Column("from_address", sa.String(EMAIL), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("tracking", sa.String(16), nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("test", sa.Boolean, nullable=False),
        sa.Column("allow_incomplete", sa.Boolean, nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("entries", JSON, nullable=False),
        _at("created_at"),
        _at("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sends"),
        sa.CheckConstraint("state IN ('active', 'paused', 'cancelled')", name="ck_sends_state"),
    )
    op.create_index("ix_sends_sender_created_at", "sends", ["sender", "created_at"])
    op.create_table(
        "send_recipients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("send_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(EMAIL), nullable=False),
        sa.Column("address_key", sa.String(EMAIL), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(24)),
        sa.Column("attempts", sa.Integer, nullable=False),
        _at("queued_at"),
        _at("next_attempt_at"),
        sa.Column("lease_owner", sa.String(128)),
        _at("lease_until", nullable=True),
        sa.Column("relay", sa.String(16)),
        sa.Column("last_stage", sa.String(16)),
        sa.Column("last_code", sa.Integer),
        sa.Column("last_enhanced", sa.String(16)),
        sa.Column("last_text", sa.Text),
        sa.Column("meaning", sa.Text),
        sa.Column("remote_id", sa.String(255)),
        _at("sent_at", nullable=True),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_send_recipients"),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"],
                                name="fk_send_recipients_send_id_sends"),
        sa.UniqueConstraint("send_id", "address_key",
                            name="uq_send_recipients_send_id_address_key"),
        sa.UniqueConstraint("token", name="uq_send_recipients_token"),
        sa.UniqueConstraint("message_id", name="uq_send_recipients_message_id"),
        sa.CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")",
                           name="ck_send_recipients_state"),
    )
    op.create_index("ix_send_recipients_send_id_state", "send_recipients", ["send_id", "state"])
    op.create_index("ix_send_recipients_remote_id", "send_recipients", ["remote_id"])
    op.create_index("ix_send_recipients_state_next_attempt_at", "send_recipients",
                    ["state", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("recipient_id", sa.Integer, nullable=False),
        sa.Column("sender", sa.String(EMAIL), nullable=False),
        sa.Column("relay", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.Column("stage", sa.String(16)),
        sa.Column("code", sa.Integer),
        sa.Column("enhanced", sa.String(16)),
        sa.Column("text", sa.Text),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
        sa.ForeignKeyConstraint(["recipient_id"], ["send_recipients.id"],
                                name="fk_delivery_attempts_recipient_id_send_recipients"),
    )
    op.create_index("ix_delivery_attempts_recipient_id", "delivery_attempts", ["recipient_id"])
    op.create_index("ix_delivery_attempts_relay_started_at", "delivery_attempts",
                    ["relay", "started_at"])
    op.create_index("ix_delivery_attempts_sender_started_at", "delivery_attempts",
                    ["sender", "started_at"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(EMAIL), nullable=False),
        sa.Column("address_key", sa.String(EMAIL), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("send_id", sa.Integer),
        _at("created_at"),
        sa.Column("created_by", sa.Text, nullable=False),
        _at("lifted_at", nullable=True),
        sa.Column("lifted_by", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_suppressions"),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"], name="fk_suppressions_send_id_sends"),
        sa.UniqueConstraint("address_key", name="uq_suppressions_address_key"),
    )
    op.create_table(
        "send_links",
        sa.Column("send_id", sa.Integer, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("send_id", "idx", name="pk_send_links"),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"], name="fk_send_links_send_id_sends"),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("send_id", sa.Integer, nullable=False),
        sa.Column("recipient_id", sa.Integer),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("link_index", sa.Integer),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("ip_prefix", sa.String(64), nullable=False),
        _at("at"),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_events"),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"],
                                name="fk_tracking_events_send_id_sends"),
        sa.ForeignKeyConstraint(["recipient_id"], ["send_recipients.id"],
                                name="fk_tracking_events_recipient_id_send_recipients"),
    )
    op.create_index("ix_tracking_events_send_id", "tracking_events", ["send_id"])
    op.create_table(
        "relay_state",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("until", nullable=True),
        sa.Column("reason", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False),
        _at("last_ok_at", nullable=True),
        sa.Column("last_error", sa.Text),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_relay_state"),
    )


def downgrade() -> None:
    for table in ("relay_state", "tracking_events", "send_links", "suppressions",
                  "delivery_attempts", "send_recipients", "sends"):
        op.drop_table(table)
