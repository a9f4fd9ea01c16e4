"""Send-check records: the per-sender hourly window of people reached.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_send_checks"),
        sa.UniqueConstraint("sender", "message_key", name="uq_send_checks_sender_message_key"),
    )
    op.create_index("ix_send_checks_sender_at", "send_checks", ["sender", "at"])


def downgrade() -> None:
    op.drop_index("ix_send_checks_sender_at", table_name="send_checks")
    op.drop_table("send_checks")
