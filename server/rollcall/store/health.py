"""Is the database answering, and at which schema revision (for the admin status view)?"""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text


def health(engine: Engine) -> dict[str, Any]:
    """{"backend", "revision"}; raises SQLAlchemy's errors when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        revision = MigrationContext.configure(conn).get_current_revision()
    return {"backend": engine.dialect.name, "revision": revision}
