"""Where Rollcall keeps its own data (the configuration's `store` section)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreSettings:
    instance_path: str = "instance"  # the SQLite file and the development certificates
    database_url: str | None = None  # SQLAlchemy URL; None: SQLite in the instance folder
    list_domain: str | None = None  # alias domain: NAME@domain means the Rollcall list NAME
    history_days: int = 90  # counts older than this are purged from the count history
