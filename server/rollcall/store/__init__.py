"""Rollcall's own lists, contacts, audit trail and count snapshots, in SQLite or PostgreSQL.

Folder rule: SQLAlchemy models, Alembic migrations and repositories live here and nowhere else.
Everything public returns Rollcall's own frozen dataclasses (`records`), never ORM objects, and
every public `ListStore` method is one transaction. Nothing connects at import time.
"""

from __future__ import annotations

from rollcall.store.db import open_store
from rollcall.store.errors import (
    AlreadyExists,
    ContactDeleted,
    ContactNotFound,
    ImportRejected,
    InvalidAddress,
    ListNotFound,
    MemberNotFound,
    NothingToRestore,
)
from rollcall.store.records import (
    AuditInfo,
    ImportReport,
    LineProblem,
    ListInfo,
    ListMembers,
    MemberInfo,
    RemovalInfo,
    Snapshot,
    SnapshotInfo,
)
from rollcall.store.repository import LIST_PREFIX, ListStore

__all__ = [
    "LIST_PREFIX",
    "AlreadyExists",
    "AuditInfo",
    "ContactDeleted",
    "ContactNotFound",
    "ImportRejected",
    "ImportReport",
    "InvalidAddress",
    "LineProblem",
    "ListInfo",
    "ListMembers",
    "ListNotFound",
    "ListStore",
    "MemberInfo",
    "MemberNotFound",
    "NothingToRestore",
    "RemovalInfo",
    "Snapshot",
    "SnapshotInfo",
    "open_store",
]
