"""Bounces: every bounce-back Rollcall received (over SMTP or from the bounce mailbox), what
it said, and which recipient it was matched to (none: kept and shown, never dropped).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

EMAIL = 320
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bounce_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("envelope_to", sa.String(EMAIL)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("matched_by", sa.String(16)),
        sa.Column("send_id", sa.Integer, sa.ForeignKey("sends.id",
                                                       name="fk_bounce_reports_send_id_sends")),
        sa.Column("recipient_id", sa.Integer, sa.ForeignKey(
            "send_recipients.id", name="fk_bounce_reports_recipient_id_send_recipients")),
        sa.Column("address", sa.String(EMAIL)),
        sa.Column("status", sa.String(16)),
        sa.Column("diagnostic", sa.Text),
        sa.Column("remote_mta", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("reporter", sa.Text),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("raw", sa.LargeBinary),
        sa.PrimaryKeyConstraint("id", name="pk_bounce_reports"),
    )
    op.create_index("ix_bounce_reports_received_at", "bounce_reports", ["received_at"])
    op.create_index("ix_bounce_reports_recipient_id", "bounce_reports", ["recipient_id"])
    op.create_index("ix_bounce_reports_send_id", "bounce_reports", ["send_id"])
    # A send its sender resumed after it paused itself for bounces is not paused again for it.
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("bounce_resumed", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("bounce_resumed")
    op.drop_table("bounce_reports")
