"""List owners and shares: every list's owner is a person, and lists can be shared.

Existing lists get as owner the actor of their creation in the audit trail (`list.created`),
else the owner column as it was (both were the creator), lower-cased. An owner that is not a
mailbox (`cli:USER`, a list made on the command line) stays as it is: no person matches it, so
only administrators see the list until `rollcall lists owner NAME MAILBOX` hands it over.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CREATORS = sa.text(
    "SELECT l.id, l.owner, ("
    " SELECT e.actor FROM audit_events e"
    " JOIN audit_event_lists el ON el.event_id = e.id"
    " WHERE el.list_id = l.id AND e.action = 'list.created'"
    " ORDER BY e.id LIMIT 1) AS creator"
    " FROM lists l ORDER BY l.id"
)


def owner_of(owner: str | None, creator: str | None) -> str:
    """The creator the audit trail names, else the recorded owner; lower case, trimmed."""
    chosen = (creator or "").strip() or (owner or "").strip()
    return chosen.lower() or "admin"


def upgrade() -> None:
    conn = op.get_bind()
    for list_id, owner, creator in conn.execute(CREATORS).all():
        wanted = owner_of(owner, creator)
        if wanted != owner:
            conn.execute(sa.text("UPDATE lists SET owner = :owner WHERE id = :id"),
                         {"owner": wanted, "id": list_id})
    op.create_index("ix_lists_owner", "lists", ["owner"])
    op.create_table(
        "list_shares",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("principal", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_list_shares"),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name="fk_list_shares_list_id_lists"),
        sa.UniqueConstraint("list_id", "kind", "principal",
                            name="uq_list_shares_list_id_kind_principal"),
        sa.CheckConstraint("kind IN ('person', 'group')", name="ck_list_shares_kind"),
        sa.CheckConstraint("role IN ('viewer', 'editor')", name="ck_list_shares_role"),
    )
    op.create_index("ix_list_shares_principal", "list_shares", ["principal"])


def downgrade() -> None:
    op.drop_index("ix_list_shares_principal", table_name="list_shares")
    op.drop_table("list_shares")
    op.drop_index("ix_lists_owner", table_name="lists")
