"""Server information's SMTP service: the queue's STOP/START switch, who paused a send and why,
what the relays' health needs to be shown (TLS, signed in, down since when, the last health
check), and an index to trace a recipient by address.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "queue_control",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("name", name="pk_queue_control"),
        sa.CheckConstraint("state IN ('running', 'stopped')", name="ck_queue_control_state"),
    )
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("paused_by", sa.Text))
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("pause_reason", sa.Text))
    # Trace by address, across sends (the unique (send_id, address_key) cannot serve it).
    op.create_index("ix_send_recipients_address_key", "send_recipients", ["address_key"])
    with op.batch_alter_table("relay_state") as batch:
        batch.add_column(sa.Column("tls", sa.Boolean))
        batch.add_column(sa.Column("authenticated", sa.Boolean))
        batch.add_column(sa.Column("down_since", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("checks", JSON))
        batch.add_column(sa.Column("checked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("relay_state") as batch:
        for column in ("checked_at", "checks", "down_since", "authenticated", "tls"):
            batch.drop_column(column)
    with op.batch_alter_table("sends") as batch:
        for column in ("pause_reason", "paused_at", "paused_by"):
            batch.drop_column(column)
    op.drop_index("ix_send_recipients_address_key", "send_recipients")
    op.drop_table("queue_control")
