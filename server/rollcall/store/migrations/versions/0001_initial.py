"""Initial schema: contacts, lists, memberships and the audit trail.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model's types: a migration must not change when the models do.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)
EMAIL = sa.String(320)
ONE_MEMBER = (
    " + ".join(
        f"(CASE WHEN {c} IS NOT NULL THEN 1 ELSE 0 END)"
        for c in ("contact_id", "exchange_key", "child_list_id")
    )
    + " = 1"
)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", EMAIL, nullable=True),
        sa.Column("email_key", EMAIL, nullable=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("opted_out_at", WHEN, nullable=True),
        sa.Column("opted_out_by", sa.Text, nullable=True),
        sa.Column("deleted_at", WHEN, nullable=True),
        sa.Column("deleted_by", sa.Text, nullable=True),
        sa.Column("tracking_purged", sa.Boolean, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint("email_key", name="uq_contacts_email_key"),
    )
    op.create_table(
        "lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("expected", sa.Integer, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lists"),
        sa.UniqueConstraint("name_key", name="uq_lists_name_key"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.Integer, nullable=True),
        sa.Column("contact_email", EMAIL, nullable=True),
        sa.Column("list_names", JSON, nullable=False),
        sa.Column("all_lists", sa.Boolean, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_audit_events_contact_id_contacts"
        ),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_contact_id", "audit_events", ["contact_id"])
    op.create_table(
        "audit_event_lists",
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("event_id", "list_id", name="pk_audit_event_lists"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name="fk_audit_event_lists_event_id_audit_events"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name="fk_audit_event_lists_list_id_lists"
        ),
    )
    op.create_index("ix_audit_event_lists_list_id", "audit_event_lists", ["list_id"])
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("contact_id", sa.Integer, nullable=True),
        sa.Column("exchange_address", EMAIL, nullable=True),
        sa.Column("exchange_key", EMAIL, nullable=True),
        sa.Column("child_list_id", sa.Integer, nullable=True),
        sa.Column("added_at", WHEN, nullable=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("removed_at", WHEN, nullable=True),
        sa.Column("removed_by", sa.Text, nullable=True),
        sa.Column("removal_event_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
        sa.CheckConstraint(ONE_MEMBER, name="ck_memberships_one_member"),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name="fk_memberships_list_id_lists"),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_memberships_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["child_list_id"], ["lists.id"], name="fk_memberships_child_list_id_lists"
        ),
        sa.ForeignKeyConstraint(
            ["removal_event_id"],
            ["audit_events.id"],
            name="fk_memberships_removal_event_id_audit_events",
        ),
    )
    op.create_index("ix_memberships_list_id", "memberships", ["list_id"])
    op.create_index("ix_memberships_contact_id", "memberships", ["contact_id"])
    for name, column in (
        ("ux_memberships_active_contact", "contact_id"),
        ("ux_memberships_active_exchange", "exchange_key"),
        ("ux_memberships_active_child", "child_list_id"),
    ):
        where = sa.text(f"removed_at IS NULL AND {column} IS NOT NULL")
        op.create_index(
            name,
            "memberships",
            ["list_id", column],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for table in ("memberships", "audit_event_lists", "audit_events", "lists", "contacts"):
        op.drop_table(table)
