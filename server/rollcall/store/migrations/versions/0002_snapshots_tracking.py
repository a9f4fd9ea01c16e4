"""Count snapshots, and whether each audit event's contact kept its tracking history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events written before 0002 never purged anything: "kept" is true of every existing row.
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(
            sa.Column("tracking", sa.String(16), nullable=False, server_default="kept")
        )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stored_bytes", sa.Integer, nullable=False),
        sa.Column("addresses", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
    )
    op.create_index("ix_snapshots_key_hash", "snapshots", ["key_hash"])


def downgrade() -> None:
    op.drop_index("ix_snapshots_key_hash", table_name="snapshots")
    op.drop_table("snapshots")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("tracking")
